// The screen and its panels on a blessed-contrib grid: interfaces on top, timeline and detail below, rates, a status line.
import blessed from 'blessed';
import contrib from 'blessed-contrib';

/** Where a panel sits on the 12x12 grid: row, col, rowSpan, colSpan. */
type Cell = [number, number, number, number];
const CELLS = { ifaces: [0, 0, 4, 12], timeline: [4, 0, 5, 7], rates: [9, 0, 3, 7], detail: [4, 7, 8, 5] } satisfies Record<string, Cell>;

export interface Ui {
  screen: blessed.Widgets.Screen;
  ifaces: contrib.Widgets.TableElement;
  timeline: blessed.Widgets.BoxElement;
  detail: blessed.Widgets.BoxElement;
  rates: blessed.Widgets.BoxElement;
  status: blessed.Widgets.BoxElement;
  /** Full-screen-ish box for the change detail, the help and error messages. */
  overlay: blessed.Widgets.BoxElement;
  prompt: blessed.Widgets.BoxElement;
  /** Can the terminal draw non-ASCII (block sparklines, `…`)? */
  unicode: boolean;
}

export interface ScreenOptions {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  terminal: string;
  title: string;
}

export function createScreen(o: ScreenOptions): blessed.Widgets.Screen {
  return blessed.screen({
    input: o.input as NodeJS.ReadStream,
    output: o.output as NodeJS.WriteStream,
    terminal: o.terminal,
    title: o.title,
    smartCSR: true,
    fullUnicode: true,
    autoPadding: true,
    warnings: false,
    dockBorders: false,
  });
}

const panel = (label: string) => ({ label: ` ${label} `, tags: true, style: { label: { bold: true } } });

/** Grid rows of the body (everything above the status line): 12 rows, 12 columns. */
// Lines that fill a panel exactly are cut, not wrapped: blessed wraps a full-width line that ends in a closing tag.
export function createLayout(screen: blessed.Widgets.Screen): Ui {
  // The grid lays out inside `body`, so the status line keeps the last terminal row whatever the height.
  const body = blessed.box({ parent: screen, top: 0, left: 0, width: '100%', height: '100%-1' });
  const grid = new contrib.grid({ rows: 12, cols: 12, screen: body as unknown as blessed.Widgets.Screen, color: 'cyan' } as contrib.Widgets.GridOptions);
  const ifaces = grid.set(...CELLS.ifaces, contrib.table, {
    ...panel('interfaces'),
    keys: false,
    interactive: false,
    fg: 'white',
    // blessed-contrib pads each cell to width + spacing - 1: spacing 2 gives one blank between columns.
    columnSpacing: 2,
    columnWidth: [8, 17, 17, 6, 2, 6, 14],
  } as unknown as contrib.Widgets.TableOptions) as contrib.Widgets.TableElement;
  const timeline = grid.set(...CELLS.timeline, blessed.box, { ...panel('changes (newest first)'), wrap: false }) as blessed.Widgets.BoxElement;
  const rates = grid.set(...CELLS.rates, blessed.box, { ...panel('events/s'), wrap: false }) as blessed.Widgets.BoxElement;
  const detail = grid.set(...CELLS.detail, blessed.box, { ...panel('detail'), wrap: true }) as blessed.Widgets.BoxElement;
  const status = blessed.box({ parent: screen, bottom: 0, left: 0, width: '100%', height: 1, tags: true, wrap: false, style: { fg: 'white', bg: 'blue' } });
  const overlay = blessed.box({
    parent: screen,
    top: 'center',
    left: 'center',
    width: '90%',
    height: '90%',
    hidden: true,
    tags: true,
    wrap: true,
    border: { type: 'line' },
    style: { border: { fg: 'yellow' }, bg: 'black' },
  });
  const prompt = blessed.box({
    parent: screen,
    bottom: 1,
    left: 'center',
    width: '80%',
    height: 3,
    hidden: true,
    tags: true,
    label: ' filter: interface or process (if:NAME, comm:NAME) ',
    border: { type: 'line' },
    style: { border: { fg: 'cyan' } },
  });
  const unicode = Boolean((screen as unknown as { _unicode?: boolean })._unicode);
  const ui = { screen, ifaces, timeline, detail, rates, status, overlay, prompt, unicode };
  snapToRows(ui);
  screen.on('resize', () => snapToRows(ui));
  return ui;
}

/**
 * The grid's percentages are floored by blessed, which leaves blank rows between panels on small terminals (two of 24
 * at 80x24). Re-place the same cells in whole rows and columns, rounded, so the panels tile the body exactly.
 */
export function snapToRows(ui: Ui): void {
  const H = Math.max(1, ui.screen.rows - 1);
  const W = Math.max(1, ui.screen.cols);
  const at = (n: number, total: number) => Math.round((n * total) / 12);
  for (const [name, [row, col, rowSpan, colSpan]] of Object.entries(CELLS) as [keyof typeof CELLS, Cell][]) {
    const el = ui[name];
    el.top = at(row, H);
    el.left = at(col, W);
    el.height = at(row + rowSpan, H) - at(row, H);
    el.width = at(col + colSpan, W) - at(col, W);
  }
}
