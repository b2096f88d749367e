// The same finding from several files of one host and time span (rotated files, a capture and a recording of one incident) told once, with every file's evidence.
import type { TraceFacts } from './facts.js';
import type { TraceRule } from './rule.js';
import { SEVERITY_ORDER, type EvidenceRef, type Finding } from './types.js';

/** Files of one host this close in time (or overlapping) are one span: rotation leaves no gap, one incident a small one. */
export const SAME_SPAN_GAP_US = 5 * 60_000_000;

export interface FileFindings {
  facts: TraceFacts;
  findings: { finding: Finding; rule: TraceRule; subject: string }[];
}

/** When the file covers: its events, else (a snapshot) the moment its header was written. */
function spanOf(f: TraceFacts): [number, number] {
  const created = Date.parse(f.header.createdAt) * 1000;
  const at = Number.isFinite(created) ? created : 0;
  return [f.firstTs ?? at, f.lastTs ?? at];
}

/** Groups the files of each host into time spans (files that overlap or follow within SAME_SPAN_GAP_US). */
function spans(files: FileFindings[]): FileFindings[][] {
  const byHost = new Map<string, FileFindings[]>();
  for (const f of files) {
    let list = byHost.get(f.facts.host);
    if (!list) byHost.set(f.facts.host, (list = []));
    list.push(f);
  }
  const out: FileFindings[][] = [];
  for (const list of byHost.values()) {
    const sorted = list.map((f) => ({ f, span: spanOf(f.facts) })).sort((a, b) => a.span[0] - b.span[0]);
    let cur: FileFindings[] = [];
    let end = -Infinity;
    for (const { f, span } of sorted) {
      if (cur.length && span[0] > end + SAME_SPAN_GAP_US) {
        out.push(cur);
        cur = [];
      }
      cur.push(f);
      end = Math.max(end, span[1]);
    }
    if (cur.length) out.push(cur);
  }
  return out;
}

/** One event, whichever file it is in. */
function eventKey(e: EvidenceRef): string {
  return `${e.ts ?? ''}|${e.text}`;
}

/** How many events a (merged) finding stands on: the distinct ones listed, and those not listed. */
export function eventCount(f: Finding): number {
  return new Set(f.evidence.map(eventKey)).size + f.moreEvidence;
}

/** Several findings of one rule and subject: the most severe (then earliest) tells it, with every file's evidence (each already capped). */
function mergeOne(rule: TraceRule, same: { finding: Finding; file: string }[]): Finding {
  const sorted = [...same].sort((a, b) => SEVERITY_ORDER[a.finding.severity] - SEVERITY_ORDER[b.finding.severity] || (a.finding.ts ?? 0) - (b.finding.ts ?? 0));
  const base = sorted[0]!.finding;
  const evidence: EvidenceRef[] = [];
  let more = 0;
  const seen = new Set<string>();
  const events = new Set<string>();
  for (const { finding } of sorted) {
    // a file that only repeats events already seen (a capture and a recording of one incident) is a copy: its unlisted ones are too
    const fresh = finding.evidence.filter((e) => !events.has(eventKey(e)));
    if (fresh.length || !finding.evidence.length) more += finding.moreEvidence;
    for (const e of fresh) events.add(eventKey(e));
    for (const e of finding.evidence) {
      const key = `${e.file}:${e.line ?? ''}:${e.text}`;
      if (seen.has(key)) continue;
      seen.add(key);
      evidence.push(e);
    }
  }
  evidence.sort((a, b) => (a.ts ?? 0) - (b.ts ?? 0));
  const files = [...new Set(sorted.map((s) => s.file))];
  const ts = sorted.map((s) => s.finding.ts).filter((t): t is number => t !== undefined);
  const merged: Finding = {
    ...base,
    detail: `${base.detail} Seen in ${files.length} files of ${base.hosts.join(', ')} from one time span: ${files.join(', ')}.`,
    ifaces: [...new Set(sorted.flatMap((s) => s.finding.ifaces))],
    ...(ts.length ? { ts: Math.min(...ts) } : {}),
    evidence,
    moreEvidence: more,
  };
  return rule.retitle ? { ...merged, title: rule.retitle(merged) } : merged;
}

/** The findings of every file, the same ones of one host and time span merged. */
export function mergeFindings(files: FileFindings[]): Finding[] {
  const out: Finding[] = [];
  for (const span of spans(files)) {
    if (span.length === 1) {
      out.push(...span[0]!.findings.map((f) => f.finding));
      continue;
    }
    const groups = new Map<string, { rule: TraceRule; same: { finding: Finding; file: string }[] }>();
    for (const f of span) {
      for (const { finding, rule, subject } of f.findings) {
        const key = `${finding.id}\u0000${subject}`;
        let g = groups.get(key);
        if (!g) groups.set(key, (g = { rule, same: [] }));
        g.same.push({ finding, file: f.facts.file });
      }
    }
    for (const { rule, same } of groups.values()) out.push(same.length === 1 ? same[0]!.finding : mergeOne(rule, same));
  }
  return out;
}
