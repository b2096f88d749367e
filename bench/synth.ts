// Synthetic trace files for the benchmark and for tests of the reader: benchmark inputs, not recordings.
// The mix follows a real kprobe capture: a probe (with kernel stack), the netlink message, the change they make.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { FORMAT_NAME, SCHEMA_VERSION, type TraceHeader } from '../src/trace/format.js';
import type { LinkState, TraceEvent } from '../src/events.js';

/** Deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const hex = (n: number) => n.toString(16).padStart(2, '0');
export const macOf = (i: number) => `02:00:00:${hex((i >> 16) & 255)}:${hex((i >> 8) & 255)}:${hex(i & 255)}`;

export function synthSnapshot(ifaces: number): LinkState[] {
  const out: LinkState[] = [{ ifindex: 1, ifname: 'lo', addr: '00:00:00:00:00:00', flags: ['LOOPBACK', 'UP', 'LOWER_UP'], linkType: 'loopback', master: null, promiscuity: 0 }];
  for (let i = 0; i < ifaces; i++) {
    out.push({ ifindex: i + 2, ifname: `dum${i}`, addr: macOf(i), permAddr: macOf(i), addrAssignType: 0, flags: ['BROADCAST', 'NOARP'], linkType: 'ether', kind: 'dummy', master: null, promiscuity: 0, mtu: 1500 });
  }
  return out;
}

export function synthHeader(opts: { host?: string; ifaces?: number; createdAt?: string } = {}): TraceHeader {
  return {
    format: FORMAT_NAME,
    version: SCHEMA_VERSION,
    createdAt: opts.createdAt ?? '2026-11-21T12:40:56.000Z',
    host: opts.host ?? 'bench-host',
    kernel: '6.1.0-50-amd64',
    bpftraceVersion: 'v0.17.0',
    backend: 'kprobe',
    program: 'BEGIN { printf("#clock\\t%llu\\t%s\\n", nsecs, strftime("%Y-%m-%dT%H:%M:%S.%f%z", nsecs)); }\n// synthetic benchmark trace\n',
    probes: { used: ['dev_set_mac_address', 'dev_set_promiscuity'], dropped: [] },
    filters: { iface: [], comm: [] },
    clock: { monoToWallUs: 1763728800000000 },
    snapshot: synthSnapshot(opts.ifaces ?? 64),
    tool: 'ifblame bench synth',
  };
}

const STACK_MAC = ['dev_set_mac_address+1', 'dev_set_mac_address_user+45', 'do_setlink+589', 'rtnl_setlink+269', 'rtnetlink_rcv_msg+334', 'netlink_rcv_skb+81', 'netlink_unicast+644', 'netlink_sendmsg+592', '__sock_sendmsg+95', '____sys_sendmsg+639', '___sys_sendmsg+154', '__sys_sendmsg+118', 'do_syscall_64+93', 'entry_SYSCALL_64_after_hwframe+110'];
const STACK_PROMISC = ['dev_set_promiscuity+1', 'br_add_if+1370', 'do_set_master+138', 'do_setlink+1702', 'rtnl_setlink+269', 'rtnetlink_rcv_msg+334', 'netlink_rcv_skb+81', 'netlink_unicast+644', 'netlink_sendmsg+592', '__sock_sendmsg+95', 'do_syscall_64+93', 'entry_SYSCALL_64_after_hwframe+110'];

/**
 * `n` events: groups of probe -> link -> change (MAC set by `ip`, or promiscuity +1/-1 by a bridge port),
 * with seq numbers, increasing µs timestamps and a lost/note now and then.
 */
export function* synthEvents(n: number, opts: { seed?: number; ifaces?: number; startTs?: number } = {}): Generator<TraceEvent> {
  const rand = rng(opts.seed ?? 1);
  const ifaces = opts.ifaces ?? 64;
  const mac = Array.from({ length: ifaces }, (_, i) => macOf(i));
  const promisc = new Array<number>(ifaces).fill(0);
  let ts = opts.startTs ?? 1763728860000000;
  let seq = 0;
  let counter = 1 << 20;
  while (seq < n) {
    ts += 1 + Math.floor(rand() * 2000);
    const i = Math.floor(rand() * ifaces);
    const name = `dum${i}`;
    const ifindex = i + 2;
    const pid = 1000 + Math.floor(rand() * 5000);
    if (rand() < 0.002) {
      yield { type: 'lost', seq: ++seq, ts, source: 'bpftrace', count: 1 + Math.floor(rand() * 5) };
      continue;
    }
    if (rand() < 0.002) {
      yield { type: 'note', seq: ++seq, ts, level: 'info', source: 'bench', message: `synthetic note ${seq}` };
      continue;
    }
    const isMac = rand() < 0.6;
    const probeSeq = ++seq;
    if (isMac) {
      const before = mac[i]!;
      const after = macOf(counter++);
      mac[i] = after;
      yield {
        type: 'probe', seq: probeSeq, ts, mono: ts * 1000 - 1763728800000000000, backend: 'kprobe', probe: 'dev_set_mac_address', phase: 'entry',
        pid, tid: pid, comm: 'ip', ppid: 357, pcomm: 'bash', cgroupId: '4321',
        fields: { dev: name, ifindex, aat: 3, old: before, new: after }, kstack: STACK_MAC,
      };
      if (seq >= n) return;
      const linkSeq = ++seq;
      yield { type: 'link', seq: linkSeq, ts: ts + 40, action: 'new', ifindex, ifname: name, family: 'link', flags: ['BROADCAST', 'NOARP'], mtu: 1500, master: null, state: 'DOWN', linkType: 'ether', addr: after, promiscuity: promisc[i]! };
      if (seq >= n) return;
      yield {
        type: 'change', seq: ++seq, ts, iface: name, ifindex, kind: 'mac', before, after,
        actor: { pid, tid: pid, comm: 'ip', ppid: 357, pcomm: 'bash', chain: [{ pid: 357, comm: 'bash' }], service: 'ip', kernel: false },
        via: { probe: 'dev_set_mac_address', kstack: STACK_MAC, path: ['rtnl_setlink', 'do_setlink', 'dev_set_mac_address'] },
        evidence: 'observed', refs: [probeSeq, linkSeq],
      };
    } else {
      const before = promisc[i]!;
      const inc = before > 0 && rand() < 0.5 ? -1 : 1;
      promisc[i] = before + inc;
      yield {
        type: 'probe', seq: probeSeq, ts, mono: ts * 1000 - 1763728800000000000, backend: 'kprobe', probe: 'dev_set_promiscuity', phase: 'entry',
        pid, tid: pid, comm: 'ip', ppid: 357, pcomm: 'bash', cgroupId: '4321',
        fields: { dev: name, ifindex, aat: 0, inc, promiscuity: before, flags: 0x1082 }, kstack: STACK_PROMISC,
      };
      if (seq >= n) return;
      const linkSeq = ++seq;
      yield { type: 'link', seq: linkSeq, ts: ts + 40, action: 'new', ifindex, ifname: name, family: 'link', flags: ['BROADCAST', 'NOARP'], mtu: 1500, master: null, state: 'DOWN', linkType: 'ether', addr: mac[i]!, promiscuity: promisc[i]! };
      if (seq >= n) return;
      yield {
        type: 'change', seq: ++seq, ts, iface: name, ifindex, kind: 'promisc', before, after: before + inc,
        actor: { pid, tid: pid, comm: 'ip', ppid: 357, pcomm: 'bash', chain: [{ pid: 357, comm: 'bash' }], service: 'ip', kernel: false },
        via: { probe: 'dev_set_promiscuity', kstack: STACK_PROMISC, path: ['rtnl_setlink', 'do_setlink', 'dev_set_promiscuity'] },
        evidence: 'observed', refs: [probeSeq, linkSeq],
      };
    }
  }
}

/** Writes a synthetic trace file of `n` events, streaming (bounded memory); resolves with its size in bytes. */
export async function writeSynthTrace(path: string, n: number, opts: { seed?: number; ifaces?: number; host?: string } = {}): Promise<number> {
  const out = createWriteStream(path);
  let bytes = 0;
  let buf: string[] = [];
  let len = 0;
  const flush = async () => {
    if (!buf.length) return;
    const chunk = buf.join('');
    buf = [];
    len = 0;
    bytes += Buffer.byteLength(chunk);
    if (!out.write(chunk)) await once(out, 'drain');
  };
  buf.push(JSON.stringify(synthHeader(opts)) + '\n');
  for (const ev of synthEvents(n, opts)) {
    const line = JSON.stringify(ev) + '\n';
    buf.push(line);
    len += line.length;
    if (len > 1 << 20) await flush();
  }
  await flush();
  out.end();
  await once(out, 'finish');
  return bytes;
}
