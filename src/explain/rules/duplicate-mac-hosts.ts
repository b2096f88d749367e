// Incident 1's outage: one MAC on several hosts (two traces of one host are one host). VRRP's virtual MACs move between hosts on purpose.
import { isVrrpMac } from '../classify.js';
import { sharedMacFix } from '../fixes.js';
import { firstTs, holderEvidence } from '../fleet.js';
import type { Finding } from '../types.js';
import type { HostsRule } from '../rule.js';

export const duplicateMacHosts: HostsRule = {
  scope: 'hosts',
  id: 'duplicate-mac-hosts',
  severity: 'error',
  about: 'one MAC on several hosts: held at the end of two traces (or given by udev on each), an error; for a while, a warning',
  find(fleet, claims) {
    const out: Finding[] = [];
    for (const [mac, reps] of fleet.shared) {
      if (isVrrpMac(mac) || claims.claimed(`mac:${mac}`)) continue;
      const bothFinal = reps.filter((h) => h.m.final).length >= 2;
      const byUdev = reps.some((h) => h.m.byUdev);
      // udev derives the MAC from the name and machine-id: on hosts that share them it comes back every time
      const udevEverywhere = reps.filter((h) => h.m.byUdev).length >= 2;
      const bonds = reps.some((h) => h.m.kind === 'bond');
      const ts = firstTs(reps);
      out.push({
        id: 'duplicate-mac-hosts',
        severity: bothFinal || udevEverywhere ? 'error' : 'warning',
        title: `${mac} is used on ${reps.length} hosts: ${reps.map((h) => `${h.m.iface} on ${h.host}`).join(', ')}`,
        detail:
          `The same MAC on several hosts${bonds ? ' (a bond MAC)' : ''} makes the switch move the address between ports, and traffic for all of them breaks: the shared-bond-MAC outage.` +
          (byUdev ? ` systemd-udevd set it (MACAddressPolicy=persistent derives it from the interface name and /etc/machine-id, equal on hosts cloned from one image).` : '') +
          (bothFinal ? '' : udevEverywhere ? ' udev gives it again each time the interface is created.' : ' Not all of them held it at the end of their traces.'),
        hosts: reps.map((h) => h.host),
        ifaces: [...new Set(reps.map((h) => h.m.iface))],
        ...(ts !== undefined ? { ts } : {}),
        evidence: reps.map((h) => holderEvidence(h, mac)),
        moreEvidence: 0,
        fix: sharedMacFix(mac, byUdev),
      });
    }
    return out;
  },
};
