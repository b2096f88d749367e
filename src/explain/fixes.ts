// Fixes several rules give (udev off bonds, one MAC per host), in the words and files an operator applies; a fix only one rule gives lives in that rule.
import type { Fix } from './types.js';

/** The .link file that keeps udev's MACAddressPolicy=persistent off bonds: what Debian's ifenslave ships. */
export const BOND_LINK_PATH = '/etc/systemd/network/98-net-bonding.link';
export const BOND_LINK_CONTENT = `# Keep udev's MACAddressPolicy=persistent (99-default.link) off bonds: a bond must take its
# first slave's MAC, not one derived from its name and /etc/machine-id.
[Match]
Driver=bonding

[Link]
MACAddressPolicy=none
`;

export function udevBondFix(bond: string): Fix {
  return {
    summary:
      `tell udev to leave bond MACs alone with a .link file for the bonding driver (Debian's ifenslave package ships it as ` +
      `/usr/lib/systemd/network/98-net-bonding.link; if that exists, check it is not masked by a symlink to /dev/null in /etc/systemd/network/), ` +
      `then recreate ${bond} so it takes its first slave's MAC`,
    file: { path: BOND_LINK_PATH, content: BOND_LINK_CONTENT },
    commands: ['udevadm control --reload', `ls -l /etc/systemd/network/ /usr/lib/systemd/network/*bond* 2>/dev/null`, `udevadm test-builtin net_setup_link /sys/class/net/${bond}   # must show MACAddressPolicy=none`, 'systemctl restart networking   # or recreate the bond / reboot'],
    reference: 'systemd.link(5) MACAddressPolicy=; Debian ifenslave 98-net-bonding.link',
  };
}

export function sharedMacFix(mac: string, viaUdev: boolean): Fix {
  if (viaUdev) {
    return {
      ...udevBondFix('the bond'),
      summary:
        `${mac} was derived by udev from the interface name and /etc/machine-id, so hosts cloned from one image (same machine-id) get the same bond MAC. ` +
        `Keep udev off bonds (the .link file below) so each bond takes its own first slave's MAC, and give cloned hosts their own machine-id ` +
        `(rm /etc/machine-id && systemd-machine-id-setup, then reboot)`,
    };
  }
  return {
    summary: `give each host its own MAC for this interface: let bonds take their first slave's MAC, or replace a hard-coded address copied between hosts (ifupdown hwaddress, networkd MACAddress=, scripts) with a unique one`,
    commands: ["grep -rn -i -E 'hwaddress|MACAddress|address' /etc/network/interfaces* /etc/systemd/network/ /etc/NetworkManager/system-connections/ 2>/dev/null"],
  };
}
