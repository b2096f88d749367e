// `ifblame import`: build a trace file from raw outputs people already have — the `bpftrace -f json` output of
// ifblame's own program (`ifblame script`) and `ip -ts -o monitor link` — through the same decoder and correlator
// as a live session, so replay and explain treat it like a recording.
import { createReadStream, existsSync, readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { parse } from '../cli/args.js';
import { Correlator } from '../correlate/correlator.js';
import { EXIT, IfblameError } from '../errors.js';
import { Backend, type LinkEvent, type LinkState, type ProbeDrop, type ProbeEvent, type TraceEvent } from '../events.js';
import { FORMAT_NAME, SCHEMA_VERSION, type TraceHeader } from '../trace/format.js';
import { decodeLine, parseClockWall, type Decoded } from '../parse/bpftrace-json.js';
import { parseIpLinkJson } from '../parse/ip-link-json.js';
import { parseIpMonitorLine } from '../parse/ip-monitor.js';
import { KERNEL_PROBES, SYSCALL_PROBES } from '../probes/catalog.js';
import { generate } from '../probes/generate.js';
import { createRecorder } from '../trace/writer.js';
import { mergeAssignTypes, parseAssignTypes } from '../parse/sysfs.js';
import { formatProblem, TraceFileError, type TraceProblem } from '../trace/problems.js';
import { LineSplitter } from '../trace/lines.js';
import type { UtcOffset } from '../time/local-time.js';
import { VERSION } from '../version.js';

const HELP = `Usage: ifblame import --bpftrace FILE --netlink FILE [--snapshot FILE] -o TRACE
                      [--aat FILE] [--kernel RELEASE] [--host NAME] [--backend kfunc|kprobe|syscalls]
                      [--program FILE] [--utc-offset +HH:MM|local] [--netns INODE] [--strict]

Builds a trace file (for replay and explain) from raw outputs:
  --bpftrace FILE   what \`bpftrace -f json -B line PROGRAM\` printed, PROGRAM being \`ifblame script\` output
  --netlink FILE    what \`ip [-d] -ts -o monitor link\` printed over the same time (-d adds promiscuity counts)
  --snapshot FILE   \`ip -d -j link show\` taken when tracing started (the initial interface state)
  --aat FILE        lines "<ifname> <addr_assign_type> <address>" from /sys/class/net/*/ at the same moment
  --program FILE    the program that ran (else it is regenerated from the probes the output names)
  --kernel, --host  facts about the traced machine (default: kernel.txt / hostname.txt next to the inputs)
  --backend         which program produced the output (default: detected from the output)
  --utc-offset      zone of ip's [timestamps] (default: the zone bpftrace's #clock line names)
  --netns INODE     keep only probe events from this network namespace (ip monitor ran inside it)
  --strict          stop at the first bad line (default: report it as FILE:LINE, record it as lost, go on)
`;

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

export interface ImportResult {
  header: TraceHeader;
  events: number;
  changes: number;
  lost: number;
  badLines: number;
  /** Where the facts came from: `--kernel`, `kernel.txt`, `detected`... */
  origin: Record<string, string>;
}

const MAX_LINE_BYTES = 16 * 1024 * 1024;
/** Both raw outputs are in time order but for small jitter (per-CPU buffers): the merge waits this long. */
const MERGE_WINDOW_US = 2_000_000;
const DETECT_LINES = 5000;

/** Lines of a file, streaming, in batches: `{ text, no, terminated }`; over-long lines come back as `text: null`. */
async function* fileLines(path: string): AsyncGenerator<{ text: string | null; no: number; terminated: boolean; bytes: number }[]> {
  let batch: { text: string | null; no: number; terminated: boolean; bytes: number }[] = [];
  const splitter = new LineSplitter(
    MAX_LINE_BYTES,
    (buf, s, e, no, terminated) => {
      const end = e > s && buf[e - 1] === 13 ? e - 1 : e;
      batch.push({ text: buf.toString('utf8', s, end), no, terminated, bytes: e - s });
    },
    (no, bytes, terminated) => batch.push({ text: null, no, terminated, bytes }),
  );
  let stream;
  try {
    stream = createReadStream(path, { highWaterMark: 128 * 1024 });
    for await (const chunk of stream) {
      splitter.push(chunk as Buffer);
      if (batch.length) {
        yield batch;
        batch = [];
      }
    }
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new IfblameError(`${path}: ${err.code === 'ENOENT' ? 'no such file' : err.code === 'EACCES' ? 'permission denied' : err.code === 'EISDIR' ? 'is a directory' : err.message}`, 'check the path given to import');
  }
  splitter.end();
  if (batch.length) yield batch;
}

/** One item of a raw source in the merge: an event, or a marker for a lost/bad line (placed at `ts`). */
type RawItem = { ts: number; src: 0 | 1; idx: number; ev: ProbeEvent | LinkEvent | TraceEvent; raw: boolean };

/** Min-heap by (ts, source, input order): probes before netlink at equal times (the kernel fires the probe first). */
class Heap {
  private a: RawItem[] = [];
  get size(): number {
    return this.a.length;
  }
  peek(): RawItem | undefined {
    return this.a[0];
  }
  private less(x: RawItem, y: RawItem): boolean {
    return x.ts < y.ts || (x.ts === y.ts && (x.src < y.src || (x.src === y.src && x.idx < y.idx)));
  }
  push(x: RawItem): void {
    const a = this.a;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }
  pop(): RawItem | undefined {
    const a = this.a;
    const top = a[0];
    const last = a.pop();
    if (a.length && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l]!, a[m]!)) m = l;
        if (r < a.length && this.less(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

/** What the beginning of the bpftrace output says: the clock, the probes the program printed, the backend. */
interface Prescan {
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
        if (!/#clock|#cols/.test(l.text.slice(0, 60))) sample.push(l.text);
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

/** Builds the trace file. Bad input lines go to `onProblem` (and into the trace as lost events); strict stops at the first. */
export async function importTrace(opts: ImportOptions, onProblem: (p: TraceProblem) => void = () => undefined): Promise<ImportResult> {
  const origin: Record<string, string> = {};
  let strictError: TraceFileError | undefined;
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
  const header: TraceHeader = {
    format: FORMAT_NAME,
    version: SCHEMA_VERSION,
    createdAt: new Date(Math.floor((pre.monoToWallUs + pre.mono / 1000) / 1000)).toISOString(),
    host,
    kernel,
    bpftraceVersion: btVersion,
    backend: pre.backend,
    program,
    probes: { used: pre.probes, dropped: droppedFor(pre.backend, pre.probes).map((d) => ({ ...d, reason: reasons.get(d.probe) ?? d.reason })) },
    filters: { iface: [], comm: [] },
    clock: { monoToWallUs: pre.monoToWallUs },
    snapshot,
    tool: `ifblame ${VERSION} import`,
    ...(opts.netns !== undefined ? { netns: opts.netns } : {}),
  };

  const utcOffset: UtcOffset = opts.utcOffset ?? pre.utcOffsetMin ?? 'local';
  const recorder = createRecorder(opts.out, header);
  const correlator = new Correlator(snapshot, { windowUs: 0, ...(opts.netns !== undefined ? { netns: opts.netns } : {}) });
  let seq = 0;
  const counts = { events: 0, changes: 0, lost: 0, badLines: 0 };
  function report(p: TraceProblem): void {
    if (opts.strict && !strictError) strictError = new TraceFileError(p.file, p.line, p.message, 'without --strict bad lines are reported, recorded as lost events, and the rest is imported');
    onProblem(p);
  }
  const write = (ev: TraceEvent) => {
    ev.seq = seq++;
    counts.events++;
    if (ev.type === 'change') counts.changes++;
    if (ev.type === 'lost') counts.lost += ev.count;
    recorder.write(ev);
  };

  // Source 0: bpftrace output -> probe events (+ lost / notes / bad lines in place).
  async function* bpftraceItems(): AsyncGenerator<RawItem> {
    let lastTs = pre.monoToWallUs + pre.mono / 1000;
    let idx = 0;
    let monoToWallUs = pre.monoToWallUs;
    const file = opts.bpftrace;
    for await (const batch of fileLines(file)) {
      for (const l of batch) {
        idx++;
        const bad = (message: string, level: 'error' | 'warning' = 'error'): RawItem => {
          counts.badLines++;
          report({ file, line: l.no, level, message: `${message}: skipped`, skipped: true });
          return { ts: lastTs, src: 0, idx, raw: false, ev: { type: 'lost', ts: Math.round(lastTs), source: 'parser', count: 1, detail: `${file}:${l.no}: ${message}` } };
        };
        if (l.text === null) {
          yield bad(`line is ${l.bytes} bytes, longer than the ${MAX_LINE_BYTES / 1024 / 1024} MiB limit`);
          continue;
        }
        if (l.text.trim() === '') continue;
        const d: Decoded = decodeLine(l.text, { backend: pre.backend, monoToWallUs });
        switch (d.kind) {
          case 'event':
            lastTs = d.event.ts;
            yield { ts: d.event.ts, src: 0, idx, raw: true, ev: d.event };
            break;
          case 'clock': {
            const w = parseClockWall(d.wall);
            if (w !== undefined) monoToWallUs = w - d.mono / 1000;
            break;
          }
          case 'lost':
            yield { ts: lastTs, src: 0, idx, raw: false, ev: { type: 'lost', ts: Math.round(lastTs), source: 'bpftrace', count: d.count, detail: 'bpftrace perf buffer overflow' } };
            break;
          case 'attached':
            yield { ts: lastTs, src: 0, idx, raw: false, ev: { type: 'note', ts: Math.round(lastTs), level: 'info', source: 'bpftrace', message: `bpftrace attached ${d.probes} probes` } };
            break;
          case 'cols':
            if (d.mismatch) yield { ts: lastTs, src: 0, idx, raw: false, ev: { type: 'note', ts: Math.round(lastTs), level: 'warn', source: 'bpftrace', message: `program output differs from this ifblame: ${d.mismatch}` } };
            break;
          case 'error':
            yield bad(l.terminated ? d.message : `torn last line (${d.message})`, l.terminated ? 'error' : 'warning');
            break;
          default:
            break;
        }
        if (strictError) return;
      }
    }
  }

  // Source 1: ip monitor lines -> link events.
  async function* netlinkItems(): AsyncGenerator<RawItem> {
    let lastTs = pre.monoToWallUs + pre.mono / 1000;
    let idx = 0;
    const file = opts.netlink;
    for await (const batch of fileLines(file)) {
      for (const l of batch) {
        idx++;
        if (l.text !== null && l.text.trim() === '') continue;
        const r = l.text === null ? { error: `line is ${l.bytes} bytes, longer than the limit`, line: l.no } : parseIpMonitorLine(l.text, l.no, { utcOffset });
        if ('error' in r) {
          counts.badLines++;
          const message = l.terminated ? r.error : `torn last line (${r.error})`;
          report({ file, line: l.no, level: l.terminated ? 'error' : 'warning', message: `${message}: skipped`, skipped: true });
          yield { ts: lastTs, src: 1, idx, raw: false, ev: { type: 'lost', ts: Math.round(lastTs), source: 'parser', count: 1, detail: `${file}:${l.no}: ${message}` } };
        } else {
          lastTs = r.ts;
          yield { ts: r.ts, src: 1, idx, raw: true, ev: r };
        }
        if (strictError) return;
      }
    }
  }

  try {
    const heap = new Heap();
    const release = (bound: number) => {
      while (heap.size && heap.peek()!.ts <= bound) {
        const it = heap.pop()!;
        write(it.ev as TraceEvent);
        if (it.raw) for (const d of correlator.push(it.ev as ProbeEvent | LinkEvent)) write(d);
      }
    };
    const sources = [bpftraceItems(), netlinkItems()];
    const heads = await Promise.all(sources.map((s) => s.next()));
    const seen = [-Infinity, -Infinity];
    for (;;) {
      if (strictError) break;
      const live = [0, 1].filter((i) => !heads[i]!.done);
      if (!live.length) break;
      const i = live.length === 1 ? live[0]! : (heads[0]!.value as RawItem).ts <= (heads[1]!.value as RawItem).ts ? 0 : 1;
      const item = heads[i]!.value as RawItem;
      heap.push(item);
      seen[i] = Math.max(seen[i]!, item.ts);
      heads[i] = await sources[i]!.next();
      const bound = Math.min(...[0, 1].map((k) => (heads[k]!.done ? Infinity : seen[k]! - MERGE_WINDOW_US)));
      release(bound);
    }
    if (strictError) throw strictError;
    release(Infinity);
    for (const d of correlator.flush()) write(d);
  } catch (e) {
    // no half-made trace left behind to be mistaken for a whole one
    recorder.close();
    rmSync(opts.out, { force: true });
    throw e;
  } finally {
    recorder.close();
  }
  return { header, ...counts, origin };
}

/** `--utc-offset +01:00` / `-0500` / `0` / `local` -> minutes east of UTC. */
export function parseUtcOffset(text: string): UtcOffset {
  if (text === 'local') return 'local';
  const m = /^([+-])?(\d{1,2})(?::?(\d{2}))?$/.exec(text.trim());
  if (!m) throw new IfblameError(`--utc-offset ${JSON.stringify(text)} is not an offset`, 'use +01:00, -0500, 0 or local');
  const min = Number(m[2]) * 60 + Number(m[3] ?? 0);
  if (min > 14 * 60) throw new IfblameError(`--utc-offset ${JSON.stringify(text)} is out of range`, 'offsets go from -14:00 to +14:00');
  return m[1] === '-' ? -min : min;
}

export async function runImport(args: string[], io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream } = process): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      bpftrace: { type: 'string' },
      netlink: { type: 'string' },
      snapshot: { type: 'string' },
      aat: { type: 'string' },
      output: { type: 'string', short: 'o' },
      kernel: { type: 'string' },
      host: { type: 'string' },
      backend: { type: 'string' },
      program: { type: 'string' },
      'bpftrace-version': { type: 'string' },
      'utc-offset': { type: 'string' },
      netns: { type: 'string' },
      strict: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    true,
  );
  const v = values as Record<string, string | boolean | undefined>;
  if (v.help) {
    io.stdout.write(HELP);
    return EXIT.ok;
  }
  if (positionals.length) throw new IfblameError(`unexpected argument ${JSON.stringify(positionals[0])}`, 'ifblame import --bpftrace FILE --netlink FILE [--snapshot FILE] -o TRACE');
  const need = (k: string, what: string) => {
    const x = v[k];
    if (typeof x !== 'string' || !x) throw new IfblameError(`import needs --${k} ${what}`, 'ifblame import --bpftrace FILE --netlink FILE [--snapshot FILE] -o TRACE');
    return x;
  };
  const opts: ImportOptions = { bpftrace: need('bpftrace', 'FILE'), netlink: need('netlink', 'FILE'), out: need('output', 'TRACE (-o)') };
  const str = (k: string) => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
  if (str('snapshot')) opts.snapshot = str('snapshot')!;
  if (str('aat')) opts.aat = str('aat')!;
  if (str('kernel')) opts.kernel = str('kernel')!;
  if (str('host')) opts.host = str('host')!;
  if (str('program')) opts.program = str('program')!;
  if (str('bpftrace-version')) opts.bpftraceVersion = str('bpftrace-version')!;
  if (str('utc-offset') !== undefined) opts.utcOffset = parseUtcOffset(str('utc-offset')!);
  if (str('backend') !== undefined) {
    const b = Backend.safeParse(str('backend'));
    if (!b.success) throw new IfblameError(`--backend ${JSON.stringify(str('backend'))} is not a backend`, 'use kfunc, kprobe or syscalls');
    opts.backend = b.data;
  }
  if (str('netns') !== undefined) {
    const n = Number(str('netns'));
    if (!Number.isSafeInteger(n) || n <= 0) throw new IfblameError(`--netns ${JSON.stringify(str('netns'))} is not a namespace inode`, 'use the number `stat -L -c %i /proc/PID/ns/net` prints');
    opts.netns = n;
  }
  if (v.strict) opts.strict = true;
  if (opts.out === opts.bpftrace || opts.out === opts.netlink || opts.out === opts.snapshot) throw new IfblameError(`-o ${opts.out} would overwrite an input`, 'write the trace to a new file');
  let problems = 0;
  const r = await importTrace(opts, (p) => {
    problems++;
    io.stderr.write(formatProblem(p) + '\n');
  });
  const from = (k: string) => (r.origin[k] ? ` (${r.origin[k]})` : '');
  io.stderr.write(
    `ifblame: imported ${r.events} events (${r.changes} changes${r.lost ? `, ${r.lost} lost` : ''}${problems ? `, ${problems} bad lines` : ''}) into ${opts.out}: ` +
      `backend ${r.header.backend}${from('backend')}, kernel ${r.header.kernel}${from('kernel')}, host ${r.header.host}${from('host')}, ${r.header.snapshot.length} interfaces in the snapshot\n`,
  );
  return EXIT.ok;
}

export const run = (args: string[]): Promise<number> => runImport(args);
