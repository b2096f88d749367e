// How each interface's MAC moved: a bridge following its ports, a flapping MAC (only changes no other finding explains), MACs aggregates held for a while (for the cross-host checks).
import type { Change } from '../events.js';
import { isAggregate, isUnicastMac, type IfKind } from './classify.js';
import { EvidenceList, type Ref } from './evidence.js';
import type { FactsView } from './facts-view.js';
import { MAX_EVIDENCE, type EvidenceRef } from './types.js';

/**
 * A MAC "flaps" when, within the window, it goes back to an address it had (A -> B -> A) at least FLAP_RETURNS
 * times, or changes FLAP_CHANGES times at all.
 */
export const FLAP_WINDOW_US = 60_000_000;
export const FLAP_RETURNS = 3;
export const FLAP_CHANGES = 8;
const FLAP_RECENT = 32;
const MAX_TRANSIENT_MACS = 4096;

export interface Flap {
  recent: { ts: number; before: string | number | null; after: string | number | null; back: boolean }[];
  /** How many of `recent` went back to an address it had. */
  backs: number;
  total: number;
  flagged: boolean;
  firstFlagTs?: number;
  refs: EvidenceRef[];
  more: number;
}

export interface BridgeMoves {
  list: EvidenceList;
  /** Moved between ports (or more than once), not just took its first port's MAC. */
  warn: boolean;
  ts: number;
  lastMac?: string;
}

/** A MAC an interface held at some time (or at the end of the trace): what the cross-host check compares. */
export interface HeldMac {
  iface: string;
  mac: string;
  kind?: IfKind;
  /** The event that gave it (absent: it had it when the trace started). */
  ref?: EvidenceRef;
  byUdev: boolean;
  /** udev's policy gave the interface this MAC at some time (derived from its name and machine-id). */
  udevDerived?: boolean;
  /** Set by a user process asking for it (ip, a script, a network manager): hard-coded, not derived. */
  byUser: boolean;
  /** Who gave it (the actor of `ref`). */
  by?: string;
  /** addr_assign_type at the end (3: SET), when known. */
  aat?: number;
  final: boolean;
}

export class MacHistory {
  readonly flaps = new Map<string, Flap>();
  readonly bridgeMoves = new Map<string, BridgeMoves>();
  /** MACs bonds, bridges and teams took during the trace, by `iface mac`. */
  readonly transient = new Map<string, HeldMac>();

  constructor(private readonly v: FactsView) {}

  /** One MAC change (before != after). */
  onMac(c: Change, r: Ref, byUdev: boolean): void {
    const k = this.v.kindOf(c.iface).kind;
    const followed = k === 'bridge' && this.bridgeFollows(c, r);
    if (!followed) this.flap(c, r);
    if (isAggregate(k) && isUnicastMac(typeof c.after === 'string' ? c.after : undefined) && this.transient.size < MAX_TRANSIENT_MACS) {
      const key = `${c.iface} ${c.after as string}`;
      if (!this.transient.has(key)) this.transient.set(key, { iface: c.iface, mac: c.after as string, kind: k, ref: r.ref, byUdev, byUser: false, final: false });
    }
  }

  private flap(c: Change, r: Ref): void {
    let f = this.flaps.get(c.iface);
    if (!f) this.flaps.set(c.iface, (f = { recent: [], backs: 0, total: 0, flagged: false, refs: [], more: 0 }));
    f.total++;
    if (f.flagged) {
      // judged: from now on only counted (and the first ones kept as evidence)
      if (f.refs.length < MAX_EVIDENCE) f.refs.push(r.ref);
      else f.more++;
      return;
    }
    while (f.recent.length > 0 && (c.ts - f.recent[0]!.ts > FLAP_WINDOW_US || f.recent.length >= FLAP_RECENT)) {
      if (f.recent.shift()!.back) f.backs--;
    }
    // back to an address it had within the window (getting its own address back, on release, is not flapping)
    const own = this.v.ownMac.get(c.iface) === c.after || this.v.udevGiven.get(c.iface) === c.after;
    let back = false;
    if (!own) for (const x of f.recent) if (x.before === c.after || x.after === c.after) back = true;
    f.recent.push({ ts: c.ts, before: c.before, after: c.after, back });
    if (back) f.backs++;
    if (f.backs >= FLAP_RETURNS || f.recent.length >= FLAP_CHANGES) {
      f.flagged = true;
      f.firstFlagTs = c.ts;
    }
    if (f.refs.length < MAX_EVIDENCE) f.refs.push(r.ref);
    else f.more++;
  }

  /** A bridge whose address follows its ports (not set by hand): recorded; true when it was such a move. */
  private bridgeFollows(c: Change, r: Ref): boolean {
    const ports = this.v.table.portsOf(c.iface);
    // Set by hand (ip link set address, ioctl, sysfs): the bridge keeps that one; not a move with a port.
    const manual = c.evidence === 'requested' || c.via.path.includes('dev_set_mac_address_user') || /SIOCSIFHWADDR|write to /.test(c.via.note ?? '');
    const follows = /follows/.test(c.via.note ?? '') || c.via.path.some((p) => p === 'br_stp_recalculate_bridge_id' || p === 'br_add_if' || p === 'br_del_if');
    const toPort = ports.some((p) => p.addr === c.after || this.v.ownMac.get(p.name) === c.after);
    if (manual || !(follows || toPort)) return false;
    // Changing to the first port's MAC when the bridge is set up is expected; moving between ports is the incident.
    const fromPort = typeof c.before === 'string' && ports.some((p) => this.v.ownMac.get(p.name) === c.before || p.addr === c.before);
    let m = this.bridgeMoves.get(c.iface);
    if (!m) this.bridgeMoves.set(c.iface, (m = { list: new EvidenceList(), warn: false, ts: c.ts }));
    m.list.add(r.ref);
    if (fromPort || m.list.count > 1) m.warn = true;
    if (typeof c.after === 'string') m.lastMac = c.after;
    return true;
  }
}
