// Changes reported but not settled yet, found by what they changed: a netlink message confirms the change a probe or
// a request already reported, a late cause claims the change reported without it. Kept by event time, not count: in
// a storm of ten thousand changes a second, the one a late message is looking for must still be there.
import type { Change } from '../events.js';

/** How an index files a change: what a lookup must name to find it. */
export type ChangeKey = (c: { kind: string; iface: string; after: Change['after'] }) => string;

/** By kind and new value (a MAC is all but unique; a count, a master name less so: the caller's test decides). */
const byValue: ChangeKey = (c) => `${c.kind}|${typeof c.after}|${String(c.after)}`;

export class RecentChanges {
  private readonly lists = new Map<string, Change[]>();
  /** Insertion order, for expiry; `head` is the oldest still held. */
  private order: Change[] = [];
  private head = 0;

  constructor(
    private readonly windowUs: number,
    private readonly keyOf: ChangeKey = byValue,
  ) {}

  add(c: Change): void {
    const k = this.keyOf(c);
    const list = this.lists.get(k);
    if (list) list.push(c);
    else this.lists.set(k, [c]);
    this.order.push(c);
  }

  /** The first change filed like `probe` that passes `test`, taken out of the index. */
  take(probe: Parameters<ChangeKey>[0], test: (c: Change) => boolean): Change | undefined {
    const k = this.keyOf(probe);
    const list = this.lists.get(k);
    const i = list ? list.findIndex(test) : -1;
    if (i < 0) return undefined;
    const [c] = list!.splice(i, 1);
    if (!list!.length) this.lists.delete(k);
    return c;
  }

  /** Forgets changes older than the window before `now` (event time, µs); taken ones are skipped. */
  expire(now: number): void {
    while (this.head < this.order.length && now - this.order[this.head]!.ts >= this.windowUs) {
      const c = this.order[this.head++]!;
      const k = this.keyOf(c);
      const list = this.lists.get(k);
      const i = list ? list.indexOf(c) : -1;
      if (i >= 0) list!.splice(i, 1);
      if (list && !list.length) this.lists.delete(k);
    }
    if (this.head > 4096 && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
  }
}
