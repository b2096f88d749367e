# Scenario h (seeds' methods): a hard-coded MAC set by a script with `ip link set dev bond0 address`
# before enslaving, then Debian's `ifenslave` enslaving two dummies and releasing one.
#   h03: bond0 02:de:ad:be:ef:01 (addr_assign_type 3) by ip, run by hardmac-bond.sh
#   h04: ifenslave: both slaves' MACs overwritten with the hard-coded one (bond_enslave), actor ifenslave
#   h05: ifenslave -d: dumh2 released, gets its own MAC back
setup() {
  cp "$IN/scenarios/hardmac-bond.sh" /usr/local/sbin/hardmac-bond.sh
  chmod 0755 /usr/local/sbin/hardmac-bond.sh
}
steps() {
  step h01_dummies   sh -c 'ip link add dumh1 type dummy; ip link add dumh2 type dummy'
  step h02_add_bond  ip link add bond0 type bond mode active-backup miimon 100
  step h03_hardmac   /usr/local/sbin/hardmac-bond.sh
  step h04_ifenslave ifenslave bond0 dumh1 dumh2
  step h05_release   ifenslave -d bond0 dumh2
  step h06_del_bond  ip link del bond0
}
cleanup() {
  ip link del dumh1; ip link del dumh2
}
