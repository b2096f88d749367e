// Keys -> view-model and feed actions, with no terminal involved (the tests press keys by calling handleKey).
import type { ReplayControls } from '../../feed/feed.js';
import type { TuiModel } from './model.js';

export interface KeyContext {
  model: TuiModel;
  controls?: ReplayControls | undefined;
  toggleRecording(): void;
  quit(): void;
  /** Lines of the timeline, for page up/down. */
  pageSize(): number;
}

/** What blessed passes with a keypress (`full` is e.g. `C-c`, `S-g`, `enter`). */
export interface KeyPress {
  name?: string | undefined;
  full?: string | undefined;
  ctrl?: boolean | undefined;
  meta?: boolean | undefined;
  shift?: boolean | undefined;
}

export const SPEEDS = [0.1, 0.25, 0.5, 1, 2, 5, 10, 50, 100, Infinity] as const;

/** The next replay speed up (`dir` 1) or down (-1) from `current`. */
export function nextSpeed(current: number, dir: 1 | -1): number {
  if (dir > 0) return SPEEDS.find((s) => s > current) ?? Infinity;
  return [...SPEEDS].reverse().find((s) => s < current) ?? SPEEDS[0];
}

export const HELP_LINES = [
  '{bold}ifblame: who changed which interface{/bold}',
  '',
  '  up/down, j/k     select a change (newest is on top)',
  '  PgUp/PgDn, Home/End   move by a page / to the ends',
  '  Enter            the change in detail (Esc closes)',
  '  /                filter by interface or process (if:NAME, comm:NAME)',
  '  Esc              clear the filter',
  '  Tab              scroll the interfaces table instead',
  '  p                pause the view (tracing and recording go on)',
  '  r                start/stop recording to a trace file',
  '  ?                this help',
  '  q, Ctrl-C        quit',
  '',
  '{bold}replay{/bold}',
  '  space            pause/resume',
  '  + / -            faster / slower',
  '  n                one more event',
  '  g / G            back to the start / jump to the end',
  '',
  'interfaces in {red-fg}red{/red-fg}: MAC belongs to none of its ports;',
  'in {yellow-fg}yellow{/yellow-fg}: MAC shared with an unrelated interface.',
  'timeline marks: * observed in the kernel, + user request seen, ? inferred from netlink',
];

export function handleKey(ctx: KeyContext, ch: string | undefined, key: KeyPress): void {
  const m = ctx.model;
  const name = key.full ?? key.name ?? ch ?? '';
  // blessed reports Enter twice (`return`, then `enter`): act on one.
  if (name === 'return') return;
  if (name === 'C-c') return ctx.quit();
  // Esc then a key typed fast arrives as one sequence, which terminals share with Alt+key: take it as the two keys.
  if (key.meta && name.startsWith('M-') && !key.ctrl) {
    handleKey(ctx, undefined, { name: 'escape', full: 'escape' });
    const one = key.name && key.name.length === 1 ? (key.shift ? key.name.toUpperCase() : key.name) : undefined;
    return handleKey(ctx, one, { name: key.name, full: name.slice(2), shift: key.shift });
  }
  if (m.overlay === 'filter') return filterKey(m, ch, name);
  if (m.overlay === 'help' || m.overlay === 'error') {
    if (name === 'q') return ctx.quit();
    if (name === 'escape' || name === 'enter' || ch === '?') m.closeOverlay();
    return;
  }
  if (m.overlay === 'detail') {
    if (name === 'q') return ctx.quit();
    if (name === 'escape' || name === 'enter' || name === 'backspace') return m.closeOverlay();
    if (name === 'up' || name === 'k') return m.scrollDetail(-1);
    if (name === 'down' || name === 'j') return m.scrollDetail(1);
    if (name === 'pageup') return m.scrollDetail(-ctx.pageSize());
    if (name === 'pagedown' || name === 'space') return m.scrollDetail(ctx.pageSize());
    return;
  }
  if (ctx.controls && replayKey(ctx.controls, m, ch, name)) return;
  switch (name) {
    case 'q':
      return ctx.quit();
    case 'up':
    case 'k':
      return m.moveSelection(-1);
    case 'down':
    case 'j':
      return m.moveSelection(1);
    case 'pageup':
      return m.moveSelection(-ctx.pageSize());
    case 'pagedown':
      return m.moveSelection(ctx.pageSize());
    case 'home':
    case 'g':
      return m.selectFirst();
    case 'end':
    case 'S-g':
      return m.selectLast();
    case 'enter':
      return m.openDetail();
    case 'escape':
      if (m.filter) m.setFilter('');
      return;
    case 'tab':
      return m.toggleFocus();
    case 'p':
      return m.togglePause();
    case 'r':
      return ctx.toggleRecording();
  }
  if (ch === '/') return m.openFilterPrompt();
  if (ch === '?') return m.toggleHelp();
  if (ch === 'G') return m.selectLast();
}

function filterKey(m: TuiModel, ch: string | undefined, name: string): void {
  if (name === 'enter') return m.commitFilter();
  if (name === 'escape') return m.closeOverlay();
  if (name === 'backspace') return m.eraseFilter();
  if (ch && ch.length === 1 && ch >= ' ') m.typeFilter(ch);
}

/** Replay-only keys; true when the key was one of them. */
function replayKey(c: ReplayControls, m: TuiModel, ch: string | undefined, name: string): boolean {
  if (name === 'space') {
    if (c.paused) c.resume();
    else c.pause();
  } else if (ch === '+' || ch === '=') c.setSpeed(nextSpeed(c.speed, 1));
  else if (ch === '-' || ch === '_') c.setSpeed(nextSpeed(c.speed, -1));
  else if (name === 'n') {
    if (!c.paused) c.pause();
    c.step();
  } else if (name === 'g') c.seek('start');
  else if (name === 'S-g' || ch === 'G') c.seek('end');
  else return false;
  m.dirty = true;
  return true;
}
