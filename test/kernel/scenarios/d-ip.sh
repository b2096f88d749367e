# Scenario d: changes requested with ip, attributed to ip.
#   d02: MAC set by hand (dev_set_mac_address_user -> dev_set_mac_address)
#   d03/d04: promisc on/off (dev_change_flags -> __dev_set_promiscuity only)
steps() {
  step d01_add_dummy     ip link add dd0 type dummy
  step d02_set_mac       ip link set dev dd0 address 02:11:22:33:44:55
  step d03_promisc_on    ip link set dd0 promisc on
  step d04_promisc_off   ip link set dd0 promisc off
  step d05_del           ip link del dd0
}
