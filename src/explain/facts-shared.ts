// One MAC on two interfaces of one host: which interfaces hold each MAC, and the pairs that held one while unrelated for longer than the grace time.
import type { IfaceState } from '../correlate/state.js';
import type { Change, TraceEvent } from '../events.js';
import { isUnicastMac, SHARES_PARENT_MAC } from './classify.js';
import { changeText, type Ref } from './evidence.js';
import type { FactsView } from './facts-view.js';
import type { EvidenceRef } from './types.js';

const MAX_PAIRS = 1000;

export interface SharedPair {
  a: string;
  b: string;
  mac: string;
  ts: number;
  /** Lasted the grace time while unrelated (or still so at the end): a finding. */
  confirmed: boolean;
  /** The grace-time check ran (a pair dismissed then may come back later). */
  checked: boolean;
  refs: EvidenceRef[];
  /** Seen first in the netlink message of this interface: the change event, when it follows, is better evidence. */
  byNetlink?: string | undefined;
}

export class SharedMacs {
  /** By `a b mac` (a < b). */
  readonly pairs = new Map<string, SharedPair>();
  private readonly awaitingChange = new Map<string, SharedPair>();
  /** Holders of each MAC: one ifindex (the usual case, no set made), or a set of them. */
  private readonly byMac = new Map<string, number | Set<number>>();
  private readonly macOf = new Map<number, string>();

  constructor(private readonly v: FactsView) {}

  /** Interfaces (by ifindex) holding this MAC now. */
  holders(mac: string): Iterable<number> {
    const h = this.byMac.get(mac);
    return h === undefined ? [] : typeof h === 'number' ? [h] : h;
  }

  /** A MAC change: a pair first seen in netlink takes the change as its first evidence. */
  onMacChange(c: Change, r: Ref): void {
    if (!this.awaitingChange.size) return;
    const key = `${c.iface} ${String(c.after)}`;
    const pending = this.awaitingChange.get(key);
    if (!pending) return;
    this.awaitingChange.delete(key);
    pending.refs[0] = r.ref;
    pending.ts = Math.min(pending.ts, c.ts);
  }

  /** An interface's state changed (`regrouped`: its master changed, so the MAC it kept may now be shared). */
  update(s: IfaceState, ev?: TraceEvent, line?: number, regrouped = false): void {
    const old = this.macOf.get(s.ifindex);
    const now = !s.deleted && isUnicastMac(s.addr) && s.name !== 'lo' ? s.addr : undefined;
    if (old === now && !regrouped) return;
    if (old !== now) {
      if (old !== undefined) this.drop(old, s.ifindex);
      if (now === undefined) {
        this.macOf.delete(s.ifindex);
        return;
      }
      this.macOf.set(s.ifindex, now);
      this.hold(now, s.ifindex);
    }
    if (now === undefined) return;
    const set = this.byMac.get(now);
    if (typeof set !== 'object') return;
    for (const other of set) {
      if (other === s.ifindex) continue;
      const o = this.v.table.get(other);
      if (!o || o.deleted || this.related(s, o)) continue;
      this.pair(s, o, now, ev, line);
    }
  }

  private hold(mac: string, ifindex: number): void {
    const h = this.byMac.get(mac);
    if (h === undefined) this.byMac.set(mac, ifindex);
    else if (typeof h === 'number') {
      if (h !== ifindex) this.byMac.set(mac, new Set([h, ifindex]));
    } else h.add(ifindex);
  }

  private drop(mac: string, ifindex: number): void {
    const h = this.byMac.get(mac);
    if (h === ifindex) this.byMac.delete(mac);
    else if (typeof h === 'object') {
      h.delete(ifindex);
      if (h.size === 1) this.byMac.set(mac, h.values().next().value!);
    }
  }

  private pair(s: IfaceState, o: IfaceState, mac: string, ev?: TraceEvent, line?: number): void {
    const [a, b] = [s.name, o.name].sort() as [string, string];
    const key = `${a} ${b} ${mac}`;
    const known = this.pairs.get(key);
    if (known && (known.confirmed || !known.checked)) return;
    if (!known && this.pairs.size >= MAX_PAIRS) return;
    const refs: EvidenceRef[] = [];
    if (ev && line !== undefined) refs.push(this.v.evidence.event(ev, line, ev.type === 'change' ? changeText(ev) : `netlink: ${s.name} has ${mac}`));
    else refs.push(this.v.evidence.fact(`initial snapshot: ${s.name} and ${o.name} both have ${mac}`));
    const prev = this.v.lastMacRef.get(o.name);
    if (prev && prev.ref !== refs[0]) refs.push(prev.ref);
    const p: SharedPair = { a, b, mac, ts: ev?.ts ?? this.v.firstTs ?? 0, refs, byNetlink: ev?.type === 'link' ? s.name : undefined, confirmed: false, checked: false };
    this.pairs.set(key, p);
    this.v.defer(p.ts, () => {
      // gone within the grace time (a moment of reconfiguration) or related by now (enslaved: by design): nothing
      p.checked = true;
      const x = this.v.table.byName(p.a);
      const y = this.v.table.byName(p.b);
      if (x && y && !x.deleted && !y.deleted && x.addr === p.mac && y.addr === p.mac && !this.related(x, y)) p.confirmed = true;
    });
    if (p.byNetlink) this.awaitingChange.set(`${s.name} ${mac}`, p);
  }

  
  /** Interfaces that share a MAC by design: master and its ports (at any depth), ports of one master, a VLAN and its parent, VLANs of one parent. */
  related(x: IfaceState, y: IfaceState): boolean {
    const ux = this.uppers(x);
    const uy = this.uppers(y);
    if (ux.includes(y.name) || uy.includes(x.name) || ux.some((m) => uy.includes(m))) return true;
    const px = this.parentsOf(x.name);
    const py = this.parentsOf(y.name);
    return px.includes(y.name) || py.includes(x.name) || px.some((p) => py.includes(p));
  }

  private uppers(s: IfaceState): string[] {
    const out: string[] = [];
    let m = s.master ?? null;
    for (let i = 0; m && i < 8; i++) {
      out.push(m);
      m = this.v.table.byName(m)?.master ?? null;
    }
    return out;
  }

  /** The parents whose MAC a VLAN (or ipvlan) shares, nearest first: its netlink peer, else the name before the dot (`eth0.10.20` -> `eth0.10`, `eth0`). */
  private parentsOf(name: string): string[] {
    const out: string[] = [];
    for (let cur = name, i = 0; i < 4; i++) {
      const k = this.v.kindOf(cur).kind;
      const shares = k !== undefined && SHARES_PARENT_MAC.has(k);
      const peer = this.v.peers.get(cur);
      const dot = cur.lastIndexOf('.');
      const next = shares && peer ? peer : dot > 0 && (shares || /^\d+$/.test(cur.slice(dot + 1))) ? cur.slice(0, dot) : undefined;
      if (next === undefined) break;
      out.push(next);
      cur = next;
    }
    return out;
  }
}
