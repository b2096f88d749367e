// Events-per-second sparklines, one text line per kind (blessed-contrib's sparkline takes three lines per series; 80x24 has no room).
import { RATE_KINDS, type RateKind, type RateMeter } from './rates.js';
import { escapeTags } from './text.js';

const BLOCKS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
const ASCII = ['_', '.', '-', '~', '=', '+', '*', '#'];

export const KIND_SPARK_COLOR: Record<RateKind, string> = { probe: 'cyan', link: 'blue', change: 'yellow', lost: 'red' };

/** The last `width` values as bars scaled to their own maximum; a zero stays a space so silence is visible. */
export function sparkText(series: readonly number[], width: number, unicode = true): string {
  const bars = unicode ? BLOCKS : ASCII;
  const vals = series.slice(Math.max(0, series.length - width));
  const max = Math.max(0, ...vals);
  const s = vals.map((v) => (v <= 0 || max === 0 ? ' ' : bars[Math.min(bars.length - 1, Math.floor((v / max) * (bars.length - 1)))]!)).join('');
  return s.padStart(width, ' ');
}

export function rateText(n: number): string {
  return n >= 10_000 ? `${Math.round(n / 1000)}k` : String(n);
}

function sparkCell(rates: RateMeter, k: RateKind, width: number, unicode: boolean): string {
  const name = k.padEnd(7);
  const now = `${rateText(rates.last(k))}/s`.padStart(7);
  const w = Math.max(0, width - name.length - now.length - 1);
  const c = KIND_SPARK_COLOR[k];
  return `{${c}-fg}${name}{/${c}-fg}${escapeTags(sparkText(rates.series(k), w, unicode))} ${now}`;
}

/** One tagged line per kind (`probe  ▁▂▅█  1234/s`) fitted to `width`; two kinds a line when fewer than four lines fit. */
export function sparkLines(rates: RateMeter, width: number, unicode = true, height: number = RATE_KINDS.length): string[] {
  if (height >= RATE_KINDS.length) return RATE_KINDS.map((k) => sparkCell(rates, k, width, unicode));
  const half = Math.floor((width - 1) / 2);
  const out: string[] = [];
  for (let i = 0; i < RATE_KINDS.length; i += 2) {
    out.push(
      RATE_KINDS.slice(i, i + 2)
        .map((k) => sparkCell(rates, k, half, unicode))
        .join(' '),
    );
  }
  return out;
}
