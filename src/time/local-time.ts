// `ip -ts` prints local wall time without a zone: turn it into the pipeline's clock (µs since the epoch).

/** Minutes east of UTC (e.g. 0, 60, -300), or `'local'`: the zone of this process (honours `TZ`). */
export type UtcOffset = number | 'local';

/** A local date and time as printed, fraction kept to the microsecond. */
export interface LocalDateTime {
  year: number;
  month: number; // 1..12
  day: number; // 1..31
  hour: number;
  minute: number;
  second: number; // 0..60 (60: a leap second as strftime may print it)
  micro: number; // 0..999999
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const ISO_LOCAL = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?$/;

/** Reads `2026-11-21T12:40:59.506377` (no zone); null when it is not such a time or names no real day. */
export function parseIsoLocal(text: string): LocalDateTime | null {
  const m = ISO_LOCAL.exec(text);
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac] = m;
  const t: LocalDateTime = {
    year: Number(y),
    month: Number(mo),
    day: Number(d),
    hour: Number(h),
    minute: Number(mi),
    second: Number(s),
    micro: frac === undefined ? 0 : Number(frac.padEnd(6, '0').slice(0, 6)),
  };
  return isValidLocal(t) ? t : null;
}

/** Checks the fields name a real calendar day and time. */
export function isValidLocal(t: LocalDateTime): boolean {
  if (t.month < 1 || t.month > 12 || t.day < 1) return false;
  if (t.hour > 23 || t.minute > 59 || t.second > 60 || t.micro < 0 || t.micro > 999_999) return false;
  const dim = t.month === 2 ? (isLeap(t.year) ? 29 : 28) : (DAYS_IN_MONTH[t.month - 1] ?? 31);
  return t.day <= dim;
}

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

/**
 * Wall-clock microseconds since the epoch for a local time.
 * With `'local'` the process zone decides (ambiguous times in a DST fall-back hour take the zone rules' choice).
 */
export function localToEpochUs(t: LocalDateTime, offset: UtcOffset = 'local'): number {
  let ms: number;
  if (offset === 'local') {
    const d = new Date(2000, 0, 1, 0, 0, 0, 0);
    d.setFullYear(t.year, t.month - 1, t.day);
    d.setHours(t.hour, t.minute, t.second, 0);
    ms = d.getTime();
  } else {
    const d = new Date(0);
    d.setUTCFullYear(t.year, t.month - 1, t.day);
    d.setUTCHours(t.hour, t.minute, t.second, 0);
    ms = d.getTime() - offset * 60_000;
  }
  return ms * 1000 + t.micro;
}

/** The machine's current offset from UTC in minutes east (for headers and notes). */
export function localUtcOffsetMinutes(at: Date = new Date()): number {
  return -at.getTimezoneOffset();
}
