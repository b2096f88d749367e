// Events per second per kind, as a short history for the sparklines: counting is O(1) per event, rolling once a second.
export const RATE_KINDS = ['probe', 'link', 'change', 'lost'] as const;
export type RateKind = (typeof RATE_KINDS)[number];

export class RateMeter {
  private current: Record<RateKind, number> = zero();
  private readonly history: Record<RateKind, number[]> = { probe: [], link: [], change: [], lost: [] };
  private bucketStart: number;

  constructor(
    now: number,
    readonly length = 60,
  ) {
    this.bucketStart = now;
  }

  count(kind: RateKind, n = 1): void {
    this.current[kind] += n;
  }

  /** Closes every whole second that has passed since the last roll; returns whether anything moved. */
  roll(now: number): boolean {
    let rolled = false;
    while (now - this.bucketStart >= 1000) {
      for (const k of RATE_KINDS) {
        const h = this.history[k];
        h.push(this.current[k]);
        if (h.length > this.length) h.shift();
      }
      this.current = zero();
      this.bucketStart += 1000;
      rolled = true;
      // A long stall (suspend, debugger): jump instead of replaying empty seconds one by one.
      if (now - this.bucketStart > this.length * 1000) this.bucketStart = now - this.length * 1000;
    }
    return rolled;
  }

  /** Per-second counts, oldest first (closed seconds only). */
  series(kind: RateKind): readonly number[] {
    return this.history[kind];
  }

  /** The last closed second's count. */
  last(kind: RateKind): number {
    const h = this.history[kind];
    return h[h.length - 1] ?? 0;
  }

  reset(now: number): void {
    this.current = zero();
    for (const k of RATE_KINDS) this.history[k].length = 0;
    this.bucketStart = now;
  }
}

function zero(): Record<RateKind, number> {
  return { probe: 0, link: 0, change: 0, lost: 0 };
}
