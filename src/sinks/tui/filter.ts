// The `/` filter: one text that matches an interface name or a process name (`if:eth0`, `comm:ip` to say which).
import type { Change } from '../../events.js';
import type { IfaceState } from '../../feed/feed.js';

export interface ViewFilter {
  readonly text: string;
  readonly field: 'any' | 'iface' | 'comm';
  readonly needle: string;
}

/**
 * `''` -> null (no filter); `if:bond0`, `comm:ip`, or plain text matching either, case-insensitive.
 * Interface names match by prefix (`eth` is eth0 and eth1, not veth0), process names anywhere (`udev`).
 */
export function parseFilter(text: string): ViewFilter | null {
  const t = text.trim();
  if (!t) return null;
  const m = /^(if|iface|comm|c|i):(.*)$/i.exec(t);
  if (!m) return { text: t, field: 'any', needle: t.toLowerCase() };
  const field = /^c/i.test(m[1]!) ? 'comm' : 'iface';
  const needle = m[2]!.trim().toLowerCase();
  return needle ? { text: t, field, needle } : null;
}

/** Every process name a change can be attributed to: the task, its service, its parents, its unit. */
function commsOf(c: Change): string[] {
  const a = c.actor;
  if (!a) return [];
  return [a.comm, a.service, a.pcomm, a.unit, a.container, ...a.chain.map((p) => p.comm)].filter((s): s is string => !!s);
}

export function matchChange(f: ViewFilter | null, c: Change): boolean {
  if (!f) return true;
  if (f.field !== 'comm' && c.iface.toLowerCase().startsWith(f.needle)) return true;
  if (f.field !== 'iface' && commsOf(c).some((s) => s.toLowerCase().includes(f.needle))) return true;
  return false;
}

/** Interfaces: by name, or (for a comm filter) by who changed them last. */
export function matchIface(f: ViewFilter | null, s: IfaceState): boolean {
  if (!f) return true;
  const named = (v: string | null | undefined) => !!v && v.toLowerCase().startsWith(f.needle);
  if (f.field !== 'comm' && (named(s.name) || named(s.master))) return true;
  if (f.field !== 'iface' && !!s.lastChange?.by.toLowerCase().includes(f.needle)) return true;
  return false;
}
