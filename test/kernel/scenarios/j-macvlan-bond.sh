# Scenario j: a macvlan on a bond makes the bond's slave promiscuous.
#   j05: `ip link set mv0 up`: macvlan_open adds mv0's MAC to bond0's unicast list (dev_uc_add); bond0 filters
#        unicast itself but syncs the list to its slave (bond_set_rx_mode > dev_uc_sync); the dummy slave cannot
#        filter unicast addresses, so __dev_set_rx_mode makes it promiscuous (__dev_set_promiscuity, no netlink
#        message: notify is false on that path)
#   j06: deleting mv0 takes the address back: the slave stops being promiscuous
steps() {
  step j01_add_bond  ip link add bond0 type bond
  step j02_enslave   sh -c 'ip link add dmj0 type dummy; ip link set dmj0 master bond0; ip link set bond0 up'
  step j03_add_mv    ip link add mv0 link bond0 type macvlan
  step j04_read      ip -d -o link show dev dmj0
  step j05_mv_up     ip link set mv0 up
  step j06_del_mv    ip link del mv0
}
cleanup() {
  ip link del bond0; ip link del dmj0
}
