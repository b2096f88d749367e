# Scenario b: stock Debian (ifenslave's 98-net-bonding.link in place: MACAddressPolicy=none
# for the bonding driver).  udev leaves bond0 alone: it keeps its random MAC
# (addr_assign_type 1) until the first enslavement, then inherits the slave's.
setup() {
  rm -f /run/systemd/network/98-net-bonding.link
  udevadm control --reload
  ls -la /usr/lib/systemd/network/ > "$OUT/systemd-network-dir.txt" 2>&1
}
steps() {
  step b01_add_dummy   ip link add dumb0 type dummy
  step b02_add_bond    ip link add bond0 type bond
  step b03_read_mac    cat /sys/class/net/bond0/address /sys/class/net/bond0/addr_assign_type
  step b04_enslave     ip link set dumb0 master bond0
  step b05_del_bond    ip link del bond0
}
cleanup() {
  ip link del dumb0
}
