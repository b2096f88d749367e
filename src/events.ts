// The event model: every event that flows through the pipeline or lands in a trace file, as zod schemas
// (the trace file's own header and line format live in trace/format.ts).
import { z } from 'zod';
import { HW_ADDR } from './format/hwaddr.js';

/** Hardware address as lowercase hex bytes joined by ':' — any length (6 Ethernet, 20 IPoIB, 0 none). */
export const HwAddr = z.string().regex(HW_ADDR, 'hardware address: hex bytes joined by ":"');
export type HwAddr = z.infer<typeof HwAddr>;

export const Backend = z.enum(['kfunc', 'kprobe', 'syscalls']);
export type Backend = z.infer<typeof Backend>;

/** Wall-clock time in microseconds since the epoch: the one clock every source is converted to. */
const Ts = z.number().nonnegative();
const Int = z.number().int();

/** One process in an actor's parent chain, nearest first. */
export const ProcRef = z.object({ pid: Int, comm: z.string() });
export type ProcRef = z.infer<typeof ProcRef>;

/** Who did it: the task the probe saw, enriched with its parents, service and cgroup. */
export const Actor = z.object({
  pid: Int,
  tid: Int.optional(),
  comm: z.string(),
  ppid: Int.optional(),
  pcomm: z.string().optional(),
  chain: z.array(ProcRef).default([]),
  /** The named program behind helper processes: `(udev-worker)` -> `systemd-udevd`. */
  service: z.string().optional(),
  unit: z.string().optional(),
  container: z.string().optional(),
  cgroup: z.string().optional(),
  cgroupId: z.string().optional(),
  /** A kernel thread (kworker, parent kthreadd): a change with no user process behind it. */
  kernel: z.boolean().default(false),
});
export type Actor = z.infer<typeof Actor>;

const FieldValue = z.union([z.string(), z.number(), z.null()]);

/** One line a generated bpftrace program printed, decoded by the probe's field list. */
export const ProbeEvent = z.object({
  type: z.literal('probe'),
  seq: Int.optional(),
  ts: Ts,
  /** The source's own clock: bpftrace `nsecs` (CLOCK_MONOTONIC). */
  mono: z.number().optional(),
  backend: Backend,
  /** Catalog id, e.g. `dev_set_mac_address`, `nl_setlink`. */
  probe: z.string(),
  phase: z.enum(['entry', 'return']),
  pid: Int,
  tid: Int,
  comm: z.string(),
  ppid: Int.optional(),
  pcomm: z.string().optional(),
  cgroupId: z.string().optional(),
  /** Network namespace inode of the task (`/proc/PID/ns/net`). */
  netns: Int.optional(),
  fields: z.record(z.string(), FieldValue),
  kstack: z.array(z.string()).default([]),
  /** Filled in by the live source while the process still exists (parent chain, unit, container). */
  actor: Actor.optional(),
});
export type ProbeEvent = z.infer<typeof ProbeEvent>;

/** One rtnetlink link message, as `ip -ts -o monitor link` printed it. */
export const LinkEvent = z.object({
  type: z.literal('link'),
  seq: Int.optional(),
  ts: Ts,
  /** `new`: RTM_NEWLINK (created or changed); `del`: RTM_DELLINK (deleted, or a bridge port leaving). */
  action: z.enum(['new', 'del']),
  ifindex: Int,
  ifname: z.string(),
  /** `bridge` for AF_BRIDGE port messages (ip prints them as a separate line). */
  family: z.enum(['link', 'bridge']).default('link'),
  peer: z.string().optional(),
  flags: z.array(z.string()),
  mtu: Int.optional(),
  master: z.string().nullable().optional(),
  state: z.string().optional(),
  linkType: z.string().optional(),
  addr: HwAddr.optional(),
  permAddr: HwAddr.optional(),
  promiscuity: Int.optional(),
  /** `event FEATURE CHANGE`, `event BONDING OPTION`... */
  event: z.string().optional(),
  /** RTM_DELLINK of a device moved to another namespace (`new-netnsid` / `new-netns`, `new-ifindex`): a move. */
  movedTo: z.object({ netns: z.string(), ifindex: Int.optional() }).optional(),
  raw: z.string().optional(),
});
export type LinkEvent = z.infer<typeof LinkEvent>;

export const ChangeKind = z.enum(['mac', 'promisc', 'enslave', 'release', 'master', 'created', 'deleted', 'moved']);
export type ChangeKind = z.infer<typeof ChangeKind>;

/**
 * observed: a kernel probe saw the change happen; requested: the syscalls backend saw the user request;
 * inferred: only netlink saw it.
 */
export const Evidence = z.enum(['observed', 'requested', 'inferred']);
export type Evidence = z.infer<typeof Evidence>;

/** What the pipeline is for: one attributed change to one interface. */
export const Change = z.object({
  type: z.literal('change'),
  seq: Int.optional(),
  ts: Ts,
  iface: z.string(),
  ifindex: Int.optional(),
  kind: ChangeKind,
  before: FieldValue,
  after: FieldValue,
  actor: Actor.nullable(),
  via: z.object({
    probe: z.string().optional(),
    kstack: z.array(z.string()).default([]),
    /** The causal path, outermost first: `bond_enslave` -> `slave MAC`. */
    path: z.array(z.string()).default([]),
    /** Plain words: `inherited from slave dum0`, `bridge follows its lowest port MAC`. */
    note: z.string().optional(),
  }),
  evidence: Evidence,
  /** seq numbers of the raw events behind this change. */
  refs: z.array(Int).default([]),
  /** The network namespace of the interface when it is not the one watched: its inode and, when known, a name. */
  netns: z.object({ inode: Int.optional(), name: z.string().optional() }).optional(),
});
export type Change = z.infer<typeof Change>;

/** Events a source could not deliver: never hidden. */
export const Lost = z.object({
  type: z.literal('lost'),
  seq: Int.optional(),
  ts: Ts,
  source: z.enum(['bpftrace', 'netlink', 'parser', 'replay']),
  count: Int.nonnegative(),
  detail: z.string().optional(),
});
export type Lost = z.infer<typeof Lost>;

/** Something the operator must know that is not a change: probes dropped, a source failed. */
export const Note = z.object({
  type: z.literal('note'),
  seq: Int.optional(),
  ts: Ts,
  level: z.enum(['info', 'warn', 'error']),
  source: z.string(),
  message: z.string(),
});
export type Note = z.infer<typeof Note>;

export const TraceEvent = z.discriminatedUnion('type', [ProbeEvent, LinkEvent, Change, Lost, Note]);
export type TraceEvent = z.infer<typeof TraceEvent>;
export type TraceEventType = TraceEvent['type'];

/** One interface as the initial snapshot (`ip -d -j link show` + sysfs) saw it. */
export const LinkState = z.object({
  ifindex: Int,
  ifname: z.string(),
  addr: HwAddr.optional(),
  permAddr: HwAddr.optional(),
  /** 0 PERM, 1 RANDOM, 2 STOLEN, 3 SET: /sys/class/net/IF/addr_assign_type */
  addrAssignType: Int.optional(),
  linkType: z.string().optional(),
  /** `bond`, `bridge`, `veth`, `dummy`... from IFLA_INFO_KIND */
  kind: z.string().optional(),
  flags: z.array(z.string()).default([]),
  promiscuity: Int.optional(),
  master: z.string().nullable().optional(),
  mtu: Int.optional(),
  /** What kind of master this link is a port of (`bond`, `bridge`, `team`): IFLA_INFO_SLAVE_KIND. */
  slaveKind: z.string().optional(),
  /** A bond's mode (`active-backup`, `802.3ad`, `balance-alb`...), from `ip -d` linkinfo. */
  bondMode: z.string().optional(),
  /** The named network namespace the link was read in (`ifblame snapshot --netns`); absent: the tool's own. */
  netns: z.string().optional(),
});
export type LinkState = z.infer<typeof LinkState>;

export const ProbeDrop = z.object({ probe: z.string(), reason: z.string() });
export type ProbeDrop = z.infer<typeof ProbeDrop>;

export const ADDR_ASSIGN_TYPES = ['PERM', 'RANDOM', 'STOLEN', 'SET'] as const;

/** `3` -> `SET`; unknown numbers print as themselves. */
export function assignTypeName(n: number | undefined): string {
  if (n === undefined) return '?';
  return ADDR_ASSIGN_TYPES[n] ?? String(n);
}
