# Scenario i: a device moved into another network namespace, and its MAC set there.
#   i02: `ip link set vni0p netns ifbns1` (__dev_change_net_namespace): a move by ip, never a deletion
#   i03: `ip -n ifbns1 link set dev vni0p address ...`: the change happens in ifbns1, and says so
setup() {
  ip netns add ifbns1
}
steps() {
  step i01_add_veth ip link add vni0 type veth peer name vni0p
  step i02_move     ip link set vni0p netns ifbns1
  step i03_set_mac  ip -n ifbns1 link set dev vni0p address 02:00:00:00:0a:07
  step i04_read     ip -n ifbns1 -o link show dev vni0p
}
cleanup() {
  ip link del vni0
  ip netns del ifbns1
}
