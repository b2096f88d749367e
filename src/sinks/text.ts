// Text output for people: one line per change (time, interface, before -> after, actor, evidence), loud lost-event lines.
// Every string that came from the kernel, ip, /proc or a trace file goes through displayText (src/format/escape.ts):
// no control, escape sequence or bidi character reaches the terminal raw, and columns count the escaped form.
import type { Writable } from 'node:stream';
import type { Change, LinkEvent, Lost, Note, ProbeEvent, TraceEvent } from '../events.js';
import { labelActor } from '../correlate/actor.js';
import { displayPadded, displayText as d } from '../format/escape.js';
import { clockText, valueText } from '../format/values.js';
import { RECORDING_SOURCE } from '../trace/writer.js';
import type { LateProbes } from '../feed/feed.js';
import type { Summary } from './summary.js';

export interface TextSinkOptions {
  /** Also print raw probe and netlink events. */
  raw?: boolean;
  /** Print kernel stacks under each change. */
  stacks?: boolean;
  /** Local time (default) or UTC. */
  utc?: boolean;
}

type Formatters = { [K in TraceEvent['type']]: (ev: Extract<TraceEvent, { type: K }>, o: TextSinkOptions) => string | null };

function change(c: Change, o: TextSinkOptions): string {
  const by = c.actor ? d(labelActor(c.actor)) : 'unattributed';
  const via = c.via.path.length ? ` via ${d(c.via.path.join(' > '))}` : '';
  const note = c.via.note ? `  # ${d(c.via.note)}` : '';
  // Another namespace than the one watched: say which, so a container's `lo` is never taken for the host's.
  const ns = c.netns ? `  in netns ${d(c.netns.name ?? String(c.netns.inode ?? '?'))}` : '';
  const line = `${clockText(c.ts, o.utc)}  ${displayPadded(c.iface, 15)} ${c.kind.padEnd(8)} ${d(valueText(c.before))} -> ${d(valueText(c.after))}  by ${by}  [${c.evidence}]${ns}${via}${note}`;
  if (!o.stacks || !c.via.kstack.length) return line;
  return line + '\n' + c.via.kstack.map((f) => `        ${d(f)}`).join('\n');
}

function lost(l: Lost, o: TextSinkOptions): string {
  return `${clockText(l.ts, o.utc)}  !!! LOST ${l.count} ${d(l.source)} event${l.count === 1 ? '' : 's'}${l.detail ? `: ${d(l.detail)}` : ''} — the picture is incomplete`;
}

function note(n: Note, o: TextSinkOptions): string | null {
  // A recording failure is said once on stderr (`ifblame: recording stopped: ...`) and in the summary, by capture.
  if (n.source === RECORDING_SOURCE) return null;
  return `${clockText(n.ts, o.utc)}  ${n.level === 'info' ? 'note' : n.level.toUpperCase()}: ${d(n.message)}`;
}

function probe(p: ProbeEvent, o: TextSinkOptions): string | null {
  if (!o.raw) return null;
  const fields = Object.entries(p.fields)
    .map(([k, v]) => `${d(k)}=${d(String(v))}`)
    .join(' ');
  return `${clockText(p.ts, o.utc)}  . ${d(p.probe)}${p.phase === 'return' ? ' (return)' : ''} ${d(p.comm)}[${p.pid}] ${fields}`;
}

function link(l: LinkEvent, o: TextSinkOptions): string | null {
  if (!o.raw) return null;
  return `${clockText(l.ts, o.utc)}  . netlink ${l.action === 'del' ? 'Deleted ' : ''}${l.ifindex}: ${d(l.ifname)} ${d(l.addr ?? '')}${l.master ? ` master ${d(l.master)}` : ''}${l.promiscuity !== undefined ? ` promiscuity ${l.promiscuity}` : ''}`;
}

const FORMAT: Formatters = { change, lost, note, probe, link };

export function formatEvent(ev: TraceEvent, o: TextSinkOptions = {}): string | null {
  return (FORMAT[ev.type] as (e: TraceEvent, o: TextSinkOptions) => string | null)(ev, o);
}

/** One late attachment in words: what, from when it covers, and what was inferred before. */
export function lateText(a: LateProbes): string {
  const probes = a.probes.map((id) => (a.points[id] ? `${id} at ${a.points[id]}` : id)).join(', ');
  if (a.from === null)
    return `module ${d(a.module)} loaded at ${clockText(a.loadedAt)}: its probes were never attached${a.failure ? ` (${d(a.failure)})` : ''}; what only they see is inferred from netlink`;
  const until = a.until ? `, detached at ${clockText(a.until)} (module unloaded)` : '';
  return `probes added for module ${d(a.module)} (${probes}): cover from ${clockText(a.from)}${until}; loaded at ${clockText(a.loadedAt)}: before ${clockText(a.from)} what only they see is inferred from netlink`;
}

export function formatSummary(s: Summary): string {
  const kinds =
    Object.entries(s.changes)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ') || 'none';
  const lines = [
    `-- ${s.total} change${s.total === 1 ? '' : 's'} (${kinds}) in ${(s.durationMs / 1000).toFixed(1)} s, backend ${s.backend}`,
    s.lost ? `-- !!! ${s.lost} events LOST: changes may be missing` : '-- lost events: 0',
  ];
  if (s.late) lines.push(`-- !!! ${s.late} events LATE: correlated out of time order after a bounded wait, attribution may be incomplete`);
  if (s.badLines) lines.push(`-- ${s.badLines} unreadable output lines (counted, skipped)`);
  for (const p of s.dropped) lines.push(`-- probe ${d(p.probe)} dropped: ${d(p.reason)}`);
  for (const a of s.added ?? []) lines.push(`-- ${lateText(a)}`);
  if (s.command) lines.push(`-- command ${d(s.command.argv.join(' '))} exited ${s.command.exitCode ?? s.command.signal}`);
  if (s.failOn) lines.push(`-- --fail-on ${s.failOn.kinds.join(',')}: ${s.failOn.hit} matching change${s.failOn.hit === 1 ? '' : 's'}`);
  if (s.recording?.failure) lines.push(`-- !!! ${d(s.recording.failure)}`);
  if (s.error) lines.push(`-- tracing failed: ${d(s.error)}`);
  return lines.join('\n') + '\n';
}

export interface EventSink {
  write(ev: TraceEvent): void;
  end(summary: Summary): void;
}

export function createTextSink(out: Writable, o: TextSinkOptions = {}): EventSink {
  return {
    write(ev) {
      const line = formatEvent(ev, o);
      if (line !== null) out.write(line + '\n');
    },
    end(summary) {
      out.write(formatSummary(summary));
    },
  };
}
