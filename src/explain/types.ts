// What `ifblame explain` tells: findings in plain words, each with the events that show it and a fix where one is known.
import { z } from 'zod';
import { TraceEvent } from '../events.js';

export const Severity = z.enum(['error', 'warning', 'info']);
export type Severity = z.infer<typeof Severity>;

/** Rule ids, stable for scripts (`--format json`). */
export const FindingId = z.enum([
  'udev-bond-mac',
  'bond-mac-preset',
  'bond-mac-foreign',
  'bond-mac-set',
  'released-slave-mac',
  'duplicate-mac',
  'duplicate-mac-hosts',
  'hardcoded-mac-hosts',
  'bridge-mac-moved',
  'bridged-lower-not-promisc',
  'mac-flapping',
  'lost-events',
  'probes-dropped',
  'inferred-only',
]);
export type FindingId = z.infer<typeof FindingId>;

/** One event behind a finding: where it is (file:line, host) and what it says. */
export const EvidenceRef = z.object({
  file: z.string(),
  host: z.string(),
  /** 1-based line in the trace file; absent for facts from the header (the initial snapshot). */
  line: z.number().int().optional(),
  ts: z.number().optional(),
  /** One line of plain words. */
  text: z.string(),
  event: TraceEvent.optional(),
});
export type EvidenceRef = z.infer<typeof EvidenceRef>;

export const Fix = z.object({
  /** What to do, in words. */
  summary: z.string(),
  /** A file to create, when the fix is a configuration file. */
  file: z.object({ path: z.string(), content: z.string() }).optional(),
  /** Commands to run afterwards (or instead). */
  commands: z.array(z.string()).default([]),
  /** Where the fix is known from. */
  reference: z.string().optional(),
});
export type Fix = z.infer<typeof Fix>;

export const Finding = z.object({
  id: FindingId,
  severity: Severity,
  /** One line: what is wrong, where. */
  title: z.string(),
  /** Why it matters and how it came about, in a few sentences. */
  detail: z.string(),
  hosts: z.array(z.string()),
  ifaces: z.array(z.string()),
  /** When it started (µs), for ordering. */
  ts: z.number().optional(),
  evidence: z.array(EvidenceRef),
  /** Evidence events not listed (the list is capped). */
  moreEvidence: z.number().int().default(0),
  fix: Fix.optional(),
});
export type Finding = z.infer<typeof Finding>;

/** Cap on evidence events kept per finding: a flapping MAC can have thousands. */
export const MAX_EVIDENCE = 12;

export const SEVERITY_ORDER: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

/** Errors first, then by time, then by rule. */
export function sortFindings(fs: Finding[]): Finding[] {
  return [...fs].sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] || (a.ts ?? 0) - (b.ts ?? 0) || a.id.localeCompare(b.id) || a.title.localeCompare(b.title));
}
