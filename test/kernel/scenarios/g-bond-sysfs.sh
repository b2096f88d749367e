# Scenario g (incident 2, a seed's script): bond0 created, configured and enslaved through sysfs only,
# by a script (seed-bond-sysfs.sh, so the process is named after it), in four orderings: enslave at
# once, read the address first, sleep 1, udevadm settle.  98-net-bonding.link is masked, so udev races
# the script: whether bond0 keeps udev's MAC (and the slave takes it) or inherits the slave's depends
# on whether udev acted before the enslavement.  Every ordering's story must be told by the trace,
# with the script as the actor of the enslavement and udev as the actor of its own MAC write.
setup() {
  mkdir -p /run/systemd/network
  ln -sf /dev/null /run/systemd/network/98-net-bonding.link
  udevadm control --reload
  cp "$IN/scenarios/seed-bond-sysfs.sh" /usr/local/sbin/seed-bond-sysfs.sh
  chmod 0755 /usr/local/sbin/seed-bond-sysfs.sh
}
steps() {
  local o n=0
  for o in now read sleep settle; do
    n=$((n+1))
    step g${n}1_dummy_$o   ip link add dumg$n type dummy
    step g${n}2_seed_$o    /usr/local/sbin/seed-bond-sysfs.sh $o dumg$n
    step g${n}3_del_$o     sh -c 'echo -bond0 > /sys/class/net/bonding_masters'
  done
}
cleanup() {
  for n in 1 2 3 4; do ip link del dumg$n; done
  rm -f /run/systemd/network/98-net-bonding.link
  udevadm control --reload
}
