// The syscalls backend's events decoded into the changes they ask for: a netlink request, an ioctl, a packet
// socket's promiscuous membership, a sysfs write. Requests carry no kernel stack; netlink confirms (or not) each.
import type { ProbeEvent } from '../events.js';
import type { ObservedFields } from './ops.js';
import type { StateTable } from './state.js';

const IFF_PROMISC = 0x100;
const NLM_F_CREATE = 0x400;
const RTM_NEWLINK = 16;
const RTM_DELLINK = 17;
const SIOCSIFFLAGS = 0x8914;
const SIOCSIFHWADDR = 0x8924;
const PACKET_MR_PROMISC = 1;
const PACKET_ADD_MEMBERSHIP = 1;

/** What decoding needs from the correlator: the interfaces as they are, and a name for an index. */
export interface RequestContext {
  table: StateTable;
  nameOf(ifindex: number): string;
}

/** One syscalls-backend event decoded: the changes it asks for, and what it tells beyond them. */
export interface Decoded {
  requests: ObservedFields[];
  /** The device a netlink request named: a move (only netlink shows it) is told from the last such request. */
  named?: number;
  /** A packet socket took (on) or gave back promiscuity: its close gives it back without a syscall we see. */
  packetPromisc?: { ifindex: number; on: boolean };
}

/** The changes a syscalls-backend event asks for; undefined when the event is not a request. */
export function decodeRequest(ev: ProbeEvent, ctx: RequestContext): Decoded | undefined {
  switch (ev.probe) {
    case 'nl_link':
      return decodeNetlink(ev.fields, ctx);
    case 'ioctl_link':
      return { requests: decodeIoctl(ev.fields, ctx) };
    case 'packet_membership':
      return decodePacketMembership(ev.fields, ctx);
    case 'sysfs_write':
      return { requests: decodeSysfsWrite(ev.fields, ctx) };
    default:
      return undefined;
  }
}

type Fields = ProbeEvent['fields'];

function decodeNetlink(f: Fields, { table, nameOf }: RequestContext): Decoded {
  const ifindex = Number(f.ifindex);
  const ifname = String(f.ifname ?? '');
  const s = ifindex ? table.get(ifindex) : ifname ? table.byName(ifname) : undefined;
  const iface = s?.name ?? (ifname || (ifindex ? nameOf(ifindex) : ''));
  const base = { ...(s ? { ifindex: s.ifindex } : ifindex ? { ifindex } : {}), iface };
  if (Number(f.nl_type) === RTM_NEWLINK && Number(f.nl_flags) & NLM_F_CREATE)
    return { requests: [{ kind: 'creating', iface: ifname, before: null, after: null }] };
  if (!iface) return { requests: [] }; // a request naming no interface (capability probes some tools send)
  if (Number(f.nl_type) === RTM_DELLINK) return { requests: [{ ...base, kind: 'deleted', before: s?.addr ?? null, after: null }] };
  const requests: ObservedFields[] = [];
  if (f.addr) requests.push({ ...base, kind: 'mac', before: s?.addr ?? null, after: String(f.addr) });
  const master = Number(f.master);
  if (master > 0) requests.push({ ...base, kind: 'enslave', before: s?.master ?? null, after: nameOf(master) });
  if (master === 0) requests.push({ ...base, kind: 'release', before: s?.master ?? null, after: null });
  if (Number(f.ifi_change) & IFF_PROMISC) {
    const on = (Number(f.ifi_flags) & IFF_PROMISC) !== 0;
    const before = s?.promiscuity ?? null;
    requests.push({
      ...base,
      kind: 'promisc',
      before,
      after: before === null ? (on ? 'on' : 'off') : Math.max(0, before + (on ? 1 : -1)),
      note: `ip link set promisc ${on ? 'on' : 'off'}`,
    });
  }
  // IFLA_NET_NS_FD is not parsed in-program (the BPF stack is full): a move is told from the last request naming the device.
  return { requests, ...(s ? { named: s.ifindex } : {}) };
}

function decodeIoctl(f: Fields, { table }: RequestContext): ObservedFields[] {
  const iface = String(f.ifname);
  const s = table.byName(iface);
  const base = { ...(s ? { ifindex: s.ifindex } : {}), iface };
  if (Number(f.cmd) === SIOCSIFHWADDR) return [{ ...base, kind: 'mac', before: s?.addr ?? null, after: String(f.addr), note: 'SIOCSIFHWADDR ioctl' }];
  if (Number(f.cmd) !== SIOCSIFFLAGS || !s) return [];
  const on = (Number(f.value) & IFF_PROMISC) !== 0;
  if (on === s.flags.includes('PROMISC')) return [];
  return [
    {
      ...base,
      kind: 'promisc',
      before: s.promiscuity ?? null,
      after: s.promiscuity === undefined ? (on ? 'on' : 'off') : Math.max(0, s.promiscuity + (on ? 1 : -1)),
      note: 'SIOCSIFFLAGS ioctl',
    },
  ];
}

function decodePacketMembership(f: Fields, { table, nameOf }: RequestContext): Decoded {
  if (Number(f.mr_type) !== PACKET_MR_PROMISC) return { requests: [] };
  const ifindex = Number(f.ifindex);
  const before = table.get(ifindex)?.promiscuity ?? null;
  const on = Number(f.op) === PACKET_ADD_MEMBERSHIP;
  return {
    requests: [
      {
        ifindex,
        iface: nameOf(ifindex),
        kind: 'promisc',
        before,
        after: before === null ? null : Math.max(0, before + (on ? 1 : -1)),
        note: `packet socket ${on ? 'PACKET_ADD_MEMBERSHIP' : 'PACKET_DROP_MEMBERSHIP'} PACKET_MR_PROMISC (libpcap)`,
      },
    ],
    packetPromisc: { ifindex, on },
  };
}

function decodeSysfsWrite(f: Fields, { table }: RequestContext): ObservedFields[] {
  const path = String(f.path);
  const data = String(f.data).trim();
  const slaves = /^\/sys\/(?:class|devices\/.*)\/net\/([^/]+)\/bonding\/slaves$/.exec(path);
  if (slaves && /^[+-]/.test(data)) {
    const port = data.slice(1);
    const s = table.byName(port);
    const base = { ...(s ? { ifindex: s.ifindex } : {}), iface: port, note: `echo ${data} > ${path}` };
    if (data.startsWith('+')) return [{ ...base, kind: 'enslave', before: s?.master ?? null, after: slaves[1]! }];
    return [{ ...base, kind: 'release', before: slaves[1]!, after: null }];
  }
  const addr = /^\/sys\/(?:class|devices\/.*)\/net\/([^/]+)\/address$/.exec(path);
  if (!addr) return [];
  const s = table.byName(addr[1]!);
  return [{ ...(s ? { ifindex: s.ifindex } : {}), iface: addr[1]!, kind: 'mac', before: s?.addr ?? null, after: data.toLowerCase(), note: `write to ${path}` }];
}
