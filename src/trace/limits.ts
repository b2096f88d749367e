// Limits on what a trace file may hold: names no longer than the kernel allows, strings and lists of bounded size.
// A trace file is untrusted input (it may come from anywhere): an event line over a limit is not something the
// kernel can have produced, so it is reported (FILE:LINE) and skipped; a header over a limit is cut, with a warning,
// so the rest of the file can still be read. Messages name the field and its size, never echo the value.
import { byteLength } from '../format/escape.js';
import type { TraceEvent } from '../events.js';
import type { TraceHeader } from './format.js';

/** IFNAMSIZ is 16 with the NUL: an interface name has at most 15 bytes. */
export const MAX_IFNAME_BYTES = 15;
/** TASK_COMM_LEN is 16 with the NUL: a comm has at most 15 bytes. */
export const MAX_COMM_BYTES = 15;
/** Any other string in an event (a kernel symbol, a cgroup path, a message, an `ip monitor` line). */
export const MAX_STRING_BYTES = 4096;
/** The generated program in a header (real ones are about 11 KiB). */
export const MAX_PROGRAM_BYTES = 256 * 1024;
/** Any other string in a header (host, kernel, a probe's drop reason). */
export const MAX_HEADER_STRING_BYTES = 4096;
/** Kernel stack frames (bpftrace prints at most 127), parent chains, probe paths, flags. */
export const MAX_LIST_ITEMS = 256;
/** Raw-event references of one change. */
export const MAX_REFS = 100_000;

/** Byte length of `s` when it is over `max`, else -1. Cheap for the usual short string (UTF-8: at most 3 bytes a unit). */
function overBy(s: string, max: number): number {
  if (s.length * 3 <= max) return -1;
  // Buffer.byteLength counts a lone surrogate (a byte that was not UTF-8) as 3: confirm with the exact count.
  if (Buffer.byteLength(s, 'utf8') <= max) return -1;
  const n = byteLength(s);
  return n > max ? n : -1;
}

/** Bytes the kernel would have had: U+FFFD (a byte `ip` could not decode) counts as the one byte it replaced. */
function kernelOverBy(s: string, max: number): number {
  let n = overBy(s, max);
  if (n < 0) return -1;
  for (let i = s.indexOf('\ufffd'); i >= 0; i = s.indexOf('\ufffd', i + 1)) n -= 2;
  return n > max ? n : -1;
}

type Check = (path: string, v: unknown) => string | null;

const name =
  (max: number, what: string): Check =>
  (path, v) => {
    if (typeof v !== 'string') return null;
    const n = kernelOverBy(v, max);
    return n >= 0 ? `${path} is ${n} bytes, longer than ${what} allows (${max}): not from a kernel` : null;
  };
const str =
  (max: number): Check =>
  (path, v) => {
    if (typeof v !== 'string') return null;
    const n = overBy(v, max);
    return n >= 0 ? `${path} is ${n} bytes, longer than the ${max}-byte limit` : null;
  };
const list =
  (max: number, each?: Check): Check =>
  (path, v) => {
    if (!Array.isArray(v)) return null;
    if (v.length > max) return `${path} has ${v.length} entries, more than the ${max} limit`;
    if (each) {
      for (let i = 0; i < v.length; i++) {
        const r = each('', v[i]);
        if (r) return each(`${path}[${i}]`, v[i]);
      }
    }
    return null;
  };

const IFNAME = name(MAX_IFNAME_BYTES, 'IFNAMSIZ');
const COMM = name(MAX_COMM_BYTES, 'TASK_COMM_LEN');
const STR = str(MAX_STRING_BYTES);
const CHAIN_ENTRY: Check = (p, v) => (v && typeof v === 'object' ? COMM(`${p}.comm`, (v as { comm?: unknown }).comm) : null);

/**
 * Fields with a kernel limit, by event type; every other string is held to MAX_STRING_BYTES. `each` checks the
 * strings of a list: left out for a line too short to hold a string over MAX_STRING_BYTES.
 */
function namedChecks(each: Check | undefined): { named: Record<TraceEvent['type'], [string, Check][]>; via: [string, Check][] } {
  return {
    named: {
      probe: [
        ['comm', COMM],
        ['pcomm', COMM],
        ['kstack', list(MAX_LIST_ITEMS, each)],
      ],
      link: [
        ['ifname', IFNAME],
        ['master', IFNAME],
        ['flags', list(MAX_LIST_ITEMS, each)],
      ],
      change: [
        ['iface', IFNAME],
        ['refs', list(MAX_REFS)],
      ],
      lost: [],
      note: [],
    },
    via: [
      ['kstack', list(MAX_LIST_ITEMS, each)],
      ['path', list(MAX_LIST_ITEMS, each)],
    ],
  };
}
const LONG_LINE = namedChecks(STR);
const SHORT_LINE = namedChecks(undefined);
const ACTOR: [string, Check][] = [
  ['comm', COMM],
  ['pcomm', COMM],
  ['chain', list(MAX_LIST_ITEMS, CHAIN_ENTRY)],
];
const MAX_KEY_BYTES = 64;

/**
 * The path (segments, innermost last) of the first string anywhere under `v` over `max` bytes, or of a key over
 * MAX_KEY_BYTES (keys are data too: a probe's field names); null when there is none. Allocates only on a hit.
 */
function longString(v: unknown, max: number, depth = 0): (string | number)[] | null {
  if (typeof v === 'string') return overBy(v, max) >= 0 ? [] : null;
  if (depth > 4 || v === null || typeof v !== 'object') return null;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const r = longString(v[i], max, depth + 1);
      if (r) return (r.unshift(i), r);
    }
    return null;
  }
  for (const k in v) {
    if (overBy(k, MAX_KEY_BYTES) >= 0) return [k, '(key)'];
    const r = longString((v as Record<string, unknown>)[k], max, depth + 1);
    if (r) return (r.unshift(k), r);
  }
  return null;
}

function anyString(v: unknown, max: number): string | null {
  const at = longString(v, max);
  if (!at) return null;
  if (at.at(-1) === '(key)')
    return `${pathText(at.slice(0, -2))} has a key of ${byteLength(String(at.at(-2)))} bytes, longer than the ${MAX_KEY_BYTES}-byte limit`;
  let x: unknown = v;
  for (const k of at) x = (x as Record<string | number, unknown>)[k];
  return `${pathText(at)} is ${byteLength(x as string)} bytes, longer than the ${max}-byte limit`;
}

/** `via.kstack[3]`; keys from the file are data: shown only when short and plain. */
function pathText(at: (string | number)[]): string {
  return at.map((k, i) => (typeof k === 'number' ? `[${k}]` : `${i ? '.' : ''}${/^[A-Za-z0-9_]{1,32}$/.test(k) ? k : '(key)'}`)).join('') || '(event)';
}

function checkFields(obj: Record<string, unknown>, checks: [string, Check][], prefix: string): string | null {
  for (const [k, check] of checks) {
    const v = obj[k];
    if (v === undefined) continue;
    // the path is put together only for a message
    if (check('', v)) return check(prefix + k, v);
  }
  return null;
}

/**
 * Why an event breaks a limit (`comm is 40 bytes, longer than TASK_COMM_LEN allows (15)...`), or null.
 * `lineBytes`, the size of the line it was read from, skips the walk over every string when none can be long: a
 * string or key takes at least as many bytes in its JSON line as in UTF-8, and the schema strips unknown keys, so
 * only a probe's field names (a record's keys) are left to check.
 */
export function eventLimitProblem(ev: TraceEvent, lineBytes = Infinity): string | null {
  const o = ev as unknown as Record<string, unknown>;
  const checks = lineBytes > MAX_STRING_BYTES ? LONG_LINE : SHORT_LINE;
  const r = checkFields(o, checks.named[ev.type] ?? [], '');
  if (r) return r;
  if (ev.type === 'probe' || ev.type === 'change') {
    const a = (ev as { actor?: unknown }).actor;
    if (a && typeof a === 'object') {
      const ra = checkFields(a as Record<string, unknown>, ACTOR, 'actor.');
      if (ra) return ra;
    }
  }
  if (ev.type === 'change') {
    const rv = checkFields(ev.via as unknown as Record<string, unknown>, checks.via, 'via.');
    if (rv) return rv;
  }
  if (lineBytes > MAX_STRING_BYTES) return anyString(o, MAX_STRING_BYTES);
  if (ev.type === 'probe') {
    for (const k in ev.fields) if (overBy(k, MAX_KEY_BYTES) >= 0) return anyString(o, MAX_STRING_BYTES);
  }
  return null;
}

/** Cuts a string to at most `max` bytes at a character boundary. */
function cutTo(s: string, max: number): string {
  if (byteLength(s) <= max) return s;
  let lo = 0;
  let hi = Math.min(s.length, max);
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (byteLength(s.slice(0, mid)) <= max) lo = mid;
    else hi = mid - 1;
  }
  // Never split a surrogate pair.
  const code = s.charCodeAt(lo - 1);
  if (lo > 0 && code >= 0xd800 && code <= 0xdbff) lo--;
  return s.slice(0, lo);
}

/**
 * A header held to the limits: over-long strings are cut (the program to MAX_PROGRAM_BYTES, names to the kernel's
 * sizes, the rest to MAX_HEADER_STRING_BYTES), each cut reported as a warning for line 1. Never throws.
 */
export function boundHeader(h: TraceHeader): { header: TraceHeader; warnings: string[] } {
  const warnings: string[] = [];
  const cut = (path: string, s: string, max: number, why = `the ${max}-byte limit`): string => {
    const n = byteLength(s);
    if (n <= max) return s;
    warnings.push(`header ${path} is ${n} bytes, longer than ${why}: cut`);
    return cutTo(s, max);
  };
  const out: TraceHeader = {
    ...h,
    host: cut('host', h.host, 255, 'a host name (255)'),
    kernel: cut('kernel', h.kernel, MAX_HEADER_STRING_BYTES),
    bpftraceVersion: h.bpftraceVersion === null ? null : cut('bpftraceVersion', h.bpftraceVersion, 256),
    program: cut('program', h.program, MAX_PROGRAM_BYTES),
    createdAt: cut('createdAt', h.createdAt, 64),
    ...(h.tool !== undefined ? { tool: cut('tool', h.tool, 256) } : {}),
    probes: {
      used: h.probes.used.map((p, i) => cut(`probes.used[${i}]`, p, 256)),
      dropped: h.probes.dropped.map((d, i) => ({
        probe: cut(`probes.dropped[${i}].probe`, d.probe, 256),
        reason: cut(`probes.dropped[${i}].reason`, d.reason, MAX_HEADER_STRING_BYTES),
      })),
    },
    filters: {
      iface: h.filters.iface.map((f, i) => cut(`filters.iface[${i}]`, f, MAX_IFNAME_BYTES, `IFNAMSIZ (${MAX_IFNAME_BYTES})`)),
      comm: h.filters.comm.map((f, i) => cut(`filters.comm[${i}]`, f, MAX_COMM_BYTES, `TASK_COMM_LEN (${MAX_COMM_BYTES})`)),
    },
    snapshot: h.snapshot.map((l, i) => {
      const ifname = cut(`snapshot[${i}].ifname`, l.ifname, MAX_IFNAME_BYTES, `IFNAMSIZ (${MAX_IFNAME_BYTES})`);
      const master = typeof l.master === 'string' ? cut(`snapshot[${i}].master`, l.master, MAX_IFNAME_BYTES, `IFNAMSIZ (${MAX_IFNAME_BYTES})`) : l.master;
      const o: typeof l = { ...l, ifname, ...(master !== undefined ? { master } : {}) };
      // Whatever else a snapshot entry holds (kind, flags...) is small in a real one: bound it the same way.
      for (const [k, v] of Object.entries(o)) {
        if (typeof v === 'string' && k !== 'ifname' && k !== 'master') (o as Record<string, unknown>)[k] = cut(`snapshot[${i}].${k}`, v, 256);
        if (Array.isArray(v))
          (o as Record<string, unknown>)[k] = v.slice(0, MAX_LIST_ITEMS).map((x) => (typeof x === 'string' ? cut(`snapshot[${i}].${k}`, x, 256) : x));
      }
      return o;
    }),
  };
  // Many cuts (a crafted header with thousands of long names) are one warning each up to a point, then a count.
  if (warnings.length > 10) warnings.splice(10, warnings.length - 10, `header: ${warnings.length - 10} more strings cut`);
  return { header: out, warnings };
}
