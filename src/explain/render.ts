// Findings for people (text: every string from a trace file through displayText) and for scripts (JSON: exact values, terminal-safe).
import { displayText, terminalSafeJson } from '../format/escape.js';
import { clockText } from '../format/values.js';
import type { TraceFacts } from './facts.js';
import type { Finding } from './types.js';

export interface Report {
  files: { file: string; host: string; kernel: string; backend: string; events: number; changes: number; lost: number; skipped: number; from?: string; to?: string }[];
  findings: Finding[];
  summary: { errors: number; warnings: number; infos: number };
}

export function buildReport(traces: readonly TraceFacts[], findings: Finding[]): Report {
  const iso = (ts: number | undefined) => (ts === undefined ? undefined : new Date(Math.floor(ts / 1000)).toISOString());
  return {
    files: traces.map((r) => {
      const from = iso(r.firstTs);
      const to = iso(r.lastTs);
      const { kernel, backend } = r.header;
      return { file: r.file, host: r.host, kernel, backend, events: r.events, changes: r.changes, lost: r.lostCount, skipped: r.skipped, ...(from ? { from } : {}), ...(to ? { to } : {}) };
    }),
    findings,
    summary: {
      errors: findings.filter((f) => f.severity === 'error').length,
      warnings: findings.filter((f) => f.severity === 'warning').length,
      infos: findings.filter((f) => f.severity === 'info').length,
    },
  };
}

/** Wraps plain words at `width`, each line indented. */
function wrap(text: string, indent: string, width = 100): string {
  const words = text.split(/\s+/).filter(Boolean);
  const lines: string[] = [];
  let cur = '';
  for (const w of words) {
    if (cur && cur.length + 1 + w.length > width - indent.length) {
      lines.push(indent + cur);
      cur = w;
    } else cur = cur ? `${cur} ${w}` : w;
  }
  if (cur) lines.push(indent + cur);
  return lines.join('\n');
}

const LABEL = { error: 'ERROR  ', warning: 'WARNING', info: 'info   ' } as const;

export function renderText(report: Report, opts: { utc?: boolean } = {}): string {
  const utc = opts.utc ?? false;
  const out: string[] = [];
  const d = displayText;
  for (const f of report.files) {
    out.push(`${d(f.file)}: host ${d(f.host)}, kernel ${d(f.kernel)}, ${f.backend} backend, ${f.events} events, ${f.changes} changes${f.from ? `, ${f.from} .. ${f.to}` : ''}${f.lost ? `, ${f.lost} LOST` : ''}${f.skipped ? `, ${f.skipped} unreadable lines` : ''}`);
  }
  out.push('');
  if (!report.findings.length) out.push('No findings: nothing in these traces matches a known problem.');
  for (const f of report.findings) {
    out.push(`${LABEL[f.severity]} ${d(f.title)}${f.hosts.length > 1 ? '' : f.hosts[0] ? `  [${d(f.hosts[0])}]` : ''}`);
    out.push(wrap(d(f.detail), '        '));
    if (f.evidence.length) {
      out.push('    evidence:');
      for (const e of f.evidence) {
        const where = e.line !== undefined ? `${d(e.file)}:${e.line}` : d(e.file);
        out.push(`        ${where}  ${e.ts !== undefined ? `${clockText(e.ts, utc)}  ` : ''}${d(e.text)}`);
      }
      if (f.moreEvidence) out.push(`        ... and ${f.moreEvidence} more`);
    }
    if (f.fix) {
      out.push('    fix:');
      out.push(wrap(d(f.fix.summary), '        '));
      if (f.fix.file) {
        out.push(`        ${d(f.fix.file.path)}:`);
        for (const l of f.fix.file.content.trimEnd().split('\n')) out.push(`          ${d(l)}`);
      }
      for (const c of f.fix.commands) out.push(`        $ ${d(c)}`);
    }
    out.push('');
  }
  const s = report.summary;
  out.push(`-- ${s.errors} error${s.errors === 1 ? '' : 's'}, ${s.warnings} warning${s.warnings === 1 ? '' : 's'}, ${s.infos} note${s.infos === 1 ? '' : 's'}`);
  return out.join('\n') + '\n';
}

/** The report as JSON: exact values; characters a terminal could act on written as \u escapes (same value for a parser). */
export function renderJson(report: Report): string {
  return terminalSafeJson(JSON.stringify(report, null, 2)) + '\n';
}
