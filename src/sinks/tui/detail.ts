// Everything behind one change, as lines: actor and parent chain, unit/container, kernel path and stack, evidence, raw events.
import type { Change, Note, TraceEvent } from '../../events.js';
import type { TraceHeader } from '../../trace/format.js';
import { fullTime, valueText } from '../../format/values.js';
import { actorText, KIND_COLOR } from './format.js';
import { safeTagged } from './text.js';

/** Every string from the kernel, ip, /proc or a trace file: displayText, then blessed tags escaped. */
const esc = safeTagged;
const label = (s: string) => `{bold}${s.padEnd(9)}{/bold}`;

/** One raw event in one line: `#12 probe dev_set_mac_address entry ip[77] dev=veth0 addr=02:..`. */
export function rawText(ev: TraceEvent): string {
  const seq = ev.seq !== undefined ? `#${ev.seq} ` : '';
  switch (ev.type) {
    case 'probe': {
      const fields = Object.entries(ev.fields).map(([k, v]) => `${k}=${v === null ? '-' : v}`).join(' ');
      return `${seq}probe ${ev.probe} ${ev.phase} ${ev.comm}[${ev.pid}] ${fields}`;
    }
    case 'link': {
      const parts = [`${seq}link ${ev.action}`, ev.family === 'bridge' ? 'bridge' : '', ev.ifname, ev.addr ? `addr ${ev.addr}` : ''];
      if (ev.master !== undefined) parts.push(`master ${ev.master ?? '-'}`);
      if (ev.promiscuity !== undefined) parts.push(`promiscuity ${ev.promiscuity}`);
      if (ev.flags.length) parts.push(`<${ev.flags.join(',')}>`);
      if (ev.event) parts.push(`event ${ev.event}`);
      return parts.filter(Boolean).join(' ');
    }
    case 'change':
      return `${seq}change ${ev.kind} ${ev.iface}`;
    case 'lost':
      return `${seq}lost ${ev.count} from ${ev.source}${ev.detail ? `: ${ev.detail}` : ''}`;
    case 'note':
      return `${seq}note ${ev.level} ${ev.source}: ${ev.message}`;
  }
}

/** Tagged lines describing a change; `raw` looks a seq up in the UI's bounded window. */
export function detailLines(c: Change, raw: (seq: number) => TraceEvent | undefined): string[] {
  const out: string[] = [];
  out.push(`{${KIND_COLOR[c.kind]}-fg}{bold}${c.kind}{/bold}{/${KIND_COLOR[c.kind]}-fg} ${esc(c.iface)}${c.ifindex !== undefined ? ` (ifindex ${c.ifindex})` : ''}  [${c.evidence}]`);
  out.push(`${label('at')}${fullTime(c.ts)}`);
  out.push(`${label('before')}${esc(valueText(c.before))}`);
  out.push(`${label('after')}${esc(valueText(c.after))}`);
  out.push(`${label('by')}${esc(actorText(c))}`);
  const a = c.actor;
  if (a) {
    if (a.chain.length) out.push(`${label('parents')}${esc(a.chain.map((p) => `${p.comm}[${p.pid}]`).join(' < '))}`);
    else if (a.pcomm) out.push(`${label('parent')}${esc(`${a.pcomm}[${a.ppid ?? '?'}]`)}`);
    if (a.unit) out.push(`${label('unit')}${esc(a.unit)}`);
    if (a.container) out.push(`${label('container')}${esc(a.container)}`);
    if (!a.unit && !a.container && a.cgroup) out.push(`${label('cgroup')}${esc(a.cgroup)}`);
    if (a.kernel) out.push(`${label('')}a kernel thread: no user process behind this change`);
  }
  if (c.via.probe) out.push(`${label('probe')}${esc(c.via.probe)}`);
  if (c.via.path.length) out.push(`${label('path')}${esc(c.via.path.join(' > '))}`);
  if (c.via.note) out.push(`${label('note')}${esc(c.via.note)}`);
  if (c.evidence !== 'observed') {
    out.push(`${label('evidence')}${c.evidence === 'requested' ? 'the user request was seen (syscalls backend), not the kernel path' : c.actor ? 'inferred from netlink: the kernel did it, following the request shown as "by"' : 'inferred from netlink only: nobody was seen doing it'}`);
  }
  if (c.via.kstack.length) {
    out.push('{bold}kernel stack{/bold}');
    for (const f of c.via.kstack) out.push(`  ${esc(f)}`);
  }
  if (c.refs.length) {
    out.push(`{bold}raw events (${c.refs.length}){/bold}`);
    for (const seq of c.refs) {
      const ev = raw(seq);
      out.push(`  ${ev ? esc(rawText(ev)) : `#${seq} (no longer in the window; it is in the trace file)`}`);
    }
  }
  return out;
}

/** What the detail pane shows before any change: the session, dropped probes and notes. */
export function idleLines(header: TraceHeader, notes: readonly Note[], attached = 0): string[] {
  const out = [`{bold}no change yet{/bold}`, `${label('host')}${esc(header.host)}`, `${label('kernel')}${esc(header.kernel)}`, `${label('backend')}${header.backend}`];
  const points = attached ? ` (${attached} attach points)` : '';
  out.push(`${label('probes')}${header.probes.used.length} used${points}, ${header.probes.dropped.length} dropped`);
  for (const d of header.probes.dropped) out.push(`  {yellow-fg}${esc(d.probe)}{/yellow-fg}: ${esc(d.reason)}`);
  const f = header.filters;
  if (f.iface.length || f.comm.length) out.push(`${label('filters')}${esc([...f.iface.map((i) => `iface ${i}`), ...f.comm.map((c) => `comm ${c}`)].join(', '))}`);
  for (const n of notes) out.push(`{${n.level === 'error' ? 'red' : n.level === 'warn' ? 'yellow' : 'white'}-fg}${n.level}{/} ${esc(`${n.source}: ${n.message}`)}`);
  return out;
}
