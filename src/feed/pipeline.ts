// The stages every feed shares, after its sources: merge in event time -> correlate (or, for a recording, track
// state) -> filter -> sequence numbers, counts, the trace writer and the listeners. Live, replay and import are this
// pipeline with different sources and pacing.
import { Correlator, type CorrelatorOptions } from '../correlate/correlator.js';
import { matchesFilters } from '../correlate/filter.js';
import type { ProcessInfo } from '../correlate/actor.js';
import { ReplayState, type IfaceState } from '../correlate/state.js';
import type { LinkEvent, LinkState, Lost, Note, ProbeEvent, TraceEvent } from '../events.js';
import type { Filters } from '../options.js';
import type { TraceHeader } from '../trace/format.js';
import { createRecorder, RECORDING_SOURCE, type Recorder, type RecordingFailure } from '../trace/writer.js';
import type { FeedStats, RecordControls } from './feed.js';
import { Merge, type MergeStats } from './merge.js';
import { Slicer, type SliceOptions } from './slices.js';

/** A paced release hands this many raw events at a time to the correlator between looks at the clock. */
const CHUNK = 64;

export interface PipelineOptions {
  /** Correlate raw events into changes (live, import); a recording already holds its changes (replay). */
  correlate: boolean;
  /** How many raw sources feed the merge (index 0 wins ties: bpftrace before netlink). */
  sources: number;
  /** Changes that do not match are not emitted (raw events always are: the trace keeps everything). */
  filters?: Filters;
  procInfo?: ProcessInfo;
  /** Names network namespaces by inode (live only: the machine's /run/netns). */
  netnsName?: (inode: number) => string | undefined;
  /**
   * Live: what the watermarks let go is correlated in bounded slices between turns of the event loop (a storm's
   * backlog never holds keys and frames up), not inside push/advance. Import and replay release at once.
   */
  paced?: SliceOptions;
}

export class Pipeline {
  readonly merge: Merge<TraceEvent>;
  /** Derived changes wait here until no older one can still come: every sink sees changes in event-time order. */
  private readonly changes = new Merge<TraceEvent>(1);
  private readonly correlator: Correlator | null;
  private readonly replayState: ReplayState | null;
  private readonly listeners: ((ev: TraceEvent) => void)[] = [];
  private readonly resetListeners: (() => void)[] = [];
  private writer: Recorder | null = null;
  private seq = 0;
  private counts: FeedStats = { events: 0, lost: 0, badLines: 0 };
  private readonly slicer: Slicer | null;
  /** Paced: the furthest a bounded wait has let go (µs), whatever the watermarks. */
  private forcedTo = -Infinity;

  constructor(
    readonly header: TraceHeader,
    private readonly opts: PipelineOptions,
  ) {
    this.merge = new Merge<TraceEvent>(opts.sources);
    const netns = header.netns !== undefined ? { netns: header.netns } : {};
    const extra = { ...netns, ...(opts.procInfo ? { procInfo: opts.procInfo } : {}), ...(opts.netnsName ? { netnsName: opts.netnsName } : {}) };
    this.correlator = opts.correlate ? new Correlator(header.snapshot, extra) : null;
    this.replayState = opts.correlate ? null : new ReplayState(header.snapshot);
    this.slicer = opts.paced ? new Slicer((stop) => this.pump(stop), opts.paced) : null;
  }

  onEvent(l: (ev: TraceEvent) => void): void {
    this.listeners.push(l);
  }

  onReset(l: () => void): void {
    this.resetListeners.push(l);
  }

  /**
   * An event from source `src` into the merge (raw events are correlated when they leave it); whatever every source
   * has passed goes on at once. `advance`: the event's time is also the source's watermark (it delivers in order).
   */
  push(src: number, ev: TraceEvent, advance = true): void {
    this.merge.push(src, ev.ts, ev, advance);
    this.work();
  }

  /** Source `src` will send nothing older than `ts`. */
  advance(src: number, ts: number): void {
    this.merge.advance(src, ts);
    this.work();
  }

  /** A source that starts now, holding the merge back only from `from` (µs) on; returns its index (see Merge.addSource). */
  addSource(from: number, rank: number): number {
    return this.merge.addSource(from, rank);
  }

  /** Source `src` is gone (its module unloaded): what it held back goes on. */
  removeSource(src: number): void {
    this.merge.removeSource(src);
    this.work();
  }

  /** Source `src` has ended. */
  end(src: number): void {
    this.merge.end(src);
    this.work();
  }

  /** A bounded wait ran out at `bound` (µs): what is older goes on, and the correlator's clock moves there. */
  force(bound: number): void {
    if (!this.slicer) return this.release(this.merge.force(bound), bound);
    this.forcedTo = Math.max(this.forcedTo, bound);
    this.slicer.kick();
  }

  /** Slices the paced release has run (live). */
  get slices(): number {
    return this.slicer?.slices ?? 0;
  }

  /** Everything waiting, then everything the correlator still holds, in order. */
  flush(): void {
    this.release(this.merge.flush(), Infinity);
    for (const ev of this.changes.flush()) this.emit(ev);
  }

  /** An event that needs no ordering: a recording's own event (replay), a note, a lost count, a bad line. */
  pass(ev: TraceEvent): void {
    this.replayState?.apply(ev);
    this.emit(ev);
  }

  /** A recording's event whose state was already tracked (replay applies state before its filters and pacing). */
  emitOnly(ev: TraceEvent): void {
    this.emit(ev);
  }

  /** Applies an event to the state without showing it (replay before --from, filtered out). */
  track(ev: TraceEvent): void {
    this.replayState?.apply(ev);
  }

  note(level: Note['level'], source: string, message: string, ts = Date.now() * 1000): void {
    this.emit({ type: 'note', ts, level, source, message });
  }

  lost(source: Lost['source'], count: number, detail: string, ts = Date.now() * 1000): void {
    this.emit({ type: 'lost', ts: Math.round(ts), source, count, detail });
  }

  /** Replay seeks back to the start: the state starts over and the sinks clear what they show. */
  reset(): void {
    this.replayState?.reset();
    this.seq = 0;
    this.counts = { events: 0, lost: 0, badLines: 0 };
    for (const l of this.resetListeners) l();
  }

  state(): IfaceState[] {
    return this.correlator ? this.correlator.state() : this.replayState!.table.all();
  }

  stats(): FeedStats & { merge: MergeStats } {
    return { ...this.counts, merge: this.merge.stats() };
  }

  /** Record everything from now on into `path`: a self-contained trace (its snapshot is the state now). */
  readonly record: RecordControls = this.recordControls();

  /** Write to an already opened trace file (import, a recording started with the feed). */
  writeTo(writer: Recorder): void {
    this.writer?.close();
    this.writer = writer;
  }

  close(): void {
    this.writer?.close();
  }

  /**
   * Record through a recorder made by `make`, given the header of the state at the moment it is asked (a rotating
   * recorder asks again for each new file) and the failure handler (the note with source RECORDING_SOURCE).
   */
  recordWith(make: (headerNow: () => TraceHeader, onError: (f: RecordingFailure) => void) => Recorder): void {
    this.writeTo(
      make(
        () => ({ ...this.header, createdAt: new Date().toISOString(), snapshot: this.snapshotNow() }),
        (f) => this.recordingFailed(f),
      ),
    );
  }

  private recordControls(): RecordControls {
    const p = this;
    return {
      start: async (path: string) => p.recordWith((headerNow, onError) => createRecorder(path, headerNow(), { onError })),
      stop: async () => {
        p.writer?.close();
        p.writer = null;
      },
      get path(): string | null {
        return p.writer?.path ?? null;
      },
      get bytes(): number {
        return p.writer?.bytes ?? 0;
      },
    };
  }

  /** The trace file could not be written: stop recording (tracing goes on) and say so once, after the event at hand. */
  private recordingFailed(f: RecordingFailure): void {
    this.writer = null;
    queueMicrotask(() => this.note('error', RECORDING_SOURCE, f.message));
  }

  private snapshotNow(): LinkState[] {
    return this.state()
      .filter((s) => !s.deleted)
      .map((s) => ({
        ifindex: s.ifindex,
        ifname: s.name,
        flags: s.flags,
        master: s.master ?? null,
        ...(s.addr !== undefined ? { addr: s.addr } : {}),
        ...(s.permAddr !== undefined ? { permAddr: s.permAddr } : {}),
        ...(s.aat !== undefined ? { addrAssignType: s.aat } : {}),
        ...(s.promiscuity !== undefined ? { promiscuity: s.promiscuity } : {}),
        ...(s.kind !== undefined ? { kind: s.kind } : {}),
      }));
  }

  /** What the watermarks let go: released now, or (paced) by the next slices. */
  private work(): void {
    if (this.slicer) this.slicer.kick();
    else this.release(this.merge.drain(), this.merge.low());
  }

  /** Raw events out of the merge: emitted, correlated; then event time has reached `low` for the correlator. */
  private release(evs: TraceEvent[], low: number): void {
    this.correlate(evs);
    this.settle(low);
  }

  /**
   * A slice of the paced release: chunks of what every watermark (or a bounded wait) lets go, until `stop()`; the
   * correlator's clock follows what has been handed to it. True while more is waiting to go.
   */
  private pump(stop: () => boolean): boolean {
    const bound = Math.max(this.merge.low(), this.forcedTo);
    for (;;) {
      const evs = this.merge.take(bound, CHUNK);
      if (!evs.length) break;
      this.correlate(evs);
      const last = evs[evs.length - 1]!.ts;
      const next = this.merge.nextTs();
      if (next > bound) break;
      if (stop()) {
        // Only a time nothing still waiting shares is a time the correlator has fully seen.
        this.settle(next > last ? last : -Infinity);
        return true;
      }
    }
    this.settle(bound);
    return false;
  }

  private correlate(evs: TraceEvent[]): void {
    const c = this.correlator;
    for (const ev of evs) {
      this.emit(ev);
      if (c && (ev.type === 'probe' || ev.type === 'link')) this.derived(c.push(ev));
    }
  }

  /** Event time has reached `low` (-Infinity: unknown yet): due observations go, then the changes no older one can precede. */
  private settle(low: number): void {
    const c = this.correlator;
    if (!c) return;
    if (low > -Infinity) this.derived(Number.isFinite(low) ? c.advance(low) : c.flush());
    for (const ev of this.changes.force(c.horizon())) this.emit(ev);
  }

  private derived(evs: TraceEvent[]): void {
    const f = this.opts.filters;
    for (const ev of evs) {
      if (ev.type === 'change' && f && !matchesFilters(ev, f)) continue;
      this.changes.push(0, ev.ts, ev, false);
    }
  }

  /** Sequence number (live, import), counts, the trace file, then every listener. */
  private emit(ev: TraceEvent): void {
    if (this.opts.correlate) ev.seq = this.seq++;
    this.counts.events++;
    if (ev.type === 'lost') {
      if (ev.source === 'parser') this.counts.badLines += ev.count;
      else this.counts.lost += ev.count;
    }
    this.writer?.write(ev);
    for (const l of this.listeners) l(ev);
  }
}

/** Raw events in any order, correlated offline (re-correlating a recording, tests): the same merge, then the correlator. */
export function correlateAll(snapshot: LinkState[], raw: (ProbeEvent | LinkEvent)[], opts: CorrelatorOptions = {}): TraceEvent[] {
  const merge = new Merge<ProbeEvent | LinkEvent>(2);
  for (const ev of raw) merge.push(ev.type === 'probe' ? 0 : 1, ev.ts, ev, false);
  const correlator = new Correlator(snapshot, opts);
  const out: TraceEvent[] = [];
  for (const ev of merge.flush()) out.push(ev, ...correlator.push(ev));
  out.push(...correlator.flush());
  return out;
}
