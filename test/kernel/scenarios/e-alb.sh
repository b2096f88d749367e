# Scenario e: balance-alb bond failover.  When the active slave's link goes down, the
# miimon work item (a kworker, parent kthreadd) makes the other slave active and swaps
# the two slaves' MACs (alb_swap_mac_addr -> dev_set_mac_address): the kernel's own change.
steps() {
  step e01_add_bond      ip link add bond1 type bond mode balance-alb miimon 100
  step e02_add_slaves    sh -c 'ip link add de1 type dummy; ip link add de2 type dummy'
  step e03_enslave_de1   ip link set de1 master bond1
  step e04_up            sh -c 'ip link set bond1 up; ip link set de1 up'
  step e05_enslave_de2   sh -c 'ip link set de2 master bond1; ip link set de2 up'
  step e06_wait          sleep 2
  step e07_de1_down      ip link set de1 down
  step e08_wait          sleep 2
  step e09_del_bond      ip link del bond1
}
cleanup() {
  ip link del de1; ip link del de2
}
