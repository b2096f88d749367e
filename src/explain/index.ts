// explain: traces in (one or many hosts), findings out: each file streamed once into its facts, the registry's rules over them, one finding per cause across files.
import type { TraceEvent } from '../events.js';
import type { TraceHeader } from '../trace/format.js';
import { strictError, type TraceProblem } from '../trace/problems.js';
import { TraceReader, type TraceReadOptions, type TraceSource } from '../trace/reader.js';
import { TraceFacts } from './facts.js';
import { FleetFacts } from './fleet.js';
import { mergeFindings } from './merge.js';
import { buildReport, type Report } from './render.js';
import { Claims, type TraceRule } from './rule.js';
import { HOSTS_RULES, TRACE_RULES } from './rules/index.js';
import { sortFindings, type Finding } from './types.js';

export { TraceFacts } from './facts.js';
export { buildReport, renderJson, renderText, type Report } from './render.js';
export type { Finding, Severity, FindingId, EvidenceRef, Fix } from './types.js';

/** One trace already in memory: its file name (for evidence), header, and events with their line numbers. */
export interface TraceInput {
  file: string;
  header: TraceHeader;
  events: Iterable<TraceEvent | { event: TraceEvent; line: number }>;
}

/** All findings for these traces (each file finished): each trace's own, merged per host and time span, then the ones across hosts; errors first. */
export function findingsOf(traces: readonly TraceFacts[]): Finding[] {
  const perFile = traces.map((facts) => {
    const claims = new Claims();
    // one subject per namespace: bond0 of the host and bond0 of a container are two
    const subjectOf = (rule: TraceRule, f: Finding) => `${facts.namespace} ${rule.subject?.(f, facts) ?? f.ifaces.join(' ')}`;
    const findings = TRACE_RULES.flatMap((rule) => rule.find(facts, claims).map((finding) => ({ finding, rule, subject: subjectOf(rule, finding) })));
    return { facts, findings };
  });
  const fleet = new FleetFacts(traces);
  const claims = new Claims();
  return sortFindings([...mergeFindings(perFile), ...HOSTS_RULES.flatMap((rule) => rule.find(fleet, claims))]);
}

function isNumbered(e: TraceEvent | { event: TraceEvent; line: number }): e is { event: TraceEvent; line: number } {
  return typeof (e as { line?: unknown }).line === 'number' && typeof (e as { event?: unknown }).event === 'object';
}

/** Explains traces held in memory (tests, small inputs). Events without line numbers get header-relative ones (line 2, 3...). */
export function explainTraces(traces: TraceInput[]): Report {
  const facts = traces.map((t) => {
    const f = new TraceFacts(t.file, t.header);
    let line = 1;
    for (const e of t.events) {
      line++;
      if (isNumbered(e)) f.push(e.event, e.line);
      else f.push(e, line);
    }
    f.finish();
    return f;
  });
  return buildReport(facts, findingsOf(facts));
}

export interface ExplainFilesOptions extends Pick<TraceReadOptions, 'maxLineBytes' | 'strict'> {
  onProblem?: (p: TraceProblem) => void;
}

/** Streams each file once (bounded memory whatever its size) and explains them together. */
export async function explainFiles(sources: TraceSource[], opts: ExplainFilesOptions = {}): Promise<Report> {
  const traces: TraceFacts[] = [];
  for (const src of sources) {
    const reader = await TraceReader.open(src, { ...(opts.maxLineBytes ? { maxLineBytes: opts.maxLineBytes } : {}), ...(opts.strict ? { strict: true } : {}) });
    const f = new TraceFacts(reader.file, reader.header);
    try {
      for (let batch = await reader.next(); batch; batch = await reader.next()) {
        for (const item of batch) {
          if (item.problem) {
            if (opts.strict) throw strictError(item.problem);
            opts.onProblem?.(item.problem);
            f.problem(item.problem);
          } else f.push(item.event, item.line);
        }
      }
    } finally {
      reader.close();
    }
    f.finish();
    traces.push(f);
  }
  return buildReport(traces, findingsOf(traces));
}
