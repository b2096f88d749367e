// Decide backend and probes for this machine (detection, --drop), then generate: shared by script, live and capture.
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { IfblameError, EXIT } from '../errors.js';
import type { Backend, ProbeDrop } from '../events.js';
import type { BackendChoice, Filters } from '../options.js';
import { VERSION } from '../version.js';
import { KERNEL_PROBES, SYSCALL_PROBES } from './catalog.js';
import { bpftraceVersion, chooseBackend, detect, resolveProbes, type Capabilities } from './detect.js';
import { bpftraceMinor } from './dialect.js';
import { generate, type Program } from './generate.js';

export interface PlanOptions {
  backend: BackendChoice;
  filters: Filters;
  /** Skip detection: the whole catalog, as the golden files hold it. */
  all?: boolean;
  /** Probe ids to leave out: generating for another machine whose kernel lacks them (`--drop`). */
  drop?: string[];
  /** The bpftrace version the program is for (`--bpftrace`: another machine's); default: this machine's. */
  bpftrace?: string;
}

/** `--bpftrace 0.23.2`: a version the generator can use, or a clear error. */
export function bpftraceOf(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!bpftraceMinor(value)) throw new IfblameError(`--bpftrace ${JSON.stringify(value)} is not a version`, 'e.g. --bpftrace 0.23.2 (bpftrace --version on the target)');
  return value;
}

/** `--drop a,b`: catalog ids only, each with the reason shown in the program header. */
export function dropsOf(values: string[]): ProbeDrop[] {
  const known = new Set([...KERNEL_PROBES.map((p) => p.id), ...SYSCALL_PROBES.map((p) => p.id)]);
  return values.flatMap((v) => v.split(',')).filter(Boolean).map((id) => {
    if (!known.has(id)) throw new IfblameError(`--drop ${JSON.stringify(id)} is not a probe`, `probes: ${[...known].join(', ')}`);
    return { probe: id, reason: 'left out with --drop (the target kernel lacks it)' };
  });
}

/** Decide backend and probes for this machine, then generate: shared by script, live and capture. */
export interface Plan {
  program: Program;
  caps: Capabilities | null;
  notes: string[];
  /** Modules whose probes wait for them to load (live and capture attach them then). */
  pending: string[];
}

/**
 * kfunc probes whose parameter names differ across kernels (`sa` / `ss`) and could not be read here (`bpftrace -lv`
 * failed or timed out): a guessed name makes bpftrace refuse the whole program, so the probe is left out and said so.
 */
function unnamedParams(c: Capabilities, points: Record<string, string>, dropped: ProbeDrop[]): ProbeDrop[] {
  return KERNEL_PROBES.filter((p) => !dropped.some((d) => d.probe === p.id)).flatMap((p) => {
    const func = points[p.id] ?? p.func;
    const params = (p.alternatives ?? []).find((a) => a.func === func)?.params ?? p.params;
    if (!params.some((q) => q.aliases?.length) || c.paramNames[func]) return [];
    return [{ probe: p.id, reason: `the parameter names of ${func} could not be read (bpftrace -lv failed or timed out)` }];
  });
}

/** How many CPUs this machine can have (`possible`: `0-3` -> 4), which the heartbeat reports on. */
export function possibleCpus(read = () => readFileSync('/sys/devices/system/cpu/possible', 'utf8')): number {
  try {
    const ids = read()
      .trim()
      .split(',')
      .map((r) => Number(r.split('-').pop()));
    if (ids.length && ids.every((n) => Number.isSafeInteger(n) && n >= 0)) return Math.max(...ids) + 1;
  } catch {
    /* no sysfs: the CPUs online now */
  }
  return Math.max(1, cpus().length);
}

export async function planProgram(opts: PlanOptions, caps?: Capabilities): Promise<Plan> {
  const notes: string[] = [];
  const asked = dropsOf(opts.drop ?? []);
  if (opts.all && opts.backend !== 'auto') {
    const bpftrace = opts.bpftrace ?? (await bpftraceVersion())?.version;
    return { program: generate({ backend: opts.backend, filters: opts.filters, dropped: asked, version: VERSION, bpftrace }), caps: null, notes, pending: [] };
  }
  const c = caps ?? (await detect());
  let backend: Backend | null = opts.backend === 'auto' ? chooseBackend(c) : opts.backend;
  if (!backend) {
    const why = c.backends.map((b) => `${b.backend}: ${b.reason}`).join('; ');
    throw new IfblameError(`no tracing backend works here (${why})`, 'run `ifblame doctor` for the fix of each', EXIT.tracing);
  }
  const status = c.backends.find((b) => b.backend === backend);
  if (!status?.ok) notes.push(`the ${backend} backend does not attach here (${status?.reason}); the program is the full catalog, not checked against this kernel`);
  const detected = await resolveProbes(backend, c);
  const dropped = [...asked, ...detected.dropped.filter((d) => !asked.some((a) => a.probe === d.probe))];
  if (backend === 'kfunc' && status?.ok) dropped.push(...unnamedParams(c, detected.points, dropped));
  const attachAt = Object.fromEntries(Object.entries(detected.points).filter(([id]) => !asked.some((a) => a.probe === id)));
  for (const d of dropped) notes.push(`probe ${d.probe} dropped: ${d.reason}${detected.pending.some((m) => d.reason === `module ${m} is not loaded`) ? ' (live and capture attach it when it loads)' : ''}`);
  for (const [id, func] of Object.entries(attachAt)) notes.push(`probe ${id} attached at ${func}: ${KERNEL_PROBES.find((p) => p.id === id)?.func} is not usable on this kernel`);
  const bpftrace = opts.bpftrace ?? c.bpftrace?.version;
  const program = generate({ backend, filters: opts.filters, dropped, paramNames: c.paramNames, attachAt, version: VERSION, bpftrace, cpus: possibleCpus() });
  return { program, caps: c, notes, pending: detected.pending };
}
