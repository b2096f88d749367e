// Incident 1: udev set a bond's MAC (MACAddressPolicy=persistent, or a RUN rule), so the bond keeps it and overwrites its slaves.
import { labelActor } from '../../correlate/actor.js';
import type { Fix } from '../types.js';
import { valueText } from '../../format/values.js';
import { udevRole } from '../classify.js';
import { EvidenceList } from '../evidence.js';
import { udevBondFix } from '../fixes.js';
import { finding, type TraceRule } from '../rule.js';

function udevRuleFix(bond: string, comm: string): Fix {
  return {
    summary: `a udev RUN rule ran ${comm}, which set ${bond}'s MAC: find the rule (grep -r ${comm} /etc/udev/rules.d /usr/lib/udev/rules.d) and drop the address change for bonds`,
    commands: [`grep -rn '${comm}' /etc/udev/rules.d /usr/lib/udev/rules.d`],
  };
}

export const udevBondMac: TraceRule = {
  scope: 'trace',
  id: 'udev-bond-mac',
  severity: 'error',
  about: "a bond's MAC set by systemd-udevd (MACAddressPolicy=persistent) or a udev RUN rule, so it is not its first slave's",
  subject: (f) => f.ifaces[0] ?? '',
  find(facts, claims) {
    const out = [];
    for (const u of facts.udevMacs) {
      const c = u.change;
      const { kind, guessed } = facts.kindOf(c.iface);
      if (kind !== 'bond') continue;
      claims.claim(`bond-mac:${c.iface} ${String(c.after)}`);
      if (claims.claimed(`bond:${c.iface}`)) continue;
      claims.claim(`bond:${c.iface}`);
      const role = udevRole(c.actor)!;
      const later = facts.enslaves.filter((e) => e.change.after === c.iface && e.change.ts >= c.ts);
      const over = facts.overwrites.filter((o) => o.change.after === c.after && o.change.ts >= c.ts);
      const ev = new EvidenceList();
      ev.add(u.ref);
      for (const e of later.slice(0, 3)) ev.add(e.ref);
      for (const o of over.slice(0, 4)) ev.add(o.ref);
      const stillHas = facts.table.byName(c.iface)?.addr === c.after;
      const consequence = over.length
        ? `When ${later[0] ? later[0].change.iface : 'a slave'} was enslaved, the bond kept that MAC and wrote it over its slave${over.length > 1 ? 's' : ''} (${[...new Set(over.map((o) => o.change.iface))].join(', ')}).`
        : later.length
          ? `${later.map((e) => e.change.iface).join(', ')} joined it afterwards; the bond kept that MAC instead of taking its first slave's.`
          : `No slave joined during the trace; the first one will be overwritten with this MAC.`;
      out.push(
        finding(facts, {
          id: 'udev-bond-mac',
          severity: over.length || later.length || stillHas ? 'error' : 'warning',
          title:
            role === 'policy'
              ? `${c.iface}: MAC set by systemd-udevd (MACAddressPolicy=persistent)${later.length ? ' before its slaves were enslaved' : ''}`
              : `${c.iface}: MAC set by ${c.actor?.comm ?? '?'}, run from a udev rule`,
          detail:
            `${c.iface}${guessed ? ' (a bond, judging by its name)' : ''} got ${valueText(c.after)} from ${c.actor ? labelActor(c.actor) : 'udev'}` +
            `${role === 'policy' ? ', a MAC derived from its name and /etc/machine-id' : ''}. That makes its addr_assign_type 3 (SET), and the bonding driver ` +
            `copies the first slave's MAC into a bond only while the bond's address is RANDOM. ${consequence} ` +
            `Hosts cloned from one image derive the same MAC for the same bond name.` +
            (stillHas ? ` ${c.iface} still has ${valueText(c.after)} ${facts.when}.` : ''),
          ifaces: [c.iface, ...new Set(over.map((o) => o.change.iface))],
          ts: c.ts,
          evidence: ev.items,
          moreEvidence: ev.more,
          fix: role === 'policy' ? udevBondFix(c.iface) : udevRuleFix(c.iface, c.actor?.comm ?? 'the program'),
        }),
      );
    }
    return out;
  },
};
