// `ifblame replay FILE`: a recorded trace through the very sinks the live session uses (TUI, text, JSON, NDJSON).
// Needs neither root nor bpftrace: it only reads the file.
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { FILTER_OPTIONS, filtersOf, parse, takeBoot } from '../cli/args.js';
import { EXIT, IfblameError } from '../errors.js';
import type { TraceEvent } from '../events.js';
import type { TraceHeader } from '../trace/format.js';
import type { Feed } from '../feed/feed.js';
import { createJsonSink } from '../sinks/json.js';
import { SummaryCounter, type Summary } from '../sinks/summary.js';
import { createTextSink, type EventSink } from '../sinks/text.js';
import { ReplayFeed, type ReplayOptions } from '../feed/replay.js';
import { traceFilesUnder } from '../trace/files.js';
import { problemPrinter, type TraceProblem } from '../trace/problems.js';
import { DEFAULT_RECORD_DIR, filesOfBoot } from '../trace/record-dir.js';
import { parseTimeSpec, resolveTimeSpec, type TimeSpec } from '../time/spec.js';
import { BatchedWriter } from '../sinks/batched.js';
import { Progress } from '../sinks/progress.js';

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
  dir: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const HELP = `Usage: ifblame replay FILE...|DIR [--speed 1|10|max] [--from T] [--to T] [--iface IF] [--comm C]
                      [--format tui|text|json|ndjson] [--raw] [--stacks] [--utc] [--strict] [--progress]
       ifblame replay --boot [-N] [--dir ${DEFAULT_RECORD_DIR}] [...]

Replays a trace file (recorded with --record, or built by ifblame import) through the same views as a
live session. No root and no bpftrace needed. FILE "-" reads standard input. Several files, a directory
(every trace file under it, e.g. \`ifblame record\`'s) or --boot (this boot's recordings, or N boots back)
are replayed as one, in event-time order, from the earliest file's interfaces.

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

export function parseSpeed(text: string | undefined, dflt: number): number {
  if (text === undefined) return dflt;
  if (text === 'max' || text === 'inf') return Infinity;
  const n = Number(text.replace(/^x/, ''));
  if (!Number.isFinite(n) || n <= 0) throw new IfblameError(`--speed ${JSON.stringify(text)} is not a speed`, 'use 1, 10, 0.5 or max');
  return n;
}

/** Everything the replay command decided from its flags. */
export interface ReplayCli {
  /** The trace files, in the order named (the replay merges them in time order). */
  files: string[];
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
  const taken = takeBoot(args);
  const { values, positionals } = parse(taken.args, OPTIONS, true);
  const v = values as Record<string, string | boolean | string[] | undefined>;
  if (v.help) return 'help';
  if (taken.boot !== undefined && positionals.length) throw new IfblameError('replay --boot takes no files', 'ifblame replay --boot -1 [--dir DIR]');
  if (!positionals.length && taken.boot === undefined) throw new IfblameError('replay needs a trace file', 'ifblame replay FILE [--format text]');
  if ((positionals as string[]).includes('-') && positionals.length > 1)
    throw new IfblameError('standard input ("-") is replayed alone', 'ifblame replay - [--format text]');
  const files =
    taken.boot !== undefined
      ? filesOfBoot(String(v.dir ?? DEFAULT_RECORD_DIR), taken.boot)
      : positionals.flatMap((p) => (p === '-' ? [p] : traceFilesUnder(p)));
  if (!files.length) throw new IfblameError(`no trace files under ${positionals.join(', ')}`, 'ifblame replay FILE...|DIR');
  const fmt = (v.format as string | undefined) ?? (isTty ? 'tui' : 'text');
  if (!(REPLAY_FORMATS as readonly string[]).includes(fmt))
    throw new IfblameError(`--format ${JSON.stringify(fmt)} is not a replay format`, 'use tui, text, json or ndjson');
  const format = fmt as ReplayFormat;
  const out: ReplayCli = {
    files,
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
  // Problems: one line each (the first 100, then a count); with the TUI, after it closes (it shows them as lost events).
  const problems = { errors: 0 };
  const deferred: string[] = [];
  const printer = problemPrinter((line) => (cli.format === 'tui' ? deferred.push(line) : io.stderr.write(line)));
  let progress: Progress | undefined;
  const report = (p: TraceProblem) => {
    if (p.level === 'error') problems.errors++;
    progress?.clear();
    printer.report(p);
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
    tagLines: cli.format === 'ndjson',
    // Output goes out one batch at a time (one write instead of one per event); a full pipe pauses the feed.
    backpressure: () => {
      if (cli.format === 'tui') return undefined;
      batched.flush();
      return out.writableNeedDrain ? once(out, 'drain').then(() => undefined) : undefined;
    },
  };
  const stdin = { name: '<stdin>', stream: (io.stdin ?? process.stdin) as unknown as import('node:stream').Readable };
  const sources = cli.files.map((f) => (f === '-' ? stdin : f));
  // Relative and time-of-day windows need the first event's time: peek at it with a first quick open.
  if (cli.from || cli.to) {
    const needFirst = (cli.from && !('abs' in cli.from)) || (cli.to && !('abs' in cli.to));
    const first = needFirst ? await firstEventTs(sources) : 0;
    if (cli.from) opts.from = resolveTimeSpec(cli.from, first);
    if (cli.to) opts.to = resolveTimeSpec(cli.to, first);
    if (opts.from !== undefined && opts.to !== undefined && opts.to < opts.from)
      throw new IfblameError('--to is before --from', 'give --from the earlier time');
  }
  const feed = await ReplayFeed.open(sources, opts);

  if (cli.format === 'tui') {
    const code = await runTuiReplay(feed, cli.files.length === 1 ? cli.files[0]! : `${cli.files.length} files`);
    printer.end();
    for (const line of deferred) io.stderr.write(line);
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
    printer.end();
  }
  if (closed) return finalCode(feed, problems);
  const summary = summaryOf(feed.header, counter, feed, firstTs, lastTs);
  if (feed.error) summary.error = feed.error.message;
  sink.end(summary);
  batched.flush();
  if (out !== process.stdout && (out as Writable).writableNeedDrain) await once(out, 'drain');
  if (feed.error) {
    io.stderr.write(
      feed.error instanceof IfblameError
        ? `ifblame: ${feed.error.message}${feed.error.hint ? ` (hint: ${feed.error.hint})` : ''}\n`
        : `ifblame: ${feed.error.message}\n`,
    );
    return feed.error instanceof IfblameError ? feed.error.exitCode : EXIT.usage;
  }
  return finalCode(feed, problems);
}

function finalCode(feed: ReplayFeed, problems: { errors: number }): number {
  if (feed.error) return feed.error instanceof IfblameError ? feed.error.exitCode : EXIT.usage;
  return problems.errors > 0 ? EXIT.usage : EXIT.ok;
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

async function firstEventTs(sources: (string | { name: string })[]): Promise<number> {
  if (sources.some((s) => typeof s !== 'string'))
    throw new IfblameError('relative --from/--to need a file, not standard input', 'give an absolute time such as 2026-11-21T12:40:59');
  const { TraceReader } = await import('../trace/reader.js');
  let first = Infinity;
  for (const source of sources as string[]) {
    const r = await TraceReader.open(source);
    try {
      for await (const e of r.events()) {
        first = Math.min(first, e.event.ts);
        break;
      }
    } finally {
      r.close();
    }
  }
  return Number.isFinite(first) ? first : 0;
}

/** The TUI (blessed) is loaded only when used. */
async function runTuiReplay(feed: ReplayFeed, file: string): Promise<number> {
  const { runTui } = await import('../sinks/tui/app.js');
  return runTui(feed, { title: `ifblame replay ${file}` });
}

export const run = (args: string[]): Promise<number> => runReplay(args);
