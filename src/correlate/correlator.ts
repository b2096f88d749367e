// Turn probe events and netlink messages into attributed changes, in time order, keeping per-interface state.
import type { Actor, Change, ChangeKind, LinkEvent, LinkState, ProbeEvent, TraceEvent } from '../events.js';
import { actorOf, labelActor, type ProcessInfo } from './actor.js';
import { describeObserved } from './describe.js';
import { inferCause } from './infer.js';
import { CONFIRM_US, HOLD_US, LATE_US, MERGE_US, operationsOf, pathOfObs, RECENT_MAX, RECENT_US, type Obs, type ObservedFields, type Op } from './ops.js';
import { RecentChanges, type ChangeKey } from './recent.js';
import { pathOf, stackHas } from './paths.js';
import { Pending } from './pending.js';
import { decodeRequest, type Decoded } from './requests.js';
import { StateTable, type IfaceState } from './state.js';

export interface CorrelatorOptions {
  /** Names namespaces by inode (live: /run/netns); changes in other namespaces carry the name when it is known. */
  netnsName?: (inode: number) => string | undefined;
  /** This correlator follows a namespace no netlink source watches: nothing is ever confirmed. */
  foreign?: boolean;
  /** A name for an index this correlator has no state for (a device just moved in keeps its name). */
  nameHint?: (ifindex: number) => string | undefined;
  procInfo?: ProcessInfo;
  /** Network namespace inode the netlink source watches. */
  netns?: number;
}

const MAC_PROBES = new Set(['dev_set_mac_address_user', 'dev_set_mac_address', 'dev_addr_mod', 'netdev_changeaddr']);
const PROMISC_PROBES = new Set(['dev_set_promiscuity', '__dev_set_promiscuity']);

/**
 * What a late cause names: the interface and kind, and for a MAC the new address (a storm has thousands of others);
 * a device's creation only by its first address (the probe sees it allocated, before it has a name).
 */
const claimKey: ChangeKey = (c) =>
  c.kind === 'mac'
    ? `mac|${c.iface}|${String(c.after)}`
    : c.kind === 'created' || c.kind === 'creating'
      ? `created|${String(c.after)}`
      : `${c.kind}|${c.iface}`;

export class Correlator {
  readonly table: StateTable;
  private readonly pending = new Pending();
  private recent: Change[] = [];
  /** Changes reported before netlink showed them (held past their wait): the message that comes late confirms one. */
  private readonly unconfirmed = new RecentChanges(LATE_US);
  /** Who last took promiscuity through a packet socket, per interface: its close gives it back without a syscall we see. */
  private readonly packetPromisc = new Map<number, { actor: Actor | null; refs: number[] }>();
  private readonly out: TraceEvent[] = [];
  private clock = 0;
  private readonly info: ProcessInfo | undefined;
  private readonly opts: CorrelatorOptions;
  private readonly netns: number | undefined;
  private readonly foreign = new Map<number, Correlator>();
  /** The last netlink request naming each device (syscalls backend), for what only netlink shows: a move. */
  private readonly lastRequest = new Map<number, { actor: Actor; refs: number[]; ts: number }>();
  /** Devices that just left for another namespace, under their index there: their name when they act there. */
  private movedOut: { name: string; ifindex: number; ts: number }[] = [];
  /** Unattributed changes of the last seconds, for causes that arrive late. */
  private readonly unclaimed = new RecentChanges(LATE_US, claimKey);

  /** How the watched namespace is named in a move: `netns 4026531840`, or `this netns`. */
  private get here(): string {
    return this.netns !== undefined ? `netns ${this.netns}` : 'this netns';
  }

  constructor(snapshot: LinkState[] = [], opts: CorrelatorOptions = {}) {
    this.table = new StateTable(snapshot);
    this.info = opts.procInfo;
    this.netns = opts.netns;
    this.opts = opts;
  }

  /** One raw event, in time order (the feed's merge orders them). Returns the derived events ready now. */
  push(ev: ProbeEvent | LinkEvent): TraceEvent[] {
    this.expire(ev.ts);
    this.clock = Math.max(this.clock, ev.ts);
    this.unconfirmed.expire(this.clock);
    this.unclaimed.expire(this.clock);
    if (ev.type === 'probe') this.onProbe(ev);
    else this.onLink(ev);
    return this.out.splice(0);
  }

  /** Event time has reached `watermark` (µs) with nothing new: observations due by then are reported. */
  advance(watermark: number): TraceEvent[] {
    if (Number.isFinite(watermark)) this.clock = Math.max(this.clock, watermark);
    this.expire(watermark);
    for (const inode of this.foreign.keys()) this.inForeign(inode, (c) => c.advance(watermark));
    return this.out.splice(0);
  }

  /** No change still to come can be older than this: what the feed may print, in order, up to here. */
  horizon(): number {
    let h = Math.min(this.clock, this.pending.oldestTs());
    for (const c of this.foreign.values()) h = Math.min(h, c.horizon());
    return h;
  }

  /** Runs `fn` on the correlator of namespace `inode` and takes its changes, named by their namespace. */
  private inForeign(inode: number, fn: (c: Correlator) => TraceEvent[]): void {
    let c = this.foreign.get(inode);
    if (!c) {
      const hint = (ifindex: number) => [...this.movedOut].reverse().find((m) => m.ifindex === ifindex && this.clock - m.ts < RECENT_US)?.name;
      c = new Correlator([], { netns: inode, foreign: true, nameHint: hint, ...(this.info ? { procInfo: this.info } : {}) });
      this.foreign.set(inode, c);
    }
    const name = this.opts.netnsName?.(inode);
    for (const ev of fn(c)) {
      if (ev.type === 'change') {
        ev.netns = { inode, ...(name ? { name } : {}) };
        if (ev.via.note)
          ev.via.note = ev.via.note.replace('request not confirmed by netlink', 'in a namespace ifblame does not watch: no netlink confirmation');
      }
      this.out.push(ev);
    }
  }

  /** Everything left: end of a replay/import, or a live session stopping. */
  flush(): TraceEvent[] {
    return this.advance(Number.POSITIVE_INFINITY);
  }

  state(): IfaceState[] {
    return this.table.all();
  }

  // ---- probes ------------------------------------------------------------------------------------------

  private onProbe(ev: ProbeEvent): void {
    // Interface indexes and names are per namespace: another namespace's events go to a correlator of its own.
    if (this.netns !== undefined && ev.netns !== undefined && ev.netns !== this.netns) return this.inForeign(ev.netns, (c) => c.push(ev));
    if (ev.phase === 'return') return this.onReturn(ev);
    if (MAC_PROBES.has(ev.probe)) return this.onMacProbe(ev);
    if (PROMISC_PROBES.has(ev.probe)) return this.onPromiscProbe(ev);
    switch (ev.probe) {
      case 'bond_enslave':
      case 'br_add_if':
      case 'team_port_add':
        return this.onMasterProbe(ev, 'enslave');
      case '__bond_release_one':
      case 'br_del_if':
      case 'team_port_del':
        return this.onMasterProbe(ev, 'release');
      case 'unregister_netdevice':
        return this.onUnregister(ev);
      case 'change_net_namespace':
        return this.onMove(ev);
    }
    const request = decodeRequest(ev, { table: this.table, nameOf: (i) => this.nameOf(i) });
    if (request) this.onRequest(ev, request);
  }

  private actor(ev: ProbeEvent): Actor {
    return ev.actor ?? actorOf(ev, this.info);
  }

  private add(o: Omit<Obs, 'refs' | 'due'> & { hold: number }, ev: ProbeEvent): void {
    const { hold, ...rest } = o;
    if (this.claimInferred(rest, ev)) return;
    this.pending.add({ ...rest, refs: ev.seq !== undefined ? [ev.seq] : [], due: ev.ts + hold });
  }

  private onMacProbe(ev: ProbeEvent): void {
    const f = ev.fields;
    const ifindex = Number(f.ifindex);
    const after = String(ev.probe === 'netdev_changeaddr' ? f.now : f.new);
    if (ev.probe === 'dev_addr_mod' && Number(f.offset) !== 0) return;
    // A device being allocated (not registered yet): remember who creates it.
    if (!ifindex) {
      this.observe(ev, { kind: 'creating', iface: '', before: null, after }, CONFIRM_US);
      return;
    }
    const name = String(f.dev);
    const s = this.table.ensure(ifindex, name);
    if (typeof f.aat === 'number') s.aat = f.aat;
    const before = ev.probe === 'netdev_changeaddr' ? (s.addr ?? null) : String(f.old);
    if (this.mergeNested(ev, 'mac', (o) => o.ifindex === ifindex && o.after === after)) return;
    if (before === after) return; // a no-op set: the kernel still calls in, nothing changes
    if (this.nestedInReported(ev, ifindex, before, after)) return;
    this.observe(ev, { kind: 'mac', ifindex, iface: name, before, after }, HOLD_US);
  }

  /**
   * A cause that arrives after netlink's message was correlated without it (a bounded wait ran out): it explains the
   * change already reported as unattributed, which takes its process and evidence, instead of being reported twice.
   */
  private claimInferred(o: Omit<Obs, 'refs' | 'due'>, ev: ProbeEvent): boolean {
    // Only a late cause can explain a change already reported: in time order a cause comes before its change.
    if (o.ts >= this.clock || (o.kind === 'creating' && typeof o.after !== 'string')) return false;
    const c = this.unclaimed.take(o, (x) => x.actor === null && x.ts >= o.ts && x.ts - o.ts < CONFIRM_US);
    if (!c) {
      // A late request for what netlink already showed done (a repeated set): nothing of its own to report.
      return this.recent.some((x) => x.kind === o.kind && x.iface === o.iface && x.after === o.after && Math.abs(x.ts - o.ts) < CONFIRM_US);
    }
    const path = pathOf(o.kstack);
    Object.assign(c, { actor: o.actor, evidence: o.evidence });
    c.via = {
      ...c.via,
      probe: ev.probe,
      kstack: o.kstack,
      path: path.length ? path : [ev.probe],
      note: `${o.note ? `${o.note}; ` : ''}its cause arrived late (after netlink's message)`,
    };
    if (ev.seq !== undefined) c.refs.push(ev.seq);
    return true;
  }

  /**
   * A nested probe of a MAC change already reported, its outer probe's hold over before it arrived (a slow call: first
   * run of a freshly loaded module under emulation took 70 ms): the same task, the same old and new address, and
   * nothing changed that interface's MAC since. One change, not two.
   */
  private nestedInReported(ev: ProbeEvent, ifindex: number, before: string | null, after: string): boolean {
    let last: Change | undefined;
    for (let i = this.recent.length - 1; i >= 0 && !last; i--) if (this.recent[i]!.kind === 'mac' && this.recent[i]!.ifindex === ifindex) last = this.recent[i];
    if (!last || last.actor?.tid !== ev.tid || last.before !== before || last.after !== after || ev.ts - last.ts > CONFIRM_US) return false;
    // a change back to `before` still waiting to be reported: this is a real second change, not a nested probe
    if (before !== null && this.pending.findMac(before, (o) => o.ifindex === ifindex)) return false;
    if (ev.seq !== undefined) last.refs.push(ev.seq);
    return true;
  }

  /** Nested probes of one call (user -> set_mac -> addr_mod) are one change: keep every probe name and the deepest stack. */
  private mergeNested(ev: ProbeEvent, kind: 'mac' | 'promisc', same: (o: Obs) => boolean): boolean {
    const merged = this.pending.find(kind, (o) => o.tid === ev.tid && ev.ts - o.ts < MERGE_US && same(o));
    if (!merged) return false;
    if (!merged.probes.includes(ev.probe)) merged.probes.push(ev.probe);
    if (ev.kstack.length > merged.kstack.length) {
      merged.kstack = ev.kstack;
      delete merged.path;
    }
    if (ev.seq !== undefined) merged.refs.push(ev.seq);
    return true;
  }

  private onPromiscProbe(ev: ProbeEvent): void {
    const f = ev.fields;
    const ifindex = Number(f.ifindex);
    const inc = Number(f.inc);
    const before = Number(f.promiscuity);
    if (this.mergeNested(ev, 'promisc', (o) => o.ifindex === ifindex && o.before === before)) return;
    this.table.ensure(ifindex, String(f.dev));
    this.observe(ev, { kind: 'promisc', ifindex, iface: String(f.dev), before, after: Math.max(0, before + inc) }, HOLD_US);
  }

  private onMasterProbe(ev: ProbeEvent, kind: 'enslave' | 'release'): void {
    const f = ev.fields;
    const master = String(f.bond ?? f.bridge ?? f.team);
    const port = String(f.slave ?? f.port);
    const s = this.table.byName(port);
    const m = this.table.byName(master);
    if (m) m.kind ??= f.bond !== undefined ? 'bond' : f.bridge !== undefined ? 'bridge' : 'team';
    this.observe(
      ev,
      {
        kind,
        ...(s ? { ifindex: s.ifindex } : {}),
        iface: port,
        before: kind === 'enslave' ? (s?.master ?? null) : master,
        after: kind === 'enslave' ? master : null,
      },
      CONFIRM_US,
    );
  }

  private onUnregister(ev: ProbeEvent): void {
    const f = ev.fields;
    const ifindex = Number(f.ifindex);
    this.observe(ev, { kind: 'deleted', ifindex, iface: String(f.dev), before: String(f.mac), after: null }, CONFIRM_US);
  }

  private onMove(ev: ProbeEvent): void {
    const f = ev.fields;
    // an inode is unsigned: programs generated before to_netns was printed with %llu gave those above 2^31 negative
    const to = Number(f.to_netns) >>> 0;
    const name = this.opts.netnsName?.(to);
    this.observe(
      ev,
      { kind: 'moved', ifindex: Number(f.ifindex), iface: String(f.dev), before: null, after: name ? `${name} (netns ${to})` : `netns ${to}` },
      CONFIRM_US,
    );
  }

  /** A failed call (ret < 0) changed nothing: its observations are dropped. */
  private onReturn(ev: ProbeEvent): void {
    const ret = Number(ev.fields.ret);
    if (!(ret < 0)) return;
    for (const o of this.pending) if (o.tid === ev.tid && o.probes.includes(ev.probe)) o.failed = true;
  }

  /** What a kernel probe saw happen: its task, stack and time, waiting `hold` µs for nested probes or netlink. */
  private observe(ev: ProbeEvent, o: ObservedFields, hold: number): void {
    this.add({ ...o, actor: this.actor(ev), probes: [ev.probe], kstack: ev.kstack, ts: ev.ts, tid: ev.tid, evidence: 'observed', hold }, ev);
  }

  private request(ev: ProbeEvent, o: ObservedFields): void {
    this.add({ ...o, actor: this.actor(ev), probes: [ev.probe], kstack: [], ts: ev.ts, tid: ev.tid, evidence: 'requested', hold: CONFIRM_US }, ev);
  }

  private nameOf(ifindex: number): string {
    return this.table.get(ifindex)?.name ?? this.opts.nameHint?.(ifindex) ?? `if${ifindex}`;
  }

  /** A syscalls-backend request: the changes it asks for wait for netlink's confirmation. */
  private onRequest(ev: ProbeEvent, d: Decoded): void {
    const refs = ev.seq !== undefined ? [ev.seq] : [];
    if (d.named !== undefined) this.lastRequest.set(d.named, { actor: this.actor(ev), refs, ts: ev.ts });
    for (const r of d.requests) this.request(ev, r);
    if (d.packetPromisc?.on) this.packetPromisc.set(d.packetPromisc.ifindex, { actor: this.actor(ev), refs: [...refs] });
    else if (d.packetPromisc) this.packetPromisc.delete(d.packetPromisc.ifindex);
  }

  // ---- netlink -----------------------------------------------------------------------------------------

  private onLink(ev: LinkEvent): void {
    if (ev.family === 'bridge') return; // port messages: the link-family message carries the same master change
    const known = this.table.get(ev.ifindex);
    const before = this.table.applyLink(ev);
    const s = this.table.get(ev.ifindex)!;
    const refs = ev.seq !== undefined ? [ev.seq] : [];
    if (ev.action === 'del') {
      // Moved to another namespace: gone from this one, not deleted.
      if (ev.movedTo) {
        if (ev.movedTo.ifindex !== undefined) this.movedOut = [...this.movedOut.slice(-15), { name: ev.ifname, ifindex: ev.movedTo.ifindex, ts: ev.ts }];
        this.emitFromLink(ev, 'moved', this.here, ev.movedTo.netns, refs);
      } else if (!before?.deleted) this.emitFromLink(ev, 'deleted', before?.addr ?? null, null, refs);
      return;
    }
    if (!known || before?.deleted || known.probeOnly) {
      delete s.probeOnly;
      this.emitFromLink(ev, 'created', null, ev.addr ?? null, refs);
      return;
    }
    if (ev.addr !== undefined && before?.addr !== undefined && ev.addr !== before.addr) this.emitFromLink(ev, 'mac', before.addr, ev.addr, refs);
    if (ev.promiscuity !== undefined && before?.promiscuity !== undefined && ev.promiscuity !== before.promiscuity) {
      this.emitFromLink(ev, 'promisc', before.promiscuity, ev.promiscuity, refs);
    } else if (ev.promiscuity === undefined && before && before.flags.includes('PROMISC') !== ev.flags.includes('PROMISC')) {
      this.emitFromLink(ev, 'promisc', before.flags.includes('PROMISC') ? 'on' : 'off', ev.flags.includes('PROMISC') ? 'on' : 'off', refs);
    }
    const oldMaster = before?.master ?? null;
    const newMaster = ev.master ?? null;
    if (oldMaster !== newMaster) {
      const kind: ChangeKind = !oldMaster ? 'enslave' : !newMaster ? 'release' : 'master';
      this.emitFromLink(ev, kind, oldMaster, newMaster, refs);
    }
    void s;
  }

  /** A change netlink reports: already reported by a probe, explained by a pending observation, or inferred. */
  private emitFromLink(ev: LinkEvent, kind: ChangeKind, before: string | number | null, after: string | number | null, refs: number[]): void {
    const sameIface = (o: { ifindex?: number; iface: string }) => (o.ifindex !== undefined ? o.ifindex === ev.ifindex : o.iface === ev.ifname);
    // Each netlink message confirms at most one change a probe already reported, and only one it has not confirmed yet.
    const reported = this.unconfirmed.take(
      { kind, iface: ev.ifname, after },
      // A request's `before` is the state when it was decoded: stale in a storm, so it does not have to match.
      (c) => sameIface(c) && (c.before === before || before === null || c.before === null || c.evidence === 'requested') && ev.ts - c.ts < RECENT_US,
    );
    if (reported) {
      reported.refs.push(...refs);
      return;
    }
    const obs =
      kind === 'created'
        ? this.creatorOf(ev)
        : kind === 'mac' && typeof after === 'string'
          ? this.pending.findMac(after, (o) => !o.failed && sameIface(o))
          : this.pending.find(
              kind,
              (o) =>
                !o.failed &&
                sameIface(o) &&
                (o.after === after || typeof o.after !== typeof after || kind === 'release' || kind === 'deleted' || kind === 'moved'),
            );
    if (obs) {
      this.pending.take(obs);
      // A probe names the target namespace by inode (and name); a request only by a file descriptor: keep netlink's id then.
      const moved = kind === 'moved' && obs.evidence === 'observed' ? { after: obs.after } : {};
      this.emit({ ...obs, kind, ifindex: ev.ifindex, iface: ev.ifname, before, after, ...moved, refs: [...obs.refs, ...refs] });
      return;
    }
    if ((kind === 'mac' || kind === 'promisc') && this.foldIntoDeletion(ev.ifindex, undefined, ev.ts, refs)) return;
    const guess = inferCause(
      { table: this.table, ops: this.operations(), recent: this.recent, packetPromisc: this.packetPromisc, lastRequest: this.lastRequest },
      ev,
      kind,
      after,
      before,
    );
    const inferred = this.emit({
      kind,
      ifindex: ev.ifindex,
      iface: ev.ifname,
      before,
      after,
      actor: guess?.actor ?? null,
      probes: [],
      kstack: [],
      ts: ev.ts,
      tid: 0,
      evidence: 'inferred',
      refs: [...(guess?.refs ?? []), ...refs],
      note: guess?.note ?? 'only netlink saw this change; no probe explains it',
      ...(guess?.path ? { inferredPath: guess.path } : {}),
      due: ev.ts,
    });
    if (inferred && inferred.actor === null) this.unclaimed.add(inferred);
  }

  /**
   * Who created the device netlink announces: a probe saw it allocated (ifindex 0, no name yet) with its first
   * address, or a request named it. Matched by that address or name, never by "the next device": an unnamed request
   * matches only when it is the one such request pending.
   */
  private creatorOf(ev: LinkEvent): Obs | undefined {
    const creating = this.pending.filter('creating', (o) => !o.failed);
    const byName = creating.find((o) => o.iface !== '' && o.iface === ev.ifname);
    if (byName) return byName;
    const byAddr = ev.addr !== undefined ? creating.filter((o) => o.after !== null && o.after === ev.addr) : [];
    if (byAddr.length) return byAddr[0];
    const anonymous = creating.filter((o) => o.iface === '' && o.after === null);
    return anonymous.length === 1 ? anonymous[0] : undefined;
  }

  /**
   * A deletion of this device already seen (a probe, or the request) by the same task a moment earlier: the change
   * is folded into it (its events stay in the deletion's refs) instead of being reported on its own.
   */
  private foldIntoDeletion(ifindex: number, tid: number | undefined, ts: number, refs: number[]): boolean {
    const near = (x: { ts: number }) => ts - x.ts >= 0 && ts - x.ts < 1_000_000;
    const obs = this.pending.find(
      'deleted',
      (o) => !o.failed && o.ifindex === ifindex && near(o) && (tid === undefined || o.tid === tid || o.evidence === 'requested'),
    );
    if (obs) {
      obs.refs.push(...refs);
      return true;
    }
    const done = this.recent.find((c) => c.kind === 'deleted' && c.ifindex === ifindex && near(c) && (tid === undefined || c.actor?.tid === tid));
    if (!done) return false;
    done.refs.push(...refs);
    return true;
  }

  /** Recent changes, then pending observations: what happened around an event, whoever has reported it yet. */
  private operations(): Op[] {
    // The newest of each: in a storm thousands are pending, and causes are searched close in time.
    return operationsOf(this.recent.slice(-RECENT_MAX), this.pending.newest(RECENT_MAX));
  }

  // ---- emission ----------------------------------------------------------------------------------------

  /** Observations whose time has come: promisc/MAC writes after their merge hold, requests unconfirmed. */
  private expire(now: number): void {
    if (now < this.pending.nextDue()) return;
    for (const o of this.pending.takeDue(now)) {
      if (o.failed || o.kind === 'creating') continue;
      // A request that asked for what already was (the same MAC, the same master) changed nothing.
      if (o.evidence === 'requested' && o.before !== null && o.before === o.after) continue;
      if (o.evidence === 'requested') o.note = `${o.note ? `${o.note}; ` : ''}request not confirmed by netlink`;
      const c = this.emit(o);
      if (c) this.unconfirmed.add(c);
    }
  }

  private emit(o: Obs): Change | undefined {
    if (o.kind === 'creating') return undefined;
    // What a device undergoes while it is being deleted (a dying bond's random MAC) is part of its deletion.
    if ((o.kind === 'mac' || o.kind === 'promisc') && o.ifindex !== undefined && this.foldIntoDeletion(o.ifindex, o.tid, o.ts, o.refs)) return undefined;
    const kind = o.kind;
    const path = [...(o.inferredPath ?? [])];
    for (const p of pathOfObs(o)) if (!path.includes(p)) path.push(p);
    const note = o.note ?? describeObserved({ table: this.table, operations: () => this.operations(), pending: this.pending }, o);
    const change: Change = {
      type: 'change',
      ts: o.ts,
      iface: o.iface,
      ...(o.ifindex !== undefined ? { ifindex: o.ifindex } : {}),
      kind,
      before: o.before,
      after: o.after,
      actor: o.actor,
      via: { ...(o.probes[0] ? { probe: o.probes[o.probes.length - 1] } : {}), kstack: o.kstack, path, ...(note ? { note } : {}) },
      evidence: o.evidence,
      refs: o.refs,
    };
    this.table.applyChange(change, labelActor(o.actor));
    if (kind === 'mac' && o.evidence !== 'inferred') this.learnAssignType(o);
    this.recent.push(change);
    // Searches look a few seconds back; a storm must not make every search walk thousands of changes.
    if (this.recent.length > 2 * RECENT_MAX) this.recent = this.recent.slice(-RECENT_MAX).filter((c) => this.clock - c.ts < RECENT_US);
    this.out.push(change);
    return change;
  }

  private learnAssignType(o: Obs): void {
    if (o.ifindex === undefined) return;
    // A MAC set on request (dev_set_mac_address, or the netlink/ioctl/sysfs request behind it) is NET_ADDR_SET.
    if (o.evidence === 'requested' || o.probes.includes('dev_set_mac_address') || o.probes.includes('dev_set_mac_address_user'))
      this.table.setAssignType(o.ifindex, 3);
    else if (stackHas(o.kstack, 'bond_enslave')) this.table.setAssignType(o.ifindex, 2);
    else if (stackHas(o.kstack, '__bond_release_one')) this.table.setAssignType(o.ifindex, 1);
  }
}
