// One pass over one trace: the interface state replayed and the facts every rule reads (who set which MAC, masters and slaves, udev, promiscuity, losses), each with its FILE:LINE, in bounded memory.
import { labelActor } from '../correlate/actor.js';
import { ReplayState, type IfaceState, type StateTable } from '../correlate/state.js';
import type { Change, TraceEvent } from '../events.js';
import { parseProbesAdded } from '../feed/late-modules.js';
import type { TraceHeader } from '../trace/format.js';
import type { TraceProblem } from '../trace/problems.js';
import { isPcap, isUnicastMac, isUserRequest, kindFromName, udevRole, type IfKind } from './classify.js';
import { EvidenceList, EvidenceMaker, Ref } from './evidence.js';
import { BondMacs } from './facts-bonds.js';
import { MacHistory, type HeldMac } from './facts-history.js';
import { SharedMacs } from './facts-shared.js';
import type { FactsView } from './facts-view.js';

/** Checks that judge a state wait this long for the dust to settle (enslaving is several events). */
const GRACE_US = 1_500_000;
const MAX_UDEV = 256;
const MAX_OVERWRITES = 64;
const MAX_ENSLAVES = 256;
const NOTE_OVERWROTE = /overwrote its slave's MAC|set its port's MAC to its own/;
/** A bond's address made RANDOM (released its last slave) or replaced by its slave's (enslaved while RANDOM). */
const NOTE_RANDOM = /^bond \S+ took a new random MAC after its slave/;
const NOTE_INHERIT = /^bond \S+ inherited the MAC of its slave/;

/** Per interface: its last RANDOM turn (created, a random MAC on release), and its last inherit with the turn before it. */
export interface BondTurns {
  random?: Ref;
  inherit?: { got: Ref; after?: Ref };
}

export class TraceFacts implements FactsView {
  readonly host: string;
  readonly evidence: EvidenceMaker;
  private readonly st: ReplayState;
  private readonly kinds = new Map<string, IfKind>();
  private readonly guessed = new Map<string, IfKind | null>();
  readonly peers = new Map<string, string>();
  /** Bond modes from the snapshot (`active-backup`, `802.3ad`...). */
  readonly bondModes = new Map<string, string>();
  readonly ownMac = new Map<string, string>();
  readonly udevGiven = new Map<string, string>();
  /** The MAC a slave had when its bond overwrote it: what the bonding driver keeps as its perm_hwaddr and gives back on release. */
  readonly macAtEnslave = new Map<string, string>();
  readonly lastMacRef = new Map<string, Ref>();
  /** MAC changes made by udev (its policy or a RUN rule), in trace order. */
  readonly udevMacs: Ref[] = [];
  readonly overwrites: Ref[] = [];
  /** Where a bond's MAC stopped being what udev or a user set: created (RANDOM), a random MAC on release, a slave's MAC inherited. */
  readonly bondTurns = new Map<string, BondTurns>();
  /** Enslavements (enslave and master changes), in trace order. */
  readonly enslaves: Ref[] = [];
  /** The last time each interface left its master, and which master. */
  readonly releases = new Map<string, { master: string; r: Ref }>();
  /** Promiscuity changes per interface. */
  readonly promisc = new Map<string, EvidenceList>();
  /** Promiscuity held by packet captures (tcpdump, libpcap) per interface. */
  readonly pcapOutstanding = new Map<string, number>();
  readonly lost = new EvidenceList();
  readonly lostBySource = new Map<string, number>();
  /** Probe id -> when it was attached later, its module having loaded while tracing (a `probes` note). */
  readonly addedLater = new Map<string, { at: number; module: string }>();
  readonly shared: SharedMacs;
  readonly bonds: BondMacs;
  readonly history: MacHistory;
  skipped = 0;
  events = 0;
  changes = 0;
  firstTs: number | undefined;
  lastTs: number | undefined;
  private deferred: { due: number; run: () => void }[] = [];
  private nextDue = Infinity;

  constructor(
    readonly file: string,
    readonly header: TraceHeader,
  ) {
    this.host = header.host;
    this.evidence = new EvidenceMaker(file, header.host);
    this.st = new ReplayState(header.snapshot);
    this.shared = new SharedMacs(this);
    this.bonds = new BondMacs(this, this.shared);
    this.history = new MacHistory(this);
    for (const l of header.snapshot) {
      if (l.kind) this.kinds.set(l.ifname, l.kind);
      if (l.bondMode) this.bondModes.set(l.ifname, l.bondMode);
      const own = l.permAddr ?? l.addr;
      if (isUnicastMac(own)) this.ownMac.set(l.ifname, own);
    }
    // a port says what its master is (IFLA_INFO_SLAVE_KIND), even when the master's own kind is missing
    for (const l of header.snapshot) if (l.master && l.slaveKind && !this.kinds.has(l.master)) this.kinds.set(l.master, l.slaveKind);
    for (const s of this.table.all()) this.shared.update(s);
  }

  get table(): StateTable {
    return this.st.table;
  }

  /** A trace with interfaces and no events: a snapshot of one host (`ifblame snapshot`), not a recording. */
  get isSnapshot(): boolean {
    return this.events === 0 && this.skipped === 0 && this.header.snapshot.length > 0;
  }

  /** The named network namespace the file is of (`ifblame snapshot --netns`), else '' (the host's own: a snapshot and a trace of it are one). */
  get namespace(): string {
    return this.header.snapshot.find((l) => l.netns !== undefined)?.netns ?? '';
  }

  /** Where the final state is: `in the snapshot` (a snapshot file) or `at the end of the trace`. */
  get when(): string {
    return this.isSnapshot ? 'in the snapshot' : 'at the end of the trace';
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
    if (ev.ts >= this.nextDue && ev.type !== 'change') this.settle(ev.ts);
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
        const masterBefore = this.table.get(ev.ifindex)?.master ?? null;
        this.st.apply(ev);
        const s = this.table.get(ev.ifindex);
        if (s) this.shared.update(s, ev, line, (s.master ?? null) !== masterBefore);
        return;
      }
      case 'change':
        this.onChange(ev, line);
        return;
      case 'lost':
        this.lostBySource.set(ev.source, (this.lostBySource.get(ev.source) ?? 0) + ev.count);
        if (this.lost.full) this.lost.more++;
        else
          this.lost.add(this.evidence.event(ev, line, `${ev.count} ${ev.source} event${ev.count === 1 ? '' : 's'} lost${ev.detail ? `: ${ev.detail}` : ''}`));
        return;
      case 'note': {
        const added = ev.source === 'probes' ? parseProbesAdded(ev.message) : null;
        for (const p of added?.probes ?? []) if (!this.addedLater.has(p)) this.addedLater.set(p, { at: ev.ts, module: added!.module });
        return;
      }
    }
  }

  /** A line the reader could not use: part of the picture is missing. */
  problem(p: TraceProblem): void {
    if (!p.skipped) return;
    this.skipped++;
    this.lost.add({ file: p.file, host: this.host, line: p.line, text: `unreadable line: ${p.message}` });
  }

  /** The end of the trace: every check still waiting judges the final state. */
  finish(): void {
    this.settle(Infinity);
    for (const s of this.table.all()) {
      if (!s.deleted && this.kindOf(s.name).kind === 'bond') this.bonds.check(s.name, this.evidence.fact(`${s.name} has ${s.addr ?? '?'} ${this.when}`));
    }
  }

  /** Events lost by the sources, in all. */
  get lostCount(): number {
    let n = 0;
    for (const v of this.lostBySource.values()) n += v;
    return n;
  }

  /** MACs held at the end of the trace (and those aggregates held for a while): what the cross-host checks compare. */
  heldMacs(): HeldMac[] {
    const macs: HeldMac[] = [];
    for (const s of this.table.all()) {
      if (s.deleted || s.name === 'lo' || !isUnicastMac(s.addr)) continue;
      const last = this.lastMacRef.get(s.name);
      const kind = this.kindOf(s.name).kind;
      const byUdev = !!last && udevRole(last.change.actor) !== null;
      macs.push({
        iface: s.name,
        mac: s.addr,
        ...(kind ? { kind } : {}),
        ...(last ? { ref: last.ref } : {}),
        byUdev,
        ...(this.udevGiven.get(s.name) === s.addr ? { udevDerived: true } : {}),
        byUser: !!last && !byUdev && isUserRequest(last.change),
        ...(last?.change.actor ? { by: labelActor(last.change.actor) } : {}),
        ...(s.aat !== undefined ? { aat: s.aat } : {}),
        final: true,
      });
    }
    for (const t of this.history.transient.values()) if (!macs.some((m) => m.iface === t.iface && m.mac === t.mac)) macs.push(t);
    return macs;
  }

  private stateOf(c: Change): IfaceState | undefined {
    return (c.ifindex !== undefined ? this.table.get(c.ifindex) : undefined) ?? this.table.byName(c.iface);
  }

  defer(ts: number, run: () => void): void {
    const due = ts + GRACE_US;
    this.deferred.push({ due, run });
    if (due < this.nextDue) this.nextDue = due;
  }

  /** Runs the deferred checks that are due (all of them at the end). */
  private settle(now: number): void {
    const due = this.deferred.filter((d) => d.due <= now);
    if (!due.length) return;
    this.deferred = this.deferred.filter((d) => d.due > now);
    this.nextDue = this.deferred.reduce((m, d) => Math.min(m, d.due), Infinity);
    for (const d of due) d.run();
  }

  private onChange(recorded: Change, line: number): void {
    this.changes++;
    // a change in another network namespace than the one watched: its own interface, whatever its name or index
    const c = recorded.netns
      ? { ...recorded, iface: `${recorded.iface}@${recorded.netns.name ?? recorded.netns.inode ?? 'netns'}`, ifindex: undefined }
      : recorded;
    const r = new Ref(c, line, this.evidence, recorded);
    const masterBefore = this.stateOf(c)?.master ?? null;
    switch (c.kind) {
      case 'mac':
        this.onMac(c, r, masterBefore);
        break;
      case 'created':
        this.turnsOf(c.iface).random = r;
        break;
      case 'enslave':
      case 'master': {
        const m = typeof c.after === 'string' ? c.after : undefined;
        if (m) {
          if (c.via.path.includes('bond_enslave') || c.via.probe === 'bond_enslave') this.kinds.set(m, 'bond');
          if (c.via.path.includes('br_add_if') || c.via.probe === 'br_add_if') this.kinds.set(m, 'bridge');
          if (c.via.path.includes('team_port_add') || c.via.probe === 'team_port_add') this.kinds.set(m, 'team');
        }
        if (this.enslaves.length < MAX_ENSLAVES) this.enslaves.push(r);
        if (!m && typeof c.before === 'string') this.releases.set(c.iface, { master: c.before, r });
        break;
      }
      case 'release': {
        const from = typeof c.before === 'string' ? c.before : masterBefore;
        if (from) this.releases.set(c.iface, { master: from, r });
        break;
      }
      case 'promisc': {
        let list = this.promisc.get(c.iface);
        if (!list) this.promisc.set(c.iface, (list = new EvidenceList(6)));
        list.addRef(r);
        if (isPcap(c) && typeof c.before === 'number' && typeof c.after === 'number') {
          this.pcapOutstanding.set(c.iface, Math.max(0, (this.pcapOutstanding.get(c.iface) ?? 0) + Math.sign(c.after - c.before)));
        }
        break;
      }
      default:
        break;
    }
    // the actor label of the state's lastChange is not used here: skip making it for every change
    this.table.applyChange(c, '');
    const s = this.stateOf(c);
    if (s) this.shared.update(s, c, line, (s.master ?? null) !== masterBefore);
    this.recheckBonds(c, r, masterBefore, s?.master ?? null);
  }

  private onMac(c: Change, r: Ref, masterBefore: string | null): void {
    if (!this.ownMac.has(c.iface) && isUnicastMac(typeof c.before === 'string' ? c.before : undefined)) this.ownMac.set(c.iface, c.before as string);
    if (c.before === c.after) return;
    this.shared.onMacChange(c, r);
    const role = udevRole(c.actor);
    if (role) {
      if (this.udevMacs.length < MAX_UDEV) this.udevMacs.push(r);
      if (role === 'policy' && typeof c.after === 'string' && !this.udevGiven.has(c.iface)) this.udevGiven.set(c.iface, c.after);
    }
    this.lastMacRef.set(c.iface, r);
    // A slave overwritten with its bond's MAC (bond_enslave with the bond's address SET, incident 1).
    const master = masterBefore ? this.table.byName(masterBefore) : undefined;
    const overwrote =
      (master !== undefined && master.addr === c.after && this.kindOf(master.name).kind !== 'bridge') ||
      NOTE_OVERWROTE.test(c.via.note ?? '') ||
      (c.via.path.includes('bond_enslave') && this.bonds.holding(c.after, c.iface));
    if (overwrote && isUnicastMac(typeof c.before === 'string' ? c.before : undefined)) this.macAtEnslave.set(c.iface, c.before as string);
    if (overwrote && this.overwrites.length < MAX_OVERWRITES) this.overwrites.push(r);
    const note = c.via.note ?? '';
    if (NOTE_RANDOM.test(note)) this.turnsOf(c.iface).random = r;
    else if (NOTE_INHERIT.test(note)) {
      const t = this.turnsOf(c.iface);
      t.inherit = { got: r, ...(t.random ? { after: t.random } : {}) };
    }
    this.history.onMac(c, r, role !== null);
  }

  private turnsOf(iface: string): BondTurns {
    let t = this.bondTurns.get(iface);
    if (!t) this.bondTurns.set(iface, (t = {}));
    return t;
  }

  /** A bond's MAC or its slaves changed: is its MAC still one of theirs (once enslaving is over)? */
  private recheckBonds(c: Change, r: Ref, masterBefore: string | null, masterNow: string | null): void {
    const joined = typeof c.after === 'string' && (c.kind === 'enslave' || c.kind === 'master') ? c.after : null;
    const names = [this.kindOf(c.iface).kind === 'bond' ? c.iface : null, masterBefore, masterNow, joined];
    for (let i = 0; i < names.length; i++) {
      const b = names[i];
      if (!b || names.indexOf(b) !== i || this.kindOf(b).kind !== 'bond') continue;
      this.defer(c.ts, () => this.bonds.check(b, r.ref));
    }
  }
}
