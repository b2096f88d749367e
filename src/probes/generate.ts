// Catalog + options -> one complete bpftrace program for a backend; the only place programs are written.
import type { Backend, ProbeDrop } from '../events.js';
import { bpftraceString, type Filters } from '../options.js';
import { DERIVED, KERNEL_PROBES, RESTARTED, SYSCALL_PROBES, SYSFS_FD_TRACKING, SYSFS_MAPS, type KernelProbe, type Param, type SyscallProbe } from './catalog.js';
import { dialectOf, inDialect, type Dialect } from './dialect.js';
import { argumentOf, COMMON_RET_FIELDS, formatOf, type Field } from './fields.js';
import { attachOf, commonAndOwn, RET_SUFFIX, SYSCALL_RET, type Attach } from './layout.js';

/** How often a program prints its heartbeat (`#hb`), in ms. */
export const HEARTBEAT_MS = 100;
/** CPUs per `#hb` line (a printf's arguments are few): a machine with more prints several lines per heartbeat. */
export const HEARTBEAT_CPUS_PER_LINE = 16;
/** Each CPU's last event time (the `nsecs` it printed), read by the heartbeat: see feed/heartbeat-gate.ts. */
const LAST = '@ifb_last';

export interface GenerateOptions {
  backend: Backend;
  filters: Filters;
  /** Probe ids to leave out, with the reason shown in the header (from detection). */
  dropped?: ProbeDrop[];
  /** Parameter names as this kernel's BTF spells them (kfunc reads `args->NAME`). */
  paramNames?: Record<string, string[]>;
  /** Probe id -> the alternative function it attaches to on this kernel (detection chose it). */
  attachAt?: Record<string, string>;
  /** Only these probe ids (a program for one module's probes, attached when the module loads). */
  only?: string[];
  version?: string;
  /** The bpftrace that will run the program (`0.23.2`): constructs it would warn about are written its way. */
  bpftrace?: string | null;
  /** CPUs the heartbeat reports (this machine's possible CPUs; default 1: the shipped programs). */
  cpus?: number;
}

export interface Program {
  backend: Backend;
  text: string;
  /** Probe ids in the program, in order. */
  probes: string[];
  dropped: ProbeDrop[];
  /** Probe id -> function it attaches to, where that is an alternative to the catalog's own. */
  points: Record<string, string>;
}

/** The kernel probes a backend would use, before detection: fallbacks only when what they replace is dropped. */
export function kernelProbesFor(dropped: ProbeDrop[]): KernelProbe[] {
  const gone = new Set(dropped.map((d) => d.probe));
  return KERNEL_PROBES.filter((p) => !gone.has(p.id) && (!p.fallbackFor || gone.has(p.fallbackFor)));
}

/** The probe as it attaches here: the catalog's own function, or the alternative detection chose (same id and fields). */
export function atPoint(p: KernelProbe, func: string | undefined): KernelProbe {
  const alt = func && func !== p.func ? p.alternatives?.find((a) => a.func === func) : undefined;
  if (func && func !== p.func && !alt) throw new Error(`catalog: ${p.id} has no attach point ${func}`);
  return alt ? { ...p, func: alt.func, params: alt.params, ...(alt.derived ? { derived: alt.derived } : {}), why: `${p.why} [at ${alt.func}: ${alt.why}]` } : p;
}

export function generate(opts: GenerateOptions): Program {
  const dropped = [...(opts.dropped ?? [])];
  if (opts.backend === 'syscalls') return generateSyscalls(opts, dropped);
  const only = opts.only ? new Set(opts.only) : null;
  // Fallbacks not needed are not "dropped": they are simply not used.
  const probes = kernelProbesFor(dropped)
    .filter((p) => !only || only.has(p.id))
    .map((p) => atPoint(p, opts.attachAt?.[p.id]));
  const blocks = probes.map((p) => kernelBlock(p, attachOf(p, opts.backend), opts));
  const header = headerComment(opts, probes.map((p) => [p.id, p.why]), dropped);
  const begin = beginBlock(probes.map((p) => [p.id, commonAndOwn(p.fields)] as const), opts.cpus);
  const end = `END\n{\n  clear(${LAST});\n}`;
  const points = Object.fromEntries(probes.filter((p) => p.func !== KERNEL_PROBES.find((q) => q.id === p.id)?.func).map((p) => [p.id, p.func]));
  return { backend: opts.backend, text: [header, begin, ...blocks, end].join('\n\n') + '\n', probes: probes.map((p) => p.id), dropped, points };
}


/** `{dev}` -> `args->dev` (kfunc) or `((struct net_device *)arg0)` (kprobe). */
export function expand(expr: string, p: KernelProbe, attach: Attach, names?: string[]): string {
  let out = expr;
  for (let pass = 0; pass < 3 && out.includes('{'); pass++) {
    out = out.replace(/\{(\w+)\}/g, (whole, name: string) => {
      const i = p.params.findIndex((q) => q.name === name);
      if (i >= 0) return paramExpr(p.params[i]!, i, attach, names?.[i]);
      return p.derived?.[name] ?? DERIVED[name] ?? whole;
    });
  }
  if (/\{\w+\}/.test(out)) throw new Error(`catalog: unresolved placeholder in ${p.id}: ${expr}`);
  return out;
}

function paramExpr(q: Param, i: number, attach: Attach, btfName?: string): string {
  if (attach === 'kfunc') return `args->${btfName ?? q.name}`;
  if (q.ctype === 'bool') return `(arg${i} & 1)`;
  if (q.ctype === 'int') return `(int32)arg${i}`;
  if (q.ctype.endsWith('*') && q.ctype !== 'void *') return `((${q.ctype})arg${i})`;
  return `arg${i}`;
}

/**
 * fentry gives typed values: `retval` and `args->x` of an `int` are already int32, and bpftrace 0.27 warns
 * about every `(int32)` on them ("Unnecessary cast"), which would reach the user at each start.  Widening to
 * int64 keeps the sign on every version (older ones type some of them as 64-bit) and warns nowhere.
 * kprobe arguments and kretprobe's retval are untyped 64-bit registers: their (int32) stays.
 */
export function typedCasts(expr: string, attach: Attach): string {
  return attach === 'kfunc' ? expr.replace(/\(int32\)(retval\b|args->)/g, '(int64)$1') : expr;
}

/**
 * A kprobe program can cast only to types of the kernel's own BTF on newer bpftrace (0.23 on Debian 6.12:
 * `Cannot resolve unknown type "struct team"`): the team driver's private struct lives in the module's BTF.
 * Its first member is the team's net_device, so `((struct team *)argN)->dev` reads as a pointer at argN.
 */
export function moduleStructs(expr: string, attach: Attach): string {
  if (attach !== 'kprobe') return expr;
  // kprobe arguments are uint64 already: 0.27 warns "Unnecessary cast: expression is already of type uint64"
  return expr.replace(/\(\(struct team \*\)(arg\d)\)->dev\b/g, '(*(struct net_device **)$1)').replace(/\(uint64\)(arg\d)\b/g, '$1');
}

/**
 * bpftrace 0.22+ scopes a variable to the block that first assigns it: a variable set inside `if (...) { }`
 * and printed after it is "undefined" there (0.23 on Debian 6.12 refuses the whole program).  Declare every
 * variable the body assigns with a known type and the printf reads at the top, with that type, so every
 * version accepts it.
 */
export function hoistVariables(body: string, usedAfter: string): string {
  const seen = new Map<string, string>();
  for (const m of body.matchAll(/(\$\w+) = (?:\*\((\w+) \*\)|\((\w+)\))/g)) {
    const [, name, deref, cast] = m;
    if (!seen.has(name!)) seen.set(name!, (deref ?? cast)!);
  }
  const top = new Set([...body.matchAll(/^\s{2}(\$\w+) = /gm)].map((m) => m[1]!));
  const used = (n: string) => new RegExp(`\\${n}\\b`).test(usedAfter);
  const decls = [...seen].filter(([n]) => !top.has(n) && used(n)).map(([n, t]) => `${n} = (${t})0;`);
  return decls.length ? `\n  ${decls.join(' ')}${body}` : body;
}

/**
 * An event's printf. Its time is stored as its CPU's last and printed from there (no variable: the BPF stack is
 * nearly full), so a heartbeat that reads it can say which event of that CPU's buffer must arrive before it holds.
 */
function printfCall(tag: string, fields: readonly Field[], render: (f: Field) => [string, string | undefined], stack: boolean): string {
  const fmt = [tag, ...fields.map(formatOf)].join('\\t') + '\\n' + (stack ? '%s' : '');
  const args = fields.map((f) => {
    if (f.name === 'nsecs') return `${LAST}[cpu]`;
    const [expr, len] = render(f);
    return argumentOf(f, expr, len);
  });
  if (stack) args.push('kstack');
  return `${LAST}[cpu] = nsecs; printf("${fmt}",\n    ${args.join(', ')});`;
}

function predicate(parts: string[]): string {
  const kept = parts.filter(Boolean);
  return kept.length ? `\n/ ${kept.join(' && ')} /` : '';
}

function commFilter(filters: Filters): string {
  if (!filters.comm.length) return '';
  return '(' + filters.comm.map((c) => `comm == ${bpftraceString(c)}`).join(' || ') + ')';
}

function ifaceFilter(filters: Filters, devs: string[]): string {
  if (!filters.iface.length) return '';
  return '(' + devs.flatMap((d) => filters.iface.map((i) => `${d} == ${bpftraceString(i)}`)).join(' || ') + ')';
}

function attachPoint(p: KernelProbe, attach: Attach, ret: boolean): string {
  if (attach === 'kprobe') return `${ret ? 'kretprobe' : 'kprobe'}:${p.func}`;
  // bpftrace 0.17 wants the module for module functions: kfunc:bonding:bond_enslave
  return `${ret ? 'kretfunc' : 'kfunc'}:${p.module ? `${p.module}:` : ''}${p.func}`;
}

function kernelBlock(p: KernelProbe, attach: Attach, opts: GenerateOptions): string {
  const names = opts.paramNames?.[p.func];
  const ex = (e: string) => moduleStructs(typedCasts(expand(e, p, attach, names), attach), attach);
  const render = (f: Field): [string, string | undefined] => [ex(f.expr), f.len === undefined ? undefined : ex(f.len)];
  const devs = p.devs.map(ex);
  const note = attach === 'kprobe' && opts.backend === 'kfunc' ? '// fentry is refused by the verifier here on real kernels: kprobe in a kfunc program\n' : '';
  const entry =
    `${note}${attachPoint(p, attach, false)}` +
    predicate([p.when ? ex(p.when) : '', commFilter(opts.filters), ifaceFilter(opts.filters, devs)]) +
    `\n{\n  ${printfCall(p.id, commonAndOwn(p.fields), render, true)}\n}`;
  if (!p.ret) return entry;
  const retFields = p.ret.filter((f) => !f.only || f.only === attach);
  // kretprobe cannot read the arguments: only the comm filter applies at return.
  const retPred = predicate([commFilter(opts.filters), attach === 'kfunc' ? ifaceFilter(opts.filters, devs) : '']);
  const ret = `${attachPoint(p, attach, true)}${retPred}\n{\n  ${printfCall(p.id + RET_SUFFIX, [...COMMON_RET_FIELDS, ...retFields], render, false)}\n}`;
  return `${entry}\n${ret}`;
}

function generateSyscalls(opts: GenerateOptions, dropped: ProbeDrop[]): Program {
  const gone = new Set(dropped.map((d) => d.probe));
  const d = dialectOf(opts.bpftrace);
  const probes = SYSCALL_PROBES.filter((p) => !gone.has(p.id));
  const sysfs = probes.some((p) => p.id === 'sysfs_write');
  const blocks = probes.map((p) => syscallBlock(p, opts.filters, d));
  if (sysfs) blocks.unshift('// sysfs_write needs to know which fds are open on network sysfs files\n' + inDialect(SYSFS_FD_TRACKING, d));
  const header = headerComment(opts, probes.map((p) => [p.id, p.why]), dropped);
  const begin = beginBlock(probes.map((p) => [p.id, commonAndOwn(p.fields)] as const), opts.cpus);
  // Clear our maps at exit, or bpftrace prints them.
  const maps = [...(sysfs ? SYSFS_MAPS : []), ...probes.filter((p) => p.exit).map((p) => `@req_${p.id}`), LAST];
  const end = `END\n{\n  ${maps.map((m) => `clear(${m});`).join(' ')}\n}`;
  return { backend: 'syscalls', text: [header, begin, ...blocks, end].join('\n\n') + '\n', probes: probes.map((p) => p.id), dropped, points: {} };
}

/** Syscall fields are printed as written (no placeholders). */
const asWritten = (f: Field): [string, string | undefined] => [f.expr, f.len];

function syscallBlock(p: SyscallProbe, filters: Filters, d: Dialect): string {
  const pending = p.restartable ? `!@req_${p.id}[tid]` : '';
  const pred = predicate([p.predicate ? `(${p.predicate})` : '', pending, commFilter(filters)]);
  const mark = p.exit ? `\n    @req_${p.id}[tid] = 1;` : '';
  const print = printfCall(p.id, commonAndOwn(p.fields), asWritten, false);
  const entries = p.attach.map((a) => {
    const prelude = a.prelude ? `\n  ${a.prelude}` : '';
    // A body decides with `$ok` whether the request is one of ours; without one the predicate already did.
    const inner = p.body ? `\n  $ok = 0;${prelude}${hoistVariables(p.body, print)}\n  if ($ok) {\n    ${print}${mark}\n  }` : `${prelude}\n  ${print}${mark.replace('\n    ', '\n  ')}`;
    return `${a.point}${pred}\n{${inner}\n}`;
  });
  if (p.exit) entries.push(exitBlock(p));
  return inDialect(entries.join('\n'), d);
}

/** The sys_exit of a request: its result; a restartable one only once the kernel is done restarting it. */
function exitBlock(p: SyscallProbe): string {
  const done = `DELETE(@req_${p.id}[tid]);`;
  if (!p.restartable) return `${p.exit} /@req_${p.id}[tid]/\n{\n  ${printfCall(p.id + RET_SUFFIX, [...COMMON_RET_FIELDS, SYSCALL_RET], asWritten, false)}\n  ${done}\n}`;
  const print = printfCall(p.id + RET_SUFFIX, [...COMMON_RET_FIELDS, { ...SYSCALL_RET, expr: '$ret' }], asWritten, false);
  return `${p.exit} /@req_${p.id}[tid]/\n{\n  $ret = kptr(args->ret);\n  if (!${RESTARTED}) {\n    ${print}\n    ${done}\n  }\n}`;
}

/** The `#cols` line for each probe: what BEGIN prints so a reader (and the parser) sees the columns. */
function beginBlock(cols: (readonly [string, readonly Field[]])[], cpus = 1): string {
  const lines = [
    // Clock line: CLOCK_MONOTONIC ns and the same instant in wall-clock time, to join with `ip -ts monitor`.
    `  printf("#clock\\t%llu\\t%s\\n", nsecs, strftime("%Y-%m-%dT%H:%M:%S.%f%z", nsecs));`,
    ...cols.map(([id, fields]) => `  printf("#cols\\t${id}\\t${fields.map((f) => f.name).join('\\t')}\\n");`),
  ];
  return `BEGIN\n{\n${lines.join('\n')}\n}\n\n${heartbeatBlock(cpus)}`;
}

/**
 * The heartbeat moves ifblame's watermark when no probe fires (feed/heartbeat-gate.ts). bpftrace reads its per-CPU
 * buffers one after another and can leave one unread for a second under a storm, so a time alone vouches for
 * nothing: each line says `#hb <nsecs> <cpus> <first cpu> <last event time of each cpu>...`, and the time holds
 * once every one of those events has been read.
 */
function heartbeatBlock(cpus: number): string {
  const n = Math.max(1, Math.floor(cpus));
  const prints = [];
  for (let base = 0; base < n; base += HEARTBEAT_CPUS_PER_LINE) {
    const ids = Array.from({ length: Math.min(HEARTBEAT_CPUS_PER_LINE, n - base) }, (_, i) => base + i);
    const fmt = ['#hb', '%llu', String(n), String(base), ...ids.map(() => '%llu')].join('\\t');
    prints.push(`  printf("${fmt}\\n", $t, ${ids.map((c) => `${LAST}[${c}]`).join(', ')});`);
  }
  return `interval:ms:${HEARTBEAT_MS}\n{\n  $t = nsecs;\n${prints.join('\n')}\n}`;
}

function headerComment(opts: GenerateOptions, probes: [string, string][], dropped: ProbeDrop[]): string {
  const w = Math.max(...probes.map(([id]) => id.length), 10);
  const filters = [...opts.filters.iface.map((i) => `--iface ${i}`), ...opts.filters.comm.map((c) => `--comm ${c}`)].join(' ') || 'none';
  return [
    '#!/usr/bin/env bpftrace',
    '/*',
    ` * ifblame-${opts.backend}.bt  Which process changed which network interface, and through which kernel path.`,
    ` *${' '.repeat(`ifblame-${opts.backend}.bt`.length + 2)} Generated by ifblame${opts.version ? ` ${opts.version}` : ''} for the ${opts.backend} backend. It runs as root: read it.`,
    ' *',
    ` * USAGE: bpftrace -f json -B line ifblame-${opts.backend}.bt     (ifblame live|capture run it for you)`,
    ' *',
    ' * Output: one line per event, tab-separated: the probe id, nsecs pid tid comm ppid pcomm cgroup netns, the',
    ' * probe\'s own fields (BEGIN prints them as "#cols" lines), then the kernel stack where there is one.',
    ' * Strings are printed escaped (%r) so no name can forge a field; addresses as raw bytes (%rx), any length.',
    ' * "#hb" lines (10 a second): nsecs, the CPU count, the first CPU of the line, then the nsecs of the last event',
    ' * each CPU printed (@ifb_last; ifblame passes this machine\'s CPU count, the shipped programs say 1).',
    ' * Sample output (kprobe backend on Debian 6.1; fields are tab-separated, names keep their NUL padding):',
    ' *   #clock  76054188846  2026-11-21T13:47:51.498439+0000',
    ' *   dev_set_mac_address_user  134847486216  1096  1096  (udev-worker)\\x00\\x00\\x00  225  systemd-udevd\\x00\\x00\\x00',
    ' *     1193  4026531840  duma0\\x00\\x00...  2  1  \\x26\\x1b\\x77\\xd7\\x99\\x52  \\x06\\x93\\x24\\xc2\\xb8\\x73',
    ' *           dev_set_mac_address_user+1',
    ' *           do_setlink+589',
    ' *           rtnl_setlink+269 ...',
    ' *',
    ' * Probes:',
    ...probes.map(([id, why]) => ` *   ${id.padEnd(w)}  ${why}`),
    ...(dropped.length ? [' * Dropped:', ...dropped.map((d) => ` *   ${d.probe.padEnd(w)}  ${d.reason}`)] : []),
    ...(opts.backend === 'syscalls' ? [` * For bpftrace: ${opts.bpftrace ? `${opts.bpftrace} (loops and deletions are written per version)` : 'any version (0.24+ warn about its while loop and deletes)'}`] : []),
    ` * Filters: ${filters}${opts.backend === 'syscalls' && opts.filters.iface.length ? ' (--iface is applied by ifblame: netlink requests name interfaces by index)' : ''}`,
    ' */',
  ].join('\n');
}
