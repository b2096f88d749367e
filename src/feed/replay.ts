// Replay: a trace file becomes a Feed that emits exactly the events the live session emitted (raw and derived,
// in file order), paced by their timestamps, with pause/step/speed/seek for the TUI. No root, no bpftrace.
import { matchesEvent, type ReplayFilters } from '../correlate/filter.js';
import type { TraceEvent } from '../events.js';
import type { TraceHeader } from '../trace/format.js';
import type { Feed, FeedProgress, FeedStats, IfaceState, ReplayControls } from './feed.js';
import { Pipeline } from './pipeline.js';
import { DEFAULT_REORDER_TOLERANCE_US, type TraceReadOptions, type TraceSource } from '../trace/reader.js';
import { openReplayReader, type ReplayReader } from './merged-reader.js';
import { strictError, type TraceProblem } from '../trace/problems.js';

/** Wall clock (ms) and timers, replaceable in tests. */
export interface ReplayClock {
  now(): number;
  /** Calls `fn` after `ms`; returns a function that cancels it. */
  setTimer(fn: () => void, ms: number): () => void;
}

export const realClock: ReplayClock = {
  now: () => performance.now(),
  setTimer: (fn, ms) => {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
};

export interface ReplayOptions {
  /** Multiplier of recorded time; Infinity (`--speed max`) = as fast as the sinks take it. Default 1. */
  speed?: number;
  /** Wall-clock µs: events before are applied to the interface state but not emitted. */
  from?: number;
  /** Wall-clock µs: events after are not emitted; reading stops once time is well past it. */
  to?: number;
  filters?: ReplayFilters;
  strict?: boolean;
  /** Problems in the file (bad lines...), in file order. */
  onProblem?: (p: TraceProblem) => void;
  maxLineBytes?: number;
  /** Keep each event's line (JSON output writes it back exactly, without serializing it again). */
  tagLines?: boolean;
  /** Start paused (TUI: the user presses play). */
  paused?: boolean;
  /** Asked after each batch: a promise means the consumer is behind (stdout full) and the feed waits for it. */
  backpressure?: () => Promise<void> | undefined;
  /** Emit a `lost` event (source `parser`) for every line that could not be used, so sinks see the gap. Default true. */
  lostForSkipped?: boolean;
  clock?: ReplayClock;
  chunkBytes?: number;
  /**
   * Keep the interface table (`state()`) up to date; default true. Sinks that never ask for it (text, JSON)
   * save the work: then `state()` is the initial snapshot only.
   */
  trackState?: boolean;
}

/** How far a replay has read its file (the Feed's progress). */
export type ReplayProgress = FeedProgress;

/**
 * A trace file as a Feed. Open with `ReplayFeed.open(path, opts)` (reads and validates the header; throws
 * TraceFileError when there is none), register listeners, then `start()`.
 */
export class ReplayFeed implements Feed {
  readonly mode = 'replay' as const;
  readonly header: TraceHeader;
  readonly controls: ReplayControls;
  readonly done: Promise<void>;
  /** Set when the replay stopped on an error (strict mode, unreadable file); `done` still resolves. */
  error: Error | undefined;

  /** Why the replay ended early, as the live feed reports it (the TUI shows it). */
  get attachedProbes(): number {
    return this.header.probes.used.length;
  }

  get failure(): string | null {
    return this.error ? this.error.message : null;
  }

  private reader: ReplayReader | undefined;
  private readonly sources: TraceSource[];
  private readonly opts: ReplayOptions;
  private readonly clock: ReplayClock;
  private readonly pipeline: Pipeline;
  private counts = { emitted: 0, read: 0, lost: 0, skipped: 0 };
  private lastTs: number | undefined;
  private bytes = 0;
  private speedValue: number;
  private pausedValue: boolean;
  private stepBudget = 0;
  private toEnd = false;
  private restart = false;
  private stopped = false;
  private finished = false;
  private started = false;
  private anchor: { ts: number; wall: number } | undefined;
  private wake: (() => void) | undefined;
  private resolveDone!: () => void;
  private loop: Promise<void> | undefined;

  private constructor(sources: TraceSource[], reader: ReplayReader, opts: ReplayOptions) {
    this.sources = sources;
    this.reader = reader;
    this.header = reader.header;
    this.opts = opts;
    this.clock = opts.clock ?? realClock;
    this.pipeline = new Pipeline(this.header, { correlate: false, sources: 1 });
    this.speedValue = normSpeed(opts.speed ?? 1);
    this.pausedValue = opts.paused ?? false;
    this.done = new Promise((r) => (this.resolveDone = r));
    const self = this; // the getters below read live fields
    this.controls = {
      pause: () => self.pause(),
      resume: () => self.resume(),
      get paused() {
        return self.pausedValue;
      },
      setSpeed: (s: number) => self.setSpeed(s),
      get speed() {
        return self.speedValue;
      },
      step: () => self.step(),
      seek: (to: 'start' | 'end') => self.seek(to),
    };
  }

  /**
   * Opens the trace (or several, merged in time order: the earliest header is the feed's) and reads its header
   * (throws TraceFileError / IfblameError when it cannot be replayed).
   */
  static async open(source: TraceSource | TraceSource[], opts: ReplayOptions = {}): Promise<ReplayFeed> {
    const sources = Array.isArray(source) ? source : [source];
    const reader = await openReplayReader(sources, readOptions(opts));
    return new ReplayFeed(sources, reader, opts);
  }

  onEvent(listener: (ev: TraceEvent) => void): void {
    this.pipeline.onEvent(listener);
  }

  onReset(listener: () => void): void {
    this.pipeline.onReset(listener);
  }

  start(): Promise<void> {
    if (!this.started) {
      this.started = true;
      this.loop = this.run();
    }
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.interrupt();
    await this.loop;
    this.reader?.close();
    this.finish();
  }

  state(): IfaceState[] {
    return this.pipeline.state();
  }

  stats(): FeedStats {
    return { events: this.counts.emitted, lost: this.counts.lost, badLines: this.counts.skipped };
  }

  progress(): ReplayProgress {
    return { bytes: this.bytes, size: this.reader?.size, emitted: this.counts.emitted, read: this.counts.read, ts: this.lastTs, done: this.finished };
  }

  // ---- controls

  private pause(): void {
    this.pausedValue = true;
    this.interrupt();
  }

  private resume(): void {
    if (!this.pausedValue) return;
    this.pausedValue = false;
    this.anchor = undefined;
    this.interrupt();
  }

  private setSpeed(s: number): void {
    this.speedValue = normSpeed(s);
    this.anchor = undefined;
    this.interrupt();
  }

  private step(): void {
    if (!this.pausedValue) return;
    this.stepBudget++;
    this.interrupt();
  }

  private seek(to: 'start' | 'end'): void {
    if (to === 'end') {
      this.toEnd = true;
      this.interrupt();
      return;
    }
    if (this.sources.some((s) => typeof s !== 'string')) return; // a stream cannot be read twice
    if (this.finished && !this.stopped) {
      this.finished = false;
      this.restart = true;
      this.loop = this.run();
      return;
    }
    this.restart = true;
    this.interrupt();
  }

  private interrupt(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** Sleeps until `ms` passed (forever: undefined) or a control changed something. */
  private nap(ms?: number): Promise<void> {
    return new Promise<void>((resolve) => {
      let cancel: (() => void) | undefined;
      const done = () => {
        cancel?.();
        this.wake = undefined;
        resolve();
      };
      this.wake = done;
      if (ms !== undefined) cancel = this.clock.setTimer(done, ms);
    });
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.resolveDone();
  }

  // ---- the loop

  private async run(): Promise<void> {
    try {
      for (;;) {
        if (this.restart) await this.rewind();
        const more = await this.pass();
        if (!more) break;
      }
    } catch (e) {
      this.error = e as Error;
    } finally {
      if (!this.restart) {
        this.reader?.close();
        this.finish();
      }
    }
  }

  private async rewind(): Promise<void> {
    this.restart = false;
    this.reader?.close();
    this.reader = undefined;
    this.counts = { emitted: 0, read: 0, lost: 0, skipped: 0 };
    this.lastTs = undefined;
    this.bytes = 0;
    this.anchor = undefined;
    this.toEnd = false;
    this.pipeline.reset();
    this.reader = await openReplayReader(this.sources, readOptions(this.opts));
  }

  /** One pass over the file; true when it must start again (seek to start). */
  private async pass(): Promise<boolean> {
    const reader = this.reader!;
    const from = this.opts.from ?? -Infinity;
    const to = this.opts.to ?? Infinity;
    const stopAfter = to + DEFAULT_REORDER_TOLERANCE_US;
    const filters = this.opts.filters && (this.opts.filters.iface.length || this.opts.filters.comm.length) ? this.opts.filters : undefined;
    const trackState = this.opts.trackState !== false;
    for (let batch = await reader.next(); batch; batch = await reader.next()) {
      this.bytes = reader.stats().bytes;
      for (let i = 0; i < batch.length; i++) {
        if (this.stopped) return false;
        if (this.restart) return true;
        const item = batch[i]!;
        if (item.problem) {
          if (this.opts.strict) throw strictError(item.problem);
          this.onProblem(item.problem);
          continue;
        }
        const ev = item.event;
        this.counts.read++;
        if (ev.ts > stopAfter) return false;
        // After --to nothing counts, not even for the state; a little beyond it, raw events may still come late.
        if (ev.ts > to) continue;
        const pass = ev.ts >= from && (!filters || matchesEvent(ev, filters));
        if (trackState) this.pipeline.track(ev);
        if (!pass) {
          if (ev.ts > (this.lastTs ?? -Infinity)) this.lastTs = ev.ts;
          continue;
        }
        if (this.mustWait(ev.ts)) {
          await this.gate(ev.ts);
          if (this.stopped) return false;
          if (this.restart) return true;
        }
        this.emit(ev);
      }
      const bp = this.opts.backpressure?.();
      if (bp) await bp;
    }
    this.bytes = reader.stats().bytes;
    return false;
  }

  private emit(ev: TraceEvent): void {
    // Pacing starts from the first event that goes out (again after a pause or a speed change).
    if (!this.anchor) this.anchor = { ts: ev.ts, wall: this.clock.now() };
    if (this.lastTs === undefined || ev.ts > this.lastTs) this.lastTs = ev.ts;
    this.counts.emitted++;
    if (ev.type === 'lost') this.counts.lost += ev.count;
    this.pipeline.emitOnly(ev);
  }

  private onProblem(p: TraceProblem): void {
    this.opts.onProblem?.(p);
    if (!p.skipped) return;
    this.counts.skipped++;
    if (this.opts.lostForSkipped === false) return;
    const ts = this.lastTs ?? 0;
    if (this.opts.from !== undefined && ts < this.opts.from) return;
    if (this.opts.to !== undefined && ts > this.opts.to) return;
    // A line that could not be used is an event the recording lost: say so in-band, as live does for bad output lines.
    this.emit({ type: 'lost', ts, source: 'parser', count: 1, detail: `${p.file}:${p.line}: ${p.message}` });
  }

  /** Whether the next event cannot go out at once (paused, or not due yet at this speed). */
  private mustWait(ts: number): boolean {
    if (this.toEnd) return false;
    if (this.pausedValue) return true;
    if (this.speedValue === Infinity) return false;
    if (!this.anchor) return false;
    return this.dueIn(ts) > 0;
  }

  private dueIn(ts: number): number {
    const a = this.anchor!;
    const t = Math.max(ts, a.ts);
    return a.wall + (t - a.ts) / 1000 / this.speedValue - this.clock.now();
  }

  private async gate(ts: number): Promise<void> {
    for (;;) {
      if (this.stopped || this.restart || this.toEnd) return;
      if (this.pausedValue) {
        if (this.stepBudget > 0) {
          this.stepBudget--;
          this.anchor = undefined;
          return;
        }
        await this.nap();
        continue;
      }
      if (this.speedValue === Infinity || !this.anchor) return;
      const ms = this.dueIn(ts);
      if (ms <= 0) return;
      await this.nap(ms);
    }
  }
}

function normSpeed(s: number): number {
  if (!(s > 0) || Number.isNaN(s)) return 1;
  return s;
}

function readOptions(opts: ReplayOptions): TraceReadOptions {
  return {
    ...(opts.strict ? { strict: true } : {}),
    ...(opts.maxLineBytes ? { maxLineBytes: opts.maxLineBytes } : {}),
    ...(opts.chunkBytes ? { chunkBytes: opts.chunkBytes } : {}),
    ...(opts.tagLines ? { tagLines: true } : {}),
  };
}
