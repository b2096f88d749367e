// Trace files on disk: one header line, then one event per line. Read streaming (no whole-file buffering, no
// whole-line buffering past a limit), every line validated, every problem reported once with file:line.
import { isUtf8 } from 'node:buffer';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { EXIT, IfblameError } from '../errors.js';
import { Change, FORMAT_NAME, LinkEvent, Lost, Note, ProbeEvent, SCHEMA_VERSION, TraceHeader, type TraceEvent } from '../events.js';

/** Lines longer than this are skipped (and reported) without ever being held in memory whole. */
export const DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024;
/** Time may go back this much between consecutive events before it is reported: live sources join two clocks. */
export const DEFAULT_REORDER_TOLERANCE_US = 2_000_000;
/** Small reads keep each batch's events young for the garbage collector (1 MiB chunks cost 60 % more CPU). */
const CHUNK_BYTES = 128 * 1024;

/** One thing wrong with one line of a trace file. `warning`: the line is still used (or harmless); `error`: skipped. */
export interface TraceProblem {
  file: string;
  line: number;
  level: 'error' | 'warning';
  message: string;
  /** The line was not used (garbage, invalid, too long, torn); false for warnings about lines still used. */
  skipped: boolean;
}

/** The one line a user sees for a problem: `ifblame: FILE:LINE: message`. */
export function formatProblem(p: TraceProblem): string {
  return `ifblame: ${p.file}:${p.line}: ${p.level === 'warning' ? 'warning: ' : ''}${p.message}`;
}

/** A trace file that cannot be read at all (no header, wrong format or version), or a problem under `--strict`. */
export class TraceFileError extends IfblameError {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly problem: string,
    hint?: string,
  ) {
    super(`${file}:${line}: ${problem}`, hint, EXIT.usage);
    this.name = 'TraceFileError';
  }
}

// ---------------------------------------------------------------- line splitting (bytes, not strings)

/**
 * Splits a byte stream at `\n` without decoding, so a line is never held whole when it is longer than the limit:
 * it is counted, measured and skipped. Lines keep their 1-based number; a final line without `\n` comes out
 * with `terminated: false`. A trailing `\r` is left to the caller.
 */
export class LineSplitter {
  /** Lines completed so far (the number of the last line handed out). */
  lineNo = 0;
  private pending: Buffer[] = [];
  private pendingLen = 0;
  private skipping = false;
  private skipLen = 0;

  constructor(
    private readonly maxLineBytes: number,
    private readonly onLine: (buf: Buffer, start: number, end: number, lineNo: number, terminated: boolean) => void,
    private readonly onOverlong: (lineNo: number, bytes: number, terminated: boolean) => void,
  ) {}

  push(chunk: Buffer): void {
    let pos = 0;
    const n = chunk.length;
    while (pos < n) {
      const nl = chunk.indexOf(10, pos);
      if (nl < 0) {
        this.keep(chunk, pos, n);
        return;
      }
      const no = ++this.lineNo;
      const len = nl - pos;
      if (this.skipping) {
        const total = this.skipLen + len;
        this.skipping = false;
        this.skipLen = 0;
        this.onOverlong(no, total, true);
      } else if (this.pendingLen > 0) {
        const total = this.pendingLen + len;
        if (total > this.maxLineBytes) {
          this.clearPending();
          this.onOverlong(no, total, true);
        } else {
          this.pending.push(chunk.subarray(pos, nl));
          const line = Buffer.concat(this.pending, total);
          this.clearPending();
          this.onLine(line, 0, total, no, true);
        }
      } else if (len > this.maxLineBytes) {
        this.onOverlong(no, len, true);
      } else {
        this.onLine(chunk, pos, nl, no, true);
      }
      pos = nl + 1;
    }
  }

  /** End of input: hands out a last line that had no `\n`. */
  end(): void {
    if (this.skipping) {
      const total = this.skipLen;
      this.skipping = false;
      this.skipLen = 0;
      this.onOverlong(++this.lineNo, total, false);
    } else if (this.pendingLen > 0) {
      const total = this.pendingLen;
      const line = Buffer.concat(this.pending, total);
      this.clearPending();
      this.onLine(line, 0, total, ++this.lineNo, false);
    }
  }

  private keep(chunk: Buffer, start: number, end: number): void {
    const len = end - start;
    if (this.skipping) {
      this.skipLen += len;
    } else if (this.pendingLen + len > this.maxLineBytes) {
      this.skipping = true;
      this.skipLen = this.pendingLen + len;
      this.clearPending();
    } else {
      // A copy: the caller may reuse its chunk buffer.
      this.pending.push(Buffer.from(chunk.subarray(start, end)));
      this.pendingLen += len;
    }
  }

  private clearPending(): void {
    this.pending = [];
    this.pendingLen = 0;
  }
}

// ---------------------------------------------------------------- header and event lines

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

function describeIssues(err: z.ZodError): string {
  const first = err.issues[0];
  if (!first) return 'invalid';
  const path = first.path.map(String).join('.');
  const more = err.issues.length > 1 ? ` (and ${err.issues.length - 1} more)` : '';
  return `${path ? `${path}: ` : ''}${first.message}${more}`;
}

function excerpt(s: string, n = 60): string {
  const t = s.length > n ? `${s.slice(0, n)}…` : s;
  return JSON.stringify(t);
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
    if ((json as { format?: unknown }).format === FORMAT_NAME) return { ok: false, message: 'a second trace header in the middle of the file (two traces concatenated?)' };
    return { ok: false, message: type === undefined ? 'event without a "type"' : `unknown event type ${excerpt(String(type), 30)}` };
  }
  const r = SCHEMAS[type as keyof typeof SCHEMAS].safeParse(json);
  if (!r.success) return { ok: false, message: `bad ${type} event: ${describeIssues(r.error)}` };
  return { ok: true, event: r.data as TraceEvent };
}

/** Guesses what a first line that is not a trace header is, for the hint. */
function whatIsIt(text: string, json: unknown): { problem: string; hint: string } {
  const importHint = 'build a trace file from raw outputs with `ifblame import --bpftrace FILE --netlink FILE -o TRACE`';
  if (json && typeof json === 'object' && !Array.isArray(json)) {
    const t = (json as { type?: unknown }).type;
    if (t === 'attached_probes' || t === 'printf' || t === 'lost_events') return { problem: 'this is raw bpftrace output, not an ifblame trace file', hint: importHint };
    if (typeof t === 'string' && Object.hasOwn(SCHEMAS, t)) return { problem: 'no trace header: the file starts with an event (header line lost?)', hint: 'a trace file starts with the header line ifblame writes; was the file cut at the front?' };
  }
  if (Array.isArray(json)) return { problem: 'this looks like `ip -j link` output, not an ifblame trace file', hint: `pass it to import as --snapshot; ${importHint}` };
  if (/^\[\d{4}-\d{2}-\d{2}T[\d:.]+\]/.test(text)) return { problem: 'this is `ip -ts monitor` output, not an ifblame trace file', hint: importHint };
  return { problem: `not an ifblame trace file (first line: ${excerpt(text, 40)})`, hint: 'record one with `ifblame capture --record FILE` or `ifblame --record FILE`, or build one with `ifblame import`' };
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
      throw new TraceFileError(file, 1, `trace format version ${v} is newer than this ifblame reads (version ${SCHEMA_VERSION})`, 'replay it with a newer ifblame');
    }
    throw new TraceFileError(file, 1, `unsupported trace format version ${excerpt(String(v), 20)} (this ifblame reads version ${SCHEMA_VERSION})`, 'the header line was written by another tool or is damaged');
  }
  const r = TraceHeader.safeParse(obj);
  if (!r.success) throw new TraceFileError(file, 1, `bad trace header: ${describeIssues(r.error)}`, 'the header line is damaged');
  return r.data;
}

// ---------------------------------------------------------------- the reader

export interface TraceReadOptions {
  /** Stop reading at the first problem of any kind (it is handed out as the last item). */
  strict?: boolean;
  maxLineBytes?: number;
  reorderToleranceUs?: number;
  /** Keep the line text in each entry (for writing it back unchanged). */
  keepRaw?: boolean;
  /** Read size; tests use tiny chunks. */
  chunkBytes?: number;
}

/** One event of the file, in file order. */
export interface TraceEntry {
  event: TraceEvent;
  problem?: undefined;
  /** 1-based line number in the file. */
  line: number;
  /** The line as it was in the file (only with `keepRaw`). */
  raw?: string;
}

/** One problem, at its place among the events (so a consumer can show the gap where it is). */
export interface TraceProblemItem {
  event?: undefined;
  problem: TraceProblem;
  line: number;
}

export type TraceItem = TraceEntry | TraceProblemItem;

export interface TraceReadStats {
  /** Lines seen, header included. */
  lines: number;
  events: number;
  /** Problems of level error. */
  errors: number;
  warnings: number;
  /** Lines not used (errors and a torn last line). */
  skipped: number;
  /** Bytes consumed so far. */
  bytes: number;
}

/** Where the bytes come from: a file path, or any byte stream with a name for messages (stdin: `-`). */
export type TraceSource = string | { name: string; stream: Readable; size?: number };

/** The error a consumer throws for a problem in strict mode. */
export function strictError(p: TraceProblem): TraceFileError {
  return new TraceFileError(p.file, p.line, p.message, 'without --strict bad lines are reported and skipped, and the rest is read');
}

/**
 * A trace file opened for one streaming pass: `header` is read and validated at open (TraceFileError when
 * there is none); `next()` hands out what follows in batches (one per read chunk), in file order: events and,
 * in their place, problems (bad lines are skipped, warnings name lines still used). Strict mode stops reading
 * after the first problem. Nothing here throws for a bad line.
 */
export class TraceReader {
  readonly file: string;
  header!: TraceHeader;
  /** File size in bytes when known (progress). */
  readonly size: number | undefined;
  private readonly opts: Required<Pick<TraceReadOptions, 'maxLineBytes' | 'reorderToleranceUs'>> & TraceReadOptions;
  private readonly stream: Readable;
  private readonly chunks: AsyncIterator<Buffer | string>;
  private readonly splitter: LineSplitter;
  private queue: TraceItem[] = [];
  private ended = false;
  private halted = false;
  private headerSeen = false;
  private currentChunk: Buffer | undefined;
  private lastSeq: number | undefined;
  private maxTs = -Infinity;
  /** Chunk-level UTF-8 check passed: per-line checks can be skipped for lines inside the chunk. */
  private chunkUtf8 = false;
  private coveredFrom = 0;
  private readonly s: TraceReadStats = { lines: 0, events: 0, errors: 0, warnings: 0, skipped: 0, bytes: 0 };

  private constructor(file: string, stream: Readable, size: number | undefined, opts: TraceReadOptions) {
    this.file = file;
    this.stream = stream;
    this.size = size;
    this.opts = { maxLineBytes: DEFAULT_MAX_LINE_BYTES, reorderToleranceUs: DEFAULT_REORDER_TOLERANCE_US, ...opts };
    this.chunks = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
    this.splitter = new LineSplitter(this.opts.maxLineBytes, (b, s, e, no, t) => this.onLine(b, s, e, no, t), (no, bytes, t) => this.onOverlong(no, bytes, t));
  }

  /** Opens the source and reads its header; throws TraceFileError (or IfblameError for I/O) when there is no usable header. */
  static async open(source: TraceSource, opts: TraceReadOptions = {}): Promise<TraceReader> {
    let file: string;
    let stream: Readable;
    let size: number | undefined;
    if (typeof source === 'string') {
      file = source;
      try {
        const st = await stat(source);
        if (st.isDirectory()) throw new IfblameError(`${source}: is a directory, not a trace file`, 'give the path of a trace file');
        size = st.isFile() ? st.size : undefined;
      } catch (e) {
        if (e instanceof IfblameError) throw e;
        throw new IfblameError(`${source}: ${ioReason(e)}`, 'give the path of a trace file recorded by ifblame');
      }
      stream = createReadStream(source, { highWaterMark: opts.chunkBytes ?? CHUNK_BYTES });
    } else {
      file = source.name;
      stream = source.stream;
      size = source.size;
    }
    const r = new TraceReader(file, stream, size, opts);
    try {
      await r.readHeader();
    } catch (e) {
      r.close();
      throw e;
    }
    return r;
  }

  stats(): TraceReadStats {
    return { ...this.s };
  }

  /** The next items (at least one), or null at the end of the file. */
  async next(): Promise<TraceItem[] | null> {
    while (this.queue.length === 0 && !this.ended) await this.pump();
    if (this.queue.length === 0) return null;
    const out = this.queue;
    this.queue = [];
    return out;
  }

  /** Events only, in order; problems go to `onProblem`, or throw (TraceFileError) when strict. */
  async *events(onProblem?: (p: TraceProblem) => void): AsyncGenerator<TraceEntry> {
    for (let b = await this.next(); b; b = await this.next()) {
      for (const item of b) {
        if (item.problem) {
          if (this.opts.strict) throw strictError(item.problem);
          onProblem?.(item.problem);
        } else {
          yield item;
        }
      }
    }
  }

  close(): void {
    this.ended = true;
    this.stream.destroy();
  }

  private async readHeader(): Promise<void> {
    while (!this.headerSeen && !this.ended) await this.pump();
    if (!this.headerSeen) throw new TraceFileError(this.file, 1, 'empty file: no trace header', 'a trace file starts with the header line ifblame writes');
  }

  private async pump(): Promise<void> {
    if (this.halted) {
      this.close();
      return;
    }
    let r: IteratorResult<Buffer | string>;
    try {
      r = await this.chunks.next();
    } catch (e) {
      this.ended = true;
      throw new IfblameError(`${this.file}: ${ioReason(e)}`, 'the trace file could not be read');
    }
    if (r.done) {
      this.ended = true;
      this.splitter.end();
      return;
    }
    const chunk = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    this.s.bytes += chunk.length;
    // One UTF-8 check for the lines that lie wholly inside the chunk (after its first `\n`, up to its last);
    // only when it fails, and for lines that straddle chunks, are lines checked one by one.
    const firstNl = chunk.indexOf(10);
    const lastNl = firstNl < 0 ? -1 : chunk.lastIndexOf(10);
    this.coveredFrom = firstNl + 1;
    this.chunkUtf8 = lastNl > firstNl && isUtf8(chunk.subarray(firstNl + 1, lastNl + 1));
    this.currentChunk = chunk;
    try {
      this.splitter.push(chunk);
    } finally {
      this.chunkUtf8 = false;
      this.currentChunk = undefined;
    }
  }

  private problem(line: number, level: TraceProblem['level'], message: string, skipped = true): void {
    if (this.halted) return;
    if (level === 'error') this.s.errors++;
    else this.s.warnings++;
    if (skipped) this.s.skipped++;
    this.queue.push({ problem: { file: this.file, line, level, message, skipped }, line });
    if (this.opts.strict) this.halted = true;
  }

  private onOverlong(no: number, bytes: number, terminated: boolean): void {
    this.s.lines++;
    if (no === 1) {
      this.headerSeen = true;
      throw new TraceFileError(this.file, 1, `first line is ${bytes} bytes, longer than the ${mib(this.opts.maxLineBytes)} limit: not a trace header`);
    }
    this.problem(no, 'error', `line is ${bytes} bytes, longer than the ${mib(this.opts.maxLineBytes)} limit: skipped${terminated ? '' : ' (and the file ends inside it)'}`);
  }

  private onLine(buf: Buffer, start: number, end: number, no: number, terminated: boolean): void {
    this.s.lines++;
    if (this.halted) return;
    let e = end;
    if (e > start && buf[e - 1] === 13) e--; // CRLF
    // Lines inside the current chunk were covered by its check; a line put together from two chunks was not.
    const utf8 = (this.chunkUtf8 && buf === this.currentChunk && start >= this.coveredFrom) || isUtf8(buf.subarray(start, e));
    if (no === 1) {
      this.headerSeen = true;
      if (!utf8) throw new TraceFileError(this.file, 1, 'not an ifblame trace file (the first line is not UTF-8 text)', 'trace files are UTF-8 JSON lines');
      // Validated at once, so nothing after a bad first line is ever looked at.
      this.header = parseHeaderLine(buf.toString('utf8', start, e), this.file);
      return;
    }
    if (!utf8) {
      if (terminated) this.problem(no, 'error', 'not UTF-8 text: skipped');
      else this.problem(no, 'warning', 'torn last line (the recording stopped mid-write): skipped');
      return;
    }
    if (e === start) return; // blank line
    const text = buf.toString('utf8', start, e);
    const r = parseEventLine(text);
    if (!r.ok) {
      if (!terminated) this.problem(no, 'warning', 'torn last line (the recording stopped mid-write): skipped');
      else this.problem(no, 'error', `${r.message}: skipped`);
      return;
    }
    const ev = r.event;
    if (ev.seq !== undefined) {
      if (this.lastSeq !== undefined && ev.seq <= this.lastSeq) this.problem(no, 'warning', `out of order: seq ${ev.seq} after seq ${this.lastSeq}`, false);
      this.lastSeq = ev.seq;
    }
    // Only raw events are written as they happen; derived ones (changes) carry the time of what they explain.
    if (ev.type === 'probe' || ev.type === 'link') {
      if (ev.ts < this.maxTs - this.opts.reorderToleranceUs) {
        this.problem(no, 'warning', `out of order: time goes back ${((this.maxTs - ev.ts) / 1e6).toFixed(3)} s`, false);
      }
      if (ev.ts > this.maxTs) this.maxTs = ev.ts;
    }
    this.s.events++;
    this.queue.push(this.opts.keepRaw ? { event: ev, line: no, raw: text } : { event: ev, line: no });
  }
}

function mib(n: number): string {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(n % (1024 * 1024) ? 1 : 0)} MiB` : `${n}-byte`;
}

function ioReason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  switch (err?.code) {
    case 'ENOENT': return 'no such file';
    case 'EACCES': return 'permission denied';
    case 'EISDIR': return 'is a directory, not a trace file';
    default: return err?.message ?? String(e);
  }
}

/** Convenience: opens a trace file (see TraceReader.open). */
export function openTrace(source: TraceSource, opts: TraceReadOptions = {}): Promise<TraceReader> {
  return TraceReader.open(source, opts);
}
