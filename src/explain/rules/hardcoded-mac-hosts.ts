// A locally administered MAC set explicitly on several hosts: a configuration or script copied with its hard-coded address (told instead of duplicate-mac-hosts).
import { isLocalMac, isVrrpMac } from '../classify.js';
import { firstTs, holderEvidence, type Holder } from '../fleet.js';
import type { Finding, Fix } from '../types.js';
import type { HostsRule } from '../rule.js';

function hardCodedFix(byHand: boolean): Fix {
  return {
    summary:
      `give each host its own MAC: find where this one is set (ifupdown hwaddress, systemd-networkd MACAddress=, NetworkManager cloned-mac-address, a script's ip link set address) ` +
      `and remove it, so the interface keeps its own, or make it unique per host` +
      (byHand ? '' : `; if nothing sets it, compare /etc/machine-id on the hosts: clones that share it get the same MAC from udev (rm /etc/machine-id && systemd-machine-id-setup, then reboot)`),
    commands: [
      "grep -rn -i -E 'hwaddress|MACAddress=|cloned-mac|address' /etc/network/interfaces* /etc/systemd/network/ /etc/NetworkManager/system-connections/ 2>/dev/null",
      ...(byHand ? [] : ['cat /etc/machine-id   # on each host: must differ']),
    ],
  };
}

const hardCoded = (h: Holder) => h.m.aat === 3 || h.m.byUser;

export const hardcodedMacHosts: HostsRule = {
  scope: 'hosts',
  id: 'hardcoded-mac-hosts',
  severity: 'error',
  about: 'a locally administered MAC set by hand on several hosts (a configuration copied with its address)',
  find(fleet, claims) {
    const out: Finding[] = [];
    for (const [mac, reps] of fleet.shared) {
      if (!isLocalMac(mac) || isVrrpMac(mac)) continue;
      if (!reps.some(hardCoded) || reps.some((h) => h.m.byUdev || h.m.udevDerived || h.m.aat === 1)) continue;
      claims.claim(`mac:${mac}`);
      const bothFinal = reps.filter((h) => h.m.final).length >= 2;
      const set = reps.filter(hardCoded);
      // a trace saw a process ask for it; addr_assign_type 3 alone could also be udev's name-derived MAC
      const byHand = set.every((h) => h.m.byUser);
      const ts = firstTs(reps);
      out.push({
        id: 'hardcoded-mac-hosts',
        severity: bothFinal ? 'error' : 'warning',
        title: `${mac} is used on ${reps.length} hosts: ${reps.map((h) => `${h.m.iface} on ${h.host}`).join(', ')}`,
        detail:
          `${mac} is a locally administered address (bit 0x02 of its first byte: made up by software, not burnt in by a vendor), and it was set explicitly ` +
          `on ${set.map((h) => `${h.m.iface} on ${h.host}${h.m.aat === 3 ? ' (addr_assign_type 3, SET)' : h.m.by ? ` (by ${h.m.by})` : ''}`).join(', ')}: ` +
          `a hard-coded MAC in a configuration or script copied from host to host` +
          (byHand ? '' : ", or, if nobody configured it, systemd-udevd's MACAddressPolicy=persistent on hosts cloned with one /etc/machine-id (it derives the MAC from the interface name and the machine-id)") +
          `. The switch sees the address move between ports and traffic for all of them breaks${bothFinal ? '' : '; not all of them held it at the end of their traces'}.`,
        hosts: reps.map((h) => h.host),
        ifaces: [...new Set(reps.map((h) => h.m.iface))],
        ...(ts !== undefined ? { ts } : {}),
        evidence: reps.map((h) => holderEvidence(h, mac)),
        moreEvidence: 0,
        fix: hardCodedFix(byHand),
      });
    }
    return out;
  },
};
