// What an observed change means, in words, from its kernel stack and what the same task did around it: a bond
// inheriting its slave's MAC or overwriting the slave's, balance-alb swapping MACs, a bridge following its port.
import type { ChangeKind } from '../events.js';
import { RECENT_US, type Obs, type Op } from './ops.js';
import { stackHas } from './paths.js';
import type { StateTable } from './state.js';
import { labelActor } from './actor.js';
import { promiscCause } from './words.js';

/** What the words depend on: the interfaces, and the operations around the change. */
export interface DescribeContext {
  table: StateTable;
  operations(): Op[];
  pending: Iterable<Obs>;
}

/** What a kernel path means, in words: the bond/bridge cases of the incidents. */
export function describeObserved(ctx: DescribeContext, o: Obs): string | undefined {
  // Kernel paths need a kernel stack: requests (syscalls backend) have none.
  const what = o.kstack.length ? describePath(ctx, o) : undefined;
  if (o.actor?.kernel && o.kind === 'mac') return `the kernel's own change (${o.actor.comm}), no user process behind it${what ? `: ${what}` : ''}`;
  return what;
}

function describePath(ctx: DescribeContext, o: Obs): string | undefined {
  if (o.kind === 'promisc' && stackHas(o.kstack, 'netif_rx_mode_run')) return deferredRxMode(ctx, o);
  if (o.kind === 'promisc' && o.kstack.length) return promiscCause(o.kstack, Number(o.after) > Number(o.before), o.iface);
  if (o.kind !== 'mac' || typeof o.after !== 'string') return undefined;
  const s = o.ifindex !== undefined ? ctx.table.get(o.ifindex) : undefined;
  // Operations of the same task close in time: what was it doing when the MAC moved?
  const sameTask = (kind: ChangeKind) => ctx.operations().filter((x) => x.kind === kind && x.tid === o.tid && Math.abs(x.ts - o.ts) < RECENT_US);
  const bondOf = () => String(sameTask('enslave').find((e) => e.iface === o.iface)?.after ?? s?.master ?? 'its bond');
  if (stackHas(o.kstack, 'alb_swap_mac_addr')) return `balance-alb bond ${s?.master ?? ''} swapped its slaves' MACs on failover`.replace('  ', ' ');
  if (stackHas(o.kstack, 'br_stp_recalculate_bridge_id')) {
    const port = ctx.table.portsOf(o.iface).find((p) => p.addr === o.after);
    return `bridge ${o.iface} follows its lowest port MAC${port ? ` (${port.name})` : ''}`;
  }
  if (stackHas(o.kstack, 'bond_enslave')) {
    const port = ctx.table.portsOf(o.iface).find((p) => p.addr === o.after)?.name ?? recentPortFor(ctx, o.iface, o.after);
    if (port && port !== o.iface) return `bond ${o.iface} inherited the MAC of its slave ${port} (bond_enslave, bypassing dev_set_mac_address)`;
    const bond = bondOf();
    if (stackHas(o.kstack, 'alb_set_slave_mac_addr')) return `balance-alb bond ${bond} gave its new slave a MAC of its own`;
    if (ctx.table.byName(bond)?.addr === o.after) return `bond ${bond} overwrote its slave's MAC with its own (bond_enslave)`;
    return `set while enslaving to ${bond} (bond_enslave)`;
  }
  // The stack can miss bond_enslave: bpftrace names frames of a module loaded after it started from its start-up symbols.
  const joined = sameTask('enslave').find((e) => e.after === o.iface && e.iface !== o.iface && e.path.includes('bond_enslave'));
  if (joined && ctx.table.byName(joined.iface)?.addr === o.after) {
    return `bond ${o.iface} inherited the MAC of its slave ${joined.iface} (enslaved by the same task)`;
  }
  const release = sameTask('release').filter((r) => r.path.includes('__bond_release_one'));
  const asBond = release.find((r) => r.before === o.iface);
  if (asBond) return `bond ${o.iface} took a new random MAC after its slave ${asBond.iface} was released`;
  const asSlave = release.find((r) => r.iface === o.iface);
  if (asSlave) return `${o.iface} got its own MAC back when released from ${asSlave.before}`;
  return undefined;
}

/** How long before a deferred rx-mode change what happened to a device above it is named as its likely cause. */
const DEFERRED_US = 1_000_000;

/**
 * Kernels 7.x apply a device's receive mode in a workqueue (netif_rx_mode_run): a promiscuity change asked for by
 * an address-list sync runs in a kworker, with nothing of the process that caused it on its stack. The worker stays
 * the actor (it is what ran); the words say why, and name what just happened to a device above this one.
 */
function deferredRxMode(ctx: DescribeContext, o: Obs): string {
  const up = Number(o.after) > Number(o.before);
  const master = ctx.table.byName(o.iface)?.master;
  const below = new Set([o.iface, ...(master ? [master] : [])]);
  const uppers = ctx.table.all().filter((s) => s.link !== undefined && below.has(s.link) && s.name !== o.iface);
  const on = (name: string) => `${name} (on ${uppers.find((s) => s.name === name)?.link})`;
  const recent = (ts: number | undefined) => ts !== undefined && ts <= o.ts && o.ts - ts <= DEFERRED_US;
  const op = ctx
    .operations()
    .filter((x) => (x.kind === 'deleted' || x.kind === 'created') && recent(x.ts) && !x.actor?.kernel && uppers.some((s) => s.name === x.iface))
    .at(-1);
  const cameUp = uppers.filter((s) => recent(s.upAt)).at(-1);
  const just = op
    ? `; just before, ${on(op.iface)} was ${op.kind} by ${labelActor(op.actor)}`
    : cameUp
      ? `; just before, ${on(cameUp.name)} came up (netlink: the process that brought it up is not known here)`
      : '';
  return `the kernel applied ${o.iface}'s receive mode in deferred work (netif_rx_mode_run): ${o.iface} ${up ? 'became' : 'stopped being'} promiscuous when its address lists changed, as when a macvlan or vlan above it comes up or goes; the process that caused it is not on this stack${just}`;
}

/** The port a bond just took its MAC from: a recent enslave observation naming this bond. */
function recentPortFor(ctx: DescribeContext, master: string, addr: string): string | undefined {
  for (const o of [...ctx.pending].reverse()) if (o.kind === 'enslave' && o.after === master && ctx.table.byName(o.iface)?.addr === addr) return o.iface;
  return undefined;
}
