// `ifblame capture`: trace for a duration or around a command, print the changes and a summary, exit with a meaningful code.
import { execa } from 'execa';
import { backendOf, filtersOf, parse, TRACE_OPTIONS } from '../cli/args.js';
import { EXIT, IfblameError } from '../errors.js';
import { displayText } from '../format/escape.js';
import { ChangeKind } from '../events.js';
import { parseDuration } from '../options.js';
import { createLiveFeed } from '../feed/live.js';
import { createJsonSink } from '../sinks/json.js';
import { SummaryCounter, type Summary } from '../sinks/summary.js';
import { createTextSink, type EventSink } from '../sinks/text.js';
import { RECORDING_SOURCE } from '../trace/writer.js';

const OPTIONS = {
  duration: { type: 'string' },
  format: { type: 'string' },
  'output-format': { type: 'string' },
  'output-stacks': { type: 'boolean' },
  'output-raw': { type: 'boolean' },
  record: { type: 'string' },
  'fail-on': { type: 'string', multiple: true },
  netns: { type: 'string' },
  ...TRACE_OPTIONS,
} as const;

/** How long to keep tracing after the command exits: late netlink messages and the correlator's window. */
const LINGER_MS = 800;
/** How long to wait at most for bpftrace's output to catch up after the command (a storm's backlog). */
const CATCH_UP_MS = 30_000;

function failOnKinds(values: string[]): ChangeKind[] {
  return values
    .flatMap((v) => v.split(','))
    .filter(Boolean)
    .map((k) => {
      const r = ChangeKind.safeParse(k);
      if (!r.success) throw new IfblameError(`--fail-on ${JSON.stringify(k)} is not a change kind`, `use ${ChangeKind.options.join(', ')}`);
      return r.data;
    });
}

export async function runCaptureCli(argv: string[]): Promise<number> {
  const dd = argv.indexOf('--');
  const args = dd < 0 ? argv : argv.slice(0, dd);
  const command = dd < 0 ? [] : argv.slice(dd + 1);
  const values = parse(args, OPTIONS).values as Record<string, string | boolean | string[] | undefined>;
  const format = String(values.format ?? values['output-format'] ?? 'text');
  if (!['text', 'json', 'ndjson'].includes(format)) throw new IfblameError(`--format ${JSON.stringify(format)} is not a format`, 'use text, json or ndjson');
  const durationMs = values.duration !== undefined ? parseDuration(String(values.duration)) : command.length ? Number.POSITIVE_INFINITY : 10_000;
  const failOn = failOnKinds((values['fail-on'] as string[] | undefined) ?? []);
  if (values.netns !== undefined && !/^[A-Za-z0-9_.-]{1,64}$/.test(String(values.netns)))
    throw new IfblameError(`--netns ${JSON.stringify(values.netns)} is not a namespace name`, 'see `ip netns list`');
  const filters = filtersOf(values);

  const started = Date.now();
  const feed = await createLiveFeed({
    backend: backendOf(values),
    filters,
    ...(values.record ? { record: String(values.record) } : {}),
    ...(values.netns ? { netns: String(values.netns) } : {}),
  });
  const sink: EventSink =
    format === 'text'
      ? createTextSink(process.stdout, { stacks: values['output-stacks'] === true, raw: values['output-raw'] === true })
      : createJsonSink(process.stdout, format as 'json' | 'ndjson', { raw: values['output-raw'] === true, header: feed.header });
  const counter = new SummaryCounter();
  let failHits = 0;
  // Recording can stop on its own (no space left, I/O error, file removed): one line on stderr, tracing and the
  // output go on, the summary and the exit code (EXIT.recording) say so.
  let recordingFailure: string | null = null;
  feed.onEvent((ev) => {
    counter.add(ev);
    if (ev.type === 'change' && failOn.includes(ev.kind)) failHits++;
    if (ev.type === 'note' && ev.source === RECORDING_SOURCE && ev.level === 'error' && recordingFailure === null) {
      recordingFailure = ev.message;
      process.stderr.write(`ifblame: ${displayText(ev.message)}\n`);
    }
    sink.write(ev);
  });

  // Signals stop tracing cleanly; what was captured is still printed and recorded.
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    void feed.stop();
  };
  // on, not once: execa's exit hook re-raises a signal when it finds itself the only listener left (signal-exit).
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await feed.start();
  } finally {
    if (interrupted) await feed.stop();
  }
  if (format === 'text')
    process.stderr.write(
      `ifblame: tracing with the ${feed.header.backend} backend (${feed.attachedProbes} probes attached)${command.length ? `, running ${command.join(' ')}` : ''}\n`,
    );

  let cmdResult: Summary['command'];
  if (command.length) {
    const child = execa(command[0]!, command.slice(1), {
      reject: false,
      stdin: 'inherit',
      // Keep stdout parseable for json/ndjson: the command's output goes to stderr then.
      stdout: format === 'text' ? 'inherit' : process.stderr,
      stderr: 'inherit',
      cleanup: true,
    });
    // If tracing dies first, the command still runs to its end: its exit code is part of the summary.
    const res = (await Promise.race([child, feed.done.then(() => null)])) ?? (await child);
    const spawnError = res.exitCode === undefined && !res.signal ? ((res as { code?: string }).code ?? 'could not start') : undefined;
    // A command that could not start is reported like a shell would: one line, exit 127.
    if (spawnError) process.stderr.write(`ifblame: cannot run ${command[0]}: ${spawnError} (hint: check the command after --)\n`);
    cmdResult = { argv: command, exitCode: spawnError ? 127 : (res.exitCode ?? null), ...(res.signal ? { signal: String(res.signal) } : {}) };
    // Late netlink messages, and whatever a storm left in bpftrace's buffers: wait until both have passed the end.
    await Promise.race([feed.done, new Promise((r) => setTimeout(r, LINGER_MS))]);
    await Promise.race([feed.done, feed.catchUp(Date.now() * 1000 - LINGER_MS * 1000, CATCH_UP_MS)]);
  } else if (Number.isFinite(durationMs)) {
    await Promise.race([feed.done, new Promise((r) => setTimeout(r, durationMs))]);
  } else {
    await feed.done;
  }
  await feed.stop();
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);

  const summary: Summary = {
    ...counter.of(feed, started),
    ...(cmdResult ? { command: cmdResult } : {}),
    ...(failOn.length ? { failOn: { kinds: failOn, hit: failHits } } : {}),
    ...(values.record ? { recording: { path: String(values.record), ...(recordingFailure !== null ? { failure: recordingFailure } : {}) } } : {}),
    ...(feed.failure ? { error: feed.failure } : {}),
  };
  sink.end(summary);
  if (feed.failure) return EXIT.tracing;
  if (recordingFailure !== null) return EXIT.recording;
  if (cmdResult && cmdResult.exitCode !== 0) return EXIT.command;
  if (failHits > 0) return EXIT.finding;
  return EXIT.ok;
}

export const run = (args: string[]): Promise<number> => runCaptureCli(args);
