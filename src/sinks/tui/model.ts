// The TUI's view-model (bpftop app.rs style): all state and every key's effect as plain methods, testable without a terminal.
import type { Change, Note, TraceEvent } from '../../events.js';
import type { TraceHeader } from '../../trace/format.js';
import { RECORDING_SOURCE } from '../../trace/writer.js';
import type { IfaceState } from '../../feed/feed.js';
import { matchChange, matchIface, parseFilter, type ViewFilter } from './filter.js';
import { findHighlights, type Highlight } from './highlights.js';
import { RateMeter } from './rates.js';
import { Ring } from './ring.js';

export interface ModelOptions {
  header: TraceHeader;
  mode: 'live' | 'replay';
  /** Current interface table (the feed's correlator state). */
  states: () => IfaceState[];
  /** Milliseconds clock, injectable for tests. */
  now?: () => number;
  maxChanges?: number;
  maxRaw?: number;
  maxNotes?: number;
}

export interface IfaceRow {
  state: IfaceState;
  highlight?: Highlight;
}

export type Focus = 'timeline' | 'ifaces';
export type Overlay = 'none' | 'detail' | 'help' | 'filter' | 'error';

export const DEFAULT_MAX_CHANGES = 5000;
export const DEFAULT_MAX_RAW = 20000;

export class TuiModel {
  readonly header: TraceHeader;
  readonly mode: 'live' | 'replay';
  readonly changes: Ring<Change>;
  /** Raw events by seq, bounded by `rawOrder` (what a change's refs point at). */
  private readonly raw = new Map<number, TraceEvent>();
  private readonly rawOrder: Ring<number>;
  readonly notes: Ring<Note>;
  readonly rates: RateMeter;
  readonly counts = { probe: 0, link: 0, change: 0, lost: 0, note: 0 };
  lostEvents = 0;
  /** Recording stopped on its own (a note from the feed with source RECORDING_SOURCE): the status line says so. */
  recordingFailure: string | null = null;
  private readonly statesOf: () => IfaceState[];
  private readonly now: () => number;

  filter: ViewFilter | null = null;
  paused = false;
  /** Changes that arrived while the view was paused (shown as `+N` in the status line). */
  pendingWhilePaused = 0;
  private frozenChanges: Change[] | null = null;
  private frozenStates: IfaceState[] | null = null;

  focus: Focus = 'timeline';
  overlay: Overlay = 'none';
  /** The selected change (kept by identity as new ones arrive above it); null follows the newest. */
  private selected: Change | null = null;
  private selectedIndex = 0;
  private timelineTop = 0;
  ifaceTop = 0;
  detailScroll = 0;
  /** A short message for the status line, with its expiry time (ms). */
  flash: { text: string; until: number } | null = null;
  /** Set by anything that changes what is on screen; the renderer clears it. */
  dirty = true;

  private version = 0;
  private cache: { version: number; list: Change[] } | null = null;

  constructor(opts: ModelOptions) {
    this.header = opts.header;
    this.mode = opts.mode;
    this.statesOf = opts.states;
    this.now = opts.now ?? Date.now;
    this.changes = new Ring(opts.maxChanges ?? DEFAULT_MAX_CHANGES);
    this.rawOrder = new Ring(opts.maxRaw ?? DEFAULT_MAX_RAW);
    this.notes = new Ring(opts.maxNotes ?? 50);
    this.rates = new RateMeter(this.now());
  }

  /** O(1) per event: called from the feed's listener, never renders. */
  ingest(ev: TraceEvent): void {
    this.counts[ev.type]++;
    switch (ev.type) {
      case 'change':
        this.changes.push(ev);
        this.rates.count('change');
        if (this.paused) this.pendingWhilePaused++;
        else this.version++;
        break;
      case 'probe':
      case 'link':
        this.rates.count(ev.type);
        break;
      case 'lost':
        this.lostEvents += ev.count;
        this.rates.count('lost', ev.count);
        break;
      case 'note':
        this.notes.push(ev);
        if (ev.source === RECORDING_SOURCE && ev.level === 'error') this.recordingFailure = ev.message;
        break;
    }
    if (ev.seq !== undefined && ev.type !== 'change') this.remember(ev.seq, ev);
    this.dirty = true;
  }

  private remember(seq: number, ev: TraceEvent): void {
    const out = this.rawOrder.push(seq);
    if (out !== undefined && out !== seq) this.raw.delete(out);
    this.raw.set(seq, ev);
  }

  rawBySeq(seq: number): TraceEvent | undefined {
    return this.raw.get(seq);
  }

  get rawWindowSize(): number {
    return this.raw.size;
  }

  /** A replay seeking back to the start: forget what was shown. */
  reset(): void {
    this.changes.clear();
    this.raw.clear();
    this.rawOrder.clear();
    this.notes.clear();
    this.rates.reset(this.now());
    for (const k of Object.keys(this.counts) as (keyof typeof this.counts)[]) this.counts[k] = 0;
    this.lostEvents = 0;
    this.selected = null;
    this.selectedIndex = 0;
    this.timelineTop = 0;
    this.pendingWhilePaused = 0;
    if (this.paused) {
      this.frozenChanges = [];
      this.frozenStates = this.statesOf().map(copyState);
    }
    this.touch();
  }

  /** Once per frame: closes elapsed seconds of the rate meter, expires the flash. */
  tick(): void {
    const now = this.now();
    if (this.rates.roll(now)) this.dirty = true;
    if (this.flash && now >= this.flash.until) {
      this.flash = null;
      this.dirty = true;
    }
  }

  say(text: string, ms = 3000): void {
    this.flash = { text, until: this.now() + ms };
    this.dirty = true;
  }

  private touch(): void {
    this.version++;
    this.dirty = true;
  }

  // --- filter, pause -------------------------------------------------------

  setFilter(text: string): void {
    this.filter = parseFilter(text);
    this.ifaceTop = 0;
    this.touch();
  }

  /** Freeze what the view shows; events keep flowing into the window (and the trace file). */
  togglePause(): void {
    this.paused = !this.paused;
    if (this.paused) {
      this.frozenChanges = this.changes.newestFirst();
      this.frozenStates = this.statesOf().map(copyState);
    } else {
      this.frozenChanges = null;
      this.frozenStates = null;
      this.pendingWhilePaused = 0;
    }
    this.touch();
  }

  // --- the timeline ---------------------------------------------------------

  /** Changes on screen: newest first, filtered, frozen while paused. */
  visibleChanges(): Change[] {
    if (this.cache?.version === this.version) return this.cache.list;
    const f = this.filter;
    const list = this.frozenChanges ? this.frozenChanges.filter((c) => matchChange(f, c)) : this.changes.newestFirst((c) => matchChange(f, c));
    this.cache = { version: this.version, list };
    return list;
  }

  /** Index of the selection in the visible list (the selected change may have left the window or the filter). */
  selectionIndex(): number {
    const list = this.visibleChanges();
    if (!list.length) return 0;
    if (this.selected) {
      const i = list.indexOf(this.selected);
      if (i >= 0) {
        this.selectedIndex = i;
        return i;
      }
    }
    return this.selected ? Math.min(this.selectedIndex, list.length - 1) : 0;
  }

  selectedChange(): Change | undefined {
    return this.visibleChanges()[this.selectionIndex()];
  }

  /** Is the selection following the newest change? */
  get following(): boolean {
    return this.selected === null;
  }

  moveSelection(delta: number): void {
    if (this.focus === 'ifaces') {
      this.ifaceTop = Math.max(0, Math.min(this.ifaceTop + delta, Math.max(0, this.interfaceRows().length - 1)));
      this.dirty = true;
      return;
    }
    const list = this.visibleChanges();
    const i = Math.max(0, Math.min(this.selectionIndex() + delta, list.length - 1));
    this.selectIndex(i);
  }

  selectFirst(): void {
    this.selectIndex(0);
  }

  selectLast(): void {
    this.selectIndex(Math.max(0, this.visibleChanges().length - 1));
  }

  private selectIndex(i: number): void {
    const list = this.visibleChanges();
    this.selected = i === 0 ? null : (list[i] ?? null);
    this.selectedIndex = i;
    this.detailScroll = 0;
    this.dirty = true;
  }

  /** The rows a timeline of `height` lines shows, scrolled to keep the selection in view. */
  timelineWindow(height: number): { rows: Change[]; selected: number; top: number; total: number } {
    const list = this.visibleChanges();
    const h = Math.max(1, height);
    const sel = this.selectionIndex();
    if (sel < this.timelineTop) this.timelineTop = sel;
    if (sel >= this.timelineTop + h) this.timelineTop = sel - h + 1;
    this.timelineTop = Math.max(0, Math.min(this.timelineTop, Math.max(0, list.length - h)));
    return { rows: list.slice(this.timelineTop, this.timelineTop + h), selected: sel - this.timelineTop, top: this.timelineTop, total: list.length };
  }

  toggleFocus(): void {
    this.focus = this.focus === 'timeline' ? 'ifaces' : 'timeline';
    this.dirty = true;
  }

  // --- overlays ---------------------------------------------------------------

  openDetail(): void {
    if (!this.selectedChange()) return;
    this.overlay = 'detail';
    this.detailScroll = 0;
    this.dirty = true;
  }

  /** Tracing failed or stopped on its own: say so over everything (the data stays for reading). */
  error: { title: string; message: string; hint?: string; startup: boolean } | null = null;

  /** `startup`: tracing never started, so there is nothing behind the message to look at. */
  showError(title: string, message: string, hint?: string, startup = false): void {
    this.error = hint ? { title, message, hint, startup } : { title, message, startup };
    this.overlay = 'error';
    this.dirty = true;
  }

  toggleHelp(): void {
    this.overlay = this.overlay === 'help' ? 'none' : 'help';
    this.dirty = true;
  }

  /** The `/` prompt: edits a draft, applied on Enter, dropped on Escape. */
  filterDraft = '';

  openFilterPrompt(): void {
    this.overlay = 'filter';
    this.filterDraft = this.filter?.text ?? '';
    this.dirty = true;
  }

  typeFilter(text: string): void {
    if (this.overlay !== 'filter') return;
    this.filterDraft = (this.filterDraft + text.replace(/[\x00-\x1f\x7f]/g, '')).slice(0, 64);
    this.dirty = true;
  }

  eraseFilter(): void {
    if (this.overlay !== 'filter') return;
    this.filterDraft = [...this.filterDraft].slice(0, -1).join('');
    this.dirty = true;
  }

  commitFilter(): void {
    if (this.overlay !== 'filter') return;
    this.setFilter(this.filterDraft);
    this.overlay = 'none';
  }

  closeOverlay(): void {
    this.overlay = 'none';
    this.dirty = true;
  }

  scrollDetail(delta: number): void {
    this.detailScroll = Math.max(0, this.detailScroll + delta);
    this.dirty = true;
  }

  // --- interfaces ---------------------------------------------------------------

  /** The interface table: filtered, recently changed first, then highlighted, then by ifindex; deleted last. */
  interfaceRows(): IfaceRow[] {
    const states = this.frozenStates ?? this.statesOf();
    const marks = findHighlights(states);
    const rows: IfaceRow[] = states.filter((s) => matchIface(this.filter, s)).map((s) => {
      const h = marks.get(s);
      return h ? { state: s, highlight: h } : { state: s };
    });
    const rank = (r: IfaceRow) => (r.state.deleted ? 2 : r.state.lastChange || r.highlight ? 0 : 1);
    return rows.sort(
      (a, b) =>
        rank(a) - rank(b) ||
        (b.state.lastChange?.ts ?? 0) - (a.state.lastChange?.ts ?? 0) ||
        Number(!!b.highlight) - Number(!!a.highlight) ||
        a.state.ifindex - b.state.ifindex,
    );
  }
}

function copyState(s: IfaceState): IfaceState {
  return { ...s, flags: [...s.flags], ...(s.lastChange ? { lastChange: { ...s.lastChange } } : {}) };
}
