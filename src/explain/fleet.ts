// What the traces of several hosts say together: which host holds which MAC (one representative per host).
import type { HeldMac } from './facts-history.js';
import type { TraceFacts } from './facts.js';
import type { EvidenceRef } from './types.js';

export interface Holder {
  host: string;
  file: string;
  /** The holding is from a snapshot file (no events). */
  snapshot: boolean;
  m: HeldMac;
}

/**
 * Which holding of a MAC speaks for its host: one held at the end of a trace, then the interface the MAC was set on
 * (a bond's ports and its bridge carry the bond's MAC too), then the first in ifindex order.
 */
function rank(m: HeldMac): number {
  return (m.final ? 2 : 0) + (m.aat === 3 || m.byUser || m.byUdev ? 1 : 0);
}

export class FleetFacts {
  readonly hosts: ReadonlySet<string>;
  /** Every MAC held on two or more hosts, with one holder per host (see rank), hosts sorted. */
  readonly shared = new Map<string, Holder[]>();

  constructor(readonly traces: readonly TraceFacts[]) {
    this.hosts = new Set(traces.map((t) => t.host));
    if (this.hosts.size < 2) return;
    const byMac = new Map<string, Map<string, Holder>>();
    for (const t of traces) {
      for (const m of t.heldMacs()) {
        let perHost = byMac.get(m.mac);
        if (!perHost) byMac.set(m.mac, (perHost = new Map()));
        const cur = perHost.get(t.host);
        if (!cur || rank(m) > rank(cur.m)) perHost.set(t.host, { host: t.host, file: t.file, snapshot: t.isSnapshot, m });
      }
    }
    for (const [mac, perHost] of byMac) if (perHost.size >= 2) this.shared.set(mac, [...perHost.values()].sort((a, b) => a.host.localeCompare(b.host)));
  }
}

/** The evidence of a holding: the change that gave it, or the fact that the trace started with it. */
export function holderEvidence(h: Holder, mac: string): EvidenceRef {
  return h.m.ref ?? { file: h.file, host: h.host, text: `${h.m.iface} on ${h.host} has ${mac} ${h.snapshot ? '(snapshot)' : '(already at the start of the trace)'}` };
}

/** The earliest time among the holdings that came from an event. */
export function firstTs(holders: readonly Holder[]): number | undefined {
  return holders.map((h) => h.m.ref?.ts).filter((t): t is number => t !== undefined).sort((a, b) => a - b)[0];
}
