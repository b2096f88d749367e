#!/usr/bin/env bash
# Record the incidents this machine's kernel can show (syscalls backend, veth/bridge in a namespace).
#   sudo recordings/record-local.sh        writes recordings/local-*.ifblame
# Bond scenarios need the bonding driver: they come from the QEMU harness (npm run test:kernel).
set -euo pipefail
cd "$(dirname "$0")/.."
ns="ifb-rec-$$"
ip netns add "$ns"
trap 'ip netns del "$ns" 2>/dev/null || true' EXIT
in_ns() { ip -n "$ns" "$@"; }

capture() { # name, script
  node bin/ifblame.js capture --netns "$ns" --backend syscalls --record "recordings/local-$1.ifblame" -- sh -c "$2" >/dev/null
  echo "recorded recordings/local-$1.ifblame" >&2
}

# A MAC set by hand, then the same MAC set again (a no-op), then another MAC.
in_ns link add hand0 type veth peer name hand1
capture hand-set-mac "ip -n $ns link set dev hand0 address 02:11:22:33:44:55; ip -n $ns link set dev hand0 address 02:11:22:33:44:55; ip -n $ns link set dev hand0 address 02:11:22:33:44:66"

# A bridge whose MAC follows its lowest port, until set by hand (a container veth joining moves it).
in_ns link add brauto0 type bridge
in_ns link add da1 address 02:00:00:00:00:20 type veth peer name da1p
in_ns link add da2 address 02:00:00:00:00:05 type veth peer name da2p
capture bridge-mac-follows-port "ip -n $ns link set da1 master brauto0; ip -n $ns link set da2 master brauto0; ip -n $ns link set da2 nomaster; ip -n $ns link set dev brauto0 address 02:00:00:00:00:99; ip -n $ns link set da2 master brauto0"

# Promiscuity: bridge ports, libpcap (tcpdump), ip link set promisc.
in_ns link add br0 type bridge
in_ns link add vb0 type veth peer name vb0p
in_ns link set vb0 up
in_ns link set vb0p up
capture bridge-tcpdump-promisc "ip -n $ns link set vb0 master br0; ip netns exec $ns timeout 2 tcpdump -i vb0p -n -c 1 >/dev/null 2>&1 || true; ip -n $ns link set vb0p promisc on; ip -n $ns link set vb0p promisc off; ip -n $ns link set vb0 nomaster"
