// A bond whose MAC belongs to none of its slaves (set by hand or a script); udev's own doing is told by udev-bond-mac.
import { sharedMacFix } from '../fixes.js';
import { finding, type TraceRule } from '../rule.js';

export const bondMacForeign: TraceRule = {
  scope: 'trace',
  id: 'bond-mac-foreign',
  severity: 'warning',
  about: "a bond whose MAC belongs to none of its slaves (after enslaving settled)",
  subject: (f) => f.ifaces[0] ?? '',
  find(facts, claims) {
    const out = [];
    for (const [bond, f] of facts.bonds.foreign) {
      if (claims.claimed(`bond-mac:${bond} ${f.mac}`)) continue;
      const now = facts.table.byName(bond);
      const still = !!now && !now.deleted && now.addr === f.mac;
      out.push(
        finding(facts, {
          id: 'bond-mac-foreign',
          severity: 'warning',
          title: `${bond}: bond MAC ${f.mac} belongs to none of its slaves (${f.slaves.join(', ')})${still ? '' : ' (for a while)'}`,
          detail:
            `${bond} used ${f.mac} while its slaves' own addresses are ${f.owned.join(', ')}${still ? `, and still does ${facts.when}` : ''}. ` +
            `A bond normally takes its first slave's MAC; a MAC configured by hand or by a script is copied as it is to every host that runs the same configuration, ` +
            `and two hosts with the same bond MAC break each other's traffic.`,
          ifaces: [bond, ...f.slaves],
          ts: f.ts,
          evidence: f.refs.items,
          moreEvidence: f.refs.more,
          fix: sharedMacFix(f.mac, false),
        }),
      );
    }
    return out;
  },
};
