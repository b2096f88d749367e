// Styled text segments cut to a width before blessed tags are added, so colours never break column alignment.
export interface Seg {
  text: string;
  /** blessed tag names without braces: `yellow-fg`, `bold`, `inverse`... */
  style?: string[];
}

/** `{` and `}` in data (a comm may contain them) must not be read as blessed tags. */
export function escapeTags(s: string): string {
  return s.replace(/[{}]/g, (c) => (c === '{' ? '{open}' : '{close}'));
}

/** Keep only printable characters: a comm or an interface name must not move the cursor. */
export function printable(s: string): string {
  return s.replace(/[\x00-\x1f\x7f-\x9f]/g, '?');
}

/** Cut to `width` visible characters, `…` marking the cut; pad with spaces to exactly `width` when `pad`. */
export function fitText(s: string, width: number, pad = false): string {
  if (width <= 0) return '';
  const chars = [...s];
  let out = chars.length > width ? chars.slice(0, Math.max(0, width - 1)).join('') + '…' : s;
  if (width === 1 && chars.length > 1) out = '…';
  if (pad) out += ' '.repeat(Math.max(0, width - [...out].length));
  return out;
}

/** Segments -> one tagged line of at most `width` visible characters. */
export function renderSegs(segs: Seg[], width: number): string {
  let left = width;
  let out = '';
  for (const seg of segs) {
    if (left <= 0) break;
    const len = [...seg.text].length;
    const text = len > left ? fitText(seg.text, left) : seg.text;
    left -= Math.min(len, left);
    const esc = escapeTags(printable(text));
    if (!seg.style?.length) out += esc;
    else out += seg.style.map((s) => `{${s}}`).join('') + esc + [...seg.style].reverse().map((s) => `{/${s}}`).join('');
  }
  return out;
}

/** Visible text of segments (what a test or a screen reader sees). */
export function plainSegs(segs: Seg[]): string {
  return segs.map((s) => s.text).join('');
}
