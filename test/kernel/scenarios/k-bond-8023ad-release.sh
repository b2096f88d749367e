# Scenario k: an 802.3ad bond whose first slave is released.
#   k03: bond0 (random MAC, Debian's 98-net-bonding.link in place) inherits dmk1's MAC when dmk1 is enslaved
#        first; enslaving dmk2 overwrites dmk2's MAC with it (bond_enslave)
#   k04: releasing dmk1 (__bond_release_one): the bond still has dmk2, so it keeps dmk1's MAC (the driver warns
#        "the permanent HWaddr of slave ... is still in use by bond") and dmk1 is given its permanent MAC back,
#        which is that same MAC: dmk1 and bond0 (and dmk2) share one address
steps() {
  step k01_add_bond  ip link add bond0 type bond mode 802.3ad
  step k02_add_slaves sh -c 'ip link add dmk1 type dummy; ip link add dmk2 type dummy'
  step k03_enslave   sh -c 'ip link set dmk1 master bond0; ip link set dmk2 master bond0'
  step k04_release1  ip link set dmk1 nomaster
}
cleanup() {
  ip link del bond0; ip link del dmk1; ip link del dmk2
}
