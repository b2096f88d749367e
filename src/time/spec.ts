// --from/--to times as people write them: absolute, relative to the first event (+10s), or a time of day.
import { IfblameError } from '../errors.js';
import { localToEpochUs, parseIsoLocal } from './local-time.js';

/** A --from/--to value: absolute µs, or relative to the first event, or a time of day (resolved on the first event). */
export type TimeSpec = { abs: number } | { offsetUs: number } | { timeOfDay: { h: number; m: number; s: number; us: number } };

/** Parses a --from/--to value (see HELP); throws IfblameError naming the flag. */
export function parseTimeSpec(flag: string, text: string): TimeSpec {
  const t = text.trim();
  const bad = () => new IfblameError(`${flag} ${JSON.stringify(text)} is not a time`, 'use 2026-11-21T12:40:59, 12:40:59.5 or +10s (after the first event)');
  const rel = /^\+(\d+(?:\.\d+)?)(us|ms|s|m|h)?$/.exec(t);
  if (rel) {
    const mult = { us: 1, ms: 1e3, s: 1e6, m: 60e6, h: 3600e6 }[(rel[2] ?? 's') as 'us'];
    return { offsetUs: Math.round(Number(rel[1]) * mult) };
  }
  const tod = /^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?$/.exec(t);
  if (tod) {
    const h = Number(tod[1]);
    const m = Number(tod[2]);
    const s = Number(tod[3] ?? 0);
    if (h > 23 || m > 59 || s > 60) throw bad();
    return { timeOfDay: { h, m, s, us: Number((tod[4] ?? '').padEnd(6, '0').slice(0, 6)) } };
  }
  const zoned = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)(Z|[+-]\d{2}:?\d{2})$/.exec(t);
  if (zoned) {
    const frac = /\.(\d{1,9})/.exec(zoned[1]!)?.[1] ?? '';
    const ms = Date.parse(zoned[1]!.replace(/\.\d+$/, '') + (zoned[2] === 'Z' ? 'Z' : zoned[2]!.replace(/^([+-]\d{2})(\d{2})$/, '$1:$2')));
    if (!Number.isFinite(ms)) throw bad();
    return { abs: ms * 1000 + Number(frac.padEnd(6, '0').slice(0, 6)) };
  }
  const local = parseIsoLocal(/T\d{2}:\d{2}$/.test(t) ? `${t}:00` : t);
  if (local) return { abs: localToEpochUs(local, 'local') };
  throw bad();
}

/** µs for a spec, given the first event's time (for relative and time-of-day specs). */
export function resolveTimeSpec(spec: TimeSpec, firstTs: number): number {
  if ('abs' in spec) return spec.abs;
  if ('offsetUs' in spec) return firstTs + spec.offsetUs;
  const d = new Date(Math.floor(firstTs / 1000));
  d.setHours(spec.timeOfDay.h, spec.timeOfDay.m, spec.timeOfDay.s, 0);
  return d.getTime() * 1000 + spec.timeOfDay.us;
}
