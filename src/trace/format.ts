// The trace file format: its name and version, the header line, one validated event per line; the header builder.
import { z } from 'zod';
import { Backend, Change, LinkEvent, LinkState, Lost, Note, ProbeDrop, ProbeEvent, type TraceEvent } from '../events.js';
import { displayText, terminalSafeJson } from '../format/escape.js';
import { fastPathFor } from './fast-path.js';
import { TraceFileError } from './problems.js';

export const FORMAT_NAME = 'ifblame-trace';

/** The exact line an event was read from, terminal-safe (terminalSafeJson; set by the reader when asked): JSON output writes it back. */
export const SOURCE_LINE: unique symbol = Symbol('ifblame.sourceLine');

/** The line a read event came from (terminal-safe), when the reader kept it. */
export function sourceLineOf(ev: object): string | undefined {
  return (ev as { [SOURCE_LINE]?: string })[SOURCE_LINE];
}
export const SCHEMA_VERSION = 1;

const Int = z.number().int();

/** First line of a trace file. */
export const TraceHeader = z.object({
  format: z.literal(FORMAT_NAME),
  version: z.literal(SCHEMA_VERSION),
  createdAt: z.string(),
  host: z.string(),
  kernel: z.string(),
  bpftraceVersion: z.string().nullable(),
  backend: Backend,
  program: z.string(),
  probes: z.object({ used: z.array(z.string()), dropped: z.array(ProbeDrop) }),
  filters: z.object({ iface: z.array(z.string()).default([]), comm: z.array(z.string()).default([]) }).default({ iface: [], comm: [] }),
  /** Network namespace inode whose links the netlink source watched; probe events from others are not correlated. */
  netns: Int.optional(),
  /** Offset to add to bpftrace `nsecs` (CLOCK_MONOTONIC, ns) to get wall-clock microseconds. */
  clock: z.object({ monoToWallUs: z.number() }).optional(),
  snapshot: z.array(LinkState),
  tool: z.string().optional(),
});
export type TraceHeader = z.infer<typeof TraceHeader>;

/**
 * The event schemas, AOT-compiled by zod (`z.compile`: same validation, generated code, several times faster;
 * anything it cannot compile falls back to zod's runtime parser, and so does every rejection, for its messages).
 */
const SCHEMAS = {
  probe: z.compile(ProbeEvent),
  link: z.compile(LinkEvent),
  change: z.compile(Change),
  lost: z.compile(Lost),
  note: z.compile(Note),
} as const;

/** Per type, the generated parser that gives zod's result for a usual line, faster (see fast-path.ts). */
const FAST = {
  probe: fastPathFor(ProbeEvent),
  link: fastPathFor(LinkEvent),
  change: fastPathFor(Change),
  lost: fastPathFor(Lost),
  note: fastPathFor(Note),
} as const;

function describeIssues(err: z.ZodError): string {
  const first = err.issues[0];
  if (!first) return 'invalid';
  // Keys are data (a record's keys come from the file): shown escaped, bounded.
  const path = displayText(first.path.map(String).join('.')).slice(0, 120);
  const more = err.issues.length > 1 ? ` (and ${err.issues.length - 1} more)` : '';
  return `${path ? `${path}: ` : ''}${first.message}${more}`;
}

/** Any JSON value as short text for a message: never throws (`{"toString":null}` breaks String()). */
function shown(v: unknown): string {
  if (typeof v === 'string') return v;
  try {
    return JSON.stringify(v) ?? typeof v;
  } catch {
    return typeof v;
  }
}

function excerpt(s: string, n = 60): string {
  const t = s.length > n ? `${s.slice(0, n)}…` : s;
  return terminalSafeJson(JSON.stringify(t));
}

/** What one event line turned into: the validated event, or why it is not one. */
export type EventLineResult = { ok: true; event: TraceEvent } | { ok: false; message: string };

/** Parses and validates one event line (already decoded text). Never throws. */
export function parseEventLine(text: string): EventLineResult {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, message: `not JSON: ${excerpt(text)}` };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return { ok: false, message: `not an event object: ${excerpt(text)}` };
  const type = (json as { type?: unknown }).type;
  if (typeof type !== 'string' || !Object.hasOwn(SCHEMAS, type)) {
    if ((json as { format?: unknown }).format === FORMAT_NAME)
      return { ok: false, message: 'a second trace header in the middle of the file (two traces concatenated?)' };
    return { ok: false, message: type === undefined ? 'event without a "type"' : `unknown event type ${excerpt(shown(type), 30)}` };
  }
  const fast = FAST[type as keyof typeof FAST]?.(json);
  if (fast) return { ok: true, event: fast as TraceEvent };
  const r = SCHEMAS[type as keyof typeof SCHEMAS].safeParse(json);
  if (!r.success) return { ok: false, message: `bad ${type} event: ${describeIssues(r.error)}` };
  return { ok: true, event: r.data as TraceEvent };
}

/** Guesses what a first line that is not a trace header is, for the hint. */
function whatIsIt(text: string, json: unknown): { problem: string; hint: string } {
  const importHint = 'build a trace file from raw outputs with `ifblame import --bpftrace FILE --netlink FILE -o TRACE`';
  if (json && typeof json === 'object' && !Array.isArray(json)) {
    const t = (json as { type?: unknown }).type;
    if (t === 'attached_probes' || t === 'printf' || t === 'lost_events')
      return { problem: 'this is raw bpftrace output, not an ifblame trace file', hint: importHint };
    if (typeof t === 'string' && Object.hasOwn(SCHEMAS, t))
      return {
        problem: 'no trace header: the file starts with an event (header line lost?)',
        hint: 'a trace file starts with the header line ifblame writes; was the file cut at the front?',
      };
  }
  if (Array.isArray(json))
    return { problem: 'this looks like `ip -j link` output, not an ifblame trace file', hint: `pass it to import as --snapshot; ${importHint}` };
  if (/^\[\d{4}-\d{2}-\d{2}T[\d:.]+\]/.test(text)) return { problem: 'this is `ip -ts monitor` output, not an ifblame trace file', hint: importHint };
  return {
    problem: `not an ifblame trace file (first line: ${excerpt(text, 40)})`,
    hint: 'record one with `ifblame capture --record FILE` or `ifblame --record FILE`, or build one with `ifblame import`',
  };
}

/** Parses and validates the header line; throws TraceFileError naming file:1 and the reason. */
export function parseHeaderLine(text: string, file: string): TraceHeader {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    const w = whatIsIt(text, undefined);
    throw new TraceFileError(file, 1, w.problem, w.hint);
  }
  const obj = json && typeof json === 'object' && !Array.isArray(json) ? (json as Record<string, unknown>) : undefined;
  if (!obj || obj.format !== FORMAT_NAME) {
    const w = whatIsIt(text, json);
    throw new TraceFileError(file, 1, w.problem, w.hint);
  }
  if (obj.version !== SCHEMA_VERSION) {
    const v = obj.version;
    if (typeof v === 'number' && Number.isInteger(v) && v > SCHEMA_VERSION) {
      throw new TraceFileError(
        file,
        1,
        `trace format version ${v} is newer than this ifblame reads (version ${SCHEMA_VERSION})`,
        'replay it with a newer ifblame',
      );
    }
    throw new TraceFileError(
      file,
      1,
      `unsupported trace format version ${excerpt(shown(v), 20)} (this ifblame reads version ${SCHEMA_VERSION})`,
      'the header line was written by another tool or is damaged',
    );
  }
  const r = TraceHeader.safeParse(obj);
  if (!r.success) throw new TraceFileError(file, 1, `bad trace header: ${describeIssues(r.error)}`, 'the header line is damaged');
  return r.data;
}

/** What a header needs from its producer; format, version and the defaults are filled in here, the one place headers are made. */
export type HeaderFacts = Omit<TraceHeader, 'format' | 'version' | 'createdAt' | 'filters'> & Partial<Pick<TraceHeader, 'createdAt' | 'filters'>>;

/** Builds a trace header (live, import, a failed start, a snapshot): every header is made by this function. */
export function buildHeader(facts: HeaderFacts): TraceHeader {
  return {
    format: FORMAT_NAME,
    version: SCHEMA_VERSION,
    ...facts,
    createdAt: facts.createdAt ?? new Date().toISOString(),
    filters: facts.filters ?? { iface: [], comm: [] },
  };
}
