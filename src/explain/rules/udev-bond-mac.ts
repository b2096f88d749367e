// Incident 1: udev set a bond's MAC (MACAddressPolicy=persistent, or a RUN rule), so the bond keeps it and overwrites its slaves.
import { labelActor } from '../../correlate/actor.js';
import type { Change } from '../../events.js';
import type { TraceFacts } from '../facts.js';
import type { EvidenceRef, Fix } from '../types.js';
import { clockText, valueText } from '../../format/values.js';
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

/**
 * Why the same bond holds udev's MAC at one time and its slave's at another: a later enslavement found the bond's
 * address RANDOM again (its last slave released, or the bond created anew and enslaved before udev acted).
 */
function laterInherit(facts: TraceFacts, udev: Change): { text: string; refs: EvidenceRef[] } | undefined {
  const inherit = facts.bondTurns.get(udev.iface)?.inherit;
  if (!inherit || inherit.got.change.ts <= udev.ts) return undefined;
  const got = inherit.got;
  const g = got.change;
  const slave = /of its slave (\S+)/.exec(g.via.note ?? '')?.[1] ?? 'its slave';
  const why = inherit.after && inherit.after.change.ts > udev.ts ? inherit.after : undefined;
  const w = why?.change;
  const became = !w
    ? `${g.iface}'s address was RANDOM again`
    : w.kind === 'created'
      ? `${g.iface} was created again at ${clockText(w.ts)} with a random MAC (addr_assign_type 1, RANDOM), and ${slave} was enslaved before udev set one`
      : `at ${clockText(w.ts)} ${g.iface} lost its last slave and the bonding driver gave it a random MAC (addr_assign_type 1, RANDOM)`;
  return {
    text:
      `It did not keep it for good: ${became}; when ${slave} was enslaved at ${clockText(g.ts)}, ${g.iface} took ${slave}'s MAC ${valueText(g.after)}. ` +
      `That is why the two differ: a bond keeps udev's MAC when udev sets it before the first slave joins (at boot, or whenever the bond is ` +
      `created and udev is first), and takes its first slave's when its address is still RANDOM at that moment.`,
    refs: [...(why ? [why.ref] : []), got.ref],
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
    const told = new Set<string>();
    for (const u of facts.udevMacs) {
      const c = u.change;
      const { kind, guessed } = facts.kindOf(c.iface);
      if (kind !== 'bond') continue;
      claims.claim(`bond-mac:${c.iface} ${String(c.after)}`);
      if (told.has(c.iface) || claims.claimed(`bond:${c.iface}`)) continue;
      told.add(c.iface);
      claims.claim(`bond:${c.iface}`);
      const role = udevRole(c.actor)!;
      const later = facts.enslaves.filter((e) => e.change.after === c.iface && e.change.ts >= c.ts);
      const over = facts.overwrites.filter((o) => o.change.after === c.after && o.change.ts >= c.ts);
      const ev = new EvidenceList();
      ev.add(u.ref);
      for (const e of later.slice(0, 3)) ev.add(e.ref);
      for (const o of over.slice(0, 4)) ev.add(o.ref);
      const differs = laterInherit(facts, c);
      for (const r of differs?.refs ?? []) ev.add(r);
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
            (stillHas ? ` ${c.iface} still has ${valueText(c.after)} ${facts.when}.` : '') +
            (differs ? ` ${differs.text}` : ''),
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
