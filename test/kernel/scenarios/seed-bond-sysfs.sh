#!/bin/sh
# A hand-made bonding script as seeds write them: bond created and enslaved through sysfs only.
#   seed-bond-sysfs.sh ORDERING SLAVE    ORDERING: now | read | sleep | settle
echo +bond0 > /sys/class/net/bonding_masters
echo active-backup > /sys/class/net/bond0/bonding/mode
echo 100 > /sys/class/net/bond0/bonding/miimon
case $1 in
  now) ;;                                              # enslave at once
  read) echo "bond0 before: $(cat /sys/class/net/bond0/address)" ;;   # read the address first
  sleep) sleep 1 ;;                                    # give udev time
  settle) udevadm settle ;;                            # wait for udev explicitly
esac
echo "+$2" > /sys/class/net/bond0/bonding/slaves
echo "bond0 after: $(cat /sys/class/net/bond0/address) aat $(cat /sys/class/net/bond0/addr_assign_type)"
