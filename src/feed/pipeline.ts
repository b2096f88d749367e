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

  constructor(
    readonly header: TraceHeader,
    private readonly opts: PipelineOptions,
  ) {
    this.merge = new Merge<TraceEvent>(opts.sources);
    const netns = header.netns !== undefined ? { netns: header.netns } : {};
    const extra = { ...netns, ...(opts.procInfo ? { procInfo: opts.procInfo } : {}), ...(opts.netnsName ? { netnsName: opts.netnsName } : {}) };
    this.correlator = opts.correlate ? new Correlator(header.snapshot, extra) : null;
    this.replayState = opts.correlate ? null : new ReplayState(header.snapshot);
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
    this.release(this.merge.drain(), this.merge.low());
  }

  /** Source `src` will send nothing older than `ts`. */
  advance(src: number, ts: number): void {
    this.merge.advance(src, ts);
    this.release(this.merge.drain(), this.merge.low());
  }

  /** A source that starts now, holding the merge back only from `from` (µs) on; returns its index (see Merge.addSource). */
  addSource(from: number, rank: number): number {
    return this.merge.addSource(from, rank);
  }

  /** Source `src` is gone (its module unloaded): what it held back goes on. */
  removeSource(src: number): void {
    this.merge.removeSource(src);
    this.release(this.merge.drain(), this.merge.low());
  }

  /** Source `src` has ended. */
  end(src: number): void {
    this.merge.end(src);
    this.release(this.merge.drain(), this.merge.low());
  }

  /** A bounded wait ran out at `bound` (µs): what is older goes on, and the correlator's clock moves there. */
  force(bound: number): void {
    this.release(this.merge.force(bound), bound);
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

  /** Raw events out of the merge: emitted, correlated; then event time has reached `low` for the correlator. */
  private release(evs: TraceEvent[], low: number): void {
    const c = this.correlator;
    for (const ev of evs) {
      this.emit(ev);
      if (c && (ev.type === 'probe' || ev.type === 'link')) this.derived(c.push(ev));
    }
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
