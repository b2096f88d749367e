// Turn probe events and netlink messages into attributed changes, in time order, keeping per-interface state.
import type { Actor, Change, ChangeKind, Evidence, LinkEvent, LinkState, ProbeEvent, TraceEvent } from '../events.js';
import type { IfaceState } from './state.js';
import { actorOf, labelActor, type ProcessInfo } from './actor.js';
import { pathOf, stackHas } from './paths.js';
import { StateTable } from './state.js';
import { promiscCause } from './words.js';

/** A port released from its master: team_del_slave is where team_port_del is attached on kernels that inline it. */
const RELEASE_PATH = /br_del_if|__bond_release_one|team_port_del|team_del_slave/;

/** A change a probe saw or a request the syscalls backend saw, waiting to be merged, confirmed or emitted. */
interface Obs {
  kind: ChangeKind | 'creating';
  ifindex?: number;
  iface: string;
  before: string | number | null;
  after: string | number | null;
  actor: Actor | null;
  probes: string[];
  kstack: string[];
  ts: number;
  tid: number;
  evidence: Evidence;
  refs: number[];
  note?: string;
  /** For inferred changes: the path of the operation that caused them. */
  inferredPath?: string[];
  /** Event time (µs) after which it is emitted without netlink confirmation. */
  due: number;
  /** The causal path, computed once (again when nested probes merge in). */
  path?: string[];
  pathProbes?: number;
  failed?: boolean;
}

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

const MERGE_US = 100_000;
const HOLD_US = 50_000;
const CONFIRM_US = 1_500_000;
const RECENT_US = 3_000_000;
/** At most this many recent changes are searched (the newest). */
const RECENT_MAX = 512;

const MAC_PROBES = new Set(['dev_set_mac_address_user', 'dev_set_mac_address', 'dev_addr_mod', 'netdev_changeaddr']);
const PROMISC_PROBES = new Set(['dev_set_promiscuity', '__dev_set_promiscuity']);
const IFF_PROMISC = 0x100;
const NLM_F_CREATE = 0x400;

/** What an observation says beyond who, when and how: the caller's part of an Obs. */
type ObservedFields = Pick<Obs, 'kind' | 'iface' | 'before' | 'after'> & { ifindex?: number; note?: string };

/** An operation already reported (a change) or still pending (an observation), in one shape for the searches. */
interface Op {
  kind: ChangeKind | 'creating';
  iface: string;
  before: string | number | null;
  after: string | number | null;
  actor: Actor | null;
  ts: number;
  tid: number | undefined;
  refs: number[];
  /** Causal path: known stack frames, then the probes that saw it. */
  path: string[];
}

function claimKey(kind: string, iface: string): string {
  return `${kind}|${iface}`;
}

function pathOfObs(o: Obs): string[] {
  if (o.path && o.pathProbes === o.probes.length) return o.path;
  const frames = pathOf(o.kstack);
  o.path = [...frames, ...o.probes.filter((p) => !frames.includes(p))];
  o.pathProbes = o.probes.length;
  return o.path;
}

export class Correlator {
  readonly table: StateTable;
  private pending: Obs[] = [];
  /** The earliest `due` among pending observations: nothing to expire before it. */
  private nextDue = Infinity;
  private recent: Change[] = [];
  /** Changes a netlink message has already confirmed. */
  private readonly confirmed = new WeakSet<Change>();
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
  /** Unattributed changes of the last seconds by kind and interface, for causes that arrive late. */
  private readonly unclaimed = new Map<string, Change[]>();

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
    let h = this.clock;
    for (const o of this.pending) if (o.ts < h) h = o.ts;
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
      case 'nl_link':
        return this.onNetlinkRequest(ev);
      case 'ioctl_link':
        return this.onIoctl(ev);
      case 'packet_membership':
        return this.onPacketMembership(ev);
      case 'sysfs_write':
        return this.onSysfsWrite(ev);
    }
  }

  private actor(ev: ProbeEvent): Actor {
    return ev.actor ?? actorOf(ev, this.info);
  }

  private add(o: Omit<Obs, 'refs' | 'due'> & { hold: number }, ev: ProbeEvent): void {
    const { hold, ...rest } = o;
    if (this.claimInferred(rest, ev)) return;
    this.pending.push({ ...rest, refs: ev.seq !== undefined ? [ev.seq] : [], due: ev.ts + hold });
    this.nextDue = Math.min(this.nextDue, ev.ts + hold);
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
    if (this.mergeNested(ev, (o) => o.kind === 'mac' && o.ifindex === ifindex && o.after === after)) return;
    if (before === after) return; // a no-op set: the kernel still calls in, nothing changes
    this.observe(ev, { kind: 'mac', ifindex, iface: name, before, after }, HOLD_US);
  }

  /**
   * A cause that arrives after netlink's message was correlated without it (a bounded wait ran out): it explains the
   * change already reported as unattributed, which takes its process and evidence, instead of being reported twice.
   */
  private claimInferred(o: Omit<Obs, 'refs' | 'due'>, ev: ProbeEvent): boolean {
    // Only a late cause can explain a change already reported: in time order a cause comes before its change.
    if (o.kind === 'creating' || o.ts >= this.clock) return false;
    const candidates = this.unclaimed.get(claimKey(o.kind, o.iface)) ?? [];
    const i = candidates.findIndex((x) => x.actor === null && (o.kind !== 'mac' || x.after === o.after) && x.ts >= o.ts && x.ts - o.ts < CONFIRM_US);
    if (i < 0) {
      // A late request for what netlink already showed done (a repeated set): nothing of its own to report.
      return this.recent.some((x) => x.kind === o.kind && x.iface === o.iface && x.after === o.after && Math.abs(x.ts - o.ts) < CONFIRM_US);
    }
    const c = candidates[i]!;
    candidates.splice(i, 1);
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

  /** An unattributed change, kept where a late cause can find it (by kind and interface; a storm has many). */
  private rememberUnclaimed(c: Change): void {
    const key = claimKey(c.kind, c.iface);
    const list = (this.unclaimed.get(key) ?? []).filter((x) => c.ts - x.ts < CONFIRM_US);
    list.push(c);
    this.unclaimed.set(key, list);
    if (this.unclaimed.size > 4 * RECENT_MAX)
      for (const [k, l] of this.unclaimed) if (!l.length || c.ts - l[l.length - 1]!.ts >= CONFIRM_US) this.unclaimed.delete(k);
  }

  /** Nested probes of one call (user -> set_mac -> addr_mod) are one change: keep every probe name and the deepest stack. */
  private mergeNested(ev: ProbeEvent, same: (o: Obs) => boolean): boolean {
    const merged = this.pending.find((o) => o.tid === ev.tid && ev.ts - o.ts < MERGE_US && same(o));
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
    if (this.mergeNested(ev, (o) => o.kind === 'promisc' && o.ifindex === ifindex && o.before === before)) return;
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
    const to = Number(f.to_netns);
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

  private onNetlinkRequest(ev: ProbeEvent): void {
    const f = ev.fields;
    const ifindex = Number(f.ifindex);
    const ifname = String(f.ifname ?? '');
    const s = ifindex ? this.table.get(ifindex) : ifname ? this.table.byName(ifname) : undefined;
    const iface = s?.name ?? (ifname || (ifindex ? this.nameOf(ifindex) : ''));
    const base = { ...(s ? { ifindex: s.ifindex } : ifindex ? { ifindex } : {}), iface };
    if (Number(f.nl_type) === 16 && Number(f.nl_flags) & NLM_F_CREATE) {
      this.request(ev, { kind: 'creating', iface: ifname, before: null, after: null });
      return;
    }
    if (!iface) return; // a request naming no interface (capability probes some tools send)
    if (Number(f.nl_type) === 17) {
      this.request(ev, { ...base, kind: 'deleted', before: s?.addr ?? null, after: null });
      return;
    }
    // The last request naming this device: a move (IFLA_NET_NS_FD, not parsed in-program: the BPF stack is full) is told from it.
    if (s) this.lastRequest.set(s.ifindex, { actor: this.actor(ev), refs: ev.seq !== undefined ? [ev.seq] : [], ts: ev.ts });
    if (f.addr) this.request(ev, { ...base, kind: 'mac', before: s?.addr ?? null, after: String(f.addr) });
    const master = Number(f.master);
    if (master > 0) this.request(ev, { ...base, kind: 'enslave', before: s?.master ?? null, after: this.nameOf(master) });
    if (master === 0) this.request(ev, { ...base, kind: 'release', before: s?.master ?? null, after: null });
    if (Number(f.ifi_change) & IFF_PROMISC) {
      const on = (Number(f.ifi_flags) & IFF_PROMISC) !== 0;
      const before = s?.promiscuity ?? null;
      this.request(ev, {
        ...base,
        kind: 'promisc',
        before,
        after: before === null ? (on ? 'on' : 'off') : Math.max(0, before + (on ? 1 : -1)),
        note: `ip link set promisc ${on ? 'on' : 'off'}`,
      });
    }
  }

  private onIoctl(ev: ProbeEvent): void {
    const f = ev.fields;
    const iface = String(f.ifname);
    const s = this.table.byName(iface);
    const base = { ...(s ? { ifindex: s.ifindex } : {}), iface };
    if (Number(f.cmd) === 0x8924) this.request(ev, { ...base, kind: 'mac', before: s?.addr ?? null, after: String(f.addr), note: 'SIOCSIFHWADDR ioctl' });
    else if (Number(f.cmd) === 0x8914 && s) {
      const on = (Number(f.value) & IFF_PROMISC) !== 0;
      if (on !== s.flags.includes('PROMISC'))
        this.request(ev, {
          ...base,
          kind: 'promisc',
          before: s.promiscuity ?? null,
          after: s.promiscuity === undefined ? (on ? 'on' : 'off') : Math.max(0, s.promiscuity + (on ? 1 : -1)),
          note: 'SIOCSIFFLAGS ioctl',
        });
    }
  }

  private onPacketMembership(ev: ProbeEvent): void {
    const f = ev.fields;
    if (Number(f.mr_type) !== 1) return; // only PACKET_MR_PROMISC
    const ifindex = Number(f.ifindex);
    const s = this.table.get(ifindex);
    const inc = Number(f.op) === 1 ? 1 : -1;
    const before = s?.promiscuity ?? null;
    this.request(ev, {
      ifindex,
      iface: this.nameOf(ifindex),
      kind: 'promisc',
      before,
      after: before === null ? null : Math.max(0, before + inc),
      note: `packet socket ${inc > 0 ? 'PACKET_ADD_MEMBERSHIP' : 'PACKET_DROP_MEMBERSHIP'} PACKET_MR_PROMISC (libpcap)`,
    });
    if (inc > 0) this.packetPromisc.set(ifindex, { actor: this.actor(ev), refs: ev.seq !== undefined ? [ev.seq] : [] });
    else this.packetPromisc.delete(ifindex);
  }

  private onSysfsWrite(ev: ProbeEvent): void {
    const path = String(ev.fields.path);
    const data = String(ev.fields.data).trim();
    const slaves = /^\/sys\/(?:class|devices\/.*)\/net\/([^/]+)\/bonding\/slaves$/.exec(path);
    if (slaves && /^[+-]/.test(data)) {
      const port = data.slice(1);
      const s = this.table.byName(port);
      const base = { ...(s ? { ifindex: s.ifindex } : {}), iface: port, note: `echo ${data} > ${path}` };
      if (data.startsWith('+')) this.request(ev, { ...base, kind: 'enslave', before: s?.master ?? null, after: slaves[1]! });
      else this.request(ev, { ...base, kind: 'release', before: slaves[1]!, after: null });
      return;
    }
    const addr = /^\/sys\/(?:class|devices\/.*)\/net\/([^/]+)\/address$/.exec(path);
    if (addr) {
      const s = this.table.byName(addr[1]!);
      this.request(ev, {
        ...(s ? { ifindex: s.ifindex } : {}),
        iface: addr[1]!,
        kind: 'mac',
        before: s?.addr ?? null,
        after: data.toLowerCase(),
        note: `write to ${path}`,
      });
    }
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
    const reported = this.recent.find(
      (c) =>
        !this.confirmed.has(c) &&
        c.kind === kind &&
        sameIface(c) &&
        c.after === after &&
        (c.before === before || before === null || c.before === null) &&
        ev.ts - c.ts < RECENT_US,
    );
    if (reported) {
      this.confirmed.add(reported);
      reported.refs.push(...refs);
      return;
    }
    const obs =
      kind === 'created'
        ? this.creatorOf(ev)
        : this.pending.find(
            (o) =>
              !o.failed &&
              o.kind === kind &&
              sameIface(o) &&
              (o.after === after || typeof o.after !== typeof after || kind === 'release' || kind === 'deleted' || kind === 'moved'),
          );
    if (obs) {
      this.pending = this.pending.filter((o) => o !== obs);
      // A probe names the target namespace by inode (and name); a request only by a file descriptor: keep netlink's id then.
      const moved = kind === 'moved' && obs.evidence === 'observed' ? { after: obs.after } : {};
      const c = this.emit({ ...obs, kind, ifindex: ev.ifindex, iface: ev.ifname, before, after, ...moved, refs: [...obs.refs, ...refs] });
      if (c) this.confirmed.add(c);
      return;
    }
    if ((kind === 'mac' || kind === 'promisc') && this.foldIntoDeletion(ev.ifindex, undefined, ev.ts, refs)) return;
    const guess = this.infer(ev, kind, after, before);
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
    if (inferred) this.confirmed.add(inferred); // it came from this very message
    if (inferred && inferred.actor === null) this.rememberUnclaimed(inferred);
  }

  /**
   * Who created the device netlink announces: a probe saw it allocated (ifindex 0, no name yet) with its first
   * address, or a request named it. Matched by that address or name, never by "the next device": an unnamed request
   * matches only when it is the one such request pending.
   */
  private creatorOf(ev: LinkEvent): Obs | undefined {
    const creating = this.pending.filter((o) => !o.failed && o.kind === 'creating');
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
      (o) => o.kind === 'deleted' && !o.failed && o.ifindex === ifindex && near(o) && (tid === undefined || o.tid === tid || o.evidence === 'requested'),
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

  /** The deletion of a master a moment ago (seen or requested), whoever has reported it yet. */
  private masterDeletion(master: string, ts: number): Op | undefined {
    return this.operations().find((o) => o.kind === 'deleted' && o.iface === master && ts - o.ts >= 0 && ts - o.ts < 1_000_000 && o.actor);
  }

  /** Recent changes, then pending observations: what happened around an event, whoever has reported it yet. */
  private operations(): Op[] {
    return [
      ...this.recent.map((c) => ({
        kind: c.kind,
        iface: c.iface,
        before: c.before,
        after: c.after,
        actor: c.actor,
        ts: c.ts,
        tid: c.actor?.tid,
        refs: c.refs,
        path: c.via.path,
      })),
      ...this.pending.map((o) => ({
        kind: o.kind,
        iface: o.iface,
        before: o.before,
        after: o.after,
        actor: o.actor,
        ts: o.ts,
        tid: o.tid,
        refs: o.refs,
        path: pathOfObs(o),
      })),
    ];
  }

  /** Kernel-internal causes the syscalls backend cannot see, told from the netlink stream and recent requests. */
  private infer(
    ev: LinkEvent,
    kind: ChangeKind,
    after: string | number | null,
    before: string | number | null = null,
  ): { actor: Actor | null; note: string; refs: number[]; path?: string[] } | undefined {
    const s = this.table.get(ev.ifindex);
    const ops = this.operations();
    const relatedRequest = (names: string[]) =>
      ops.filter((c) => names.includes(c.iface) && ev.ts - c.ts < RECENT_US && (c.kind === 'enslave' || c.kind === 'release' || c.kind === 'master')).pop();
    if (kind === 'mac' && typeof after === 'string') {
      // Ports include those joining right now: netlink announces the master's new MAC before the port's master.
      const joining = ops.filter((o) => o.kind === 'enslave' && o.after === ev.ifname && ev.ts - o.ts < 1_000_000);
      const ports = [...this.table.portsOf(ev.ifname), ...joining.map((o) => this.table.byName(o.iface)).filter((p): p is IfaceState => !!p)];
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
      const master = s?.master ? this.table.byName(s.master) : undefined;
      if (master && master.addr === after) {
        const r = relatedRequest([ev.ifname]);
        return { actor: r?.actor ?? null, note: `master ${master.name} set its port's MAC to its own (inferred from netlink)`, refs: r?.refs ?? [] };
      }
    }
    if (kind === 'promisc') {
      const pcap = this.packetPromisc.get(ev.ifindex);
      if (pcap && typeof after === 'number' && typeof s?.promiscuity === 'number') {
        this.packetPromisc.delete(ev.ifindex);
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
      const r = this.lastRequest.get(ev.ifindex);
      if (r && ev.ts - r.ts >= 0 && ev.ts - r.ts < 1_000_000)
        return {
          actor: r.actor,
          note: `moved to another network namespace by the netlink request ${r.actor.comm} sent for ${ev.ifname} a moment before`,
          refs: r.refs,
        };
      return undefined;
    }
    // Ports let go because their bridge or bond was deleted: the process that deleted the master did it.
    const gone = kind === 'release' && typeof before === 'string' ? this.masterDeletion(before, ev.ts) : undefined;
    if (gone) return { actor: gone.actor, note: `released because its master ${gone.iface} was deleted`, refs: gone.refs, path: gone.path };
    // A probe saw the same operation through another function (br_del_if lowering promiscuity, a bond releasing its slaves).
    if (kind !== 'release' && kind !== 'deleted') return undefined;
    // A veth peer (or a device's uppers) goes with the device that was deleted a moment ago.
    const with_ = kind === 'deleted' ? [...this.recent].reverse().find((c) => c.kind === 'deleted' && c.actor && ev.ts - c.ts < 200_000) : undefined;
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

  // ---- emission ----------------------------------------------------------------------------------------

  /** Observations whose time has come: promisc/MAC writes after their merge hold, requests unconfirmed. */
  private expire(now: number): void {
    if (now < this.nextDue) return;
    const due = this.pending.filter((o) => o.due <= now);
    this.pending = this.pending.filter((o) => o.due > now);
    this.nextDue = this.pending.reduce((m, o) => Math.min(m, o.due), Infinity);
    for (const o of due) {
      if (o.failed || o.kind === 'creating') continue;
      // A request that asked for what already was (the same MAC, the same master) changed nothing.
      if (o.evidence === 'requested' && o.before !== null && o.before === o.after) continue;
      if (o.evidence === 'requested') o.note = `${o.note ? `${o.note}; ` : ''}request not confirmed by netlink`;
      this.emit(o);
    }
  }

  private emit(o: Obs): Change | undefined {
    if (o.kind === 'creating') return undefined;
    // What a device undergoes while it is being deleted (a dying bond's random MAC) is part of its deletion.
    if ((o.kind === 'mac' || o.kind === 'promisc') && o.ifindex !== undefined && this.foldIntoDeletion(o.ifindex, o.tid, o.ts, o.refs)) return undefined;
    const kind = o.kind;
    const path = [...(o.inferredPath ?? [])];
    for (const p of pathOfObs(o)) if (!path.includes(p)) path.push(p);
    const note = o.note ?? this.explainObserved(o);
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

  /** What a kernel path means, in words: the bond/bridge cases of the incidents. */
  private explainObserved(o: Obs): string | undefined {
    // Kernel paths need a kernel stack: requests (syscalls backend) have none.
    const what = o.kstack.length ? this.explainPath(o) : undefined;
    if (o.actor?.kernel && o.kind === 'mac') return `the kernel's own change (${o.actor.comm}), no user process behind it${what ? `: ${what}` : ''}`;
    return what;
  }

  private explainPath(o: Obs): string | undefined {
    if (o.kind === 'promisc' && o.kstack.length) return promiscCause(o.kstack, Number(o.after) > Number(o.before), o.iface);
    if (o.kind !== 'mac' || typeof o.after !== 'string') return undefined;
    const s = o.ifindex !== undefined ? this.table.get(o.ifindex) : undefined;
    // Operations of the same task close in time: what was it doing when the MAC moved?
    const sameTask = (kind: ChangeKind) => this.operations().filter((x) => x.kind === kind && x.tid === o.tid && Math.abs(x.ts - o.ts) < RECENT_US);
    const bondOf = () => String(sameTask('enslave').find((e) => e.iface === o.iface)?.after ?? s?.master ?? 'its bond');
    if (stackHas(o.kstack, 'alb_swap_mac_addr')) return `balance-alb bond ${s?.master ?? ''} swapped its slaves' MACs on failover`.replace('  ', ' ');
    if (stackHas(o.kstack, 'br_stp_recalculate_bridge_id')) {
      const port = this.table.portsOf(o.iface).find((p) => p.addr === o.after);
      return `bridge ${o.iface} follows its lowest port MAC${port ? ` (${port.name})` : ''}`;
    }
    if (stackHas(o.kstack, 'bond_enslave')) {
      const port = this.table.portsOf(o.iface).find((p) => p.addr === o.after)?.name ?? this.recentPortFor(o.iface, o.after);
      if (port && port !== o.iface) return `bond ${o.iface} inherited the MAC of its slave ${port} (bond_enslave, bypassing dev_set_mac_address)`;
      const bond = bondOf();
      if (stackHas(o.kstack, 'alb_set_slave_mac_addr')) return `balance-alb bond ${bond} gave its new slave a MAC of its own`;
      if (this.table.byName(bond)?.addr === o.after) return `bond ${bond} overwrote its slave's MAC with its own (bond_enslave)`;
      return `set while enslaving to ${bond} (bond_enslave)`;
    }
    const release = sameTask('release').filter((r) => r.path.includes('__bond_release_one'));
    const asBond = release.find((r) => r.before === o.iface);
    if (asBond) return `bond ${o.iface} took a new random MAC after its slave ${asBond.iface} was released`;
    const asSlave = release.find((r) => r.iface === o.iface);
    if (asSlave) return `${o.iface} got its own MAC back when released from ${asSlave.before}`;
    return undefined;
  }

  /** The port a bond just took its MAC from: a recent enslave observation naming this bond. */
  private recentPortFor(master: string, addr: string): string | undefined {
    for (const o of [...this.pending].reverse()) if (o.kind === 'enslave' && o.after === master && this.table.byName(o.iface)?.addr === addr) return o.iface;
    return undefined;
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
