// `ifblame record`: live tracing until SIGTERM/SIGINT into rotated trace files under a size cap, one line per change on
// stdout (the journal under systemd), readiness told to systemd once bpftrace's probes are attached.
import { execa } from 'execa';
import { backendOf, filtersOf, parse, TRACE_OPTIONS } from '../cli/args.js';
import { EXIT, IfblameError } from '../errors.js';
import { displayText } from '../format/escape.js';
import { humanBytes } from '../format/values.js';
import { parseDuration, parseSize } from '../options.js';
import { createLiveFeed } from '../feed/live.js';
import { createJsonSink } from '../sinks/json.js';
import { SummaryCounter } from '../sinks/summary.js';
import { createTextSink, type EventSink } from '../sinks/text.js';
import { currentBootId, DEFAULT_RECORD_DIR } from '../trace/record-dir.js';
import { DEFAULT_LIMITS, type RotateLimits } from '../trace/rotate.js';
import { RECORDING_SOURCE } from '../trace/writer.js';

const OPTIONS = {
  dir: { type: 'string' },
  'max-file': { type: 'string' },
  'max-age': { type: 'string' },
  'max-total': { type: 'string' },
  format: { type: 'string' },
  'output-stacks': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  ...TRACE_OPTIONS,
} as const;

const HELP = `Usage: ifblame record [--dir ${DEFAULT_RECORD_DIR}] [--max-file 16MB] [--max-age 1d] [--max-total 100MB]
                      [--format text|json] [--backend B] [filters]

Traces until SIGTERM or SIGINT (the systemd unit: \`ifblame service install\`). Every change is a line on stdout
(text, or one JSON object per line with --format json). Everything is recorded in DIR as self-contained trace
files named by boot id and time (each with its header and the interfaces at its start): a new file at each start,
when the current one reaches --max-file or --max-age; the oldest files (earlier boots first, never the current
one) are deleted to keep DIR's recording files under --max-total. Read them with \`ifblame explain --boot\`,
\`ifblame explain DIR\` or \`ifblame replay DIR\`.
Exit codes: 0 stopped by a signal; 3 tracing failed; 5 recording stopped early (the output went on).
`;

/** Size and age limits from the flags, checked against each other. */
function limitsOf(v: Record<string, unknown>): RotateLimits {
  const size = (flag: string, dflt: number) => (v[flag] === undefined ? dflt : parseSize(String(v[flag]), `--${flag}`));
  const limits = {
    maxFileBytes: size('max-file', DEFAULT_LIMITS.maxFileBytes),
    maxAgeMs: v['max-age'] === undefined ? DEFAULT_LIMITS.maxAgeMs : parseDuration(String(v['max-age']), '--max-age'),
    maxTotalBytes: size('max-total', DEFAULT_LIMITS.maxTotalBytes),
  };
  if (limits.maxFileBytes < 4096)
    throw new IfblameError(`--max-file ${humanBytes(limits.maxFileBytes)} is too small`, 'a trace header alone can take a few KiB: use 4K or more');
  if (limits.maxAgeMs < 1000) throw new IfblameError('--max-age is under a second', 'use 1h, 1d...');
  if (limits.maxTotalBytes < 2 * limits.maxFileBytes)
    throw new IfblameError('--max-total must be at least twice --max-file', 'the current file and the one before it must both fit');
  return limits;
}

/** READY=1 to systemd (Type=notify), once; systemd-notify waits until PID 1 has taken the message (no exit race). */
async function notifyReady(status: string): Promise<void> {
  if (!process.env.NOTIFY_SOCKET) return;
  const r = await execa('systemd-notify', ['--ready', `--status=${status}`], { reject: false, timeout: 10_000 });
  if (r.exitCode !== 0)
    process.stderr.write(`ifblame: could not tell systemd we are ready: ${displayText(String(r.stderr || r.shortMessage).split('\n')[0]!)}\n`);
}

export async function runRecord(args: string[]): Promise<number> {
  const values = parse(args, OPTIONS).values as Record<string, string | boolean | string[] | undefined>;
  if (values.help) {
    process.stdout.write(HELP);
    return EXIT.ok;
  }
  const format = String(values.format ?? 'text');
  if (!['text', 'json', 'ndjson'].includes(format)) throw new IfblameError(`--format ${JSON.stringify(format)} is not a format`, 'use text or json');
  const dir = String(values.dir ?? DEFAULT_RECORD_DIR);
  const limits = limitsOf(values);
  const feed = await createLiveFeed({
    backend: backendOf(values),
    filters: filtersOf(values),
    recordDir: { dir, boot: currentBootId(), limits, onRotate: (path) => process.stderr.write(`ifblame: recording continues in ${displayText(path)}\n`) },
  });
  const sink: EventSink =
    format === 'text'
      ? createTextSink(process.stdout, { stacks: values['output-stacks'] === true })
      : createJsonSink(process.stdout, 'ndjson', { header: feed.header });
  const counter = new SummaryCounter();
  let recordingFailure: string | null = null;
  feed.onEvent((ev) => {
    counter.add(ev);
    if (ev.type === 'note' && ev.source === RECORDING_SOURCE && ev.level === 'error' && recordingFailure === null) {
      recordingFailure = ev.message;
      process.stderr.write(`ifblame: ${displayText(ev.message)}\n`);
    }
    sink.write(ev);
  });
  const started = Date.now();
  const onSignal = () => void feed.stop();
  // on, not once: execa's exit hook re-raises a signal when it finds itself the only listener left (signal-exit).
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  await feed.start();
  if (feed.record.path) {
    const what = `recording to ${feed.record.path} with the ${feed.header.backend} backend (${feed.attachedProbes} probes attached)`;
    process.stderr.write(
      `ifblame: ${displayText(what)}; a new file at ${humanBytes(limits.maxFileBytes)} or ${limits.maxAgeMs / 1000} s, at most ${humanBytes(limits.maxTotalBytes)} in ${displayText(dir)}\n`,
    );
    await notifyReady(what);
  }
  await feed.done;
  await feed.stop();
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  sink.end({
    ...counter.of(feed, started),
    recording: { path: dir, ...(recordingFailure !== null ? { failure: recordingFailure } : {}) },
    ...(feed.failure ? { error: feed.failure } : {}),
  });
  if (feed.failure) return EXIT.tracing;
  return recordingFailure !== null ? EXIT.recording : EXIT.ok;
}

export const run = (args: string[]): Promise<number> => runRecord(args);
