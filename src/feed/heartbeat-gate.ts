// When a bpftrace heartbeat's time holds. bpftrace reads its per-CPU perf buffers one after another and, under a
// storm, can leave one unread for a second while it prints another's newer events and heartbeats: a heartbeat's
// time alone let netlink pass events still waiting in the other buffer (hundreds of changes per storm of 20,000
// left unattributed). Each heartbeat names the last event every CPU printed before it (its `nsecs`); a CPU's buffer
// is read in order, so once those events have been read, nothing older than the heartbeat is still to come.

import type { Decoded } from '../parse/bpftrace-json.js';

/** A heartbeat as the decoder gives it (one line: CPUs `base`.. of `total`). */
export type Heartbeat = Omit<Extract<Decoded, { kind: 'heartbeat' }>, 'kind'>;

interface Waiting {
  mono: number;
  ts: number;
  total: number;
  /** CPU -> the time (mono ns) of the last event it printed before the heartbeat; 0: none yet. */
  need: Map<number, number>;
}

/** Events read this long (ns) before the newest heartbeat that held are forgotten: none can still be needed. */
const KEEP_NS = 2_000_000_000;
/**
 * A heartbeat still waiting this long (ns) after a newer one was printed holds anyway: an event it names was lost
 * without bpftrace saying so, and the merge's bounded wait has counted what came late meanwhile. Without it one
 * missing event would hold bpftrace's watermark for good.
 */
const GIVE_UP_NS = 5_000_000_000;

/** One bpftrace program's gate. `heartbeat()` and `event()` return the new watermark (µs) when it moved, else null. */
export class HeartbeatGate {
  /** Times (mono ns) of the events read lately. */
  private readonly read = new Set<number>();
  private readonly waiting: Waiting[] = [];
  /** CPU -> the event last required by a heartbeat that held (it was read). */
  private readonly held = new Map<number, number>();
  private heldMono = -Infinity;

  /** An event line was read: its time. */
  event(mono: number): number | null {
    this.read.add(mono);
    return this.settle();
  }

  heartbeat(hb: Heartbeat): number | null {
    if (!hb.cpus) return hb.ts; // an older program's heartbeat: its time alone
    const { total, base, last } = hb.cpus;
    let w = this.waiting.at(-1);
    // a machine with many CPUs prints one heartbeat as several lines of the same time
    if (base === 0 || !w || w.mono !== hb.mono) this.waiting.push((w = { mono: hb.mono, ts: hb.ts, total, need: new Map() }));
    last.forEach((m, i) => w!.need.set(base + i, m));
    let moved: number | null = null;
    while (this.waiting.length > 1 && hb.mono - this.waiting[0]!.mono > GIVE_UP_NS) moved = this.hold(this.waiting.shift()!);
    return this.settle() ?? moved;
  }

  /** bpftrace lost events: the ones the waiting heartbeats name may never come; they hold as they are. */
  lost(): number | null {
    const w = this.waiting.pop();
    this.waiting.length = 0;
    return w ? this.hold(w) : null;
  }

  private settle(): number | null {
    let moved: number | null = null;
    while (this.waiting.length) {
      const w = this.waiting[0]!;
      if (w.need.size < w.total) break; // its other lines are still to come
      for (const [cpu, m] of w.need) if (m !== 0 && this.held.get(cpu) !== m && !this.read.has(m)) return moved;
      this.waiting.shift();
      moved = this.hold(w);
    }
    return moved;
  }

  private hold(w: Waiting): number {
    for (const [cpu, m] of w.need) this.held.set(cpu, m);
    if (w.mono > this.heldMono) this.heldMono = w.mono;
    // what is read from now on is newer than what these heartbeats needed (each buffer is read in order)
    if (this.read.size > 4096) for (const m of this.read) if (m < this.heldMono - KEEP_NS) this.read.delete(m);
    return w.ts;
  }
}
