// The note that counts events correlated out of time order, written into each trace file, and its count read back.
import type { Note, TraceEvent } from '../events.js';

/** The note's source. */
export const LATE_SOURCE = 'merge';

/** How long a netlink message waits at most for bpftrace's output (µs): the live feed's bounded wait. */
export const MAX_WAIT_US = 5_000_000;

/** The note for `forced` + `late` events (since the file started, or the whole session). */
export function lateNote(forced: number, late: number, ts = Date.now() * 1000): Note {
  return {
    type: 'note',
    ts,
    level: 'warn',
    source: LATE_SOURCE,
    message: `${forced + late} events were correlated out of time order: ${forced} netlink messages waited ${MAX_WAIT_US / 1e6} s for bpftrace's output and went on without it, ${late} bpftrace events came after netlink had moved on (their attribution may be incomplete)`,
  };
}

/** The count a late note carries, 0 for any other event. */
export function lateCountOf(ev: TraceEvent): number {
  if (ev.type !== 'note' || ev.source !== LATE_SOURCE) return 0;
  const m = /^(\d+) events were correlated out of time order/.exec(ev.message);
  return m ? Number(m[1]) : 0;
}
