# Scenario a: incident 1 with Debian's 98-net-bonding.link masked, so udev's
# 99-default.link (MACAddressPolicy=persistent) applies to bonds.
#   a02: systemd-udevd, through a (udev-worker), sets bond0's MAC (addr_assign_type 3)
#   a03: enslaving duma0 overwrites duma0's MAC with the bond's (actor ip, bond_enslave)
#   a04: releasing the last slave gives bond0 a random MAC (duma0 gets its own back)
#   a05: re-enslaving: bond0 inherits duma0's MAC, written by bond_set_dev_addr without
#        dev_set_mac_address (only dev_addr_mod / NETDEV_CHANGEADDR see it); actor sh (sysfs)
setup() {
  mkdir -p /run/systemd/network
  ln -sf /dev/null /run/systemd/network/98-net-bonding.link
  udevadm control --reload
}
steps() {
  step a01_add_dummy   ip link add duma0 type dummy
  step a02_add_bond    ip link add bond0 type bond
  step a03_enslave_ip  ip link set duma0 master bond0
  step a04_release     ip link set duma0 nomaster
  step a05_enslave_sysfs sh -c 'echo +duma0 > /sys/class/net/bond0/bonding/slaves'
  step a06_del_bond    ip link del bond0
}
cleanup() {
  ip link del duma0
  rm -f /run/systemd/network/98-net-bonding.link
  udevadm control --reload
}
