// Run a generated program under bpftrace (-f json -B line), decode every line, and make sure bpftrace never outlives us.
import { execa, type ResultPromise } from 'execa';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import split2 from 'split2';
import { EXIT, IfblameError } from '../errors.js';
import type { Backend } from '../events.js';
import { decodeLine, type Decoded } from '../parse/bpftrace-json.js';
import { bpftraceVersion, explainFailure } from '../probes/detect.js';
import { atLeast } from '../probes/dialect.js';
import { guardChild } from './guard.js';

export interface BpftraceSourceOptions {
  program: string;
  backend: Backend;
  /** Called for every decoded line (events, lost counts, notes), in order. */
  onDecoded: (d: Decoded, line: number) => void;
  /** stderr lines that matter (warnings), for the notes stream. */
  onStderr?: (line: string) => void;
  /** How long compile + attach may take (35 s for 13 kprobes under emulation; default 120 s). */
  readyTimeoutMs?: number;
}

/** After bpftrace exits, the lines still in the pipe are read for at most this long. */
const DRAIN_MS = 10_000;

/** CLOCK_MONOTONIC (what bpftrace `nsecs` reads) to wall-clock µs, from Node's own monotonic clock. */
export function liveMonoToWallUs(): number {
  return Date.now() * 1000 - Number(process.hrtime.bigint() / 1000n);
}

/**
 * The environment for the bpftrace that will run the program.  String length: `BPFTRACE_STRLEN` (64) up to
 * 0.20; 0.21 renamed it `BPFTRACE_MAX_STRLEN` and warns about the old name at every start (128 there: a cap,
 * not a size, and 0.27 wants it above the longest `str(x, 64)`).  Perf buffer: 2048 pages
 * per CPU (8 MiB) instead of 64: an `ip -batch` storm overflows the default at once.
 */
export function bpftraceEnv(version: string | null | undefined): Record<string, string> {
  const renamed = atLeast(version, 0, 21);
  // 0.27 warns "length param (64) is too long and will be shortened" for str(x, 64) under a maximum of 64
  return { ...(renamed ? { BPFTRACE_MAX_STRLEN: '128' } : { BPFTRACE_STRLEN: '64' }), BPFTRACE_PERF_RB_PAGES: '2048' };
}

/** bpftrace's own warning lines: `WARNING: ...` (0.17) or `WARN: ...` (newer), made one shape for the notes. */
export function warningOf(line: string): string | null {
  const m = /^(?:.*?\b)?WARN(?:ING)?:\s*(.*)$/.exec(line.trim());
  return m ? `WARNING: ${m[1]}` : null;
}

export class BpftraceSource {
  private child: ResultPromise | null = null;
  private drained: Promise<void> = Promise.resolve();
  private dir: string | null = null;
  private stderrLines: string[] = [];
  private stopping = false;
  attached = 0;
  lost = 0;
  badLines = 0;
  /** Resolves with bpftrace's exit: null when we stopped it, else an error line. */
  exited: Promise<string | null> = Promise.resolve(null);
  readonly monoToWallUs = liveMonoToWallUs();

  constructor(private readonly opts: BpftraceSourceOptions) {}

  /** Start and resolve once probes are attached and BEGIN ran (the #clock line); reject with bpftrace's reason. */
  async start(): Promise<void> {
    this.dir = mkdtempSync(join(tmpdir(), 'ifblame-'));
    const file = join(this.dir, `ifblame-${this.opts.backend}.bt`);
    writeFileSync(file, this.opts.program, { mode: 0o600 });
    const version = (await bpftraceVersion())?.version;
    const child = execa(...guardChild(process.env.IFBLAME_BPFTRACE ?? 'bpftrace', ['-f', 'json', '-B', 'line', file]), {
      reject: false,
      buffer: false,
      stdin: 'ignore',
      cleanup: true,
      env: bpftraceEnv(version),
    });
    this.child = child;
    let lineNo = 0;
    let resolveReady!: () => void;
    let rejectReady!: (e: Error) => void;
    const ready = new Promise<void>((res, rej) => ((resolveReady = res), (rejectReady = rej)));
    let sawClock = false;
    const lines = child.stdout!.pipe(split2());
    // Stopping waits for this: what bpftrace printed before it exited is still in the pipe.
    this.drained = finished(lines).catch(() => undefined);
    lines.on('data', (line: string) => {
      lineNo++;
      if (!line.trim()) return;
      const d = decodeLine(line, { backend: this.opts.backend, monoToWallUs: this.monoToWallUs });
      if (d.kind === 'attached') this.attached = d.probes;
      if (d.kind === 'lost') this.lost += d.count;
      if (d.kind === 'error') this.badLines++;
      if (d.kind === 'clock' && !sawClock) {
        sawClock = true;
        resolveReady();
      }
      this.opts.onDecoded(d, lineNo);
    });
    child.stderr!.pipe(split2()).on('data', (line: string) => {
      if (/couldn't set RLIMIT_MEMLOCK/.test(line) || !line.trim()) return;
      this.stderrLines.push(line);
      if (this.stderrLines.length > 200) this.stderrLines.shift();
      // newer releases say `WARN:`: hand it on as a warning, like 0.17's `WARNING:`, so the user sees it
      this.opts.onStderr?.(warningOf(line) ?? line);
    });
    this.exited = child.then((r) => {
      this.cleanupDir();
      if (this.stopping) return null;
      return `bpftrace exited (${r.exitCode ?? r.signal}): ${explainFailure(this.stderrLines.join('\n'))}`;
    });
    void this.exited.then((why) =>
      rejectReady(
        new IfblameError(why ?? 'bpftrace stopped before its probes were attached', 'run `ifblame doctor`; `ifblame script` prints the program', EXIT.tracing),
      ),
    );
    const timeout = this.opts.readyTimeoutMs ?? 120_000;
    const timer = setTimeout(
      () =>
        rejectReady(
          new IfblameError(`bpftrace did not attach its probes within ${timeout / 1000} s`, 'a slow machine may need IFBLAME_READY_TIMEOUT=300', EXIT.tracing),
        ),
      timeout,
    );
    try {
      await ready;
    } catch (e) {
      await this.stop();
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * SIGINT (bpftrace runs END and exits); again after 2 s, because bpftrace 0.17 can lose a SIGINT that lands
   * while it is still finishing start-up; SIGKILL after 5 s.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) {
      this.cleanupDir();
      return;
    }
    c.kill('SIGINT');
    const again = setTimeout(() => c.kill('SIGINT'), 2000);
    const killer = setTimeout(() => c.kill('SIGKILL'), 5000);
    await c.catch(() => undefined);
    clearTimeout(again);
    clearTimeout(killer);
    await Promise.race([this.drained, new Promise((r) => setTimeout(r, DRAIN_MS))]);
    this.cleanupDir();
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  private cleanupDir(): void {
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = null;
  }
}
