// Causes the probes did not see, told from the netlink stream and what happened around it: a bond inheriting its
// slave's MAC, a bridge following its port, promiscuity given back by a closed packet socket, ports released because
// their master was deleted, a veth peer deleted with its twin. Every guess says so in its note.
import type { Actor, Change, ChangeKind, LinkEvent } from '../events.js';
import { RECENT_US, type Op } from './ops.js';
import type { IfaceState, StateTable } from './state.js';

/** A port released from its master: team_del_slave is where team_port_del is attached on kernels that inline it. */
const RELEASE_PATH = /br_del_if|__bond_release_one|team_port_del|team_del_slave/;

/** What inference reads: the interfaces, what happened lately, and what the syscalls backend remembered. */
export interface InferContext {
  table: StateTable;
  /** Recent changes and pending observations (operationsOf). */
  ops: Op[];
  recent: Change[];
  /** Who took promiscuity through a packet socket, per interface (taken back here when netlink shows it given back). */
  packetPromisc: Map<number, { actor: Actor | null; refs: number[] }>;
  /** The last netlink request naming each device. */
  lastRequest: Map<number, { actor: Actor; refs: number[]; ts: number }>;
}

/** A cause inferred for a change only netlink saw. */
export interface Inferred {
  actor: Actor | null;
  note: string;
  refs: number[];
  path?: string[];
}

/** An operation of a process at most a second before `ts`: what a port's release can follow from. */
function justBefore(o: Op, ts: number): boolean {
  return !!o.actor && ts - o.ts >= 0 && ts - o.ts < 1_000_000;
}

/** The deletion of a master a moment ago (seen or requested), whoever has reported it yet. */
export function masterDeletion(ops: Op[], master: string, ts: number): Op | undefined {
  return ops.find((o) => o.kind === 'deleted' && o.iface === master && justBefore(o, ts));
}

/**
 * A bridge being deleted lets its ports go (br_dev_delete > del_nbp) before it unregisters itself, so its deletion is
 * not seen yet when a port's release is: the port's promiscuity given back in that same call names the process.
 */
function bridgeDeletionOf(ops: Op[], port: string, ts: number): { op: Op; path: string[] } | undefined {
  const op = ops.find((o) => o.iface === port && justBefore(o, ts) && o.path.includes('br_dev_delete'));
  if (!op) return undefined;
  const end = op.path.includes('del_nbp') ? op.path.indexOf('del_nbp') : op.path.indexOf('br_dev_delete');
  return { op, path: op.path.slice(0, end + 1) };
}

/** Kernel-internal causes the syscalls backend cannot see, told from the netlink stream and recent requests. */
export function inferCause(
  ctx: InferContext,
  ev: LinkEvent,
  kind: ChangeKind,
  after: string | number | null,
  before: string | number | null = null,
): Inferred | undefined {
  const { table, ops } = ctx;
  const s = table.get(ev.ifindex);
  const relatedRequest = (names: string[]) =>
    ops.filter((c) => names.includes(c.iface) && ev.ts - c.ts < RECENT_US && (c.kind === 'enslave' || c.kind === 'release' || c.kind === 'master')).pop();
  if (kind === 'mac' && typeof after === 'string') {
    // Ports include those joining right now: netlink announces the master's new MAC before the port's master.
    const joining = ops.filter((o) => o.kind === 'enslave' && o.after === ev.ifname && ev.ts - o.ts < 1_000_000);
    const ports = [...table.portsOf(ev.ifname), ...joining.map((o) => table.byName(o.iface)).filter((p): p is IfaceState => !!p)];
    const source = ports.find((p) => p.addr === after);
    if (source) {
      const r = joining.find((o) => o.iface === source.name) ?? relatedRequest(ports.map((p) => p.name));
      const what =
        s?.kind === 'bridge'
          ? `bridge ${ev.ifname} follows the MAC of its port ${source.name}`
          : `${s?.kind ?? ''} ${ev.ifname} inherited the MAC of its ${s?.kind === 'bond' ? 'slave' : 'port'} ${source.name}`.trim();
      return { actor: r?.actor ?? null, note: `${what} (inferred from netlink)`, refs: r?.refs ?? [], path: r?.path ?? [] };
    }
    const released = ops.find((c) => c.kind === 'release' && c.before === ev.ifname && ev.ts - c.ts < 1_000_000);
    if (released && /^(00:)+00$/.test(after))
      return {
        actor: released.actor,
        note: `${ev.ifname} has no port left after ${released.iface} was released: its MAC is all zeros (inferred from netlink)`,
        refs: released.refs,
      };
    if (released && s?.kind !== 'bridge')
      return {
        actor: released.actor,
        note: `bond ${ev.ifname} took a new random MAC after its slave ${released.iface} was released (inferred from netlink)`,
        refs: released.refs,
      };
    const master = s?.master ? table.byName(s.master) : undefined;
    if (master && master.addr === after) {
      const r = relatedRequest([ev.ifname]);
      return { actor: r?.actor ?? null, note: `master ${master.name} set its port's MAC to its own (inferred from netlink)`, refs: r?.refs ?? [] };
    }
  }
  if (kind === 'promisc') {
    const pcap = ctx.packetPromisc.get(ev.ifindex);
    if (pcap && typeof after === 'number' && typeof s?.promiscuity === 'number') {
      ctx.packetPromisc.delete(ev.ifindex);
      return {
        actor: pcap.actor,
        note: `${pcap.actor?.comm ?? 'libpcap'} closed its packet socket: promiscuity given back (inferred from netlink)`,
        refs: pcap.refs,
        path: ['packet_release'],
      };
    }
    const r = relatedRequest([ev.ifname]);
    if (r) return { actor: r.actor, note: `promiscuity follows ${r.kind} ${r.after ?? r.before ?? ''} (inferred from netlink)`, refs: r.refs };
  }
  if (kind === 'moved') {
    const r = ctx.lastRequest.get(ev.ifindex);
    if (r && ev.ts - r.ts >= 0 && ev.ts - r.ts < 1_000_000)
      return {
        actor: r.actor,
        note: `moved to another network namespace by the netlink request ${r.actor.comm} sent for ${ev.ifname} a moment before`,
        refs: r.refs,
      };
    return undefined;
  }
  // Ports let go because their bridge or bond was deleted: the process that deleted the master did it.
  const gone = kind === 'release' && typeof before === 'string' ? masterDeletion(ops, before, ev.ts) : undefined;
  if (gone) return { actor: gone.actor, note: `released because its master ${gone.iface} was deleted`, refs: gone.refs, path: gone.path };
  const dying = kind === 'release' && typeof before === 'string' ? bridgeDeletionOf(ops, ev.ifname, ev.ts) : undefined;
  if (dying) return { actor: dying.op.actor, note: `released because its master ${before} was deleted`, refs: dying.op.refs, path: dying.path };
  // A probe saw the same operation through another function (br_del_if lowering promiscuity, a bond releasing its slaves).
  if (kind !== 'release' && kind !== 'deleted') return undefined;
  // A veth peer (or a device's uppers) goes with the device that was deleted a moment ago.
  const with_ = kind === 'deleted' ? [...ctx.recent].reverse().find((c) => c.kind === 'deleted' && c.actor && ev.ts - c.ts < 200_000) : undefined;
  if (with_)
    return { actor: with_.actor, note: `deleted together with ${with_.iface} (its veth peer or lower device)`, refs: with_.refs, path: with_.via.path };
  const candidates = ops
    .filter(
      (c) =>
        ev.ts - c.ts < 1_000_000 &&
        c.actor &&
        c.path.some((p) => RELEASE_PATH.test(p)) &&
        (c.iface === ev.ifname || (kind === 'deleted' && c.kind === 'release' && c.before === ev.ifname)),
    )
    .sort((a, b) => Number(b.kind === 'release') - Number(a.kind === 'release') || b.ts - a.ts);
  const near = candidates[0];
  if (near) {
    const how = near.path.find((p) => RELEASE_PATH.test(p)) ?? near.path[near.path.length - 1] ?? near.kind;
    return {
      actor: near.actor,
      note: `${kind === 'deleted' ? 'deleted' : 'left its master'} in the same operation that ${near.kind === 'release' ? `released ${near.iface}` : `changed ${near.kind}`} (${how})`,
      refs: near.refs,
    };
  }
  return undefined;
}
