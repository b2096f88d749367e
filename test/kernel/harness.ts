// Real-kernel harness: build (or reuse) one Debian guest image per suite, boot each once under QEMU
// with every scenario, ifblame itself (the built project and the host's Node binary on the input
// disk) and the raw programs, and bring the outputs back to the host: ifblame's own recording
// (`capture --record`, backend auto), its doctor report, a TUI screen, and the raw programs' output,
// which the host turns into trace files with `ifblame import`.
import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** test/kernel/ in the source tree (this file runs from dist/test/kernel/). */
export const KERNEL_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../test/kernel');
export const REPO = resolve(KERNEL_DIR, '../..');
export const CLI = join(REPO, 'bin/ifblame.js');

export const SCENARIOS = [
  'a-bond-udev',
  'b-bond-stock',
  'c-bridge',
  'd-ip',
  'e-alb',
  'f-team-bridge',
  'g-bond-sysfs',
  'h-ifenslave-hardmac',
  'i-netns-move',
  'j-macvlan-bond',
  'k-bond-8023ad-release',
  'l-bridge-del',
] as const;
export type Scenario = (typeof SCENARIOS)[number];
export const BACKENDS = ['kprobe', 'kfunc', 'syscalls'] as const;
export type KBackend = (typeof BACKENDS)[number];
/** The programs run raw in the guest and imported on the host; kfunc is what ifblame's `auto` runs live. */
export const RAW_BACKENDS = ['kprobe', 'syscalls'] as const;
/** Raw programs the guest generates itself with `ifblame script` (detection there drops what its kernel lacks). */
export const GUEST_GENERATED: readonly KBackend[] = ['kprobe'];

/** The Debian suites of the matrix and what each must run. */
export const SUITES = ['bookworm', 'trixie', 'sid'] as const;
export type Suite = (typeof SUITES)[number];
export const SUITE_EXPECT: Record<Suite, { kernel: RegExp; bpftrace: RegExp }> = {
  bookworm: { kernel: /^6\.1\.\d+-\d+-amd64$/, bpftrace: /^0\.17\./ },
  trixie: { kernel: /^6\.12\.\d+(\+deb\d+)?(-\d+)?-amd64$/, bpftrace: /^0\.23\./ },
  sid: { kernel: /^[7-9]\.\d+\.\d+(\+deb\d+)?(-\d+)?-amd64$/, bpftrace: /^0\.2[7-9]\./ },
};

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Run a command; never throws for a non-zero exit.  Kills the whole process group on timeout. */
export function run(cmd: string, args: string[], opts: { cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv; echo?: boolean } = {}): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const t0 = Date.now();
    const child = spawn(cmd, args, { cwd: opts.cwd ?? REPO, env: opts.env ?? process.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (opts.echo) process.stderr.write(d);
    });
    const kill = (sig: NodeJS.Signals) => {
      try {
        if (child.pid) process.kill(-child.pid, sig);
      } catch {
        /* already gone */
      }
    };
    let timer: NodeJS.Timeout | undefined;
    if (opts.timeoutMs) {
      timer = setTimeout(() => {
        stderr += `\n[harness] timeout after ${opts.timeoutMs} ms: SIGTERM\n`;
        kill('SIGTERM');
        setTimeout(() => kill('SIGKILL'), 15_000).unref();
      }, opts.timeoutMs);
    }
    // If the test runner is interrupted, do not leave qemu behind.
    const onExit = () => kill('SIGTERM');
    process.once('exit', onExit);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      process.removeListener('exit', onExit);
      resolvePromise({ code, signal, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

/** build-image.sh: builds or reuses the cached image; returns its directory.  Throws naming the failed step. */
export async function buildImage(suite: Suite): Promise<{ dir: string; ms: number; log: string }> {
  const r = await run(join(KERNEL_DIR, 'build-image.sh'), [suite], { timeoutMs: 30 * 60_000, echo: !!process.env.IFBLAME_KERNEL_VERBOSE });
  const dir = r.stdout.trim().split('\n').pop() ?? '';
  if (r.code !== 0 || !dir || !existsSync(join(dir, 'rootfs.img'))) {
    const failed = /FAILED at step '[^']*'[^\n]*/.exec(r.stderr)?.[0] ?? `exit ${r.code}`;
    throw new Error(
      `kernel image build failed (suite ${suite}): ${failed}\n--- build-image.sh stderr (last 40 lines) ---\n${r.stderr.split('\n').slice(-40).join('\n')}`,
    );
  }
  return { dir, ms: r.ms, log: r.stderr };
}

export interface Generated {
  backend: KBackend;
  ok: boolean;
  program?: string;
  error?: string;
  /** Probe ids the harness took out of the generated program (IFBLAME_KERNEL_DROP). */
  dropped?: string[];
}

/**
 * Probes absent from the guest kernel.  On a real host `ifblame script` detects and drops them itself;
 * here the program is generated on the host (`--all`, no detection possible), so the harness tells
 * `ifblame script --drop` what the target lacks: Debian 6.1 inlines team_port_add (neither `kprobe:` nor `kfunc:team:` lists
 * it; bpftrace: "kfunc:team_port_add: no BTF data", "Error attaching probe: 'kretprobe:team_port_add'").
 * IFBLAME_KERNEL_DROP="" keeps the program as generated.
 */
export const DROP = (process.env.IFBLAME_KERNEL_DROP ?? '').split(/[\s,]+/).filter(Boolean);

/**
 * `ifblame script --backend X` on the host.  The host has neither kprobes nor bonding, so the program
 * is generated for the target kernel without probing this one: `--all` (the whole catalog; the guest loads
 * every module it needs).  IFBLAME_KERNEL_SCRIPT_ARGS replaces `--all`.
 */
export async function generatePrograms(backends: readonly KBackend[], bpftrace: string | null): Promise<Generated[]> {
  // for the guest's bpftrace, not the host's: the syscalls program is written per version (loops, delete)
  const extra = [...(process.env.IFBLAME_KERNEL_SCRIPT_ARGS ?? '--all').split(/\s+/).filter(Boolean), ...(bpftrace ? ['--bpftrace', bpftrace] : [])];
  const out: Generated[] = [];
  for (const backend of backends) {
    const drop = DROP.length ? ['--drop', DROP.join(',')] : [];
    const r = await run(process.execPath, [CLI, 'script', '--backend', backend, ...extra, ...drop], { timeoutMs: 60_000 });
    if (r.code === 0 && r.stdout.trim()) out.push({ backend, ok: true, program: r.stdout, dropped: DROP });
    else out.push({ backend, ok: false, error: `ifblame script --backend ${backend} ${extra.join(' ')}: exit ${r.code}\n${r.stderr}` });
  }
  return out;
}

/** The bpftrace version an image holds (`bpftrace=0.27.1-1` in its versions.txt), or null. */
export function imageBpftrace(imageDir: string): string | null {
  const file = join(imageDir, 'versions.txt');
  if (!existsSync(file)) return null;
  return /^bpftrace=(\d+\.\d+\.\d+)/m.exec(readFileSync(file, 'utf8'))?.[1] ?? null;
}

/** Dev-only packages the guest does not need (the image stays the same; only the input disk shrinks). */
const DEV_ONLY = new Set(['typescript', '@types', 'fast-check', 'pure-rand', '.bin', '.package-lock.json']);

/**
 * ifblame itself for the guest: the host's Node binary (one static-ish binary that runs on all three
 * suites) and the built project as a user installs it (bin, dist/src, probes, deploy/systemd, package.json, runtime
 * node_modules).  Copied onto the input disk at every boot, so the image does not depend on the code.
 */
export function stageIfblame(dest: string): void {
  mkdirSync(join(dest, 'app'), { recursive: true });
  copyFileSync(process.execPath, join(dest, 'node'));
  chmodSync(join(dest, 'node'), 0o755);
  for (const d of ['bin', 'probes', 'deploy/systemd']) if (existsSync(join(REPO, d))) cpSync(join(REPO, d), join(dest, 'app', d), { recursive: true });
  cpSync(join(REPO, 'dist', 'src'), join(dest, 'app', 'dist', 'src'), { recursive: true });
  copyFileSync(join(REPO, 'package.json'), join(dest, 'app', 'package.json'));
  for (const m of readdirSync(join(REPO, 'node_modules'))) {
    if (DEV_ONLY.has(m)) continue;
    cpSync(join(REPO, 'node_modules', m), join(dest, 'app', 'node_modules', m), { recursive: true, dereference: false });
  }
}

/** The input disk's tree: guest runner, scenario scripts, programs, ifblame itself, and what to run. */
export function prepareInput(inDir: string, programs: Generated[], scenarios: readonly string[], env: Record<string, string> = {}, withIfblame = true): void {
  mkdirSync(join(inDir, 'programs'), { recursive: true });
  mkdirSync(join(inDir, 'scenarios'), { recursive: true });
  for (const f of ['run.sh', 'lib.sh', 'late.sh']) copyFileSync(join(KERNEL_DIR, 'guest', f), join(inDir, f));
  // every file of scenarios/: the scenario scripts and the seeds' helper scripts they run
  for (const f of readdirSync(join(KERNEL_DIR, 'scenarios'))) {
    copyFileSync(join(KERNEL_DIR, 'scenarios', f), join(inDir, 'scenarios', f));
    chmodSync(join(inDir, 'scenarios', f), 0o755);
  }
  const ok = programs.filter((p) => p.ok);
  for (const p of ok) writeFileSync(join(inDir, 'programs', `${p.backend}.bt`), p.program!);
  writeFileSync(join(inDir, 'SCENARIOS'), scenarios.join(' ') + '\n');
  const raw = [...new Set([...ok.map((p) => p.backend), ...(withIfblame ? GUEST_GENERATED : [])])];
  writeFileSync(join(inDir, 'BACKENDS'), raw.join(' ') + '\n');
  if (withIfblame) {
    stageIfblame(join(inDir, 'ifblame'));
    env = { GUEST_SCRIPT: GUEST_GENERATED.join(' '), ...env };
  }
  writeFileSync(
    join(inDir, 'ENV'),
    Object.entries(env)
      .map(([k, v]) => `${k}="${v}"\n`)
      .join(''),
  );
}

/**
 * boot.sh: one boot, every scenario.  Resolves with qemu's exit code and the wall time.  A guest kernel that
 * panicked while booting, before the runner wrote anything (seen under TCG: an int3 Oops while the kernel patched
 * its own text, 7 s into sid's boot), is booted once more; the first attempt's console is kept as serial.log.1.
 */
export async function bootGuest(imageDir: string, inDir: string, outDir: string, timeoutS: number, env: Record<string, string> = {}): Promise<RunResult> {
  const first = await bootOnce(imageDir, inDir, outDir, timeoutS, env);
  const serial = join(outDir, 'serial.log');
  const panicked = existsSync(serial) && /Kernel panic - not syncing/.test(readFileSync(serial, 'utf8'));
  if (!panicked || existsSync(join(outDir, 'uname.txt'))) return first;
  renameSync(serial, `${serial}.1`);
  const again = await bootOnce(imageDir, inDir, outDir, timeoutS, env);
  return { ...again, ms: first.ms + again.ms };
}

function bootOnce(imageDir: string, inDir: string, outDir: string, timeoutS: number, env: Record<string, string>): Promise<RunResult> {
  return run(join(KERNEL_DIR, 'boot.sh'), [imageDir, inDir, outDir], {
    // Waiting for IFBLAME_KERNEL_LOCK is not booting: boot.sh's own deadline starts once it holds the lock.
    timeoutMs: process.env.IFBLAME_KERNEL_LOCK ? undefined : (timeoutS + 60) * 1000,
    env: { ...process.env, BOOT_TIMEOUT: String(timeoutS), BOOT_VERBOSE: '1', ...env },
    echo: !!process.env.IFBLAME_KERNEL_VERBOSE,
  });
}

/** `2026-11-21T13:16:31.395999[+0000]` -> µs since the epoch (no zone: UTC, the guest's zone). */
export function wallUs(text: string): number {
  const m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(?:Z|([+-])(\d\d):?(\d\d))?$/.exec(text.trim());
  if (!m) throw new Error(`not a timestamp: ${text}`);
  const ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  const frac = Math.round(Number(`0.${m[7] ?? '0'}`) * 1e6);
  const off = m[8] ? (m[8] === '-' ? -1 : 1) * (+m[9]! * 60 + +m[10]!) * 60_000_000 : 0;
  return ms * 1000 + frac - off;
}

/**
 * Cut the session's outputs into one set per scenario, by the scenario's window (guest wall clock):
 * `<scenario>/<backend>/bt.json` and `<scenario>/ipmon.txt`, which `ifblame import` reads.
 * bt.json: the lines before the first event (attached_probes, the program's `#clock` and `#cols`
 * lines) are kept as they are; an event line (`<probe id>\t<nsecs>\t...`) is kept when its nsecs,
 * converted with the `#clock` line, falls in the window; other messages (lost_events...) go with the
 * event before them.  ipmon.txt: lines whose `[timestamp]` falls in the window.
 */
export function splitSession(
  outDir: string,
  scenario: string,
  backends: readonly string[],
): { window: { start: number; end: number }; counts: Record<string, number> } {
  const scen = join(outDir, scenario);
  const w = /start=(\d+) end=(\d+)/.exec(readFileSync(join(scen, 'window.txt'), 'utf8'));
  if (!w) throw new Error(`${scenario}: no window.txt`);
  const window = { start: Number(w[1]), end: Number(w[2]) };
  const counts: Record<string, number> = {};
  for (const b of backends) {
    const src = join(outDir, 'session', b, 'bt.json');
    if (!existsSync(src)) continue;
    const lines = readFileSync(src, 'utf8').split('\n');
    let monoToWallUs: number | undefined;
    let seenEvent = false;
    let keep = false;
    let n = 0;
    const out: string[] = [];
    for (const line of lines) {
      if (!line.trim()) continue;
      let msg: { type?: string; data?: unknown };
      try {
        msg = JSON.parse(line) as typeof msg;
      } catch {
        if (!seenEvent || keep) out.push(line); // a torn or foreign line: leave it to the importer to report
        continue;
      }
      const data = typeof msg.data === 'string' ? msg.data : '';
      if (msg.type === 'printf' && data.startsWith('#')) {
        const c = /^#clock\t(\d+)\t(\S+)/.exec(data);
        if (c) monoToWallUs = wallUs(c[2]!) - Number(c[1]) / 1000;
        out.push(line);
        continue;
      }
      const ev = msg.type === 'printf' ? /^[^\t]+\t(\d+)\t/.exec(data) : null;
      if (ev) {
        if (monoToWallUs === undefined) throw new Error(`${b}: event before the #clock line`);
        seenEvent = true;
        const t = Number(ev[1]) / 1000 + monoToWallUs;
        keep = t >= window.start && t <= window.end;
        if (keep) {
          out.push(line);
          n++;
        }
      } else if (!seenEvent || keep) out.push(line);
    }
    mkdirSync(join(scen, b), { recursive: true });
    writeFileSync(join(scen, b, 'bt.json'), out.join('\n') + '\n');
    for (const f of ['bt.stderr', 'ready.txt']) if (existsSync(join(outDir, 'session', b, f))) copyFileSync(join(outDir, 'session', b, f), join(scen, b, f));
    counts[b] = n;
  }
  const ipmon = join(outDir, 'session', 'ipmon.txt');
  if (existsSync(ipmon)) {
    const kept = readFileSync(ipmon, 'utf8')
      .split('\n')
      .filter((l) => {
        const m = /^\[([^\]]+)\]/.exec(l);
        if (!m) return false;
        const us = wallUs(m[1]!);
        return us >= window.start && us <= window.end;
      });
    writeFileSync(join(scen, 'ipmon.txt'), kept.join('\n') + (kept.length ? '\n' : ''));
    counts.ipmon = kept.length;
  }
  return { window, counts };
}

export interface Step {
  name: string;
  /** wall clock, µs since the epoch (guest clock, same as the trace). */
  start: number;
  end: number;
  rc: number;
  cmd: string;
}

export function readSteps(scenDir: string): Step[] {
  const p = join(scenDir, 'steps.log');
  if (!existsSync(p)) return [];
  return readFileSync(p, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const m = /^start=(\d+) end=(\d+) rc=(\d+) name=(\S+) cmd=(.*)$/.exec(line);
      if (!m) throw new Error(`steps.log: bad line ${JSON.stringify(line)}`);
      return { start: Number(m[1]), end: Number(m[2]), rc: Number(m[3]), name: m[4]!, cmd: m[5]! };
    });
}

/** aat.log: the guest's own view after every step (sysfs): name -> {aat, mac, promisc, master}. */
export interface IfState {
  aat: number;
  mac: string;
  promisc: number;
  master: string;
}
export function readAatLog(scenDir: string): Map<string, Map<string, IfState>> {
  const out = new Map<string, Map<string, IfState>>();
  const p = join(scenDir, 'aat.log');
  if (!existsSync(p)) return out;
  for (const line of readFileSync(p, 'utf8').split('\n')) {
    const m = /^\[[^\]]*\] after (\S+):(.*)$/.exec(line);
    if (!m) continue;
    const ifs = new Map<string, IfState>();
    for (const x of m[2]!.matchAll(/ (\S+?)\(aat=(\d*),mac=([0-9a-f:]*),promisc=(\d*),master=(\S*?)\)/g)) {
      ifs.set(x[1]!, { aat: Number(x[2]), mac: x[3]!, promisc: Number(x[4]), master: x[5]! });
    }
    out.set(m[1]!, ifs);
  }
  return out;
}

export interface TraceFile {
  header: Record<string, unknown> & { kernel?: string; backend?: string; host?: string };
  events: (Record<string, unknown> & { type: string })[];
  /** Lines that did not parse (a torn final line is tolerated by replay; more is a bug). */
  bad: number;
}

export function readTrace(path: string): TraceFile {
  const lines = readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim());
  let bad = 0;
  const parsed = lines.map((l) => {
    try {
      return JSON.parse(l) as Record<string, unknown>;
    } catch {
      bad++;
      return undefined;
    }
  });
  const [header, ...rest] = parsed;
  if (!header) throw new Error(`${path}: no header line`);
  return { header: header as TraceFile['header'], events: rest.filter((e): e is TraceFile['events'][number] => !!e && typeof e.type === 'string'), bad };
}

/**
 * Host-side import of one scenario x backend: `ifblame import` -> trace file.  Every fact is passed
 * explicitly: the exact program that ran, the backend, the guest's kernel, host name and sysfs assign types.
 */
export async function importScenario(scenDir: string, backend: KBackend, tracePath: string, programPath?: string): Promise<RunResult> {
  const b = join(scenDir, backend);
  const args = [
    CLI,
    'import',
    '--bpftrace',
    join(b, 'bt.json'),
    '--netlink',
    join(scenDir, 'ipmon.txt'),
    '--snapshot',
    join(scenDir, 'snapshot.json'),
    '-o',
    tracePath,
  ];
  args.push('--backend', backend, '--aat', join(scenDir, 'aat.txt'));
  args.push('--kernel', readFileSync(join(scenDir, 'kernel.txt'), 'utf8').trim(), '--host', readFileSync(join(scenDir, 'hostname.txt'), 'utf8').trim());
  if (programPath && existsSync(programPath)) args.push('--program', programPath);
  // the namespace ip monitor ran in: probe events from any other one are that namespace's changes
  if (existsSync(join(scenDir, 'netns.txt'))) args.push('--netns', readFileSync(join(scenDir, 'netns.txt'), 'utf8').trim());
  const extra = (process.env.IFBLAME_KERNEL_IMPORT_ARGS ?? '').split(/\s+/).filter(Boolean);
  return run(process.execPath, [...args, ...extra], { timeoutMs: 120_000 });
}

/** test/kernel/cache/runs/<stamp>/ (git-ignored). */
export function newRunDir(): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  const dir = join(KERNEL_DIR, 'cache', 'runs', stamp);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Keep a trace file as a recording: <dest>/kernel-<scenario>-<backend>.ndjson. */
export function recordTrace(tracePath: string, dest: string, name: string): string {
  mkdirSync(dest, { recursive: true });
  const to = join(dest, `kernel-${name}.ndjson`);
  cpSync(tracePath, to);
  return to;
}

/** What `ifblame import` and the stories need from a scenario: kept as a raw-capture fixture. */
const RAW_FILES = [
  'live.ndjson',
  'ipmon.txt',
  'snapshot.json',
  'aat.txt',
  'kernel.txt',
  'hostname.txt',
  'netns.txt',
  'steps.log',
  'window.txt',
  'aat.log',
  'bpftrace-version.txt',
];

/** Copy a run's per-scenario raw outputs (after splitSession) and its programs into `dest` (test/kernel/captures/<stamp>). */
export function saveRawCapture(runDir: string, dest: string, scenarios: readonly string[], backends: readonly string[]): void {
  const out = join(runDir, 'out');
  mkdirSync(join(dest, 'programs'), { recursive: true });
  for (const b of backends) {
    const p = programPath(runDir, b);
    if (existsSync(p)) copyFileSync(p, join(dest, 'programs', `${b}.bt`));
  }
  for (const f of ['uname.txt', 'bpftrace-version.txt']) if (existsSync(join(out, f))) copyFileSync(join(out, f), join(dest, f));
  for (const s of scenarios) {
    if (!existsSync(join(out, s, 'window.txt'))) continue;
    mkdirSync(join(dest, s), { recursive: true });
    for (const f of RAW_FILES) if (existsSync(join(out, s, f))) copyFileSync(join(out, s, f), join(dest, s, f));
    for (const b of backends) {
      if (!existsSync(join(out, s, b, 'bt.json'))) continue;
      mkdirSync(join(dest, s, b), { recursive: true });
      copyFileSync(join(out, s, b, 'bt.json'), join(dest, s, b, 'bt.json'));
    }
  }
}

/** The program that ran: what the guest kept in out/programs (guest-generated ones), else the input's. */
export function programPath(runDir: string, backend: string): string {
  const ran = join(runDir, 'out', 'programs', `${backend}.bt`);
  return existsSync(ran) ? ran : join(runDir, 'in', 'programs', `${backend}.bt`);
}

/**
 * Cut ifblame's own recording of the whole session (`capture --record`, out/live/trace.ifblame) to one
 * scenario: the header as recorded, and every event whose time falls in the scenario's window.  The
 * result is `<scenario>/live.ndjson`, a trace file like any other.
 */
export function splitLive(
  outDir: string,
  scenario: string,
  source = join(outDir, 'live', 'trace.ifblame'),
  dest = join(outDir, scenario, 'live.ndjson'),
): { events: number } {
  const w = /start=(\d+) end=(\d+)/.exec(readFileSync(join(outDir, scenario, 'window.txt'), 'utf8'));
  if (!w) throw new Error(`${scenario}: no window.txt`);
  const [start, end] = [Number(w[1]), Number(w[2])];
  const lines = readFileSync(source, 'utf8')
    .split('\n')
    .filter((l) => l.trim());
  const out = [lines[0]!];
  for (const l of lines.slice(1)) {
    let ev: { ts?: unknown };
    try {
      ev = JSON.parse(l) as typeof ev;
    } catch {
      continue; // a torn last line of a killed recording
    }
    const ts = Number(ev.ts);
    if (Number.isFinite(ts) && ts >= start && ts <= end) out.push(l);
  }
  writeFileSync(dest, out.join('\n') + '\n');
  return { events: out.length - 1 };
}
