// --iface / --comm applied to changes in ifblame itself (the syscalls backend cannot filter netlink requests by name).
import type { Change } from '../events.js';
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
