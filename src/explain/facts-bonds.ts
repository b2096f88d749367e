// Bonds whose MAC belongs to none of their slaves (checked once enslaving has settled): the made-up bond MAC of incident 1.
import { isUnicastMac } from './classify.js';
import { EvidenceList } from './evidence.js';
import type { FactsView } from './facts-view.js';
import type { SharedMacs } from './facts-shared.js';
import type { EvidenceRef } from './types.js';

export interface ForeignBondMac {
  mac: string;
  ts: number;
  slaves: string[];
  /** The slaves' own addresses (permanent, first seen, or given by udev). */
  owned: string[];
  refs: EvidenceList;
}

export class BondMacs {
  /** The last foreign MAC seen on each bond. */
  readonly foreign = new Map<string, ForeignBondMac>();

  constructor(
    private readonly v: FactsView,
    private readonly shared: SharedMacs,
  ) {}

  /** Whether a bond (other than `self`) has this MAC now. */
  holding(mac: string | number | null, self: string): boolean {
    if (typeof mac !== 'string') return false;
    for (const idx of this.shared.holders(mac)) {
      const s = this.v.table.get(idx);
      if (s && s.name !== self && this.v.kindOf(s.name).kind === 'bond') return true;
    }
    return false;
  }

  /** Is the bond's MAC one of its slaves' own? Remembered with its evidence when not. */
  check(bond: string, ref: EvidenceRef): void {
    const b = this.v.table.byName(bond);
    if (!b || b.deleted || !isUnicastMac(b.addr) || this.v.kindOf(bond).kind !== 'bond') return;
    const slaves = this.v.table.portsOf(bond);
    if (!slaves.length) return;
    const owned = [...new Set(slaves.flatMap((p) => [p.permAddr, this.v.ownMac.get(p.name), this.v.udevGiven.get(p.name)]).filter(isUnicastMac))];
    if (!owned.length || owned.includes(b.addr)) return;
    const known = this.foreign.get(bond);
    if (known && known.mac === b.addr) return;
    const f: ForeignBondMac = { mac: b.addr, ts: ref.ts ?? 0, slaves: slaves.map((p) => p.name), owned, refs: new EvidenceList() };
    this.foreign.set(bond, f);
    const last = this.v.lastMacRef.get(bond);
    if (last && last.change.after === b.addr) f.refs.add(last.ref);
    else f.refs.add(this.v.evidence.fact(`${bond} had ${b.addr} since before the trace started`));
    f.refs.add(ref);
    for (const o of this.v.overwrites.filter((x) => x.change.after === b.addr).slice(0, 4)) if (o.ref !== ref) f.refs.add(o.ref);
  }
}
