// A slave released from its bond while the bond keeps that slave's MAC (the bonding driver's "still in use" warning):
// after the release two interfaces hold one MAC.
import type { Fix } from '../types.js';
import { EvidenceList } from '../evidence.js';
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
    const out = [];
    for (const p of facts.shared.pairs.values()) {
      if (!p.confirmed) continue;
      const [slave, bond] = facts.releases.get(p.a)?.master === p.b ? [p.a, p.b] : facts.releases.get(p.b)?.master === p.a ? [p.b, p.a] : [];
      if (!slave || !bond) continue;
      const kind = facts.kindOf(bond).kind;
      if (kind !== 'bond' && kind !== 'team') continue;
      claims.claim(`pair:${p.a} ${p.b} ${p.mac}`);
      const rel = facts.releases.get(slave)!.r;
      const ev = new EvidenceList();
      ev.add(rel.ref);
      for (const r of p.refs) if (r !== rel.ref) ev.add(r);
      const a = facts.table.byName(slave);
      const b = facts.table.byName(bond);
      const still = !!a && !!b && !a.deleted && !b.deleted && a.addr === p.mac && b.addr === p.mac;
      const remaining = facts.table.portsOf(bond).map((s) => s.permAddr ?? facts.ownMac.get(s.name)).find((m) => m !== undefined && m !== p.mac);
      out.push(
        finding(facts, {
          id: 'released-slave-mac',
          severity: 'warning',
          title: `${slave}: released from ${kind} ${bond}, which still uses its MAC ${p.mac}${still ? '' : ' (for a while)'}`,
          detail:
            `${bond} took ${p.mac} from a slave (the first one enslaved) and keeps it while it has other slaves; when ${slave} left it, ${slave} had that same address ` +
            `(given back as its own, or kept). The bonding driver warns "the permanent HWaddr of slave - ${p.mac} - is still in use by bond". ` +
            `Two interfaces with one MAC${still ? ', still at the end of the trace' : ''}: frames for one reach the other, and switches see the address on two ports.`,
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
