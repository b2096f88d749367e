// Observations waiting for netlink, for nested probes of the same call, or for their time: found by a test, taken
// out when something settles them, handed out when due. A storm under lag holds thousands of them: taking one and
// handing out the due ones cost O(log n) each, never a pass over all of them per event.
import type { Obs } from './ops.js';

export class Pending implements Iterable<Obs> {
  /** In arrival order; taken ones stay as holes until they are many, then the array is compacted. */
  private items: Obs[] = [];
  /** The same, by kind: a search names the kind it wants. */
  private byKind = new Map<string, Obs[]>();
  private holes = 0;
  /** A binary heap by `due` (then arrival); taken ones are dropped when they reach the top. */
  private readonly heap: Obs[] = [];
  private readonly arrival = new WeakMap<Obs, number>();
  private readonly taken = new WeakSet<Obs>();
  private counter = 0;

  get size(): number {
    return this.items.length - this.holes;
  }

  add(o: Obs): void {
    this.arrival.set(o, this.counter++);
    this.items.push(o);
    const list = this.byKind.get(o.kind);
    if (list) list.push(o);
    else this.byKind.set(o.kind, [o]);
    this.heap.push(o);
    this.up(this.heap.length - 1);
  }

  /** Settled (matched, merged away): no longer pending. */
  take(o: Obs): void {
    if (this.taken.has(o)) return;
    this.taken.add(o);
    this.holes++;
    if (this.holes > 64 && this.holes * 2 > this.items.length) {
      this.items = this.items.filter((x) => !this.taken.has(x));
      this.byKind = new Map();
      for (const x of this.items) {
        const list = this.byKind.get(x.kind);
        if (list) list.push(x);
        else this.byKind.set(x.kind, [x]);
      }
      this.holes = 0;
    }
  }

  /** The oldest pending observation of that kind (of any kind: null) that passes `test`. */
  find(kind: Obs['kind'] | null, test: (o: Obs) => boolean): Obs | undefined {
    for (const o of kind === null ? this.items : (this.byKind.get(kind) ?? [])) if (!this.taken.has(o) && test(o)) return o;
    return undefined;
  }

  filter(kind: Obs['kind'], test: (o: Obs) => boolean): Obs[] {
    return (this.byKind.get(kind) ?? []).filter((o) => !this.taken.has(o) && test(o));
  }

  *[Symbol.iterator](): Iterator<Obs> {
    for (const o of this.items) if (!this.taken.has(o)) yield o;
  }

  /** When the next observation falls due (µs), or Infinity. */
  nextDue(): number {
    this.dropTaken();
    return this.heap[0]?.due ?? Infinity;
  }

  /** Takes out the observations due by `now`, in arrival order. */
  takeDue(now: number): Obs[] {
    const out: Obs[] = [];
    for (this.dropTaken(); this.heap.length && this.heap[0]!.due <= now; this.dropTaken()) {
      const o = this.pop();
      this.take(o);
      out.push(o);
    }
    return out.length > 1 ? out.sort((a, b) => this.arrival.get(a)! - this.arrival.get(b)!) : out;
  }

  private dropTaken(): void {
    while (this.heap.length && this.taken.has(this.heap[0]!)) this.pop();
  }

  private before(a: Obs, b: Obs): boolean {
    return a.due < b.due || (a.due === b.due && this.arrival.get(a)! < this.arrival.get(b)!);
  }

  private pop(): Obs {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length) {
      h[0] = last;
      this.down(0);
    }
    return top;
  }

  private up(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private down(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.before(h[l]!, h[m]!)) m = l;
      if (r < h.length && this.before(h[r]!, h[m]!)) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}
