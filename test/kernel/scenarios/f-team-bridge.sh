# Scenario f (a seed's own setup): a team device with two ports, the team a bridge port, and a
# container's veth on the same bridge.
#   f03/f04: dft1, dft2 become team0's ports (team_port_add where it exists; on Debian 6.1 it is
#            inlined into team_add_slave, so the enslavement must come from what survives)
#   f06:     team0 joins brt0: br_add_if makes team0 promiscuous, and the team driver propagates
#            that to both ports (team_change_rx_flags -> dev_set_promiscuity): the ports ARE promiscuous,
#            made so by the `ip` that added the team to the bridge
#   f08/f09: a veth whose peer lives in the container's namespace joins brt0 with a MAC lower than
#            team0's: the bridge MAC follows it (02:00:00:00:00:01), and back when it leaves (f11)
setup() {
  mkdir -p /run/systemd/network
  # the bridge keeps a random MAC (not udev's persistent one), so it follows its lowest port
  printf '[Match]\nOriginalName=brt*\n\n[Link]\nMACAddressPolicy=none\n' > /run/systemd/network/10-ifb-brt.link
  udevadm control --reload
  ip netns add ifbc
}
steps() {
  step f01_add_team      ip link add team0 type team
  step f02_add_ports     sh -c 'ip link add dft1 type dummy; ip link add dft2 type dummy'
  step f03_team_port1    ip link set dft1 master team0
  step f04_team_port2    ip link set dft2 master team0
  step f05_add_bridge    ip link add brt0 type bridge
  step f06_team_to_bridge ip link set team0 master brt0
  step f07_up            sh -c 'ip link set dft1 up; ip link set dft2 up; ip link set team0 up; ip link set brt0 up'
  step f08_container_veth sh -c 'ip link add vc0 address 02:00:00:00:00:01 type veth peer name vc0c && ip link set vc0c netns ifbc && ip netns exec ifbc ip link set vc0c up'
  step f09_veth_to_bridge ip link set vc0 master brt0
  step f10_veth_up       ip link set vc0 up
  step f11_veth_leaves   ip link set vc0 nomaster
}
cleanup() {
  for d in brt0 team0 vc0 dft1 dft2; do ip link del $d; done
  ip netns del ifbc
  rm -f /run/systemd/network/10-ifb-brt.link
  udevadm control --reload
}
