// --iface / --comm applied to changes in ifblame itself (the syscalls backend cannot filter netlink requests by name).
import type { Change, TraceEvent } from '../events.js';
import type { Filters } from '../options.js';

/** A change matches --iface when its interface, or the master it joins or leaves, is named; --comm by comm or service. */
export function matchesFilters(c: Change, f: Filters): boolean {
  if (f.iface.length) {
    const names = [c.iface, c.kind === 'enslave' || c.kind === 'release' || c.kind === 'master' ? [c.before, c.after] : []].flat();
    if (!names.some((n) => typeof n === 'string' && f.iface.includes(n))) return false;
  }
  if (f.comm.length) {
    const a = c.actor;
    if (!a || !(f.comm.includes(a.comm) || (a.service !== undefined && f.comm.includes(a.service)) || a.chain.some((p) => f.comm.includes(p.comm)))) return false;
  }
  return true;
}

export interface ReplayFilters {
  /** Interfaces: an event matches when it names one of them, or a port of one of them (bond/bridge/team). */
  iface: string[];
  /** Process names: the task, its parent, its service or unit. Netlink messages carry no process: left out. */
  comm: string[];
}

/** Interface names a probe event is about (what the generated program's `--iface` predicate compares). */
function probeNames(f: Record<string, string | number | null>): string[] {
  const out: string[] = [];
  for (const k of ['dev', 'bond', 'slave', 'bridge', 'port', 'team']) {
    const v = f[k];
    if (typeof v === 'string' && v !== '') out.push(v);
  }
  return out;
}

/**
 * Whether an event passes `--iface`/`--comm` the way it would have passed them live: changes by the live
 * pipeline's own rule; probe events as the generated program's predicates do (task comm; device names, which
 * the syscalls backend cannot test in the kernel); netlink messages, notes and lost events always (live shows
 * them all, and a gap is never hidden).
 */
export function matchesEvent(ev: TraceEvent, filters: ReplayFilters): boolean {
  if (ev.type === 'change') return matchesFilters(ev, filters);
  if (ev.type !== 'probe') return true;
  if (filters.comm.length && !filters.comm.includes(ev.comm)) return false;
  if (filters.iface.length && ev.backend !== 'syscalls' && ev.phase === 'entry') {
    if (!probeNames(ev.fields).some((n) => filters.iface.includes(n))) return false;
  }
  return true;
}
