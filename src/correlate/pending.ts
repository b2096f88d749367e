// Observations waiting for netlink, for nested probes of the same call, or for their time: found by a test, taken
// out when something settles them, handed out when due. A storm under lag holds thousands of them: taking one, the
// due ones, the oldest time and a MAC's observation cost O(log n) or less, never a pass over all of them per event.
import { Heap } from '../heap.js';
import type { Obs } from './ops.js';

/** Observations by a key (then arrival); taken ones are dropped when they reach the top. */
class ObsHeap {
  private readonly h: Heap<Obs>;
  constructor(
    key: (o: Obs) => number,
    arrival: WeakMap<Obs, number>,
    private readonly taken: WeakSet<Obs>,
  ) {
    this.h = new Heap((a, b) => key(a) < key(b) || (key(a) === key(b) && arrival.get(a)! < arrival.get(b)!));
  }

  push(o: Obs): void {
    this.h.push(o);
  }

  /** The least observation still pending, or undefined. */
  top(): Obs | undefined {
    while (this.h.size && this.taken.has(this.h.peek()!)) this.h.pop();
    return this.h.peek();
  }

  pop(): Obs | undefined {
    return this.h.pop();
  }
}

export class Pending implements Iterable<Obs> {
  /** In arrival order; taken ones stay as holes until they are many, then the arrays are compacted. */
  private items: Obs[] = [];
  /** The same, by kind (a search names the kind it wants), and MAC observations by their new address. */
  private byKind = new Map<string, Obs[]>();
  private byMac = new Map<string, Obs[]>();
  private holes = 0;
  private readonly arrival = new WeakMap<Obs, number>();
  private readonly taken = new WeakSet<Obs>();
  private readonly byDue = new ObsHeap((o) => o.due, this.arrival, this.taken);
  private readonly byTs = new ObsHeap((o) => o.ts, this.arrival, this.taken);
  private counter = 0;

  add(o: Obs): void {
    this.arrival.set(o, this.counter++);
    this.items.push(o);
    this.index(o);
    this.byDue.push(o);
    this.byTs.push(o);
  }

  /** Settled (matched, merged away): no longer pending. */
  take(o: Obs): void {
    if (this.taken.has(o)) return;
    this.taken.add(o);
    this.holes++;
    if (this.holes > 64 && this.holes * 2 > this.items.length) {
      this.items = this.items.filter((x) => !this.taken.has(x));
      this.byKind = new Map();
      this.byMac = new Map();
      for (const x of this.items) this.index(x);
      this.holes = 0;
    }
  }

  /** The oldest pending observation of that kind that passes `test`. */
  find(kind: Obs['kind'], test: (o: Obs) => boolean): Obs | undefined {
    return this.first(this.byKind.get(kind), test);
  }

  /** The oldest pending MAC observation with that new address that passes `test`. */
  findMac(after: string, test: (o: Obs) => boolean): Obs | undefined {
    return this.first(this.byMac.get(after), test);
  }

  filter(kind: Obs['kind'], test: (o: Obs) => boolean): Obs[] {
    return (this.byKind.get(kind) ?? []).filter((o) => !this.taken.has(o) && test(o));
  }

  /** The newest `n` still pending, oldest first. */
  newest(n: number): Obs[] {
    const out: Obs[] = [];
    for (let i = this.items.length - 1; i >= 0 && out.length < n; i--) if (!this.taken.has(this.items[i]!)) out.push(this.items[i]!);
    return out.reverse();
  }

  *[Symbol.iterator](): Iterator<Obs> {
    for (const o of this.items) if (!this.taken.has(o)) yield o;
  }

  /** When the next observation falls due (µs), or Infinity. */
  nextDue(): number {
    return this.byDue.top()?.due ?? Infinity;
  }

  /** The event time of the oldest pending observation, or Infinity. */
  oldestTs(): number {
    return this.byTs.top()?.ts ?? Infinity;
  }

  /** Takes out the observations due by `now`, in arrival order. */
  takeDue(now: number): Obs[] {
    const out: Obs[] = [];
    for (let o = this.byDue.top(); o && o.due <= now; o = this.byDue.top()) {
      this.byDue.pop();
      this.take(o);
      out.push(o);
    }
    return out.length > 1 ? out.sort((a, b) => this.arrival.get(a)! - this.arrival.get(b)!) : out;
  }

  private index(o: Obs): void {
    push(this.byKind, o.kind, o);
    if (o.kind === 'mac' && typeof o.after === 'string') push(this.byMac, o.after, o);
  }

  private first(list: Obs[] | undefined, test: (o: Obs) => boolean): Obs | undefined {
    if (list) for (const o of list) if (!this.taken.has(o) && test(o)) return o;
    return undefined;
  }
}

function push(m: Map<string, Obs[]>, k: string, o: Obs): void {
  const list = m.get(k);
  if (list) list.push(o);
  else m.set(k, [o]);
}
