// A slave released from its bond while the bond keeps that slave's MAC (the bonding driver's "still in use" warning): two interfaces with one MAC.
import type { Fix } from '../types.js';
import { EvidenceList } from '../evidence.js';
import type { SharedPair } from '../facts-shared.js';
import { finding, type TraceRule } from '../rule.js';

function releasedFix(slave: string, bond: string, remaining: string | undefined): Fix {
  return {
    summary:
      `give ${bond} the MAC of a slave it still has (it keeps an address set by hand as SET) or give ${slave} another address before it is used elsewhere; ` +
      `recreating ${bond} also makes it take its first slave's MAC. The kernel's own advice: "set the HWaddr of slave to a different address to avoid conflicts"`,
    commands: remaining ? [`ip link set dev ${bond} address ${remaining}`] : [`ip link set dev ${slave} address XX:XX:XX:XX:XX:XX`],
    reference: '__bond_release_one(): "the permanent HWaddr of slave ... is still in use by bond"',
  };
}

export const releasedSlaveMac: TraceRule = {
  scope: 'trace',
  id: 'released-slave-mac',
  severity: 'warning',
  about: 'a slave released from a bond or team that still uses its MAC: two interfaces with one address',
  find(facts, claims) {
    // pairs of a released slave with its former bond, or with the bond's ports (which hold the bond's MAC by design)
    const bySlave = new Map<string, { slave: string; bond: string; pairs: SharedPair[] }>();
    for (const p of facts.shared.pairs.values()) {
      if (!p.confirmed) continue;
      for (const [slave, other] of [
        [p.a, p.b],
        [p.b, p.a],
      ] as const) {
        const bond = facts.releases.get(slave)?.master;
        if (!bond || (other !== bond && facts.table.byName(other)?.master !== bond)) continue;
        const kind = facts.kindOf(bond).kind;
        if (kind !== 'bond' && kind !== 'team') continue;
        const key = `${slave} ${bond} ${p.mac}`;
        let g = bySlave.get(key);
        if (!g) bySlave.set(key, (g = { slave, bond, pairs: [] }));
        g.pairs.push(p);
      }
    }
    const out = [];
    for (const { slave, bond, pairs } of bySlave.values()) {
      const mac = pairs[0]!.mac;
      for (const p of pairs) claims.claim(`pair:${p.a} ${p.b} ${p.mac}`);
      claims.claim(`bond-mac:${bond} ${mac}`);
      const kind = facts.kindOf(bond).kind!;
      const rel = facts.releases.get(slave)!.r;
      const ev = new EvidenceList();
      ev.add(rel.ref);
      for (const p of pairs) for (const r of p.refs) if (r !== rel.ref && !ev.items.includes(r)) ev.add(r);
      const a = facts.table.byName(slave);
      const b = facts.table.byName(bond);
      const still = !!a && !!b && !a.deleted && !b.deleted && a.addr === mac && b.addr === mac;
      const remaining = facts.table
        .portsOf(bond)
        .map((s) => s.permAddr ?? facts.macAtEnslave.get(s.name) ?? facts.ownMac.get(s.name))
        .find((m) => m !== undefined && m !== mac);
      const others = pairs.map((p) => (p.a === slave ? p.b : p.a)).filter((o) => o !== bond);
      out.push(
        finding(facts, {
          id: 'released-slave-mac',
          severity: 'warning',
          title: `${slave}: released from ${kind} ${bond}, which still uses its MAC ${mac}${still ? '' : ' (for a while)'}`,
          detail:
            `${bond} took ${mac} from a slave (the first one enslaved) and keeps it while it has other slaves; when ${slave} left it, ${slave} had that same address ` +
            `(given back as its own, or kept). The bonding driver warns "the permanent HWaddr of slave - ${mac} - is still in use by bond". ` +
            `Two interfaces with one MAC${others.length ? ` (${bond}'s ${others.join(', ')} carry it too, as its ports)` : ''}${still ? `, still ${facts.when}` : ''}: ` +
            `frames for one reach the other, and switches see the address on two ports.`,
          ifaces: [slave, bond],
          ts: rel.change.ts,
          evidence: ev.items,
          moreEvidence: ev.more,
          fix: releasedFix(slave, bond, remaining),
        }),
      );
    }
    return out;
  },
};
