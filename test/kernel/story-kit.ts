// The vocabulary of the real-kernel stories: validating a trace file against the product's schemas, finding a change,
// its actor, its path and the step it happened in.  Shared by stories.ts and stories-moves.ts.
import assert from 'node:assert/strict';
import { Change, TraceEvent } from '../../src/events.js';
import { TraceHeader } from '../../src/trace/format.js';
import type { Step, TraceFile } from './harness.js';

export type ChangeT = ReturnType<typeof Change.parse>;
export type Kind = ChangeT['kind'];
export type StoryBackend = 'kprobe' | 'kfunc' | 'syscalls';

export interface StoryInput {
  trace: TraceFile;
  backend: StoryBackend;
  /** The guest's steps.log; absent on replay of a recording. */
  steps?: Step[];
  /** `uname -r` in the guest; absent on replay (then the header must still name a real kernel). */
  kernel?: string;
  /** The exact program that ran; the header must carry it. */
  program?: string;
}

/** Every line validates against the product's own schemas; returns the changes, in file order. */
export function validate(input: StoryInput): ChangeT[] {
  const { trace, backend } = input;
  const h = TraceHeader.safeParse(trace.header);
  assert.ok(h.success, `trace header does not validate: ${h.success ? '' : JSON.stringify(h.error.issues.slice(0, 5))}`);
  assert.equal(h.data.backend, backend, 'header.backend');
  if (input.kernel) assert.equal(h.data.kernel, input.kernel, 'header.kernel is the guest kernel');
  assert.match(h.data.kernel, /^\d+\.\d+\./, 'header.kernel names a kernel release');
  assert.ok(h.data.program.includes('BEGIN'), 'header.program holds the generated program');
  if (input.program !== undefined) assert.equal(h.data.program, input.program, 'header.program is the exact program that ran');
  assert.ok(h.data.snapshot.length > 0, 'header.snapshot holds the initial link snapshot');
  assert.equal(trace.bad, 0, 'no unparsable lines');
  const changes: ChangeT[] = [];
  trace.events.forEach((e, i) => {
    const r = TraceEvent.safeParse(e);
    assert.ok(
      r.success,
      `event ${i + 2} does not validate: ${r.success ? '' : JSON.stringify(r.error.issues.slice(0, 3))}\n${JSON.stringify(e).slice(0, 400)}`,
    );
    if (r.data.type === 'change') changes.push(r.data);
  });
  // fentry stacks start with bpf_prog_…/bpf_trampoline_… frames (and a concurrent fentry program puts
  // trampolines into kprobe stacks too): a reader must not see them
  for (const c of changes) {
    const bpf = [...c.via.kstack, ...c.via.path].filter((f) => /\bbpf_(prog|trampoline)_/.test(f));
    assert.deepEqual(bpf, [], `BPF frames shown to the reader: ${show(c)}`);
  }
  // every interface that appears during the capture (not in the initial snapshot) has its `created` change
  const known = new Set(h.data.snapshot.map((l) => l.ifname));
  const appeared = new Set(
    trace.events.filter((e) => e.type === 'link' && e.action === 'new' && e.family !== 'bridge' && !known.has(String(e.ifname))).map((e) => String(e.ifname)),
  );
  for (const n of appeared)
    assert.ok(
      changes.some((c) => c.iface === n && c.kind === 'created'),
      `${n} was created during the capture but there is no 'created' change; changes:\n${describe(changes)}`,
    );
  const lost = trace.events.filter((e) => e.type === 'lost').reduce((n, e) => n + Number(e.count ?? 0), 0);
  assert.equal(lost, 0, `${lost} events lost`);
  return changes;
}

// ---------------------------------------------------------------- helpers

export const show = (c: ChangeT) =>
  `${c.iface} ${c.kind} ${JSON.stringify(c.before)} -> ${JSON.stringify(c.after)} by ${c.actor ? `${c.actor.comm}[${c.actor.pid}]${c.actor.service ? ` (${c.actor.service})` : ''}${c.actor.kernel ? ' kernel' : ''}` : 'nobody'} via ${c.via.probe ?? '-'} path=[${c.via.path.join(' > ')}] ${c.evidence}`;

export function describe(changes: ChangeT[]): string {
  return changes.map((c) => '  ' + show(c)).join('\n');
}

export function of(changes: ChangeT[], iface: string, kind: Kind): ChangeT[] {
  return changes.filter((c) => c.iface === iface && c.kind === kind);
}

/** Real changes only: a MAC "set" to the value it already had is not a change. */
export function real(cs: ChangeT[]): ChangeT[] {
  return cs.filter((c) => c.before !== c.after);
}

export const mac = (v: unknown) => (typeof v === 'string' ? v.toLowerCase() : v);

export function isUdev(c: ChangeT): boolean {
  const a = c.actor;
  return !!a && (a.service === 'systemd-udevd' || a.comm === '(udev-worker)' || a.comm === 'systemd-udevd');
}

export function mentions(c: ChangeT, fn: string): boolean {
  return c.via.path.some((p) => p.includes(fn));
}

export function inStack(c: ChangeT, re: RegExp): boolean {
  return c.via.kstack.some((f) => re.test(f));
}

/** The first change matching `pred` after index `from` (file order), or a failure listing all changes. */
export function find(changes: ChangeT[], what: string, pred: (c: ChangeT) => boolean, from = -1): [ChangeT, number] {
  const i = changes.findIndex((c, j) => j > from && pred(c));
  assert.ok(i >= 0, `expected ${what}; the changes were:\n${describe(changes)}`);
  return [changes[i]!, i];
}

/** With steps: the change's time falls in [start of the first step named, start of the step after the last one). */
export function during(input: StoryInput, c: ChangeT, ...names: string[]): void {
  if (!input.steps?.length) return;
  const idx = names.map((n) => {
    const i = input.steps!.findIndex((s) => s.name === n);
    assert.ok(i >= 0, `no step ${n} in steps.log`);
    return i;
  });
  const first = input.steps[Math.min(...idx)]!;
  const end = input.steps[Math.max(...idx) + 1]?.start ?? Infinity;
  // 5 ms slack: probe and step clocks are read at different moments
  assert.ok(c.ts >= first.start - 5_000 && c.ts < end, `${show(c)} at ${c.ts} is not during ${names.join('/')} [${first.start}, ${end})`);
}

export function actorIs(c: ChangeT, comm: string, what: string): void {
  assert.ok(c.actor, `${what}: no actor: ${show(c)}`);
  assert.equal(c.actor.comm, comm, `${what}: actor comm: ${show(c)}`);
  assert.equal(c.actor.kernel, false, `${what}: a user process, not the kernel: ${show(c)}`);
}

export const observedKernel = (b: StoryBackend) => b === 'kprobe' || b === 'kfunc';

/** The syscalls backend never claims to have seen a kernel-internal change. */
export function notObserved(c: ChangeT, what: string): void {
  assert.notEqual(c.evidence, 'observed', `${what}: the syscalls backend cannot observe this: ${show(c)}`);
}

/** The addresses netlink reported for an interface, in time order (before `until`, µs, when given). */
export function netlinkAddrs(trace: TraceFile, iface: string, until = Infinity): string[] {
  return trace.events
    .filter((x) => x.type === 'link' && x.ifname === iface && typeof x.addr === 'string' && x.addr !== '' && Number(x.ts) < until)
    .sort((a, b) => Number(a.ts) - Number(b.ts))
    .map((x) => String(x.addr).toLowerCase());
}
