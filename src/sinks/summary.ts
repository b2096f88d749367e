// What a capture or replay adds up to: counts per kind, lost events, backend, dropped probes — printed by every sink.
import type { ChangeKind, ProbeDrop, TraceEvent } from '../events.js';
import type { Feed, LateProbes } from '../feed/feed.js';

export interface Summary {
  backend: string;
  changes: Partial<Record<ChangeKind, number>>;
  total: number;
  lost: number;
  /** Events correlated out of time order (a bounded wait ran out): their attribution may be incomplete. */
  late?: number;
  badLines: number;
  dropped: ProbeDrop[];
  /** Probes attached while tracing, when their module loaded, and from when they cover. */
  added?: LateProbes[];
  durationMs: number;
  command?: { argv: string[]; exitCode: number | null; signal?: string };
  failOn?: { kinds: ChangeKind[]; hit: number };
  /** `--record`: the trace file, and why recording stopped early when it did (tracing went on; exit code 5). */
  recording?: { path: string; failure?: string };
  error?: string;
}

/** Accumulates a Summary from the event stream. */
export class SummaryCounter {
  readonly changes: Partial<Record<ChangeKind, number>> = {};
  total = 0;
  lost = 0;
  badLines = 0;

  add(ev: TraceEvent): void {
    if (ev.type === 'change') {
      this.changes[ev.kind] = (this.changes[ev.kind] ?? 0) + 1;
      this.total++;
    } else if (ev.type === 'lost') {
      if (ev.source === 'parser') this.badLines += ev.count;
      else this.lost += ev.count;
    }
  }

  /** What every live session's summary holds (capture, record): the counts, late events, probes dropped and added, time. */
  of(feed: Pick<Feed, 'header' | 'stats' | 'lateProbes'>, started: number): Summary {
    const added = feed.lateProbes?.() ?? [];
    return {
      backend: feed.header.backend,
      changes: this.changes,
      total: this.total,
      lost: this.lost,
      late: feed.stats().late ?? 0,
      badLines: this.badLines,
      dropped: feed.header.probes.dropped,
      ...(added.length ? { added: [...added] } : {}),
      durationMs: Date.now() - started,
    };
  }
}
