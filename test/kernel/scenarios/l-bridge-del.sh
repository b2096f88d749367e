# Scenario l: a bridge deleted with its ports.
#   l04: `ip link del brl0`: br_dev_delete lets each port go (del_nbp: no br_del_if; promiscuity given back through
#        dev_set_promiscuity); the ports' releases belong to the ip that deleted the bridge, and whatever brl0
#        itself undergoes while dying is part of its deletion, not a change of its own
steps() {
  step l01_add_br    ip link add brl0 type bridge
  step l02_add_ports sh -c 'ip link add vl0 type veth peer name vl0p; ip link add dml1 type dummy'
  step l03_ports     sh -c 'ip link set vl0 master brl0; ip link set dml1 master brl0; ip link set brl0 up'
  step l04_del_br    ip link del brl0
}
cleanup() {
  ip link del vl0; ip link del dml1
}
