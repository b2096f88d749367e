// One trace, one pass: keep the interface state (as the live correlator did), remember the few events that
// matter, and at the end say what went wrong on that host. Memory stays bounded whatever the trace's length.
import { labelActor } from '../correlate/actor.js';
import type { Actor, Change, LinkState, TraceEvent } from '../events.js';
import type { TraceHeader } from '../trace/format.js';
import { ReplayState, type IfaceState } from '../correlate/state.js';
import type { TraceProblem } from '../trace/problems.js';
import { bridgeMacFix, FLAPPING_FIX, LOST_FIX, lowerPromiscFix, sharedMacFix, udevBondFix, udevRuleFix } from './fixes.js';
import { MAX_EVIDENCE, type EvidenceRef, type Finding, type FindingId, type Severity } from './types.js';
import { valueText } from '../format/values.js';

/**
 * A MAC "flaps" when, within the window, it goes back to an address it had (A -> B -> A) at least FLAP_RETURNS
 * times, or changes FLAP_CHANGES times at all.
 */
export const FLAP_WINDOW_US = 60_000_000;
export const FLAP_RETURNS = 3;
export const FLAP_CHANGES = 8;
/** Two interfaces with one MAC count only once it lasts this long while they are unrelated (enslaving is not instant). */
export const DUP_GRACE_US = 1_500_000;
const MAX_DUP_PAIRS = 1000;
const MAX_TRANSIENT_MACS = 4096;

const PCAP_COMMS = new Set(['tcpdump', 'tshark', 'dumpcap', 'wireshark', 'ngrep', 'tcpflow', 'iftop']);

/** Kinds of interfaces that share their parent's MAC by design. */
const SHARES_PARENT_MAC = new Set(['vlan', 'ipvlan', 'ipvtap']);

export type IfKind = 'bond' | 'bridge' | 'team' | string;

/** udev changed it: its own policy (the worker or udevd itself) or a RUN rule (a program with udevd as an ancestor). */
export function udevRole(a: Actor | null | undefined): 'policy' | 'rule' | null {
  if (!a) return null;
  if (a.comm === '(udev-worker)' || a.comm === 'systemd-udevd' || a.comm === 'udevd') return 'policy';
  if (/^\(.*\)$/.test(a.comm) && (a.service === 'systemd-udevd' || a.unit === 'systemd-udevd.service')) return 'policy';
  if (a.service === 'systemd-udevd' || a.chain.some((p) => p.comm === 'systemd-udevd' || p.comm === '(udev-worker)')) return 'rule';
  return null;
}

function isPcap(c: Change): boolean {
  const a = c.actor;
  if (a && (PCAP_COMMS.has(a.comm) || (a.service !== undefined && PCAP_COMMS.has(a.service)))) return true;
  if (c.via.note && /libpcap|PACKET_MR_PROMISC/.test(c.via.note)) return true;
  return c.via.path.includes('packet_setsockopt') || c.via.kstack.some((f) => f.startsWith('packet_setsockopt'));
}

/** A usable unicast hardware address (not empty, zero, broadcast or multicast). */
export function isUnicastMac(mac: string | undefined | null): mac is string {
  if (!mac || mac.length < 2) return false;
  if (/^(00:)*00$/.test(mac) || /^(ff:)*ff$/.test(mac)) return false;
  const first = parseInt(mac.slice(0, 2), 16);
  return (first & 1) === 0;
}

/** A kind from the name alone, when nothing better is known (then said so). */
function kindFromName(name: string): IfKind | undefined {
  if (/^bond/.test(name)) return 'bond';
  if (/^(br|virbr|brauto|docker\d|cni|lxcbr|vmbr)/.test(name)) return 'bridge';
  if (/^team/.test(name)) return 'team';
  if (/^[^.]+\.\d+$/.test(name)) return 'vlan';
  return undefined;
}

export function changeText(c: Change): string {
  const by = c.actor ? labelActor(c.actor) : 'unattributed';
  const via = c.via.path.length ? ` via ${c.via.path.join(' > ')}` : c.via.probe ? ` via ${c.via.probe}` : '';
  const note = c.via.note ? ` (${c.via.note})` : '';
  return `${c.iface} ${c.kind} ${valueText(c.before)} -> ${valueText(c.after)} by ${by}${via} [${c.evidence}]${note}`;
}

/** A MAC held at the end of a trace: what the cross-host check compares. */
export interface HeldMac {
  iface: string;
  mac: string;
  kind?: IfKind;
  /** The event that gave it (absent: it had it when the trace started). */
  ref?: EvidenceRef;
  byUdev: boolean;
  final: boolean;
}

/** Everything one trace contributes to explain. */
export interface TraceResult {
  file: string;
  host: string;
  kernel: string;
  backend: string;
  events: number;
  changes: number;
  firstTs?: number;
  lastTs?: number;
  lost: number;
  skipped: number;
  findings: Finding[];
  macs: HeldMac[];
}

/** A change and where it is; its evidence text is made only when it is kept as evidence (few are). */
class Ref {
  private made: EvidenceRef | undefined;
  constructor(
    readonly change: Change,
    private readonly line: number,
    private readonly make: (c: Change, line: number) => EvidenceRef,
  ) {}
  get ref(): EvidenceRef {
    return (this.made ??= this.make(this.change, this.line));
  }
}

interface DupPair {
  a: string;
  b: string;
  mac: string;
  ts: number;
  /** Lasted DUP_GRACE_US while unrelated (or still so at the end): a finding. */
  confirmed: boolean;
  refs: EvidenceRef[];
  /** Seen first in the netlink message of this interface: the change event, when it follows, is better evidence. */
  byNetlink?: string | undefined;
}

interface Flap {
  recent: { ts: number; before: string | number | null; after: string | number | null; back: boolean }[];
  /** How many of `recent` went back to an address it had. */
  backs: number;
  total: number;
  flagged: boolean;
  firstFlagTs?: number;
  refs: EvidenceRef[];
  more: number;
}

/** Bounded list of evidence: keeps the first ones and counts the rest. */
class EvidenceList {
  items: EvidenceRef[] = [];
  more = 0;
  constructor(private readonly cap = MAX_EVIDENCE) {}
  add(r: EvidenceRef): void {
    if (this.items.length < this.cap) this.items.push(r);
    else this.more++;
  }
}

export class TraceAnalyzer {
  private readonly st: ReplayState;
  private readonly host: string;
  private readonly kinds = new Map<string, IfKind>();
  private readonly guessed = new Map<string, IfKind | null>();
  private readonly peers = new Map<string, string>();
  /** The MAC an interface had of its own: permanent address, else the first one seen. */
  private readonly ownMac = new Map<string, string>();
  private readonly lastMacRef = new Map<string, Ref>();
  /** The MAC udev's policy gave an interface when it appeared: its own as much as the one it was created with. */
  private readonly udevGiven = new Map<string, string>();
  private readonly udevMacs: Ref[] = [];
  private readonly overwrites: Ref[] = [];
  private readonly enslaves: Ref[] = [];
  private readonly bridgeMoves = new Map<string, { list: EvidenceList; warn: boolean; ts: number; lastMac?: string }>();
  private readonly promiscRefs = new Map<string, EvidenceList>();
  private readonly pcapOutstanding = new Map<string, number>();
  private readonly flaps = new Map<string, Flap>();
  private readonly macIndex = new Map<string, Set<number>>();
  private readonly ifMac = new Map<number, string>();
  private readonly dups = new Map<string, DupPair>();
  private readonly dupsAwaitingChange = new Map<string, DupPair>();
  /** Checks that wait for the dust to settle (enslaving is several events): run once raw time passes `due`, or at the end. */
  private deferred: { due: number; run: () => void }[] = [];
  /** Bonds seen with a MAC none of their slaves owns (after the grace time), by bond. */
  private readonly foreign = new Map<string, { mac: string; ts: number; slaves: string[]; owned: string[]; refs: EvidenceList }>();
  private readonly transient = new Map<string, HeldMac>();
  private readonly lostList = new EvidenceList();
  private readonly lostBySource = new Map<string, number>();
  private skipped = 0;
  private events = 0;
  private changes = 0;
  private firstTs: number | undefined;
  private lastTs: number | undefined;

  constructor(
    readonly file: string,
    readonly header: TraceHeader,
  ) {
    this.host = header.host;
    this.st = new ReplayState(header.snapshot);
    for (const l of header.snapshot) this.learnSnapshot(l);
    for (const s of this.st.table.all()) this.index(s);
  }

  private learnSnapshot(l: LinkState): void {
    if (l.kind) this.kinds.set(l.ifname, l.kind);
    const own = l.permAddr ?? l.addr;
    if (isUnicastMac(own)) this.ownMac.set(l.ifname, own);
  }

  private readonly makeRef = (c: Change, line: number): EvidenceRef => this.ref(c, line, changeText(c));

  private ref(ev: TraceEvent, line: number, text: string): EvidenceRef {
    return { file: this.file, host: this.host, line, ts: ev.ts, text, event: ev };
  }

  /** What an interface is: known (snapshot, probes, kernel paths), else guessed from its name (and said so). */
  kindOf(name: string): { kind: IfKind | undefined; guessed: boolean } {
    const k = this.kinds.get(name);
    if (k) return { kind: k, guessed: false };
    let g = this.guessed.get(name);
    if (g === undefined) this.guessed.set(name, (g = kindFromName(name) ?? null));
    return { kind: g ?? undefined, guessed: g !== null };
  }

  /** One event of the trace, in file order. */
  push(ev: TraceEvent, line: number): void {
    this.events++;
    if (this.deferred.length && ev.type !== 'change') this.settle(ev.ts);
    if (this.firstTs === undefined || ev.ts < this.firstTs) this.firstTs = ev.ts;
    if (this.lastTs === undefined || ev.ts > this.lastTs) this.lastTs = ev.ts;
    switch (ev.type) {
      case 'probe': {
        const f = ev.fields;
        if ((ev.probe === 'bond_enslave' || ev.probe === '__bond_release_one') && typeof f.bond === 'string') this.kinds.set(f.bond, 'bond');
        if ((ev.probe === 'br_add_if' || ev.probe === 'br_del_if') && typeof f.bridge === 'string') this.kinds.set(f.bridge, 'bridge');
        if ((ev.probe === 'team_port_add' || ev.probe === 'team_port_del') && typeof f.team === 'string') this.kinds.set(f.team, 'team');
        this.st.apply(ev);
        return;
      }
      case 'link': {
        if (ev.peer && ev.peer !== 'NONE') this.peers.set(ev.ifname, ev.peer);
        if (!this.ownMac.has(ev.ifname)) {
          const own = ev.permAddr ?? ev.addr;
          if (isUnicastMac(own)) this.ownMac.set(ev.ifname, own);
        } else if (isUnicastMac(ev.permAddr)) {
          this.ownMac.set(ev.ifname, ev.permAddr);
        }
        this.st.apply(ev);
        const s = this.st.table.get(ev.ifindex);
        if (s) this.index(s, ev, line);
        return;
      }
      case 'change':
        this.onChange(ev, line);
        return;
      case 'lost':
        this.lostBySource.set(ev.source, (this.lostBySource.get(ev.source) ?? 0) + ev.count);
        this.lostList.add(this.ref(ev, line, `${ev.count} ${ev.source} event${ev.count === 1 ? '' : 's'} lost${ev.detail ? `: ${ev.detail}` : ''}`));
        return;
      case 'note':
        return;
    }
  }

  /** A line the reader could not use: part of the picture is missing. */
  problem(p: TraceProblem): void {
    if (!p.skipped) return;
    this.skipped++;
    this.lostList.add({ file: p.file, host: this.host, line: p.line, text: `unreadable line: ${p.message}` });
  }

  private onChange(c: Change, line: number): void {
    this.changes++;
    const r = new Ref(c, line, this.makeRef);
    const before = this.stateOf(c);
    const masterBefore = before?.master ?? null;
    switch (c.kind) {
      case 'mac': {
        if (!this.ownMac.has(c.iface) && isUnicastMac(typeof c.before === 'string' ? c.before : undefined)) this.ownMac.set(c.iface, c.before as string);
        if (c.before !== c.after) {
          const pending = this.dupsAwaitingChange.get(`${c.iface} ${String(c.after)}`);
          if (pending) {
            this.dupsAwaitingChange.delete(`${c.iface} ${String(c.after)}`);
            pending.refs[0] = r.ref;
            pending.ts = Math.min(pending.ts, c.ts);
          }
          if (udevRole(c.actor)) {
            if (this.udevMacs.length < 256) this.udevMacs.push(r);
            if (udevRole(c.actor) === 'policy' && typeof c.after === 'string' && !this.udevGiven.has(c.iface)) this.udevGiven.set(c.iface, c.after);
          }
          this.lastMacRef.set(c.iface, r);
          this.trackFlap(c, r);
          // A slave overwritten with its bond's MAC (bond_enslave with the bond's address SET, incident 1).
          const master = masterBefore ? this.st.table.byName(masterBefore) : undefined;
          const overwrote =
            (master !== undefined && master.addr === c.after && this.kindOf(master.name).kind !== 'bridge') ||
            /overwrote its slave's MAC|set its port's MAC to its own/.test(c.via.note ?? '') ||
            (c.via.path.includes('bond_enslave') && this.bondHolding(c.after, c.iface));
          if (overwrote && this.overwrites.length < 64) this.overwrites.push(r);
          this.trackBridgeMove(c, r);
          const k = this.kindOf(c.iface).kind;
          if ((k === 'bond' || k === 'bridge' || k === 'team') && typeof c.after === 'string' && isUnicastMac(c.after) && this.transient.size < MAX_TRANSIENT_MACS) {
            const key = `${c.iface} ${c.after}`;
            if (!this.transient.has(key)) this.transient.set(key, { iface: c.iface, mac: c.after, kind: k, ref: r.ref, byUdev: udevRole(c.actor) !== null, final: false });
          }
        }
        break;
      }
      case 'enslave':
      case 'master': {
        const m = typeof c.after === 'string' ? c.after : undefined;
        if (m) {
          if (c.via.path.includes('bond_enslave') || c.via.probe === 'bond_enslave') this.kinds.set(m, 'bond');
          if (c.via.path.includes('br_add_if') || c.via.probe === 'br_add_if') this.kinds.set(m, 'bridge');
          if (c.via.path.includes('team_port_add') || c.via.probe === 'team_port_add') this.kinds.set(m, 'team');
        }
        if (this.enslaves.length < 256) this.enslaves.push(r);
        break;
      }
      case 'promisc': {
        let list = this.promiscRefs.get(c.iface);
        if (!list) this.promiscRefs.set(c.iface, (list = new EvidenceList(6)));
        list.add(r.ref);
        if (isPcap(c) && typeof c.before === 'number' && typeof c.after === 'number') {
          this.pcapOutstanding.set(c.iface, Math.max(0, (this.pcapOutstanding.get(c.iface) ?? 0) + Math.sign(c.after - c.before)));
        }
        break;
      }
      default:
        break;
    }
    this.st.apply(c);
    const s = this.stateOf(c);
    if (s) this.index(s, c, line);
    // a bond's MAC or its slaves changed: is its MAC still one of theirs (once enslaving is over)?
    const bonds = new Set<string>();
    if (this.kindOf(c.iface).kind === 'bond') bonds.add(c.iface);
    for (const m of [masterBefore, s?.master, typeof c.after === 'string' && (c.kind === 'enslave' || c.kind === 'master') ? c.after : null]) {
      if (m && this.kindOf(m).kind === 'bond') bonds.add(m);
    }
    for (const b of bonds) this.defer(c.ts, () => this.checkBond(b, r.ref));
  }

  /** Whether a bond (other than `self`) has this MAC now. */
  private bondHolding(mac: string | number | null, self: string): boolean {
    if (typeof mac !== 'string') return false;
    for (const idx of this.macIndex.get(mac) ?? []) {
      const s = this.st.table.get(idx);
      if (s && s.name !== self && this.kindOf(s.name).kind === 'bond') return true;
    }
    return false;
  }

  private stateOf(c: Change): IfaceState | undefined {
    return (c.ifindex !== undefined ? this.st.table.get(c.ifindex) : undefined) ?? this.st.table.byName(c.iface);
  }

  // ---- one MAC on two interfaces

  private index(s: IfaceState, ev?: TraceEvent, line?: number): void {
    const old = this.ifMac.get(s.ifindex);
    const now = !s.deleted && isUnicastMac(s.addr) && s.name !== 'lo' ? s.addr : undefined;
    if (old === now) return;
    if (old !== undefined) {
      const set = this.macIndex.get(old);
      set?.delete(s.ifindex);
      if (set && set.size === 0) this.macIndex.delete(old);
    }
    if (now === undefined) {
      this.ifMac.delete(s.ifindex);
      return;
    }
    this.ifMac.set(s.ifindex, now);
    let set = this.macIndex.get(now);
    if (!set) this.macIndex.set(now, (set = new Set()));
    set.add(s.ifindex);
    if (set.size < 2) return;
    for (const other of set) {
      if (other === s.ifindex) continue;
      const o = this.st.table.get(other);
      if (!o || o.deleted || this.related(s, o)) continue;
      const [a, b] = [s.name, o.name].sort() as [string, string];
      const key = `${a} ${b} ${now}`;
      if (this.dups.has(key) || this.dups.size >= MAX_DUP_PAIRS) continue;
      const refs: EvidenceRef[] = [];
      if (ev && line !== undefined) refs.push(this.ref(ev, line, ev.type === 'change' ? changeText(ev) : `netlink: ${s.name} has ${now}`));
      else refs.push({ file: this.file, host: this.host, text: `at the start of the trace ${s.name} and ${o.name} both have ${now}` });
      const prev = this.lastMacRef.get(o.name);
      if (prev && prev.ref !== refs[0]) refs.push(prev.ref);
      const pair: DupPair = { a, b, mac: now, ts: ev?.ts ?? this.firstTs ?? 0, refs, byNetlink: ev?.type === 'link' ? s.name : undefined, confirmed: false };
      this.dups.set(key, pair);
      this.defer(pair.ts, () => {
        // gone within the grace time (a moment of reconfiguration) or related by now (enslaved: by design): nothing
        const x = this.st.table.byName(pair.a);
        const y = this.st.table.byName(pair.b);
        if (x && y && !x.deleted && !y.deleted && x.addr === pair.mac && y.addr === pair.mac && !this.related(x, y)) pair.confirmed = true;
      });
      if (pair.byNetlink) this.dupsAwaitingChange.set(`${s.name} ${now}`, pair);
    }
  }

  /** Interfaces that share a MAC by design: master and its ports (at any depth), ports of one master, a VLAN and its parent. */
  private related(x: IfaceState, y: IfaceState): boolean {
    const up = (s: IfaceState): string[] => {
      const out: string[] = [];
      let m = s.master ?? null;
      for (let i = 0; m && i < 8; i++) {
        out.push(m);
        m = this.st.table.byName(m)?.master ?? null;
      }
      return out;
    };
    const ux = up(x);
    const uy = up(y);
    if (ux.includes(y.name) || uy.includes(x.name) || ux.some((m) => uy.includes(m))) return true;
    const shares = (s: IfaceState, parent: IfaceState) => {
      const k = this.kindOf(s.name).kind;
      const peer = this.peers.get(s.name);
      return (k !== undefined && SHARES_PARENT_MAC.has(k) && (peer === parent.name || s.name.startsWith(`${parent.name}.`))) || (s.name.startsWith(`${parent.name}.`) && /^\d+$/.test(s.name.slice(parent.name.length + 1)));
    };
    return shares(x, y) || shares(y, x);
  }

  private defer(ts: number, run: () => void): void {
    this.deferred.push({ due: ts + DUP_GRACE_US, run });
  }

  /** Runs the deferred checks that are due (all of them at the end). */
  private settle(now: number): void {
    const due = this.deferred.filter((d) => d.due <= now);
    if (!due.length) return;
    this.deferred = this.deferred.filter((d) => d.due > now);
    for (const d of due) d.run();
  }

  /** A bond whose MAC none of its slaves owns (their permanent or own address): the made-up bond MAC. */
  private checkBond(bond: string, ref: EvidenceRef): void {
    const b = this.st.table.byName(bond);
    if (!b || b.deleted || !isUnicastMac(b.addr) || this.kindOf(bond).kind !== 'bond') return;
    const slaves = this.st.table.portsOf(bond);
    if (!slaves.length) return;
    const owned = [...new Set(slaves.flatMap((p) => [p.permAddr, this.ownMac.get(p.name), this.udevGiven.get(p.name)]).filter(isUnicastMac))];
    if (!owned.length || owned.includes(b.addr)) return;
    let f = this.foreign.get(bond);
    if (f && f.mac === b.addr) return;
    f = { mac: b.addr, ts: ref.ts ?? 0, slaves: slaves.map((p) => p.name), owned, refs: new EvidenceList() };
    this.foreign.set(bond, f);
    const last = this.lastMacRef.get(bond);
    if (last && last.change.after === b.addr) f.refs.add(last.ref);
    else f.refs.add({ file: this.file, host: this.host, text: `${bond} had ${b.addr} since before the trace started` });
    f.refs.add(ref);
    for (const o of this.overwrites.filter((x) => x.change.after === b.addr).slice(0, 4)) if (o.ref !== ref) f.refs.add(o.ref);
  }

  // ---- flapping

  private trackFlap(c: Change, r: Ref): void {
    let f = this.flaps.get(c.iface);
    if (!f) this.flaps.set(c.iface, (f = { recent: [], backs: 0, total: 0, flagged: false, refs: [], more: 0 }));
    f.total++;
    while (f.recent.length > 0 && (c.ts - f.recent[0]!.ts > FLAP_WINDOW_US || f.recent.length >= 32)) {
      if (f.recent.shift()!.back) f.backs--;
    }
    // back to an address it had within the window (getting its own address back, on release, is not flapping)
    const own = this.ownMac.get(c.iface) === c.after || this.udevGiven.get(c.iface) === c.after;
    let back = false;
    if (!own) for (const x of f.recent) if (x.before === c.after || x.after === c.after) back = true;
    f.recent.push({ ts: c.ts, before: c.before, after: c.after, back });
    if (back) f.backs++;
    if (!f.flagged && (f.backs >= FLAP_RETURNS || f.recent.length >= FLAP_CHANGES)) {
      f.flagged = true;
      f.firstFlagTs = c.ts;
    }
    if (f.refs.length < MAX_EVIDENCE) f.refs.push(r.ref);
    else f.more++;
  }

  // ---- bridge following its ports

  private trackBridgeMove(c: Change, r: Ref): void {
    if (this.kindOf(c.iface).kind !== 'bridge') return;
    const ports = this.st.table.portsOf(c.iface);
    // Set by hand (ip link set address, ioctl, sysfs): the bridge keeps that one; not a move with a port.
    const manual = c.evidence === 'requested' || c.via.path.includes('dev_set_mac_address_user') || /SIOCSIFHWADDR|write to /.test(c.via.note ?? '');
    const follows = /follows/.test(c.via.note ?? '') || c.via.path.some((p) => p === 'br_stp_recalculate_bridge_id' || p === 'br_add_if' || p === 'br_del_if');
    const toPort = ports.some((p) => p.addr === c.after || this.ownMac.get(p.name) === c.after);
    if (manual || !(follows || toPort)) return;
    // Changing to the first port's MAC when the bridge is set up is expected; moving between ports is the incident.
    const fromPort = typeof c.before === 'string' && ports.some((p) => this.ownMac.get(p.name) === c.before || p.addr === c.before);
    let m = this.bridgeMoves.get(c.iface);
    if (!m) this.bridgeMoves.set(c.iface, (m = { list: new EvidenceList(), warn: false, ts: c.ts }));
    m.list.add(r.ref);
    if (fromPort || m.list.items.length + m.list.more > 1) m.warn = true;
    if (typeof c.after === 'string') m.lastMac = c.after;
  }

  // ---- the end

  finish(): TraceResult {
    const findings: Finding[] = [];
    const add = (f: Omit<Finding, 'moreEvidence' | 'hosts'> & { moreEvidence?: number; hosts?: string[] }) => findings.push({ moreEvidence: 0, hosts: [this.host], ...f });
    const states = this.st.table.all();

    // 1. udev set a bond's MAC (MACAddressPolicy=persistent): the bond keeps it and overwrites its slaves.
    const udevBonds = new Set<string>();
    for (const u of this.udevMacs) {
      const c = u.change;
      const { kind, guessed } = this.kindOf(c.iface);
      if (kind !== 'bond' || udevBonds.has(c.iface)) continue;
      udevBonds.add(c.iface);
      const role = udevRole(c.actor)!;
      const later = this.enslaves.filter((e) => e.change.after === c.iface && e.change.ts >= c.ts);
      const over = this.overwrites.filter((o) => o.change.after === c.after && o.change.ts >= c.ts);
      const ev = new EvidenceList();
      ev.add(u.ref);
      for (const e of later.slice(0, 3)) ev.add(e.ref);
      for (const o of over.slice(0, 4)) ev.add(o.ref);
      const stillHas = this.st.table.byName(c.iface)?.addr === c.after;
      const consequence = over.length
        ? `When ${later[0] ? later[0].change.iface : 'a slave'} was enslaved, the bond kept that MAC and wrote it over its slave${over.length > 1 ? 's' : ''} (${[...new Set(over.map((o) => o.change.iface))].join(', ')}).`
        : later.length
          ? `${later.map((e) => e.change.iface).join(', ')} joined it afterwards; the bond kept that MAC instead of taking its first slave's.`
          : `No slave joined during the trace; the first one will be overwritten with this MAC.`;
      add({
        id: 'udev-bond-mac',
        severity: over.length || later.length || stillHas ? 'error' : 'warning',
        title: role === 'policy'
          ? `${c.iface}: MAC set by systemd-udevd (MACAddressPolicy=persistent)${later.length ? ' before its slaves were enslaved' : ''}`
          : `${c.iface}: MAC set by ${c.actor?.comm ?? '?'}, run from a udev rule`,
        detail:
          `${c.iface}${guessed ? ' (a bond, judging by its name)' : ''} got ${valueText(c.after)} from ${c.actor ? labelActor(c.actor) : 'udev'}` +
          `${role === 'policy' ? ', a MAC derived from its name and /etc/machine-id' : ''}. That makes its addr_assign_type 3 (SET), and the bonding driver ` +
          `copies the first slave's MAC into a bond only while the bond's address is RANDOM. ${consequence} ` +
          `Hosts cloned from one image derive the same MAC for the same bond name.` +
          (stillHas ? ` ${c.iface} still has ${valueText(c.after)} at the end of the trace.` : ''),
        ifaces: [c.iface, ...new Set(over.map((o) => o.change.iface))],
        ts: c.ts,
        evidence: ev.items,
        moreEvidence: ev.more,
        fix: role === 'policy' ? udevBondFix(c.iface) : udevRuleFix(c.iface, c.actor?.comm ?? 'the program'),
      });
    }

    // 1b. A bond that started the trace with a MAC set by someone (addr_assign_type 3) and no udev event seen.
    for (const l of this.header.snapshot) {
      if (l.addrAssignType !== 3 || udevBonds.has(l.ifname)) continue;
      const { kind } = this.kindOf(l.ifname);
      if (kind !== 'bond') continue;
      add({
        id: 'bond-mac-preset',
        severity: 'warning',
        title: `${l.ifname}: MAC already set explicitly when the trace started (addr_assign_type 3)`,
        detail:
          `${l.ifname} had ${l.addr ?? '?'} with addr_assign_type 3 (SET) before the trace started, so it will not take its first slave's MAC. ` +
          `If nobody configured that address, udev's MACAddressPolicy=persistent did it when the bond was created; record from before the bond is created to see who.`,
        ifaces: [l.ifname],
        evidence: [{ file: this.file, host: this.host, text: `initial snapshot: ${l.ifname} ${l.addr ?? '?'} addr_assign_type 3 (SET)` }],
        fix: udevBondFix(l.ifname),
      });
    }

    // 2. A bond whose MAC belongs to none of its slaves (the udev finding already tells it when udev made it up).
    this.settle(Infinity);
    for (const s of states) if (!s.deleted && this.kindOf(s.name).kind === 'bond') this.checkBond(s.name, { file: this.file, host: this.host, text: `${s.name} has ${s.addr ?? '?'} at the end of the trace` });
    for (const [bond, f] of this.foreign) {
      const u = this.udevMacs.find((x) => x.change.iface === bond && x.change.after === f.mac);
      if (u) continue;
      const now = this.st.table.byName(bond);
      const still = !!now && !now.deleted && now.addr === f.mac;
      add({
        id: 'bond-mac-foreign',
        severity: 'warning',
        title: `${bond}: bond MAC ${f.mac} belongs to none of its slaves (${f.slaves.join(', ')})${still ? '' : ' (for a while)'}`,
        detail:
          `${bond} used ${f.mac} while its slaves' own addresses are ${f.owned.join(', ')}${still ? ', and still does at the end of the trace' : ''}. ` +
          `A bond normally takes its first slave's MAC; a MAC configured by hand or by a script is copied as it is to every host that runs the same configuration, ` +
          `and two hosts with the same bond MAC break each other's traffic.`,
        ifaces: [bond, ...f.slaves],
        ts: f.ts,
        evidence: f.refs.items,
        moreEvidence: f.refs.more,
        fix: sharedMacFix(f.mac, false),
      });
    }

    // 3. One MAC on two interfaces of this host (that lasted while they were unrelated).
    for (const d of this.dups.values()) {
      if (!d.confirmed) continue;
      const a = this.st.table.byName(d.a);
      const b = this.st.table.byName(d.b);
      const still = !!a && !!b && !a.deleted && !b.deleted && a.addr === d.mac && b.addr === d.mac && !this.related(a, b);
      add({
        id: 'duplicate-mac',
        severity: 'warning',
        title: `${d.a} and ${d.b} both have ${d.mac}${still ? '' : ' (for a while)'}`,
        detail:
          `Two interfaces on ${this.host} that are neither master and port nor VLAN and parent used the same MAC${still ? ', and still do at the end of the trace' : ''}. ` +
          `Frames for one can be delivered to the other, and switches see the address move between ports.`,
        ifaces: [d.a, d.b],
        ts: d.ts,
        evidence: d.refs,
      });
    }

    // 4. A bridge whose MAC moved with a port.
    for (const [br, m] of this.bridgeMoves) {
      const n = m.list.items.length + m.list.more;
      add({
        id: 'bridge-mac-moved',
        severity: m.warn ? 'warning' : 'info',
        title: m.warn ? `${br}: bridge MAC moved with its ports (${n} time${n === 1 ? '' : 's'})` : `${br}: bridge took its port's MAC`,
        detail:
          `A bridge whose address was not set by hand follows the lowest MAC among its ports, so a port joining or leaving (a container's veth, a VM tap) changes it. ` +
          `Neighbours' ARP caches and switch tables still point at the old MAC until they learn again${m.warn ? '' : '; this one took its first port\'s MAC when set up, which is usually harmless'}.`,
        ifaces: [br],
        ts: m.ts,
        evidence: m.list.items,
        moreEvidence: m.list.more,
        fix: bridgeMacFix(br, m.lastMac),
      });
    }

    // 5. A bond/team under a bridge whose lower devices are not promiscuous.
    for (const low of states) {
      if (low.deleted || !low.master) continue;
      const mid = this.st.table.byName(low.master);
      if (!mid || mid.deleted || !mid.master) continue;
      const midKind = this.kindOf(mid.name).kind;
      if (midKind !== 'bond' && midKind !== 'team') continue;
      const br = mid.master;
      if (this.kindOf(br).kind !== 'bridge') continue;
      if (low.promiscuity === undefined) continue;
      const pcap = this.pcapOutstanding.get(low.name) ?? 0;
      const own = low.promiscuity - pcap;
      if (own > 0) continue;
      const ev = new EvidenceList();
      for (const e of this.enslaves.filter((x) => (x.change.iface === mid.name && x.change.after === br) || (x.change.iface === low.name && x.change.after === mid.name))) ev.add(e.ref);
      for (const r of this.promiscRefs.get(low.name)?.items ?? []) ev.add(r);
      if (!ev.items.length) ev.add({ file: this.file, host: this.host, text: `${low.name} (port of ${mid.name}, port of ${br}) has promiscuity ${low.promiscuity} at the end of the trace` });
      add({
        id: 'bridged-lower-not-promisc',
        severity: 'error',
        title: pcap > 0
          ? `${low.name}: promiscuous only because of a packet capture, though ${mid.name} is a port of bridge ${br}`
          : `${low.name}: not promiscuous, though ${mid.name} is a port of bridge ${br}`,
        detail:
          `${br} receives frames for all its ports through ${mid.name}, which receives through ${low.name}; with promiscuity ${low.promiscuity}` +
          `${pcap > 0 ? ` (${pcap} of it held by tcpdump/libpcap)` : ''}, ${low.name} drops frames not addressed to its own MAC, so traffic to the bridge's other ports is lost. ` +
          `Running tcpdump "fixes" it because tcpdump makes the device promiscuous.`,
        ifaces: [low.name, mid.name, br],
        evidence: ev.items,
        moreEvidence: ev.more,
        fix: lowerPromiscFix(low.name, mid.name, br),
      });
    }

    // 6. A flapping MAC.
    for (const [iface, f] of this.flaps) {
      if (!f.flagged) continue;
      add({
        id: 'mac-flapping',
        severity: 'warning',
        title: `${iface}: MAC flapping (${f.total} changes)`,
        detail: `${iface}'s MAC changed ${f.total} times, going back to an address it had just had, or ${FLAP_CHANGES} times, within ${FLAP_WINDOW_US / 1e6} s. Neighbours and switches cannot keep up; the evidence shows who changes it.`,
        ifaces: [iface],
        ...(f.firstFlagTs !== undefined ? { ts: f.firstFlagTs } : {}),
        evidence: f.refs,
        moreEvidence: f.more,
        fix: FLAPPING_FIX,
      });
    }

    // 7. What the trace cannot show.
    const lost = [...this.lostBySource.values()].reduce((a, b) => a + b, 0);
    if (lost > 0 || this.skipped > 0) {
      const parts = [...this.lostBySource].map(([src, n]) => `${n} from ${src}`);
      if (this.skipped) parts.push(`${this.skipped} unreadable line${this.skipped === 1 ? '' : 's'} in the file`);
      add({
        id: 'lost-events',
        severity: 'warning',
        title: `the picture is incomplete: ${parts.join(', ')}`,
        detail: `Events were lost (${parts.join(', ')}). A change missing from this trace may still have happened; findings about the time of the loss are not final.`,
        ifaces: [],
        ...(this.lostList.items[0]?.ts !== undefined ? { ts: this.lostList.items[0].ts } : {}),
        evidence: this.lostList.items,
        moreEvidence: this.lostList.more,
        fix: LOST_FIX,
      });
    }
    if (this.header.probes.dropped.length) {
      add({
        id: 'probes-dropped',
        severity: 'info',
        title: `${this.header.probes.dropped.length} probe${this.header.probes.dropped.length === 1 ? '' : 's'} not attached: ${this.header.probes.dropped.map((d) => d.probe).join(', ')}`,
        detail: `Changes made only through these functions are not observed: ${this.header.probes.dropped.map((d) => `${d.probe} (${d.reason})`).join('; ')}.`,
        ifaces: [],
        evidence: [{ file: this.file, host: this.host, text: 'trace header: probes.dropped' }],
      });
    }
    if (this.header.backend === 'syscalls') {
      add({
        id: 'inferred-only',
        severity: 'info',
        title: 'recorded with the syscalls backend: kernel-internal changes are inferred',
        detail: 'The syscalls backend sees user requests (netlink, ioctl, sysfs, packet sockets); a bond or bridge changing an address on its own is inferred from netlink and marked so.',
        ifaces: [],
        evidence: [{ file: this.file, host: this.host, text: 'trace header: backend syscalls' }],
      });
    }

    // MACs held, for the cross-host check.
    const macs: HeldMac[] = [];
    for (const s of states) {
      if (s.deleted || s.name === 'lo' || !isUnicastMac(s.addr)) continue;
      const last = this.lastMacRef.get(s.name);
      const kind = this.kindOf(s.name).kind;
      macs.push({ iface: s.name, mac: s.addr, ...(kind ? { kind } : {}), ...(last ? { ref: last.ref } : {}), byUdev: !!last && udevRole(last.change.actor) !== null, final: true });
    }
    for (const t of this.transient.values()) if (!macs.some((m) => m.iface === t.iface && m.mac === t.mac)) macs.push(t);

    return {
      file: this.file,
      host: this.host,
      kernel: this.header.kernel,
      backend: this.header.backend,
      events: this.events,
      changes: this.changes,
      ...(this.firstTs !== undefined ? { firstTs: this.firstTs } : {}),
      ...(this.lastTs !== undefined ? { lastTs: this.lastTs } : {}),
      lost,
      skipped: this.skipped,
      findings,
      macs,
    };
  }
}

export type { Severity, FindingId };
