// `ifblame replay FILE`: a recorded trace through the very sinks the live session uses (TUI, text, JSON, NDJSON).
// Needs neither root nor bpftrace: it only reads the file.
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { FILTER_OPTIONS, filtersOf, parse } from '../cli/args.js';
import { EXIT, IfblameError } from '../errors.js';
import type { TraceEvent } from '../events.js';
import type { TraceHeader } from '../trace/format.js';
import type { Feed } from '../feed/feed.js';
import { createJsonSink } from '../sinks/json.js';
import { SummaryCounter, type Summary } from '../sinks/summary.js';
import { createTextSink, type EventSink } from '../sinks/text.js';
import { ReplayFeed, type ReplayOptions } from '../feed/replay.js';
import { formatProblem, type TraceProblem } from '../trace/problems.js';
import { parseIsoLocal, localToEpochUs } from '../time/local-time.js';

export const REPLAY_FORMATS = ['tui', 'text', 'json', 'ndjson'] as const;
export type ReplayFormat = (typeof REPLAY_FORMATS)[number];

const OPTIONS = {
  speed: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  format: { type: 'string' },
  ...FILTER_OPTIONS,
  strict: { type: 'boolean' },
  raw: { type: 'boolean' },
  stacks: { type: 'boolean' },
  utc: { type: 'boolean' },
  progress: { type: 'boolean' },
  'no-progress': { type: 'boolean' },
  paused: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const HELP = `Usage: ifblame replay FILE [--speed 1|10|max] [--from T] [--to T] [--iface IF] [--comm C]
                      [--format tui|text|json|ndjson] [--raw] [--stacks] [--utc] [--strict] [--progress]

Replays a trace file (recorded with --record, or built by ifblame import) through the same views as a
live session. No root and no bpftrace needed. FILE "-" reads standard input.

  --speed S     1 = recorded pace, 10 = ten times faster, max = as fast as possible
                (default: 1 in the TUI, max for text/json/ndjson)
  --from/--to T only events in this time window; earlier events still build the interface state.
                T: 2026-11-21T12:40:59[.123][Z|+01:00] (no zone: local time), 12:40:59[.123] (local time
                on the trace's first day), or +10s / +2m / +1500ms after the first event.
  --format F    tui (default on a terminal), text (otherwise), json, ndjson
  --raw         also print raw probe and netlink events (text, json, ndjson)
  --strict      stop at the first bad line (default: report it with FILE:LINE and go on)
  --progress    progress lines on stderr even when stderr is not a terminal
Exit codes: 0 ok; 2 the file is unusable or had bad lines (each reported as FILE:LINE).
`;

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

export function parseSpeed(text: string | undefined, dflt: number): number {
  if (text === undefined) return dflt;
  if (text === 'max' || text === 'inf') return Infinity;
  const n = Number(text.replace(/^x/, ''));
  if (!Number.isFinite(n) || n <= 0) throw new IfblameError(`--speed ${JSON.stringify(text)} is not a speed`, 'use 1, 10, 0.5 or max');
  return n;
}

/** Everything the replay command decided from its flags. */
export interface ReplayCli {
  file: string;
  format: ReplayFormat;
  speed: number;
  from?: TimeSpec;
  to?: TimeSpec;
  filters: { iface: string[]; comm: string[] };
  strict: boolean;
  raw: boolean;
  stacks: boolean;
  utc: boolean;
  progress: 'auto' | 'on' | 'off';
  paused: boolean;
}

export function parseReplayArgs(args: string[], isTty: boolean): ReplayCli | 'help' {
  const { values, positionals } = parse(args, OPTIONS, true);
  const v = values as Record<string, string | boolean | string[] | undefined>;
  if (v.help) return 'help';
  if (positionals.length !== 1) {
    throw new IfblameError(positionals.length === 0 ? 'replay needs a trace file' : `replay takes one trace file, got ${positionals.length}`, 'ifblame replay FILE [--format text]');
  }
  const fmt = (v.format as string | undefined) ?? (isTty ? 'tui' : 'text');
  if (!(REPLAY_FORMATS as readonly string[]).includes(fmt)) throw new IfblameError(`--format ${JSON.stringify(fmt)} is not a replay format`, 'use tui, text, json or ndjson');
  const format = fmt as ReplayFormat;
  const out: ReplayCli = {
    file: positionals[0]!,
    format,
    speed: parseSpeed(v.speed as string | undefined, format === 'tui' ? 1 : Infinity),
    filters: filtersOf(v),
    strict: v.strict === true,
    raw: v.raw === true,
    stacks: v.stacks === true,
    utc: v.utc === true,
    progress: v['no-progress'] ? 'off' : v.progress ? 'on' : 'auto',
    paused: v.paused === true,
  };
  if (typeof v.from === 'string') out.from = parseTimeSpec('--from', v.from);
  if (typeof v.to === 'string') out.to = parseTimeSpec('--to', v.to);
  return out;
}

/** Progress on stderr for long non-TUI replays: a self-erasing line on a terminal, plain lines otherwise. */
class Progress {
  private timer: NodeJS.Timeout | undefined;
  private shown = false;
  private readonly t0 = Date.now();
  private lastLine = 0;

  constructor(
    private readonly err: NodeJS.WriteStream | Writable,
    private readonly tty: boolean,
    private readonly enabled: boolean,
    private readonly feed: ReplayFeed,
  ) {
    if (enabled) {
      this.timer = setInterval(() => this.tick(), 250);
      this.timer.unref();
    }
  }

  private text(): string {
    const p = this.feed.progress();
    const secs = (Date.now() - this.t0) / 1000;
    const pct = p.size ? ` ${((100 * p.bytes) / p.size).toFixed(0).padStart(3)}%` : '';
    const rate = secs > 0 ? `${fmtCount(p.read / secs)} ev/s` : '';
    return `replay${pct}  ${fmtCount(p.read)} events read, ${fmtCount(p.emitted)} shown  ${rate}`;
  }

  private tick(): void {
    const elapsed = Date.now() - this.t0;
    if (elapsed < 1000) return; // short replays stay quiet
    if (this.tty) {
      this.err.write(`\r\x1b[K${this.text()}`);
      this.shown = true;
    } else if (this.lastLine === 0 || elapsed - this.lastLine >= 5000) {
      this.lastLine = elapsed;
      this.err.write(`ifblame: ${this.text()}\n`);
    }
  }

  /** Erase the line before something else goes to stderr. */
  clear(): void {
    if (this.shown && this.tty) this.err.write('\r\x1b[K');
    this.shown = false;
  }

  end(): void {
    if (this.timer) clearInterval(this.timer);
    this.clear();
  }
}

/**
 * What the sinks write to: their lines are gathered and handed to the real output once per batch of events
 * (a write per event costs a syscall each on a file or pipe, where stdout writes synchronously).
 */
export class BatchedWriter extends Writable {
  private parts: string[] = [];
  private size = 0;

  constructor(private readonly target: Writable) {
    super();
  }

  override write(chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
    this.parts.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString());
    this.size += (chunk as { length: number }).length;
    if (this.size > 1 << 20) this.flush();
    const done = typeof encoding === 'function' ? encoding : cb;
    if (typeof done === 'function') process.nextTick(done as () => void);
    return true;
  }

  flush(): void {
    if (!this.parts.length) return;
    const text = this.parts.length === 1 ? this.parts[0]! : this.parts.join('');
    this.parts = [];
    this.size = 0;
    if (!this.target.destroyed) this.target.write(text);
  }
}

function fmtCount(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(0)}k`;
  return String(Math.round(n));
}

export interface ReplayIo {
  stdout: Writable;
  stderr: Writable;
  stdin?: NodeJS.ReadableStream;
  isTty?: boolean;
  stderrTty?: boolean;
}

/** The command: parse, open (header errors are one line, exit 2), replay into the chosen sink, summarize. */
export async function runReplay(args: string[], io: ReplayIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const isTty = io.isTty ?? (Boolean((process.stdout as NodeJS.WriteStream).isTTY) && Boolean(process.stdin.isTTY));
  const cli = parseReplayArgs(args, isTty);
  if (cli === 'help') {
    io.stdout.write(HELP);
    return EXIT.ok;
  }
  const problems: TraceProblem[] = [];
  let progress: Progress | undefined;
  const report = (p: TraceProblem) => {
    problems.push(p);
    if (cli.format === 'tui') return; // shown in the TUI as lost events; printed after it closes
    progress?.clear();
    io.stderr.write(formatProblem(p) + '\n');
  };
  const out = io.stdout;
  const batched = new BatchedWriter(out);
  const opts: ReplayOptions = {
    speed: cli.speed,
    filters: cli.filters,
    strict: cli.strict,
    onProblem: report,
    paused: cli.paused,
    // only the TUI shows the interface table
    trackState: cli.format === 'tui',
    // Output goes out one batch at a time (one write instead of one per event); a full pipe pauses the feed.
    backpressure: () => {
      if (cli.format === 'tui') return undefined;
      batched.flush();
      return out.writableNeedDrain ? once(out, 'drain').then(() => undefined) : undefined;
    },
  };
  const source = cli.file === '-' ? { name: '<stdin>', stream: (io.stdin ?? process.stdin) as unknown as import('node:stream').Readable } : cli.file;
  // Relative and time-of-day windows need the first event's time: peek at it with a first quick open.
  if (cli.from || cli.to) {
    const needFirst = (cli.from && !('abs' in cli.from)) || (cli.to && !('abs' in cli.to));
    const first = needFirst ? await firstEventTs(source) : 0;
    if (cli.from) opts.from = resolveTimeSpec(cli.from, first);
    if (cli.to) opts.to = resolveTimeSpec(cli.to, first);
    if (opts.from !== undefined && opts.to !== undefined && opts.to < opts.from) throw new IfblameError('--to is before --from', 'give --from the earlier time');
  }
  const feed = await ReplayFeed.open(source, opts);

  if (cli.format === 'tui') {
    const code = await runTuiReplay(feed, cli.file);
    for (const p of problems) io.stderr.write(formatProblem(p) + '\n');
    return code !== EXIT.ok ? code : finalCode(feed, problems);
  }

  const sink: EventSink =
    cli.format === 'text'
      ? createTextSink(batched, { raw: cli.raw, stacks: cli.stacks, utc: cli.utc })
      : createJsonSink(batched, cli.format, { raw: cli.raw, header: feed.header });
  const counter = new SummaryCounter();
  let firstTs: number | undefined;
  let lastTs: number | undefined;
  feed.onEvent((ev: TraceEvent) => {
    if (closed) return;
    counter.add(ev);
    if (firstTs === undefined) firstTs = ev.ts;
    lastTs = ev.ts;
    sink.write(ev);
  });
  const stderrTty = io.stderrTty ?? Boolean((process.stderr as NodeJS.WriteStream).isTTY);
  progress = new Progress(io.stderr, stderrTty, cli.progress === 'on' || (cli.progress === 'auto' && stderrTty), feed);
  const onSigint = () => void feed.stop();
  process.once('SIGINT', onSigint);
  // A reader that went away (`| head`): stop quietly, like any Unix filter.
  let closed = false;
  const onOutError = (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    closed = true;
    void feed.stop();
  };
  out.on('error', onOutError);
  try {
    await feed.start();
    await feed.done;
  } finally {
    batched.flush();
    process.removeListener('SIGINT', onSigint);
    progress.end();
  }
  if (closed) return finalCode(feed, problems);
  const summary = summaryOf(feed.header, counter, feed, firstTs, lastTs);
  if (feed.error) summary.error = feed.error.message;
  sink.end(summary);
  batched.flush();
  if (out !== process.stdout && (out as Writable).writableNeedDrain) await once(out, 'drain');
  if (feed.error) {
    io.stderr.write(feed.error instanceof IfblameError ? `ifblame: ${feed.error.message}${feed.error.hint ? ` (hint: ${feed.error.hint})` : ''}\n` : `ifblame: ${feed.error.message}\n`);
    return feed.error instanceof IfblameError ? feed.error.exitCode : EXIT.usage;
  }
  return finalCode(feed, problems);
}

function finalCode(feed: ReplayFeed, problems: TraceProblem[]): number {
  if (feed.error) return feed.error instanceof IfblameError ? feed.error.exitCode : EXIT.usage;
  return problems.some((p) => p.level === 'error') ? EXIT.usage : EXIT.ok;
}

function summaryOf(header: TraceHeader, c: SummaryCounter, feed: Feed, firstTs: number | undefined, lastTs: number | undefined): Summary {
  return {
    backend: header.backend,
    changes: { ...c.changes },
    total: c.total,
    lost: c.lost,
    badLines: Math.max(c.badLines, feed.stats().badLines),
    dropped: header.probes.dropped,
    durationMs: firstTs !== undefined && lastTs !== undefined ? Math.round((lastTs - firstTs) / 1000) : 0,
  };
}

async function firstEventTs(source: string | { name: string }): Promise<number> {
  if (typeof source !== 'string') throw new IfblameError('relative --from/--to need a file, not standard input', 'give an absolute time such as 2026-11-21T12:40:59');
  const { TraceReader } = await import('../trace/reader.js');
  const r = await TraceReader.open(source);
  try {
    for await (const e of r.events()) return e.event.ts;
  } finally {
    r.close();
  }
  return 0;
}

/** The TUI (blessed) is loaded only when used. */
async function runTuiReplay(feed: ReplayFeed, file: string): Promise<number> {
  const { runTui } = await import('../sinks/tui/app.js');
  return runTui(feed, { title: `ifblame replay ${file}` });
}

export const run = (args: string[]): Promise<number> => runReplay(args);
