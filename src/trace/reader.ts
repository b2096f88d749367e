// Trace files on disk: one header line, then one event per line. Read streaming (no whole-file buffering, no
// whole-line buffering past a limit), every line validated, every problem reported once with file:line.
import { isAscii, isUtf8 } from 'node:buffer';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { IfblameError } from '../errors.js';
import type { TraceEvent } from '../events.js';
import { terminalSafeJson } from '../format/escape.js';
import { parseEventLine, parseHeaderLine, SOURCE_LINE, type TraceHeader } from './format.js';
import { boundHeader, eventLimitProblem } from './limits.js';
import { DEFAULT_MAX_LINE_BYTES, LineSplitter } from './lines.js';
import { ioReason, strictError, TraceFileError, type TraceProblem } from './problems.js';

/** Time may go back this much between consecutive events before it is reported: live sources join two clocks. */
export const DEFAULT_REORDER_TOLERANCE_US = 2_000_000;
/** Small reads keep each batch's events young for the garbage collector (1 MiB chunks cost 60 % more CPU). */
const CHUNK_BYTES = 128 * 1024;

// ---------------------------------------------------------------- the reader

export interface TraceReadOptions {
  /** Stop reading at the first problem of any kind (it is handed out as the last item). */
  strict?: boolean;
  maxLineBytes?: number;
  reorderToleranceUs?: number;
  /** Keep the line text in each entry (for writing it back unchanged). */
  keepRaw?: boolean;
  /** Tag each event with its line, terminal-safe (SOURCE_LINE): a JSON sink then writes it instead of re-serializing. */
  tagLines?: boolean;
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
  /** With `tagLines`: the current chunk has no byte a terminal could act on (all ASCII, no DEL). */
  private chunkPlain = false;
  private coveredFrom = 0;
  private readonly s: TraceReadStats = { lines: 0, events: 0, errors: 0, warnings: 0, skipped: 0, bytes: 0 };

  private constructor(file: string, stream: Readable, size: number | undefined, opts: TraceReadOptions) {
    this.file = file;
    this.stream = stream;
    this.size = size;
    this.opts = { maxLineBytes: DEFAULT_MAX_LINE_BYTES, reorderToleranceUs: DEFAULT_REORDER_TOLERANCE_US, ...opts };
    this.chunks = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
    this.splitter = new LineSplitter(
      this.opts.maxLineBytes,
      (b, s, e, no, t) => this.onLine(b, s, e, no, t),
      (no, bytes, t) => this.onOverlong(no, bytes, t),
    );
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
    // one scan of the chunk spares the terminal-safety regex on every line written back (JSON sinks)
    this.chunkPlain = this.opts.tagLines === true && isAscii(chunk) && chunk.indexOf(0x7f) < 0;
    this.currentChunk = chunk;
    try {
      this.splitter.push(chunk);
    } finally {
      this.chunkUtf8 = false;
      this.chunkPlain = false;
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
    this.problem(
      no,
      'error',
      `line is ${bytes} bytes, longer than the ${mib(this.opts.maxLineBytes)} limit: skipped${terminated ? '' : ' (and the file ends inside it)'}`,
    );
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
      // Limits: an over-long program or name is cut, with a warning for line 1; the rest of the file is still read.
      const bounded = boundHeader(parseHeaderLine(buf.toString('utf8', start, e), this.file));
      this.header = bounded.header;
      for (const w of bounded.warnings) this.problem(1, 'warning', w, false);
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
    // Limits: a name longer than the kernel allows, or a huge string or list, is not from a kernel: skipped.
    const over = eventLimitProblem(ev, e - start);
    if (over) {
      this.problem(no, 'error', `bad ${ev.type} event: ${over}: skipped`);
      return;
    }
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
    if (this.opts.tagLines) (ev as { [SOURCE_LINE]?: string })[SOURCE_LINE] = this.chunkPlain && buf === this.currentChunk ? text : terminalSafeJson(text);
    this.queue.push(this.opts.keepRaw ? { event: ev, line: no, raw: text } : { event: ev, line: no });
  }
}

function mib(n: number): string {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(n % (1024 * 1024) ? 1 : 0)} MiB` : `${n}-byte`;
}

/** Convenience: opens a trace file (see TraceReader.open). */
export function openTrace(source: TraceSource, opts: TraceReadOptions = {}): Promise<TraceReader> {
  return TraceReader.open(source, opts);
}
