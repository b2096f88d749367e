// Validate bpftrace's `-f json` messages (never guessed) and decode our printf lines by the probe field lists.
import { z } from 'zod';
import type { Backend, ProbeEvent } from '../events.js';
import { decodeValue, type Field } from '../probes/fields.js';
import { layoutsFor, RET_SUFFIX } from '../probes/layout.js';

/**
 * The JSON messages bpftrace prints. Shapes differ across releases (0.16 .. 0.25): counts may be numbers or
 * strings, `lost_events` moved, maps print differently; we accept the variants we know and report the rest.
 */
const Count = z.union([z.number(), z.string().regex(/^\d+$/).transform(Number)]);
export const BpftraceMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('attached_probes'), data: z.object({ probes: Count }) }),
  z.object({ type: z.literal('printf'), data: z.string() }),
  z.object({ type: z.literal('lost_events'), data: z.object({ events: Count }) }),
  z.object({ type: z.literal('map'), data: z.unknown() }),
  z.object({ type: z.literal('hist'), data: z.unknown() }),
  z.object({ type: z.literal('stats'), data: z.unknown() }),
  z.object({ type: z.literal('time'), data: z.unknown() }),
  z.object({ type: z.literal('join'), data: z.unknown() }),
  z.object({ type: z.literal('helper_error'), data: z.unknown(), msg: z.string().optional() }),
  z.object({ type: z.literal('error'), msg: z.string().optional(), data: z.unknown().optional() }),
]);
export type BpftraceMessage = z.infer<typeof BpftraceMessage>;

/** What one stdout line of bpftrace turned into. */
export type Decoded =
  | { kind: 'attached'; probes: number }
  | { kind: 'clock'; mono: number; wall: string }
  /**
   * The program's heartbeat at `ts`. `cpus.last`: for CPUs `base`.. of `total`, the time (`mono`, ns; 0: none yet)
   * of the last event each printed before it; once those have been read, nothing older than `ts` is still to come.
   * Without it (a program of an older ifblame) the time alone.
   */
  | { kind: 'heartbeat'; mono: number; ts: number; cpus?: { total: number; base: number; last: number[] } }
  | { kind: 'cols'; probe: string; columns: string[]; mismatch?: string }
  | { kind: 'event'; event: ProbeEvent }
  | { kind: 'lost'; count: number }
  | { kind: 'ignored'; what: string }
  | { kind: 'error'; message: string };

export interface DecodeContext {
  backend: Backend;
  /** Add to `nsecs / 1000` to get wall-clock microseconds; set from the live clock or the `#clock` line. */
  monoToWallUs: number;
}

/** Frames a reader should not see: fentry/fexit programs and trampolines. */
const BPF_FRAME = /^(bpf_prog_[0-9a-f]+|bpf_trampoline_\d+)/;

/** One cached layout map per backend: the parser reads by the same lists the generator printed. */
const layoutCache = new Map<Backend, Map<string, readonly Field[]>>();
function layouts(backend: Backend): Map<string, readonly Field[]> {
  let l = layoutCache.get(backend);
  if (!l) layoutCache.set(backend, (l = layoutsFor(backend)));
  return l;
}

/** Decode one line of `bpftrace -f json` output. Never throws. */
export function decodeLine(line: string, ctx: DecodeContext): Decoded {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    return { kind: 'error', message: 'not JSON' };
  }
  const msg = BpftraceMessage.safeParse(json);
  if (!msg.success) {
    const type = typeof json === 'object' && json && 'type' in json ? String((json as { type: unknown }).type) : '?';
    return { kind: 'error', message: `unknown bpftrace message type ${JSON.stringify(type)}` };
  }
  const m = msg.data;
  switch (m.type) {
    case 'attached_probes':
      return { kind: 'attached', probes: m.data.probes };
    case 'lost_events':
      return { kind: 'lost', count: m.data.events };
    case 'printf':
      return decodePrintf(m.data, ctx);
    case 'error':
    case 'helper_error':
      return { kind: 'error', message: m.msg ?? JSON.stringify(m.data) };
    default:
      return { kind: 'ignored', what: m.type };
  }
}

/** Decode the text of one printf: `tag\tfield...\n` then the kernel stack, one frame per line. */
export function decodePrintf(data: string, ctx: DecodeContext): Decoded {
  const nl = data.indexOf('\n');
  const first = nl < 0 ? data : data.slice(0, nl);
  const cols = first.split('\t');
  const tag = cols[0] ?? '';
  if (tag === '#clock') {
    const mono = Number(cols[1]);
    if (!Number.isFinite(mono) || !cols[2]) return { kind: 'error', message: 'bad #clock line' };
    return { kind: 'clock', mono, wall: cols[2] };
  }
  if (tag === '#hb') {
    const mono = Number(cols[1]);
    if (!Number.isFinite(mono)) return { kind: 'error', message: 'bad #hb line' };
    const ts = ctx.monoToWallUs + mono / 1000;
    if (cols.length < 3) return { kind: 'heartbeat', mono, ts };
    const [total, base, ...last] = cols.slice(2).map(Number);
    const whole = (n: number | undefined): n is number => n !== undefined && Number.isSafeInteger(n) && n >= 0;
    if (!whole(total) || !whole(base) || !last.length || !last.every(whole) || base + last.length > total) return { kind: 'error', message: 'bad #hb line' };
    return { kind: 'heartbeat', mono, ts, cpus: { total, base, last } };
  }
  if (tag === '#cols') return checkColumns(cols.slice(1), ctx.backend);
  const layout = layouts(ctx.backend).get(tag);
  if (!layout) return { kind: 'error', message: `unknown probe ${JSON.stringify(tag.slice(0, 40))} for the ${ctx.backend} backend` };
  const values = cols.slice(1);
  const last = layout[layout.length - 1];
  // A `text` last field takes the rest of the line, tabs included.
  if (last?.type === 'text' && values.length > layout.length) values.splice(layout.length - 1, values.length, values.slice(layout.length - 1).join('\t'));
  if (values.length !== layout.length) return { kind: 'error', message: `${tag}: ${values.length} fields, expected ${layout.length}` };
  const fields: Record<string, string | number | null> = {};
  for (let i = 0; i < layout.length; i++) {
    const f = layout[i]!;
    const v = decodeValue(f, values[i]!);
    if (v === undefined) return { kind: 'error', message: `${tag}: field ${f.name} ${JSON.stringify(values[i]!.slice(0, 40))} is not ${f.type}` };
    fields[f.name] = v;
  }
  const stack =
    nl < 0
      ? []
      : data
          .slice(nl + 1)
          .split('\n')
          .map((s) => s.trim())
          .filter((s) => s && !BPF_FRAME.test(s));
  const { nsecs, pid, tid, comm, ppid, pcomm, cgroup, netns, ...own } = fields;
  const ret = tag.endsWith(RET_SUFFIX);
  const event: ProbeEvent = {
    type: 'probe',
    ts: Math.round(Number(nsecs) / 1000 + ctx.monoToWallUs),
    mono: Number(nsecs),
    backend: ctx.backend,
    probe: ret ? tag.slice(0, -RET_SUFFIX.length) : tag,
    phase: ret ? 'return' : 'entry',
    pid: Number(pid),
    tid: Number(tid),
    comm: String(comm),
    ...(ppid !== undefined ? { ppid: Number(ppid) } : {}),
    ...(pcomm !== undefined ? { pcomm: String(pcomm) } : {}),
    ...(cgroup !== undefined ? { cgroupId: String(cgroup) } : {}),
    ...(netns !== undefined ? { netns: Number(netns) } : {}),
    fields: own,
    kstack: stack,
  };
  return { kind: 'event', event };
}

/** The program says which columns it prints: a program from another ifblame version is caught here. */
function checkColumns(cols: string[], backend: Backend): Decoded {
  const [probe = '', ...columns] = cols;
  const layout = layouts(backend).get(probe);
  const expected = layout?.map((f) => f.name).join(',');
  const mismatch = !layout ? `unknown probe ${probe}` : expected !== columns.join(',') ? `columns ${columns.join(',')} differ from ${expected}` : undefined;
  return { kind: 'cols', probe, columns, ...(mismatch ? { mismatch } : {}) };
}

/** `2026-11-21T12:40:56.887063+0000` (strftime %f%z) -> microseconds since the epoch. */
export function parseClockWall(wall: string): number | undefined {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\.(\d{1,9})([+-]\d{2})(\d{2})$/.exec(wall);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}${m[3]}:${m[4]}`);
  if (!Number.isFinite(ms)) return undefined;
  return ms * 1000 + Math.floor(Number(m[2]!.padEnd(6, '0').slice(0, 6)));
}
