// One MAC on two interfaces of one host that are neither master and port nor VLAN and parent (and that lasted).
import { isVrrpMac } from '../classify.js';
import { finding, type TraceRule } from '../rule.js';

export const duplicateMac: TraceRule = {
  scope: 'trace',
  id: 'duplicate-mac',
  severity: 'warning',
  about: 'one MAC on two unrelated interfaces of one host, for longer than a reconfiguration takes',
  find(facts, claims) {
    const out = [];
    for (const d of facts.shared.pairs.values()) {
      // a VRRP virtual MAC is per VRID and L2 segment: one VRID on two VLANs gives one MAC to two interfaces, by design
      if (!d.confirmed || isVrrpMac(d.mac) || claims.claimed(`pair:${d.a} ${d.b} ${d.mac}`)) continue;
      const a = facts.table.byName(d.a);
      const b = facts.table.byName(d.b);
      const still = !!a && !!b && !a.deleted && !b.deleted && a.addr === d.mac && b.addr === d.mac && !facts.shared.related(a, b);
      out.push(
        finding(facts, {
          id: 'duplicate-mac',
          severity: 'warning',
          title: `${d.a} and ${d.b} both have ${d.mac}${still ? '' : ' (for a while)'}`,
          detail:
            `Two interfaces on ${facts.host} that are neither master and port nor VLAN and parent used the same MAC${still ? `, and still do ${facts.when}` : ''}. ` +
            `Frames for one can be delivered to the other, and switches see the address move between ports.`,
          ifaces: [d.a, d.b],
          ts: d.ts,
          evidence: d.refs,
        }),
      );
    }
    return out;
  },
};
