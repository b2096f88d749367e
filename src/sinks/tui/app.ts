// runTui: wire a Feed to the view-model, the keys and the screen; own every way out (q, Ctrl-C, signals, errors, feed end).
import { existsSync } from 'node:fs';
import { EXIT, IfblameError, formatError } from '../../errors.js';
import type { Feed } from '../../pipeline/feed.js';
import { FrameLoop } from './frames.js';
import { handleKey, type KeyPress } from './keys.js';
import { createLayout, createScreen, type Ui } from './layout.js';
import { TuiModel } from './model.js';
import { draw } from './render.js';
import type { StatusInput } from './status.js';
import { humanBytes } from './status.js';
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

/** Recording at runtime: the live feed has it; a replay does not. */
export interface RecordControls {
  start(path: string): Promise<void>;
  stop(): Promise<void>;
  readonly path: string | null;
  readonly bytes: number;
}

export interface TuiSession {
  readonly ui: Ui;
  readonly model: TuiModel;
  readonly frames: FrameLoop;
  /** Ask the app to quit as if `q` was pressed. */
  quit(code?: number): void;
}

/** What some feeds offer beyond Feed: the live one records and counts attached probes, the replay one reports progress. */
type FeedExtras = Feed & { record?: RecordControls; attachedProbes?: number; failure?: string | null; progress?: () => { done?: boolean } };

const STOP_TIMEOUT_MS = 10_000;

function stamp(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

export async function runTui(feed: Feed, opts: TuiOptions = {}): Promise<number> {
  const input = opts.input ?? process.stdin;
  const output = opts.output ?? process.stdout;
  const terminal = prepareTerminalEnv();
  const f = feed as FeedExtras;
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
  (output as NodeJS.WriteStream).on?.('error', () => undefined);

  let phase: 'starting' | 'running' | 'ended' | 'stopping' = 'starting';
  let fatal: unknown = null;
  let resolveQuit!: (code: number) => void;
  const quitting = new Promise<number>((r) => (resolveQuit = r));
  let quitCode: number | null = null;
  const quit = (code: number = EXIT.ok) => {
    if (quitCode !== null) return;
    quitCode = code;
    resolveQuit(code);
  };

  const usedPaths = new Set<string>();
  const nextRecordPath = () => {
    const wanted = opts.recordPath;
    if (wanted && !usedPaths.has(wanted) && !existsSync(wanted)) return wanted;
    return `ifblame-${stamp()}.trace`;
  };
  const toggleRecording = () => {
    const rec = f.record;
    if (!rec) return model.say('no recording in replay: the file already is one');
    const was = rec.path;
    const op = was ? rec.stop().then(() => `recording stopped: ${was} (${humanBytes(rec.bytes)})`) : (() => {
      const path = nextRecordPath();
      usedPaths.add(path);
      return rec.start(path).then(() => `recording to ${path}`);
    })();
    op.then((msg) => model.say(msg), (e) => model.say(formatError(e), 6000));
  };

  const status = (): StatusInput => {
    const stats = feed.stats();
    const c = feed.controls;
    const flash = model.flash?.text ?? (phase === 'starting' ? (feed.mode === 'live' ? 'attaching probes...' : 'opening...') : phase === 'stopping' ? 'stopping...' : null);
    return {
      mode: feed.mode,
      backend: feed.header.backend,
      probesUsed: f.attachedProbes || feed.header.probes.used.length,
      probesDropped: feed.header.probes.dropped.length,
      lost: Math.max(stats.lost, model.lostEvents),
      events: stats.events,
      recording: f.record ? { path: f.record.path, bytes: f.record.path ? f.record.bytes : 0 } : null,
      viewPaused: model.paused,
      pending: model.pendingWhilePaused,
      ...(c ? { replay: { paused: c.paused, speed: c.speed } } : {}),
      filter: model.filter?.text ?? null,
      flash,
      // A replay can end, seek back to the start and end again: ask it when it can tell.
      ended: feed.mode === 'replay' && f.progress ? f.progress().done === true : phase === 'ended',
    };
  };

  const frames = new FrameLoop(() => {
    // tick() marks the model dirty once a second, which also refreshes the status counters (bytes recorded).
    model.tick();
    if (!model.dirty) return false;
    try {
      draw(ui, model, status());
      screen.render();
    } catch (e) {
      fatal ??= e;
      quit(EXIT.usage);
    }
    model.dirty = false;
    return true;
  }, opts.fps ?? 30);

  screen.on('keypress', (ch: string | undefined, key: KeyPress | undefined) => {
    handleKey({ model, controls: feed.controls, toggleRecording, quit: () => quit(quitExitCode()), pageSize: () => Math.max(1, Number(ui.timeline.height) - 3) }, ch, key ?? {});
  });
  screen.on('resize', () => (model.dirty = true));

  const quitExitCode = () => (model.error && phase === 'ended' && feed.mode === 'live' && f.failure ? EXIT.tracing : EXIT.ok);

  const unhook = installExitHooks({
    signal: (sig) => {
      if (quitCode !== null) {
        // The shell passes its own SIGHUP on to its jobs: one hangup is enough.
        if (sig === 'SIGHUP' && hungUp) return;
        // Another signal while stopping: give the terminal back and go now.
        restore();
        unhook();
        if (hungUp || sig === 'SIGHUP') process.kill(process.pid, 'SIGHUP');
        else process.exit(signalExitCode(sig));
        return;
      }
      if (sig === 'SIGHUP') hungUp = true;
      quit(signalExitCode(sig));
    },
    fatal: (err) => {
      fatal ??= err;
      quit(err instanceof IfblameError ? err.exitCode : EXIT.usage);
    },
  });

  let hungUp = false;
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

  frames.start();
  frames.run();
  opts.onReady?.({ ui, model, frames, quit });

  void feed.done.then(
    () => {
      if (phase === 'stopping') return;
      phase = 'ended';
      model.dirty = true;
      if (feed.mode === 'live' && f.failure) model.showError('tracing stopped', f.failure, 'run `ifblame doctor`; `ifblame script` prints the program that ran');
    },
    (e: unknown) => {
      phase = 'ended';
      model.showError('tracing stopped', (e as Error).message ?? String(e), e instanceof IfblameError ? e.hint : undefined);
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
      model.showError('ifblame cannot trace here', e instanceof Error ? e.message : String(e), e instanceof IfblameError ? e.hint : 'rerun with IFBLAME_DEBUG=1 for details');
    },
  );

  const code = await quitting;
  const quitBeforeStart = phase === 'starting';
  phase = 'stopping';
  model.dirty = true;
  frames.run();
  // Stop at once (kills a bpftrace still attaching), and once more after start settles in case it spawned more.
  const stopping = (async () => {
    await feed.stop().catch(() => undefined);
    await started;
    await feed.stop().catch(() => undefined);
  })();
  await Promise.race([stopping, new Promise((r) => setTimeout(r, STOP_TIMEOUT_MS).unref())]);
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
  if (startError && code === EXIT.ok) return startError instanceof IfblameError ? startError.exitCode : EXIT.tracing;
  return code;
}
