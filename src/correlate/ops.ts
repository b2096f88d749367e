// What the correlator holds while it waits: observations (a probe saw it, a request asked for it) and the one shape
// in which recent changes and pending observations are searched; the waits that bound how long anything is held.
import type { Actor, Change, ChangeKind, Evidence } from '../events.js';
import { pathOf } from './paths.js';

/** Nested probes of one call closer than this are one change. */
export const MERGE_US = 100_000;
/** A probe's observation waits this long for nested probes (and netlink) before it is reported. */
export const HOLD_US = 50_000;
/** A request (or an enslave, a deletion) waits this long for netlink to confirm it. */
export const CONFIRM_US = 1_500_000;
/** Searches for a cause look this far back. */
export const RECENT_US = 3_000_000;
/** A late netlink message or a late cause still finds what it explains this long (event time) after: past the feed's bounded wait (5 s). */
export const LATE_US = 10_000_000;
/** At most this many recent changes are searched for causes (the newest). */
export const RECENT_MAX = 512;

/** A change a probe saw or a request the syscalls backend saw, waiting to be merged, confirmed or emitted. */
export interface Obs {
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

/** What an observation says beyond who, when and how: the caller's part of an Obs. */
export type ObservedFields = Pick<Obs, 'kind' | 'iface' | 'before' | 'after'> & { ifindex?: number; note?: string };

/** An operation already reported (a change) or still pending (an observation), in one shape for the searches. */
export interface Op {
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

/** The causal path of an observation: its stack's frames, then the probes that saw it (cached until a probe merges in). */
export function pathOfObs(o: Obs): string[] {
  if (o.path && o.pathProbes === o.probes.length) return o.path;
  const frames = pathOf(o.kstack);
  o.path = [...frames, ...o.probes.filter((p) => !frames.includes(p))];
  o.pathProbes = o.probes.length;
  return o.path;
}

/** Recent changes, then pending observations: what happened around an event, whoever has reported it yet. */
export function operationsOf(recent: Change[], pending: Iterable<Obs>): Op[] {
  return [
    ...recent.map((c) => ({
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
    ...[...pending].map((o) => ({
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
