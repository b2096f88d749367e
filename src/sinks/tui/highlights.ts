// The two MAC smells of the bond/bridge incidents: a master whose MAC belongs to none of its ports, and one MAC on two unrelated interfaces.
import type { IfaceState } from '../../feed/feed.js';

export interface Highlight {
  /** `foreign`: a master's MAC matches no port; `shared`: another unrelated interface has the same MAC. */
  kinds: ('foreign' | 'shared')[];
  reasons: string[];
}

/** Kinds whose MAC is their lower device's by design (not a smell when shared). */
const INHERITS_LOWER_MAC = new Set(['vlan', 'ipvlan', 'macsec', 'vxlan_lower']);
const NO_MAC = /^(00:)*00$/;

function hasMac(s: IfaceState): s is IfaceState & { addr: string } {
  return !s.deleted && !!s.addr && !NO_MAC.test(s.addr) && !s.flags.includes('LOOPBACK');
}

/** Same master group: one is the other's master, or both are ports of one master. */
function related(a: IfaceState, b: IfaceState): boolean {
  if (a.master && a.master === b.name) return true;
  if (b.master && b.master === a.name) return true;
  if (a.master && a.master === b.master) return true;
  return INHERITS_LOWER_MAC.has(a.kind ?? '') || INHERITS_LOWER_MAC.has(b.kind ?? '');
}

/** The MAC a port brings with it: its permanent address when known, else its current one. */
function ownMac(port: IfaceState): string | undefined {
  return port.permAddr && !NO_MAC.test(port.permAddr) ? port.permAddr : port.addr;
}

function pushTo<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

export function findHighlights(states: readonly IfaceState[]): Map<IfaceState, Highlight> {
  const out = new Map<IfaceState, Highlight>();
  const mark = (s: IfaceState, kind: 'foreign' | 'shared', reason: string) => {
    const h = out.get(s) ?? { kinds: [], reasons: [] };
    if (!h.kinds.includes(kind)) h.kinds.push(kind);
    h.reasons.push(reason);
    out.set(s, h);
  };
  const live = states.filter(hasMac);
  const byMac = new Map<string, IfaceState[]>();
  for (const s of live) pushTo(byMac, s.addr!, s);
  for (const group of byMac.values()) {
    for (const a of group) {
      const others = group.filter((b) => b !== a && !related(a, b));
      if (others.length) mark(a, 'shared', `MAC also on ${others.map((b) => b.name).join(', ')}`);
    }
  }
  // One pass to group ports by master: hosts with thousands of container veths redraw this every frame.
  const portsOf = new Map<string, IfaceState[]>();
  for (const p of states) if (!p.deleted && p.master) pushTo(portsOf, p.master, p);
  for (const master of live) {
    const ports = (portsOf.get(master.name) ?? []).filter((p) => p !== master);
    if (!ports.length) continue;
    const macs = ports.map(ownMac).filter((m): m is string => !!m);
    if (macs.length && !macs.includes(master.addr!)) mark(master, 'foreign', `MAC belongs to none of ${ports.map((p) => p.name).join(', ')}`);
  }
  return out;
}
