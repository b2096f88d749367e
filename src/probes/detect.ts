// Ask the machine what works: bpftrace and its version, root, BTF, tracefs, which probe types attach, which functions exist.
import { execa } from 'execa';
import { access, readFile } from 'node:fs/promises';
import { constants } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { Backend, ProbeDrop } from '../events.js';
import { KERNEL_PROBES, type KernelProbe } from './catalog.js';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

export interface BackendStatus {
  backend: Backend;
  ok: boolean;
  reason: string;
}

export interface Capabilities {
  bpftrace: { path: string; version: string | null } | null;
  root: boolean;
  btf: boolean;
  tracefs: string | null;
  kernel: string;
  backends: BackendStatus[];
  /** Traceable functions as the kernel lists them (`name` or `name [module]`); null when unreadable. */
  functions: Set<string> | null;
  /** kfunc parameter names per function, from `bpftrace -lv`. */
  paramNames: Record<string, string[]>;
  /** Why the team probes cannot read the team's device here (its private struct changed), or null. */
  teamLayout?: string | null;
  checks: Check[];
}

const BPFTRACE = process.env.IFBLAME_BPFTRACE ?? 'bpftrace';

/** bpftrace's stderr minus the RLIMIT_MEMLOCK line Debian's build prints on every start (not fatal). */
export function meaningfulStderr(stderr: string): string[] {
  return stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/couldn't set RLIMIT_MEMLOCK/.test(l) && !/^~+$/.test(l));
}

/** The line that explains a failed bpftrace run: its last ERROR, else its last line. */
export function explainFailure(stderr: string): string {
  const lines = meaningfulStderr(stderr);
  const err = [...lines].reverse().find((l) => /ERROR/.test(l));
  const why = (err ?? lines[lines.length - 1] ?? 'bpftrace failed without a message').replace(/^.*?ERROR:\s*/, '');
  // bpftrace's last word is often generic; the line before it says what the kernel lacks.
  if (lines.some((l) => /kprobe_events\)?: No such file/.test(l))) return `${why} (no kprobe_events in tracefs: the kernel has no CONFIG_KPROBE_EVENTS)`;
  return why;
}

let versionOnce: Promise<{ path: string; version: string | null } | null> | undefined;

/** `bpftrace --version`, asked once per process (detection and the runner both need it). */
export function bpftraceVersion(): Promise<{ path: string; version: string | null } | null> {
  versionOnce ??= askVersion();
  return versionOnce;
}

async function askVersion(): Promise<{ path: string; version: string | null } | null> {
  const r = await execa(BPFTRACE, ['--version'], { reject: false, timeout: 10_000 });
  if (r.failed && (r as { code?: string }).code === 'ENOENT') return null;
  if (r.exitCode !== 0) return null;
  const m = /v?(\d+\.\d+\.\d+)/.exec(String(r.stdout));
  return { path: BPFTRACE, version: m?.[1] ?? null };
}

/** A tiny program per probe type, attached for real and exited at once: more reliable than `--info`. */
export async function tryAttach(program: string): Promise<{ ok: boolean; reason: string }> {
  const r = await execa(BPFTRACE, ['-f', 'json', '-e', program], { reject: false, timeout: 60_000, stdin: 'ignore' });
  const attached = /"attached_probes"/.test(String(r.stdout));
  if (r.exitCode === 0 && attached) return { ok: true, reason: 'attached' };
  if (r.timedOut) return { ok: false, reason: 'bpftrace did not finish within 60 s' };
  return { ok: false, reason: explainFailure(String(r.stderr)) };
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

/** tracefs is where tracepoints and the traceable-function list live; mount it when root and it is missing. */
export async function ensureTracefs(root: boolean): Promise<string | null> {
  for (const dir of ['/sys/kernel/tracing', '/sys/kernel/debug/tracing']) if (await exists(`${dir}/events`)) return dir;
  if (!root) return null;
  await execa('mount', ['-t', 'tracefs', 'nodev', '/sys/kernel/tracing'], { reject: false, timeout: 5000 });
  await execa('mount', ['-t', 'debugfs', 'nodev', '/sys/kernel/debug'], { reject: false, timeout: 5000 });
  return (await exists('/sys/kernel/tracing/events')) ? '/sys/kernel/tracing' : null;
}

/** The traceable-function list, read again (a module loaded since detection adds its functions). */
export async function readFunctions(tracefs: string | null): Promise<Set<string> | null> {
  if (!tracefs) return null;
  try {
    const text = await readFile(`${tracefs}/available_filter_functions`, 'utf8');
    const set = new Set<string>();
    for (const line of text.split('\n')) {
      const m = /^(\S+)(?:\s+\[(\S+)\])?/.exec(line);
      if (m) set.add(m[1]!);
    }
    return set;
  } catch {
    return null;
  }
}

/** At most this many `bpftrace -lv` at once: each parses the kernel's BTF, and twenty at once on a slow VM timed out. */
const LIST_PARALLEL = Math.max(2, Math.min(4, availableParallelism()));

/** Parameter names of every attach point of these probes (their own function and the alternatives), by function. */
export async function readAllParamNames(probes: KernelProbe[]): Promise<Record<string, string[]>> {
  const funcs = probes.flatMap((p) => [p.func, ...(p.alternatives ?? []).map((a) => a.func)].map((func) => ({ func, module: p.module })));
  const found: (readonly [string, string[] | null])[] = [];
  let next = 0;
  const worker = async () => {
    while (next < funcs.length) {
      const f = funcs[next++]!;
      found.push([f.func, await readParamNames(f.func, f.module)] as const);
    }
  };
  await Promise.all(Array.from({ length: LIST_PARALLEL }, worker));
  return Object.fromEntries(found.filter((e): e is [string, string[]] => e[1] !== null));
}

/** `bpftrace -lv kfunc:FUNC` prints the parameters: `    struct net_device * dev`. */
async function readParamNames(func: string, module: string | undefined): Promise<string[] | null> {
  const spec = `kfunc:${module ? `${module}:` : ''}${func}`;
  const r = await execa(BPFTRACE, ['-lv', spec], { reject: false, timeout: 90_000 });
  if (r.exitCode !== 0) return null;
  const names = String(r.stdout)
    .split('\n')
    .filter((l) => /^\s+\S/.test(l) && !/retval/.test(l))
    .map((l) => /([A-Za-z_]\w*)\s*$/.exec(l.trim())?.[1])
    .filter((n): n is string => !!n);
  return names.length ? names : null;
}

async function moduleLoaded(mod: string, root = '/sys/module'): Promise<boolean> {
  return exists(`${root}/${mod}`);
}

/** Everything `doctor` prints and `live`/`capture` decide on. */
export async function detect(): Promise<Capabilities> {
  const kernel = (await readFile('/proc/sys/kernel/osrelease', 'utf8').catch(() => 'unknown')).trim();
  const root = process.getuid?.() === 0;
  const [bt, btf] = await Promise.all([bpftraceVersion(), exists('/sys/kernel/btf/vmlinux')]);
  const tracefs = await ensureTracefs(root);
  const checks: Check[] = [
    bt
      ? { name: 'bpftrace', ok: true, detail: `v${bt.version ?? '?'} (${bt.path})` }
      : { name: 'bpftrace', ok: false, detail: 'not found in PATH', fix: 'apt-get install bpftrace (Debian/Ubuntu) or dnf install bpftrace' },
    root ? { name: 'root', ok: true, detail: 'running as root' } : { name: 'root', ok: false, detail: `running as uid ${process.getuid?.()}`, fix: 'run with sudo: loading BPF programs needs root (CAP_BPF + CAP_PERFMON)' },
    btf ? { name: 'BTF', ok: true, detail: '/sys/kernel/btf/vmlinux' } : { name: 'BTF', ok: false, detail: 'no /sys/kernel/btf/vmlinux', fix: 'kfunc needs a kernel built with CONFIG_DEBUG_INFO_BTF=y; kprobe and syscalls still work' },
    tracefs ? { name: 'tracefs', ok: true, detail: tracefs } : { name: 'tracefs', ok: false, detail: 'not mounted', fix: 'mount -t tracefs nodev /sys/kernel/tracing' },
  ];
  let backends: BackendStatus[];
  if (!bt || !root) {
    const reason = !bt ? 'bpftrace is not installed' : 'not running as root';
    backends = (['kfunc', 'kprobe', 'syscalls'] as const).map((b) => ({ backend: b, ok: false, reason }));
  } else {
    const [kfunc, kprobe, tp] = await Promise.all([
      tryAttach('kfunc:dev_set_mac_address { } BEGIN { exit(); }'),
      tryAttach('kprobe:dev_set_mac_address { } BEGIN { exit(); }'),
      tryAttach('tracepoint:syscalls:sys_enter_sendmsg { } BEGIN { exit(); }'),
    ]);
    backends = [
      { backend: 'kfunc', ...kfunc },
      { backend: 'kprobe', ...kprobe },
      { backend: 'syscalls', ...tp },
    ];
  }
  for (const b of backends) checks.push({ name: `backend ${b.backend}`, ok: b.ok, detail: b.reason, ...(b.ok ? {} : { fix: backendFix(b.backend) }) });
  const functions = await readFunctions(tracefs);
  const paramNames: Record<string, string[]> = {};
  if (backends.find((b) => b.backend === 'kfunc')?.ok) Object.assign(paramNames, await readAllParamNames(KERNEL_PROBES));
  const teamLayout = await checkTeamLayout(backends, functions);
  return { bpftrace: bt, root, btf, tracefs, kernel, backends, functions, paramNames, checks, teamLayout };
}

/**
 * The team probes read `team->dev`, the team's net_device, from the driver's private `struct team`.  Newer
 * kernels (Debian sid's 7.2) no longer have that member: a kfunc program naming it does not compile
 * ("Struct/union of type 'struct team' does not contain a field named 'dev'", and the whole program fails),
 * a kprobe program reads garbage.  A dry run of the one expression tells; when it fails the team probes attach
 * at their alternatives (team_add_slave, team_del_slave), which take the team's net_device itself.
 */
export async function checkTeamLayout(backends: BackendStatus[], functions: Set<string> | null): Promise<string | null> {
  if (!backends.find((b) => b.backend === 'kfunc')?.ok || !(await moduleLoaded('team'))) return null;
  const func = ['team_port_del', 'team_port_add'].find((f) => functions?.has(f));
  if (!func) return null;
  const r = await tryAttach(`kfunc:team:${func} { printf("%s", args->team->dev->name); } BEGIN { exit(); }`);
  return r.ok ? null : r.reason;
}

/** Detection again for a module loaded after tracing started: its functions, parameter names and (team) struct check. */
export async function redetectModule(caps: Capabilities, module: string): Promise<Capabilities> {
  const functions = await readFunctions(caps.tracefs);
  const kfuncOk = caps.backends.find((b) => b.backend === 'kfunc')?.ok ?? false;
  const own = kfuncOk ? await readAllParamNames(KERNEL_PROBES.filter((p) => p.module === module)) : {};
  const teamLayout = module === 'team' ? await checkTeamLayout(caps.backends, functions) : caps.teamLayout;
  return { ...caps, functions, paramNames: { ...caps.paramNames, ...own }, teamLayout: teamLayout ?? null };
}

function backendFix(b: Backend): string {
  if (b === 'kfunc') return 'needs BTF and fentry support (CONFIG_FUNCTION_TRACER, CONFIG_BPF_JIT); ifblame falls back to kprobe, then syscalls';
  if (b === 'kprobe') return 'needs CONFIG_KPROBES and CONFIG_KPROBE_EVENTS; ifblame falls back to the syscalls backend';
  return 'needs tracepoints (CONFIG_FTRACE_SYSCALLS) and tracefs mounted';
}

/** The backend `auto` picks: the cheapest that attaches here. */
export function chooseBackend(caps: Capabilities): Backend | null {
  for (const b of ['kfunc', 'kprobe', 'syscalls'] as const) if (caps.backends.find((s) => s.backend === b)?.ok) return b;
  return null;
}

/** What detection decided for the kernel probes: the ones dropped (with why) and the alternatives attached instead. */
export interface Resolution {
  dropped: ProbeDrop[];
  /** Probe id -> the alternative function it attaches to here. */
  points: Record<string, string>;
  /** Modules whose probes were dropped only because the module was not loaded: attached when it loads. */
  pending: string[];
}

/** Probes of a backend this kernel cannot give us, each with why (a visible note, never a failure), and the alternatives chosen. */
export async function resolveProbes(backend: Backend, caps: Capabilities, probes: KernelProbe[] = KERNEL_PROBES, moduleRoot = '/sys/module'): Promise<Resolution> {
  const out: Resolution = { dropped: [], points: {}, pending: [] };
  if (backend === 'syscalls') return out;
  const status = caps.backends.find((b) => b.backend === backend);
  // Without a working backend we cannot ask; the full program is printed (and says so in its header).
  if (!status?.ok || !caps.functions) return out;
  const kprobeOk = caps.backends.find((b) => b.backend === 'kprobe')?.ok ?? false;
  const present = (f: string) => caps.functions!.has(f);
  for (const p of probes) {
    // A fallback whose primary exists is simply not used, not "dropped".
    if (p.fallbackFor && present(KERNEL_PROBES.find((q) => q.id === p.fallbackFor)?.func ?? '')) continue;
    // The team driver's private struct moved (7.x): its own functions cannot be read, the alternatives take the net_device.
    const unusable = p.module === 'team' && caps.teamLayout ? `the team driver's struct differs on this kernel: ${caps.teamLayout}` : null;
    if (present(p.func) && !unusable) {
      if (backend === 'kfunc' && p.kfuncAsKprobe && !kprobeOk) out.dropped.push({ probe: p.id, reason: `${p.func} is refused as fentry and kprobes do not attach here` });
      continue;
    }
    const alt = p.alternatives?.find((a) => present(a.func));
    if (alt) {
      out.points[p.id] = alt.func;
      continue;
    }
    const loaded = p.module ? await moduleLoaded(p.module, moduleRoot) : true;
    if (!loaded && !out.pending.includes(p.module!)) out.pending.push(p.module!);
    out.dropped.push({
      probe: p.id,
      reason: unusable ?? (loaded ? `${p.func} is not traceable on this kernel (absent, inlined or notrace)` : `module ${p.module} is not loaded`),
    });
  }
  return out;
}
