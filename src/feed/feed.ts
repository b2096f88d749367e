// The one interface every sink reads: live tracing and replay both produce a Feed, so a sink cannot tell them apart.
import type { IfaceState } from '../correlate/state.js';
import type { TraceEvent } from '../events.js';
import type { TraceHeader } from '../trace/format.js';

export type { IfaceState };

export interface ReplayControls {
  pause(): void;
  resume(): void;
  readonly paused: boolean;
  /** Events per wall second multiplier; Infinity = as fast as possible. */
  setSpeed(speed: number): void;
  readonly speed: number;
  /** Emit exactly one more event while paused. */
  step(): void;
  /** Jump: `start` replays from the beginning (sinks get a `reset`), `end` emits everything at once. */
  seek(to: 'start' | 'end'): void;
}

/** Recording at runtime (`r` in the TUI, `--record`): the live feed has it; a replay does not (it is one). */
export interface RecordControls {
  start(path: string): Promise<void>;
  stop(): Promise<void>;
  readonly path: string | null;
  readonly bytes: number;
}

/** How far a replay has read its file. */
export interface FeedProgress {
  /** Bytes read of the file, and its size when known. */
  bytes: number;
  size: number | undefined;
  /** Events emitted, and read (emitted or not). */
  emitted: number;
  read: number;
  /** Time of the last event read (µs). */
  ts: number | undefined;
  done: boolean;
}

/**
 * Probes attached while tracing, when their module loaded: their changes are observed from `from` on; between the
 * module's load (`loadedAt`) and `from` they are inferred from netlink. `until`: the module unloaded, its probes went.
 */
export interface LateProbes {
  module: string;
  probes: string[];
  /** Probe id -> the alternative function it attached to. */
  points: Record<string, string>;
  /** Wall µs: when the module was seen live. */
  loadedAt: number;
  /** Wall µs: when its probes were attached (bpftrace's BEGIN); null while attaching or when it failed. */
  from: number | null;
  until?: number;
  failure?: string;
}

export interface FeedStats {
  events: number;
  lost: number;
  badLines: number;
  /** Events correlated out of time order: a bounded wait ran out, or an event came after its place had passed. */
  late?: number;
}

export interface Feed {
  readonly mode: 'live' | 'replay';
  readonly header: TraceHeader;
  /** Every raw and derived event, in order. Register before `start()`. */
  onEvent(listener: (ev: TraceEvent) => void): void;
  /** Called when a replay seeks back to the start: sinks clear what they show. */
  onReset(listener: () => void): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Resolves when the feed ends (replay reached the end, live stopped or failed). */
  readonly done: Promise<void>;
  state(): IfaceState[];
  stats(): FeedStats;
  /** Why the feed ended on its own (bpftrace died, the file could not be read), when it did. */
  readonly failure: string | null;
  /** Probes attached by the tracer (0 until attached, and for a replay: the header lists them). */
  readonly attachedProbes: number;
  /** Live: probes attached later, when their module loaded. */
  lateProbes?(): readonly LateProbes[];
  /** Replay: pause, speed, step, seek. */
  readonly controls?: ReplayControls;
  /** Live: start and stop recording. */
  readonly record?: RecordControls;
  /** Replay: how far it has read. */
  progress?(): FeedProgress;
}
