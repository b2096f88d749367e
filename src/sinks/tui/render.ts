// Thin rendering: copy what the view-model says into the blessed widgets; no decisions here beyond fitting text to widths.
import { assignTypeName } from '../../events.js';
import { detailLines, idleLines } from './detail.js';
import { clockText } from '../../format/values.js';
import { changeSegs, KIND_COLOR } from './format.js';
import { fixesFor } from './fixes.js';
import { HELP_LINES } from './keys.js';
import type { Ui } from './layout.js';
import type { IfaceRow, TuiModel } from './model.js';
import { sparkLines } from './spark.js';
import { statusSegs, type StatusInput } from './status.js';
import { displayText } from '../../format/escape.js';
import { escapeTags, fitText, plainSegs, renderSegs, safeTagged } from './text.js';

const inner = (el: { width: unknown; height: unknown; iwidth?: number; iheight?: number }) => ({
  w: Math.max(0, Number(el.width) - (el.iwidth ?? 2)),
  h: Math.max(0, Number(el.height) - (el.iheight ?? 2)),
});

/** Terminals without UTF-8 get ASCII stand-ins (blessed would print `?`). */
function ascii(ui: Ui, s: string): string {
  return ui.unicode ? s : s.replace(/…/g, '~').replace(/[^\x00-\x7e]/g, '?');
}

/** Column widths for a table `width` wide (MACs first, then the last-change column gets the rest). */
export function ifaceColumns(width: number): number[] {
  // blessed-contrib's row list is width - 3 wide and pads every column, the last too, with one blank; a row any
  // wider would wrap inside its one-line item and lose its end.
  const avail = Math.max(40, width - 3 - 7);
  const name = width >= 110 ? 15 : 9;
  const master = width >= 110 ? 10 : 6;
  const mac = 17;
  const perm = width >= 78 ? 17 : 8;
  const fixed = name + mac + perm + 6 + 2 + master;
  return [name, mac, perm, 6, 2, master, Math.max(6, avail - fixed)];
}

const HEADERS = ['iface', 'MAC', 'perm MAC', 'assign', 'pr', 'master', 'last change'];
const SGR = { foreign: '\x1b[1;31m', shared: '\x1b[33m', deleted: '\x1b[2m', off: '\x1b[0m' };

/** `mac ip[4711] 12:00:03`, dropping the pid (or the worker), then the time, when the column is narrow. Displayable text. */
export function lastChangeText(lc: { ts: number; kind: string; by: string }, width: number): string {
  // `(udev-worker)[978] of systemd-udevd` -> `systemd-udevd`; `ip[4711]` -> `ip`.
  const by = lc.by.includes(' of ') ? lc.by.slice(lc.by.lastIndexOf(' of ') + 4) : lc.by.replace(/\[\d+\]/, '');
  const full = displayText(lc.by);
  const short = displayText(by);
  const tries = [`${lc.kind} ${full} ${clockText(lc.ts).slice(0, 8)}`, `${lc.kind} ${short} ${clockText(lc.ts).slice(0, 8)}`, `${lc.kind} ${full}`, `${lc.kind} ${short}`];
  return tries.find((t) => [...t].length <= width) ?? tries[3]!;
}

/**
 * Cells of one row, each its visible text (names through displayText, cut to the column) with ANSI colours; the
 * row list has blessed tags on, so `{`/`}` in a name are escaped by ifaceRowText, after widths are counted.
 */
export function ifaceCells(r: IfaceRow, widths: number[]): string[] {
  const s = r.state;
  const mark = r.highlight ? '!' : s.deleted ? '-' : '';
  const last = s.lastChange ? lastChangeText(s.lastChange, widths[6] ?? 14) : '';
  const shown = [mark + displayText(s.name), s.addr ?? '', s.permAddr ?? '', s.aat === undefined ? '' : assignTypeName(s.aat), s.promiscuity === undefined ? '' : String(s.promiscuity), s.master ?? '', last]
    .map((c, i) => (i === 0 || i === 6 ? c : displayText(c)));
  const color = r.highlight?.kinds.includes('foreign') ? SGR.foreign : r.highlight ? SGR.shared : s.deleted ? SGR.deleted : '';
  return shown.map((c, i) => {
    const text = fitText(c, widths[i] ?? 8);
    return color ? `${color}${text}${SGR.off}` : text;
  });
}

/** One table row from its cells: each padded to its column plus one blank (blessed-contrib's layout), tags escaped. */
export function ifaceRowText(cells: string[], widths: number[]): string {
  // eslint-disable-next-line no-control-regex
  const visible = (c: string) => [...c.replace(/\x1b\[[0-9;]*m/g, '')].length;
  return cells.map((c, i) => escapeTags(c) + ' '.repeat(Math.max(0, (widths[i] ?? 8) - visible(c) + 1))).join('');
}

function drawIfaces(ui: Ui, m: TuiModel): void {
  const { h } = inner(ui.ifaces as unknown as { width: number; height: number });
  const widths = ifaceColumns(Number(ui.ifaces.width));
  (ui.ifaces.options as { columnWidth?: number[] }).columnWidth = widths;
  const rows = m.interfaceRows();
  const visible = Math.max(1, h - 2);
  const top = Math.min(m.ifaceTop, Math.max(0, rows.length - visible));
  const flagged = rows.filter((r) => r.highlight);
  const first = flagged[0];
  let label = ` interfaces ${rows.length}${m.focus === 'ifaces' ? ' [scroll]' : ''} `;
  if (first) label += `{red-fg}! ${safeTagged(first.state.name)}: ${safeTagged(first.highlight!.reasons[0] ?? '')}${flagged.length > 1 ? ` (+${flagged.length - 1})` : ''}{/red-fg} `;
  ui.ifaces.setLabel(ascii(ui, label));
  // The rows are laid out here, not by blessed-contrib's setData: it measures cells without blessed tags in mind,
  // so an escaped `{` in a name would shift the columns.
  (ui.ifaces as unknown as { rows: { setItems(items: string[]): void } }).rows.setItems(
    rows.slice(top, top + visible).map((r) => ifaceRowText(ifaceCells(r, widths).map((c) => ascii(ui, c)), widths)),
  );
  // The rows start one column in (blessed-contrib's list has left: 1): align the header with them.
  ui.ifaces.setContent(`{bold} ${HEADERS.map((hd, i) => fitText(hd, widths[i] ?? 8, true)).join(' ')}{/bold}`);
  ui.ifaces.style.border = { fg: m.focus === 'ifaces' ? 'white' : 'cyan' };
}

function drawTimeline(ui: Ui, m: TuiModel): void {
  const { w, h } = inner(ui.timeline as unknown as { width: number; height: number });
  const win = m.timelineWindow(h);
  const lines = win.rows.map((c, i) => {
    const segs = changeSegs(c);
    const len = [...plainSegs(segs)].length;
    const line = renderSegs([...segs, { text: ' '.repeat(Math.max(0, w - len)) }], w);
    return i === win.selected && m.focus === 'timeline' ? `{inverse}${line}{/inverse}` : line;
  });
  if (!lines.length) lines.push(m.filter ? `no change matches /${safeTagged(m.filter.text)}` : m.paused ? 'paused' : 'waiting for changes...');
  const pos = win.total ? ` ${win.top + win.selected + 1}/${win.total}` : '';
  const follow = m.following ? '' : ' {yellow-fg}(held){/yellow-fg}';
  ui.timeline.setLabel(` changes, newest first${pos}${follow} `);
  ui.timeline.setContent(ascii(ui, lines.join('\n')));
  ui.timeline.style.border = { fg: m.focus === 'timeline' ? 'white' : 'cyan' };
}

function detailOf(m: TuiModel, attached: number): string[] {
  const c = m.selectedChange();
  return c ? detailLines(c, (s) => m.rawBySeq(s)) : idleLines(m.header, m.notes.newestFirst().reverse(), attached);
}

function drawDetail(ui: Ui, m: TuiModel, attached: number): void {
  const lines = detailOf(m, attached);
  ui.detail.setContent(ascii(ui, lines.slice(m.overlay === 'none' ? Math.min(m.detailScroll, Math.max(0, lines.length - 1)) : 0).join('\n')));
}

function drawRates(ui: Ui, m: TuiModel): void {
  const { w, h } = inner(ui.rates as unknown as { width: number; height: number });
  ui.rates.setContent(sparkLines(m.rates, w, ui.unicode, h).join('\n'));
}

function drawOverlay(ui: Ui, m: TuiModel): void {
  if (m.overlay === 'none' || m.overlay === 'filter') ui.overlay.hide();
  else {
    let lines: string[];
    let label: string;
    Object.assign(ui.overlay.position, { top: 'center', left: 'center', width: '90%', height: '90%' });
    if (m.overlay === 'help') {
      lines = HELP_LINES;
      label = ' help (Esc closes) ';
    } else if (m.overlay === 'error' && m.error) {
      // A clear screen: nothing but the message and the fix.
      Object.assign(ui.overlay.position, { top: 0, left: 0, width: '100%', height: '100%-1' });
      lines = ['', `{red-fg}{bold}${safeTagged(m.error.title)}{/bold}{/red-fg}`, '', safeTagged(m.error.message), ''];
      const fixes = [...fixesFor(m.error.message), ...(m.error.hint ? [m.error.hint] : [])];
      for (const fix of fixes) lines.push(`{bold}fix:{/bold} ${safeTagged(fix)}`);
      if (fixes.length) lines.push('');
      lines.push(m.error.startup ? 'Press q to quit.' : 'What was seen so far stays on screen: Esc to look at it, q to quit.');
      label = ' ifblame ';
    } else {
      const all = detailOf(m, 0);
      const { h } = inner(ui.overlay as unknown as { width: number; height: number });
      const top = Math.min(m.detailScroll, Math.max(0, all.length - h));
      lines = all.slice(top);
      const c = m.selectedChange();
      label = ` ${c ? `{${KIND_COLOR[c.kind]}-fg}${c.kind}{/} ${safeTagged(c.iface)}` : 'detail'} (up/down scroll, Esc closes) `;
    }
    ui.overlay.setLabel(ascii(ui, label));
    ui.overlay.setContent(ascii(ui, lines.join('\n')));
    ui.overlay.show();
    ui.overlay.setFront();
  }
  if (m.overlay === 'filter') {
    ui.prompt.setContent(`/${safeTagged(m.filterDraft)}{inverse} {/inverse}`);
    ui.prompt.show();
    ui.prompt.setFront();
  } else ui.prompt.hide();
}

function drawStatus(ui: Ui, s: StatusInput): void {
  const w = Number(ui.status.width);
  ui.status.setContent(ascii(ui, renderSegs(statusSegs(s), w)));
}

/** The status line's input with what the model knows beyond the feed (a recording that stopped on its own). */
function withModel(s: StatusInput, m: TuiModel): StatusInput {
  return m.recordingFailure && !s.recordingFailure ? { ...s, recordingFailure: m.recordingFailure } : s;
}

/** One frame: everything from the model; the caller renders the screen. */
export function draw(ui: Ui, m: TuiModel, status: StatusInput): void {
  drawIfaces(ui, m);
  drawTimeline(ui, m);
  drawDetail(ui, m, status.probesUsed);
  drawRates(ui, m);
  drawStatus(ui, withModel(status, m));
  drawOverlay(ui, m);
}
