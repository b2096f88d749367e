// Raw events from several sources put in event-time order: the one ordering structure every feed uses. A source's
// watermark says "nothing older than this will come from me"; an item leaves once every open source has passed it
// (Flink/Beam-style per-source watermarks), or when a bounded wait forces it out, which is counted as an overrun.
import { Heap } from '../heap.js';

/** One waiting item: its event time (µs), its source's tie rank (lower wins ties) and its arrival order. */
interface Slot<T> {
  ts: number;
  rank: number;
  idx: number;
  value: T;
}

export interface MergeStats {
  /** Items still waiting. */
  waiting: number;
  /** Items released by a bounded wait before every source's watermark had passed them. */
  forced: number;
  /** Items that arrived after a later item had already been released (their place in time was gone). */
  late: number;
}

export class Merge<T> {
  private readonly heap = new Heap<Slot<T>>((a, b) => a.ts < b.ts || (a.ts === b.ts && (a.rank < b.rank || (a.rank === b.rank && a.idx < b.idx))));
  /** Open sources: their watermark and tie rank. A removed source is gone from here and holds nothing back. */
  private readonly sources = new Map<number, { mark: number; rank: number }>();
  private nextSource: number;
  private arrivals = 0;
  private released = -Infinity;
  private counts = { forced: 0, late: 0 };

  /** `sources`: how many; index 0 wins ties at equal times (the kernel fires a probe before netlink reports it). */
  constructor(sources: number) {
    for (let i = 0; i < sources; i++) this.sources.set(i, { mark: -Infinity, rank: i });
    this.nextSource = sources;
  }

  /**
   * A source that starts now (probes attached when their module loaded): it holds the merge back only from `from`
   * on (µs), never what came before it. `rank`: its place at equal times (0 = with bpftrace). Returns its index.
   */
  addSource(from: number, rank: number): number {
    const src = this.nextSource++;
    this.sources.set(src, { mark: from, rank });
    return src;
  }

  /** The source is gone for good (its module unloaded): it holds nothing back; what it sent still leaves in order. */
  removeSource(src: number): void {
    this.sources.delete(src);
  }

  /** Adds an item; its own time also moves its source's watermark (sources deliver in order unless told otherwise). */
  push(src: number, ts: number, value: T, advance = true): void {
    if (ts < this.released) this.counts.late++;
    this.heap.push({ ts, rank: this.sources.get(src)?.rank ?? src, idx: this.arrivals++, value });
    if (advance) this.advance(src, ts);
  }

  /** The source promises nothing older than `ts` (a heartbeat, or its input is ordered up to there). */
  advance(src: number, ts: number): void {
    const s = this.sources.get(src);
    if (s && ts > s.mark) s.mark = ts;
  }

  /** The source has ended: it holds nothing back any more. */
  end(src: number): void {
    const s = this.sources.get(src);
    if (s) s.mark = Infinity;
  }

  /** Items every source has passed, in time order. */
  drain(): T[] {
    return this.release(this.low(), false);
  }

  /** Items up to `bound` whatever the watermarks (a bounded wait ran out); those still held back count as forced. */
  force(bound: number): T[] {
    return this.release(Math.max(bound, this.low()), true);
  }

  /** At most `max` items up to `bound`, in time order (a paced release); those no watermark has passed count as forced. */
  take(bound: number, max: number): T[] {
    return this.release(bound, true, max);
  }

  /** The time of the next waiting item (Infinity when none waits). */
  nextTs(): number {
    return this.heap.peek()?.ts ?? Infinity;
  }

  /** Everything left (the end of an import, a feed stopping). */
  flush(): T[] {
    return this.release(Infinity, false);
  }

  /** The time every source has passed (-Infinity until each has said something). */
  low(): number {
    let low = Infinity;
    for (const s of this.sources.values()) low = Math.min(low, s.mark);
    return low;
  }

  stats(): MergeStats {
    return { waiting: this.heap.size, ...this.counts };
  }

  /** Items up to `bound` (at most `max`); with `countForced`, those past every watermark are counted as forced. */
  private release(bound: number, countForced: boolean, max = Infinity): T[] {
    const out: T[] = [];
    const low = countForced ? this.low() : Infinity;
    while (out.length < max && this.heap.size && this.heap.peek()!.ts <= bound) {
      const s = this.heap.pop()!;
      if (s.ts > low) this.counts.forced++;
      if (s.ts > this.released) this.released = s.ts;
      out.push(s.value);
    }
    return out;
  }
}
