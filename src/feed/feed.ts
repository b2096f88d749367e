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

export interface FeedStats {
  events: number;
  lost: number;
  badLines: number;
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
  readonly controls?: ReplayControls;
}
