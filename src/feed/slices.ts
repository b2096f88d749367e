// Bounded work per turn of the event loop: a live backlog (a storm's events waiting to be correlated) is worked off
// in slices of a few milliseconds with a yield between them, so keys, frames and the sources' pipes get their turn.

export interface SliceOptions {
  /** The longest slice (ms) before the event loop gets its turn back; default 8. */
  sliceMs?: number;
  /** Milliseconds clock, injectable for tests. */
  now?: () => number;
  /** Runs the next slice after the event loop has polled its I/O; default setImmediate. */
  defer?: (fn: () => void) => void;
}

export const DEFAULT_SLICE_MS = 8;

export class Slicer {
  private scheduled = false;
  /** Slices run so far. */
  slices = 0;
  private readonly sliceMs: number;
  private readonly now: () => number;
  private readonly defer: (fn: () => void) => void;

  /** `work(stop)` does a share of the backlog, asking `stop()` between small chunks; returns true while work is left. */
  constructor(
    private readonly work: (stop: () => boolean) => boolean,
    opts: SliceOptions = {},
  ) {
    this.sliceMs = opts.sliceMs ?? DEFAULT_SLICE_MS;
    this.now = opts.now ?? (() => performance.now());
    this.defer = opts.defer ?? ((fn) => void setImmediate(fn));
  }

  /** There is (more) work: a slice runs after the event loop's next turn, once however often this is called. */
  kick(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.defer(() => this.run());
  }

  private run(): void {
    this.scheduled = false;
    this.slices++;
    const end = this.now() + this.sliceMs;
    if (this.work(() => this.now() >= end)) this.kick();
  }
}
