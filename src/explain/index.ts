// explain: traces in (one or many hosts), findings out. Pure over events; files are streamed one at a time.
import type { TraceEvent } from '../events.js';
import type { TraceHeader } from '../trace/format.js';
import { strictError, type TraceProblem } from '../trace/problems.js';
import { TraceReader, type TraceReadOptions, type TraceSource } from '../trace/reader.js';
import { TraceAnalyzer, type TraceResult } from './analyze.js';
import { crossHostFindings } from './cross-host.js';
import { buildReport, type Report } from './render.js';
import { sortFindings, type Finding } from './types.js';

export { TraceAnalyzer } from './analyze.js';
export type { TraceResult } from './analyze.js';
export { buildReport, renderJson, renderText, type Report } from './render.js';
export type { Finding, Severity, FindingId, EvidenceRef, Fix } from './types.js';

/** One trace already in memory: its file name (for evidence), header, and events with their line numbers. */
export interface TraceInput {
  file: string;
  header: TraceHeader;
  events: Iterable<TraceEvent | { event: TraceEvent; line: number }>;
}

/** All findings for these traces: each trace's own, then the ones across hosts; errors first. */
export function findingsOf(results: TraceResult[]): Finding[] {
  return sortFindings([...results.flatMap((r) => r.findings), ...crossHostFindings(results)]);
}

function isNumbered(e: TraceEvent | { event: TraceEvent; line: number }): e is { event: TraceEvent; line: number } {
  return typeof (e as { line?: unknown }).line === 'number' && typeof (e as { event?: unknown }).event === 'object';
}

/** Explains traces held in memory (tests, small inputs). Events without line numbers get header-relative ones (line 2, 3...). */
export function explainTraces(traces: TraceInput[]): Report {
  const results = traces.map((t) => {
    const a = new TraceAnalyzer(t.file, t.header);
    let line = 1;
    for (const e of t.events) {
      line++;
      if (isNumbered(e)) a.push(e.event, e.line);
      else a.push(e, line);
    }
    return a.finish();
  });
  return buildReport(results, findingsOf(results));
}

export interface ExplainFilesOptions extends Pick<TraceReadOptions, 'maxLineBytes' | 'strict'> {
  onProblem?: (p: TraceProblem) => void;
}

/** Streams each file once (bounded memory whatever its size) and explains them together. */
export async function explainFiles(sources: TraceSource[], opts: ExplainFilesOptions = {}): Promise<Report> {
  const results: TraceResult[] = [];
  for (const src of sources) {
    const reader = await TraceReader.open(src, { ...(opts.maxLineBytes ? { maxLineBytes: opts.maxLineBytes } : {}), ...(opts.strict ? { strict: true } : {}) });
    const a = new TraceAnalyzer(reader.file, reader.header);
    try {
      for (let batch = await reader.next(); batch; batch = await reader.next()) {
        for (const item of batch) {
          if (item.problem) {
            if (opts.strict) throw strictError(item.problem);
            opts.onProblem?.(item.problem);
            a.problem(item.problem);
          } else a.push(item.event, item.line);
        }
      }
    } finally {
      reader.close();
    }
    results.push(a.finish());
  }
  return buildReport(results, findingsOf(results));
}
