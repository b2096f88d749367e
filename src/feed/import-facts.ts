// What an import knows about the traced machine: the clock, backend and probes from the bpftrace output's first
// lines, facts from files next to the inputs (kernel.txt, hostname.txt...), the snapshot, the program; the header.
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { IfblameError } from '../errors.js';
import type { Backend, LinkState, ProbeDrop } from '../events.js';
import { decodeLine, parseClockWall } from '../parse/bpftrace-json.js';
import { parseIpLinkJson } from '../parse/ip-link-json.js';
import { mergeAssignTypes, parseAssignTypes } from '../parse/sysfs.js';
import { KERNEL_PROBES, SYSCALL_PROBES } from '../probes/catalog.js';
import { generate } from '../probes/generate.js';
import type { UtcOffset } from '../time/local-time.js';
import { buildHeader, type TraceHeader } from '../trace/format.js';
import { fileLines } from '../trace/lines.js';
import { TraceFileError, type TraceProblem } from '../trace/problems.js';
import { VERSION } from '../version.js';

/** What an import was told; everything optional is found or detected. */
export interface ImportOptions {
  bpftrace: string;
  netlink: string;
  snapshot?: string;
  aat?: string;
  out: string;
  kernel?: string;
  host?: string;
  backend?: Backend;
  program?: string;
  bpftraceVersion?: string;
  utcOffset?: UtcOffset;
  netns?: number;
  strict?: boolean;
}

const DETECT_LINES = 5000;


/** What the beginning of the bpftrace output says: the clock, the probes the program printed, the backend. */
export interface Prescan {
  mono: number;
  wall: string;
  monoToWallUs: number;
  utcOffsetMin: number | undefined;
  probes: string[];
  backend: Backend;
  backendOrigin: string;
}

async function prescan(path: string, forced: Backend | undefined): Promise<Prescan> {
  let clock: { mono: number; wall: string; line: number } | undefined;
  const probes: string[] = [];
  const sample: string[] = [];
  let trampolines = false;
  let firstPrintf: string | undefined;
  let printfs = 0;
  outer: for await (const batch of fileLines(path)) {
    for (const l of batch) {
      if (l.text === null) continue;
      const d = decodeLine(l.text, { backend: forced ?? 'kprobe', monoToWallUs: 0 });
      if (d.kind === 'clock' && !clock) clock = { mono: d.mono, wall: d.wall, line: l.no };
      else if (d.kind === 'cols' && !probes.includes(d.probe)) probes.push(d.probe);
      if (/"type":\s*"printf"/.test(l.text)) {
        printfs++;
        firstPrintf ??= l.text;
        if (!/#clock|#cols|#hb/.test(l.text.slice(0, 60))) sample.push(l.text);
        if (/bpf_trampoline_|bpf_prog_[0-9a-f]/.test(l.text)) trampolines = true;
      }
      if (!clock && printfs > 0) break outer; // the program's first printf is the #clock line
      if (sample.length >= DETECT_LINES) break outer;
    }
  }
  if (!clock) {
    const what = firstPrintf ? `its first printf is ${JSON.stringify(firstPrintf.slice(0, 80))}` : 'it has no printf output';
    throw new TraceFileError(path, 1, `not the output of an ifblame program: no #clock line (${what})`, 'run the program `ifblame script` prints, as `bpftrace -f json -B line PROGRAM > FILE`');
  }
  const wallUs = parseClockWall(clock.wall);
  if (wallUs === undefined) throw new TraceFileError(path, clock.line, `bad #clock time ${JSON.stringify(clock.wall)}`, 'the #clock line must carry strftime("%Y-%m-%dT%H:%M:%S.%f%z")');
  const z = /([+-])(\d{2})(\d{2})$/.exec(clock.wall);
  const utcOffsetMin = z ? (z[1] === '-' ? -1 : 1) * (Number(z[2]) * 60 + Number(z[3])) : undefined;
  let backend: Backend;
  let backendOrigin: string;
  if (forced) {
    backend = forced;
    backendOrigin = '--backend';
  } else {
    const ids = new Set(SYSCALL_PROBES.map((p) => p.id));
    if (probes.length && probes.every((p) => ids.has(p))) {
      backend = 'syscalls';
    } else {
      // kfunc and kprobe programs print the same entry lines; return lines and stack frames tell them apart.
      const errors = (b: Backend) => sample.filter((t) => decodeLine(t, { backend: b, monoToWallUs: 0 }).kind === 'error').length;
      const ek = errors('kfunc');
      const ep = errors('kprobe');
      backend = ek < ep ? 'kfunc' : ep < ek ? 'kprobe' : trampolines ? 'kfunc' : 'kprobe';
    }
    backendOrigin = 'detected';
  }
  return { mono: clock.mono, wall: clock.wall, monoToWallUs: wallUs - clock.mono / 1000, utcOffsetMin, probes, backend, backendOrigin };
}

/** A fact from a file next to the inputs (the layout ifblame's kernel harness and the lab captures use). */
function sibling(dirs: string[], name: string): { path: string; text: string } | undefined {
  for (const d of dirs) {
    const p = join(d, name);
    if (existsSync(p)) {
      try {
        return { path: p, text: readFileSync(p, 'utf8') };
      } catch {
        /* unreadable: not a fact */
      }
    }
  }
  return undefined;
}

/** The probes the imported program did not have, for the header (fallbacks not needed are not "dropped"). */
function droppedFor(backend: Backend, used: string[]): ProbeDrop[] {
  const have = new Set(used);
  if (backend === 'syscalls') return SYSCALL_PROBES.filter((p) => !have.has(p.id)).map((p) => ({ probe: p.id, reason: 'not in the imported program' }));
  return KERNEL_PROBES.filter((p) => !have.has(p.id) && !(p.fallbackFor && have.has(p.fallbackFor))).map((p) => ({ probe: p.id, reason: 'not in the imported program' }));
}

/** The reasons the program's own header comment gives for the probes it left out (` * Dropped...:` section). */
export function droppedReasons(program: string): Map<string, string> {
  const out = new Map<string, string>();
  let inside = false;
  for (const line of program.split('\n').slice(0, 200)) {
    if (/^ \* Dropped\b/.test(line)) {
      inside = true;
      continue;
    }
    if (!inside) continue;
    const m = /^ \*\s{2,}(\S+)\s+(.+)$/.exec(line);
    if (!m) break;
    out.set(m[1]!, m[2]!.trim());
  }
  return out;
}

/** The header, what the bpftrace output's start said, and where each fact came from. */
export interface ImportFacts {
  header: TraceHeader;
  pre: Prescan;
  origin: Record<string, string>;
  utcOffset: UtcOffset;
}

/** Reads every fact the header needs; bad snapshot lines go to `report` (and are skipped). */
export async function importHeader(opts: ImportOptions, report: (p: TraceProblem) => void): Promise<ImportFacts> {
  const origin: Record<string, string> = {};
  const pre = await prescan(opts.bpftrace, opts.backend);
  origin.backend = pre.backendOrigin;
  const dirs = [...new Set([opts.snapshot ? dirname(opts.snapshot) : undefined, dirname(opts.netlink), dirname(opts.bpftrace), dirname(dirname(opts.bpftrace))].filter((d): d is string => !!d))];

  const fact = (flag: string | undefined, flagName: string, file: string, pick: (t: string) => string | undefined): string | undefined => {
    if (flag !== undefined) {
      origin[flagName] = `--${flagName}`;
      return flag;
    }
    const s = sibling(dirs, file);
    const v = s ? pick(s.text) : undefined;
    if (s && v) origin[flagName] = s.path;
    return v;
  };
  const firstLine = (t: string) => t.split('\n')[0]?.trim() || undefined;
  const kernel = fact(opts.kernel, 'kernel', 'kernel.txt', firstLine) ?? sibling(dirs, 'uname.txt')?.text.split(/\s+/)[2] ?? 'unknown';
  const host = fact(opts.host, 'host', 'hostname.txt', firstLine) ?? 'unknown';
  const btVersion = fact(opts.bpftraceVersion, 'bpftrace-version', 'bpftrace-version.txt', (t) => /v?(\d+\.\d+\.\d+)/.exec(t)?.[1]) ?? null;

  // The initial snapshot, with sysfs assign types when there are any.
  let snapshot: LinkState[] = [];
  if (opts.snapshot) {
    let text: string;
    try {
      text = await readFile(opts.snapshot, 'utf8');
    } catch (e) {
      throw new IfblameError(`${opts.snapshot}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`, 'give `ip -d -j link show` output as --snapshot');
    }
    const r = parseIpLinkJson(text);
    for (const e of r.errors) report({ file: opts.snapshot, line: e.line, level: 'error', message: `${e.error}: skipped`, skipped: true });
    snapshot = r.links;
    const aatPath = opts.aat ?? (existsSync(join(dirname(opts.snapshot), 'aat.txt')) ? join(dirname(opts.snapshot), 'aat.txt') : undefined);
    if (aatPath) {
      origin.aat = opts.aat ? '--aat' : aatPath;
      let aatText: string;
      try {
        aatText = await readFile(aatPath, 'utf8');
      } catch (e) {
        throw new IfblameError(`${aatPath}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`, 'give lines "<ifname> <addr_assign_type> <address>" as --aat');
      }
      const rows = parseAssignTypes(aatText);
      for (const e of rows.errors) report({ file: aatPath, line: e.line, level: 'error', message: `${e.error}: skipped`, skipped: true });
      snapshot = mergeAssignTypes(snapshot, rows.rows);
    }
  }

  let program: string;
  if (opts.program) {
    try {
      program = await readFile(opts.program, 'utf8');
    } catch (e) {
      throw new IfblameError(`${opts.program}: ${(e as Error).message}`, 'give the .bt file that ran as --program');
    }
    origin.program = '--program';
  } else {
    const dropped = droppedFor(pre.backend, pre.probes);
    const gen = generate({ backend: pre.backend, filters: { iface: [], comm: [] }, dropped, version: VERSION });
    program = `// Regenerated by ifblame import from the probes ${basename(opts.bpftrace)} names (#cols lines); pass --program to keep the exact text that ran.\n${gen.text}`;
    origin.program = 'regenerated';
  }

  const reasons = opts.program ? droppedReasons(program) : new Map<string, string>();
  const header = buildHeader({
    createdAt: new Date(Math.floor((pre.monoToWallUs + pre.mono / 1000) / 1000)).toISOString(),
    host,
    kernel,
    bpftraceVersion: btVersion,
    backend: pre.backend,
    program,
    probes: { used: pre.probes, dropped: droppedFor(pre.backend, pre.probes).map((d) => ({ ...d, reason: reasons.get(d.probe) ?? d.reason })) },
    clock: { monoToWallUs: pre.monoToWallUs },
    snapshot,
    tool: `ifblame ${VERSION} import`,
    ...(opts.netns !== undefined ? { netns: opts.netns } : {}),
  });
  return { header, pre, origin, utcOffset: opts.utcOffset ?? pre.utcOffsetMin ?? 'local' };
}

