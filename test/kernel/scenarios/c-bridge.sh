# Scenario c: bridge ports and promiscuity; a bridge following its lowest port MAC.
#   c03: br_add_if raises vb0's promiscuity (dev_set_promiscuity, br_add_if in the stack)
#   c05: tcpdump raises vb0p's through the packet socket (packet_setsockopt), then drops it
#   c09/c10/c11: brauto0 (random MAC, udev told to leave it) follows its lowest port MAC:
#        02:..:20, then 02:..:05, then back to 02:..:20 - written without dev_set_mac_address
setup() {
  mkdir -p /run/systemd/network
  printf '[Match]\nOriginalName=brauto*\n\n[Link]\nMACAddressPolicy=none\n' > /run/systemd/network/10-ifb-brauto.link
  udevadm control --reload
}
steps() {
  step c01_add_br0       ip link add br0 type bridge
  step c02_add_veth      ip link add vb0 type veth peer name vb0p
  step c03_port_vb0      ip link set vb0 master br0
  step c04_up            sh -c 'ip link set br0 up; ip link set vb0 up; ip link set vb0p up'
  step c05_tcpdump       timeout 3 tcpdump -i vb0p -n -c 1
  step c06_vb0_nomaster  ip link set vb0 nomaster
  step c07_add_brauto    ip link add brauto0 type bridge
  step c08_add_ports     sh -c 'ip link add da1 address 02:00:00:00:00:20 type dummy; ip link add da2 address 02:00:00:00:00:05 type dummy'
  step c09_port_da1      ip link set da1 master brauto0
  step c10_port_da2_lower ip link set da2 master brauto0
  step c11_da2_nomaster  ip link set da2 nomaster
}
cleanup() {
  for d in br0 brauto0 vb0 da1 da2; do ip link del $d; done
  rm -f /run/systemd/network/10-ifb-brauto.link
  udevadm control --reload
}
