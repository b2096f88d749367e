// runTui: wire a Feed to the view-model, the keys and the screen; own every way out (q, Ctrl-C, signals, errors, feed end).
import { clockText } from '../../format/values.js';
import { EXIT, IfblameError, formatError } from '../../errors.js';
import type { Feed } from '../../feed/feed.js';
import { FrameLoop } from './frames.js';
import { handleKey, type KeyPress } from './keys.js';
import { createLayout, createScreen, type Ui } from './layout.js';
import { TuiModel } from './model.js';
import { draw } from './render.js';
import type { StatusInput } from './status.js';
import { recordingToggle } from './recording.js';
import { forceRestore, installExitHooks, prepareTerminalEnv, signalExitCode } from './terminal.js';

export interface TuiOptions {
  title?: string;
  /** Where `r` records first (later presses get a timestamped name, never overwriting). */
  recordPath?: string | null;
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
  /** Frames per second at most (default 30). */
  fps?: number;
  /** Called once the UI is up and the model exists (tests read the screen through it). */
  onReady?: (session: TuiSession) => void;
}

export interface TuiSession {
  readonly ui: Ui;
  readonly model: TuiModel;
  readonly frames: FrameLoop;
  /** Ask the app to quit as if `q` was pressed. */
  quit(code?: number): void;
}

type Phase = 'starting' | 'running' | 'ended' | 'stopping';

/** The longest a quit waits for the feed to stop (bpftrace detaching) before giving the terminal back anyway. */
const STOP_TIMEOUT_MS = 10_000;

/** Everything the status line shows, read from the feed and the model at frame time. */
function statusOf(feed: Feed, model: TuiModel, phase: Phase): StatusInput {
  const stats = feed.stats();
  const c = feed.controls;
  const busy = phase === 'starting' ? (feed.mode === 'live' ? 'attaching probes...' : 'opening...') : phase === 'stopping' ? 'stopping...' : null;
  return {
    mode: feed.mode,
    backend: feed.header.backend,
    probesUsed: feed.attachedProbes || feed.header.probes.used.length,
    probesDropped: feed.header.probes.dropped.length,
    probesAdded: (feed.lateProbes?.() ?? []).map(
      (a) => `${a.module} ${a.from === null ? (a.failure ? 'failed' : 'attaching') : a.until ? 'unloaded' : clockText(a.from)}`,
    ),
    lost: Math.max(stats.lost, model.lostEvents),
    events: stats.events,
    recording: feed.record ? { path: feed.record.path, bytes: feed.record.path ? feed.record.bytes : 0 } : null,
    viewPaused: model.paused,
    pending: model.pendingWhilePaused,
    ...(c ? { replay: { paused: c.paused, speed: c.speed } } : {}),
    filter: model.filter?.text ?? null,
    flash: model.flash?.text ?? busy,
    // A replay can end, seek back to the start and end again: ask it when it can tell.
    ended: feed.mode === 'replay' && feed.progress ? feed.progress().done === true : phase === 'ended',
  };
}

/** Runs the UI on `feed` until the user quits (or a signal, or a fatal error); returns the exit code. */
export async function runTui(feed: Feed, opts: TuiOptions = {}): Promise<number> {
  const input = opts.input ?? process.stdin;
  const output = opts.output ?? process.stdout;
  const terminal = prepareTerminalEnv();
  const f = feed;
  const model = new TuiModel({ header: feed.header, mode: feed.mode, states: () => feed.state() });
  feed.onEvent((ev) => model.ingest(ev));
  feed.onReset(() => model.reset());

  let ui: Ui;
  try {
    ui = createLayout(createScreen({ input, output, terminal, title: opts.title ?? 'ifblame' }));
  } catch (e) {
    forceRestore(output, input);
    throw new IfblameError(`cannot open the terminal UI: ${(e as Error).message}`, 'use `ifblame capture`, or `ifblame replay FILE --format text`');
  }
  const screen = ui.screen;
  // A terminal that went away (SIGHUP) makes writes fail: that is handled as the hangup, not as an error.
  (output as NodeJS.WriteStream).on?.('error', () => undefined);

  let phase: Phase = 'starting';
  let fatal: unknown = null;
  let hungUp = false;
  let quitCode: number | null = null;
  let resolveQuit!: (code: number) => void;
  const quitting = new Promise<number>((r) => (resolveQuit = r));
  const quit = (code: number = EXIT.ok) => {
    if (quitCode !== null) return;
    quitCode = code;
    resolveQuit(code);
  };
  /** q after live tracing failed still reports the failure; after recording stopped on its own (disk full), that. */
  const userQuitCode = () => (phase === 'ended' && feed.mode === 'live' && f.failure ? EXIT.tracing : model.recordingFailure ? EXIT.recording : EXIT.ok);

  const frames = new FrameLoop(() => {
    // tick() marks the model dirty once a second, which also refreshes the status counters (bytes recorded).
    model.tick();
    if (!model.dirty) return false;
    try {
      draw(ui, model, statusOf(f, model, phase));
      screen.render();
    } catch (e) {
      fatal ??= e;
      quit(EXIT.usage);
    }
    model.dirty = false;
    return true;
  }, opts.fps ?? 30);

  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    frames.stop();
    try {
      screen.destroy();
    } catch {
      forceRestore(output, input);
    }
    const tty = input as NodeJS.ReadStream;
    if (tty.isTTY && tty.isRaw) forceRestore(output, input);
  };

  const toggleRecording = recordingToggle(f.record, model, opts.recordPath);
  screen.on('keypress', (ch: string | undefined, key: KeyPress | undefined) => {
    const pageSize = () => Math.max(1, Number(ui.timeline.height) - 3);
    handleKey({ model, controls: feed.controls, toggleRecording, quit: () => quit(userQuitCode()), pageSize }, ch, key ?? {});
    // A key's effect is drawn at once, not at the next frame tick.
    frames.run();
  });
  screen.on('resize', () => (model.dirty = true));

  const unhook = installExitHooks({
    signal: (sig) => {
      if (quitCode === null) {
        if (sig === 'SIGHUP') hungUp = true;
        return quit(signalExitCode(sig));
      }
      // The shell passes its own SIGHUP on to its jobs: one hangup is enough.
      if (sig === 'SIGHUP' && hungUp) return;
      // Another signal while stopping: give the terminal back and go now.
      restore();
      unhook();
      if (hungUp || sig === 'SIGHUP') process.kill(process.pid, 'SIGHUP');
      else process.exit(signalExitCode(sig));
    },
    fatal: (err) => {
      fatal ??= err;
      quit(err instanceof IfblameError ? err.exitCode : EXIT.usage);
    },
  });

  frames.start();
  frames.run();
  opts.onReady?.({ ui, model, frames, quit });

  void feed.done.then(
    () => {
      if (phase === 'stopping') return;
      phase = 'ended';
      model.dirty = true;
      if (f.failure)
        model.showError(
          `${feed.mode === 'live' ? 'tracing' : 'the replay'} stopped`,
          f.failure,
          feed.mode === 'live'
            ? 'run `ifblame doctor`; `ifblame script` prints the program that ran'
            : 'the lines before the problem were replayed; `ifblame replay FILE --format text` shows them',
        );
    },
    (e: unknown) => {
      phase = 'ended';
      model.showError('tracing stopped', e instanceof Error ? e.message : String(e), e instanceof IfblameError ? e.hint : undefined);
    },
  );

  let startError: unknown = null;
  const started = feed.start().then(
    () => {
      if (phase === 'starting') phase = 'running';
      model.dirty = true;
    },
    (e: unknown) => {
      startError = e;
      phase = 'ended';
      model.showError(
        'ifblame cannot trace here',
        e instanceof Error ? e.message : String(e),
        e instanceof IfblameError ? e.hint : 'rerun with IFBLAME_DEBUG=1 for details',
        true,
      );
    },
  );

  const code = await quitting;
  const quitBeforeStart = phase === 'starting';
  phase = 'stopping';
  model.dirty = true;
  frames.run();
  await stopFeed(feed, started);
  restore();
  unhook();
  if (fatal) {
    process.stderr.write(formatError(fatal) + '\n');
    if (process.env.IFBLAME_DEBUG && fatal instanceof Error) process.stderr.write(`${fatal.stack}\n`);
  } else if (startError && !quitBeforeStart) process.stderr.write(formatError(startError) + '\n');
  if (hungUp) {
    // The terminal is gone: die of the hangup like any terminal program (a normal exit would have Node reset a dead tty).
    process.kill(process.pid, 'SIGHUP');
  }
  // Quitting while probes attach is the user's choice, not a tracing failure.
  if (startError && code === EXIT.ok && !quitBeforeStart) return startError instanceof IfblameError ? startError.exitCode : EXIT.tracing;
  return code;
}

/** Stop at once (kills a bpftrace still attaching), and again once start settles in case it spawned more; bounded. */
async function stopFeed(feed: Feed, started: Promise<void>): Promise<void> {
  const stopping = (async () => {
    await feed.stop().catch(() => undefined);
    await started;
    await feed.stop().catch(() => undefined);
  })();
  await Promise.race([stopping, new Promise((r) => setTimeout(r, STOP_TIMEOUT_MS).unref())]);
}
