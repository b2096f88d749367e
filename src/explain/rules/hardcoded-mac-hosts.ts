// A locally administered MAC set by hand (addr_assign_type 3, or an `ip link set address`) on several hosts: a
// configuration or script copied between hosts with its hard-coded address. Told instead of duplicate-mac-hosts.
import { isLocalMac, isVrrpMac } from '../classify.js';
import { sharedMacFix } from '../fixes.js';
import { firstTs, holderEvidence, type Holder } from '../fleet.js';
import type { Finding } from '../types.js';
import type { HostsRule } from '../rule.js';

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
      const ts = firstTs(reps);
      out.push({
        id: 'hardcoded-mac-hosts',
        severity: bothFinal ? 'error' : 'warning',
        title: `${mac} is used on ${reps.length} hosts: ${reps.map((h) => `${h.m.iface} on ${h.host}`).join(', ')}`,
        detail:
          `${mac} is a locally administered address (bit 0x02 of its first byte: made up by software, not burnt in by a vendor), and it was set explicitly ` +
          `on ${set.map((h) => `${h.m.iface} on ${h.host}${h.m.aat === 3 ? ' (addr_assign_type 3, SET)' : h.m.by ? ` (by ${h.m.by})` : ''}`).join(', ')}: ` +
          `a hard-coded MAC in a configuration or script copied from host to host. The switch sees the address move between ports and traffic for all of them breaks` +
          `${bothFinal ? '' : '; not all of them held it at the end of their traces'}.`,
        hosts: reps.map((h) => h.host),
        ifaces: [...new Set(reps.map((h) => h.m.iface))],
        ...(ts !== undefined ? { ts } : {}),
        evidence: reps.map((h) => holderEvidence(h, mac)),
        moreEvidence: 0,
        fix: sharedMacFix(mac, false),
      });
    }
    return out;
  },
};
