// Per-interface state (MAC, perm MAC, assign type, promiscuity, master, flags) kept from the snapshot, netlink and changes.
import type { Change, LinkEvent, LinkState, ProbeEvent, TraceEvent } from '../events.js';
import { labelActor } from './actor.js';

/** Per-interface state the correlator keeps (what the TUI's interface table shows). */
export interface IfaceState {
  ifindex: number;
  name: string;
  addr?: string;
  permAddr?: string;
  /** 0 PERM, 1 RANDOM, 2 STOLEN, 3 SET */
  aat?: number;
  promiscuity?: number;
  master?: string | null;
  flags: string[];
  kind?: string;
  deleted?: boolean;
  /** The device after `@` in `ip link`: a macvlan's or vlan's lower device, a veth's peer. */
  link?: string;
  /** When netlink last showed it come up (µs). */
  upAt?: number;
  /** Seen by a probe before netlink announced it: its first netlink message is still its creation. */
  probeOnly?: boolean;
  /** ts and actor label of the last change. */
  lastChange?: { ts: number; kind: string; by: string };
}

export class StateTable {
  private readonly byIndex = new Map<number, IfaceState>();

  constructor(snapshot: LinkState[] = []) {
    for (const l of snapshot) {
      this.byIndex.set(l.ifindex, {
        ifindex: l.ifindex,
        name: l.ifname,
        flags: [...l.flags],
        ...(l.addr !== undefined ? { addr: l.addr } : {}),
        ...(l.permAddr !== undefined ? { permAddr: l.permAddr } : {}),
        ...(l.addrAssignType !== undefined ? { aat: l.addrAssignType } : {}),
        ...(l.promiscuity !== undefined ? { promiscuity: l.promiscuity } : {}),
        ...(l.kind !== undefined ? { kind: l.kind } : {}),
        master: l.master ?? null,
      });
    }
  }

  get(ifindex: number): IfaceState | undefined {
    return this.byIndex.get(ifindex);
  }

  /** The live interface of that name (a deleted one only when no live one has it). */
  byName(name: string): IfaceState | undefined {
    let deleted: IfaceState | undefined;
    for (const s of this.byIndex.values()) {
      if (s.name !== name) continue;
      if (!s.deleted) return s;
      deleted = s;
    }
    return deleted;
  }

  all(): IfaceState[] {
    return [...this.byIndex.values()].sort((a, b) => a.ifindex - b.ifindex);
  }

  /** Ports (lower devices) of a master. */
  portsOf(master: string): IfaceState[] {
    return this.all().filter((s) => !s.deleted && s.master === master);
  }

  /** Apply one netlink message; returns the state before it (undefined when the interface is new). */
  applyLink(ev: LinkEvent): IfaceState | undefined {
    if (ev.family === 'bridge') return this.byIndex.get(ev.ifindex);
    const prev = this.byIndex.get(ev.ifindex);
    const before = prev ? { ...prev, flags: [...prev.flags] } : undefined;
    const s: IfaceState = prev ?? { ifindex: ev.ifindex, name: ev.ifname, flags: [], master: null };
    if (ev.action === 'del') {
      s.deleted = true;
      this.byIndex.set(ev.ifindex, s);
      return before;
    }
    if (prev?.deleted) delete s.deleted;
    if (ev.flags.includes('UP') && !prev?.flags.includes('UP')) s.upAt = ev.ts;
    if (ev.peer !== undefined) s.link = ev.peer;
    s.name = ev.ifname;
    s.flags = [...ev.flags];
    if (ev.addr !== undefined) s.addr = ev.addr;
    if (ev.permAddr !== undefined) s.permAddr = ev.permAddr;
    if (ev.promiscuity !== undefined) s.promiscuity = ev.promiscuity;
    s.master = ev.master ?? null;
    this.byIndex.set(ev.ifindex, s);
    return before;
  }

  /** Apply a change that netlink did not carry (observed by a probe only, or replayed). */
  applyChange(c: Change, actorLabel: string): void {
    const s = (c.ifindex !== undefined ? this.byIndex.get(c.ifindex) : undefined) ?? this.byName(c.iface);
    if (!s) return;
    if (c.kind === 'mac' && typeof c.after === 'string') s.addr = c.after;
    if (c.kind === 'promisc' && typeof c.after === 'number') s.promiscuity = c.after;
    if ((c.kind === 'enslave' || c.kind === 'master') && typeof c.after === 'string') s.master = c.after;
    if (c.kind === 'release') s.master = null;
    if (c.kind === 'deleted') s.deleted = true;
    s.lastChange = { ts: c.ts, kind: c.kind, by: actorLabel };
  }

  setAssignType(ifindex: number, aat: number): void {
    const s = this.byIndex.get(ifindex);
    if (s) s.aat = aat;
  }

  /** Remember an interface first seen by a probe (before its netlink message arrives). */
  ensure(ifindex: number, name: string): IfaceState {
    let s = this.byIndex.get(ifindex);
    if (!s) this.byIndex.set(ifindex, (s = { ifindex, name, flags: [], master: null, probeOnly: true }));
    return s;
  }
}

const MAC_PROBES = new Set(['dev_set_mac_address_user', 'dev_set_mac_address', 'dev_addr_mod', 'netdev_changeaddr']);

/** The state the live correlator keeps, rebuilt from the recorded events (netlink, changes, probe-read assign types). */
export class ReplayState {
  table: StateTable;
  constructor(private readonly snapshot: LinkState[]) {
    this.table = new StateTable(snapshot);
  }
  reset(): void {
    this.table = new StateTable(this.snapshot);
  }
  apply(ev: TraceEvent): void {
    switch (ev.type) {
      case 'link':
        this.table.applyLink(ev as LinkEvent);
        return;
      case 'change':
        this.table.applyChange(ev as Change, labelActor(ev.actor));
        return;
      case 'probe':
        this.onProbe(ev as ProbeEvent);
        return;
      default:
        return;
    }
  }
  private onProbe(ev: ProbeEvent): void {
    if (ev.phase !== 'entry' || !MAC_PROBES.has(ev.probe)) return;
    const idx = ev.fields.ifindex;
    const aat = ev.fields.aat;
    const dev = ev.fields.dev;
    if (typeof idx === 'number' && idx > 0 && typeof dev === 'string') {
      const s = this.table.ensure(idx, dev);
      if (typeof aat === 'number') s.aat = aat;
    }
  }
}
