# Scenario h (seeds' methods): a hard-coded MAC set by a script with `ip link set dev bond0 address`
# before enslaving, then Debian's ifenslave enslaving: `ifup bond0` with a `bond-slaves` stanza runs
# ifenslave's hook (/etc/network/if-pre-up.d/ifenslave, a shell script, so the process is "ifenslave"),
# which enslaves through sysfs.  (Debian's ifenslave package has no ifenslave command any more.)
#   h03: bond0 02:de:ad:be:ef:01 (addr_assign_type 3) by ip, run by hardmac-bond.sh
#   h04: ifup: both slaves' MACs overwritten with the hard-coded one (bond_enslave), actor ifenslave
#   h05: ifdown: the slaves are released and get their own MACs back
setup() {
  cp "$IN/scenarios/hardmac-bond.sh" /usr/local/sbin/hardmac-bond.sh
  chmod 0755 /usr/local/sbin/hardmac-bond.sh
  mkdir -p /run/network
  printf 'iface bond0 inet manual\n    bond-slaves dumh1 dumh2\n    bond-mode active-backup\n    bond-miimon 100\n' > /run/ifb-interfaces
}
steps() {
  step h01_dummies   sh -c 'ip link add dumh1 type dummy; ip link add dumh2 type dummy'
  step h02_add_bond  ip link add bond0 type bond
  step h03_hardmac   /usr/local/sbin/hardmac-bond.sh
  step h04_ifenslave ifup -v -i /run/ifb-interfaces bond0
  step h05_release   ifdown -v -i /run/ifb-interfaces bond0
  step h06_del_bond  sh -c 'ip link del bond0 2>/dev/null; true'
}
cleanup() {
  ip link del dumh1; ip link del dumh2
  rm -f /run/ifb-interfaces
}
