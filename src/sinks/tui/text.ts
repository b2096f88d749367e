// Styled text segments cut to a width before blessed tags are added, so colours never break column alignment.
// A segment's text is data as it came (a comm, an interface name): rendering shows it through displayText (controls,
// ESC, bidi as `\x1b`...), measures and cuts the escaped form, then escapes blessed tags (`{red-fg}` in a name).
import { displayText } from '../../format/escape.js';

export interface Seg {
  text: string;
  /** blessed tag names without braces: `yellow-fg`, `bold`, `inverse`... */
  style?: string[];
}

/** `{` and `}` in data (a comm may contain them) must not be read as blessed tags. */
export function escapeTags(s: string): string {
  return s.replace(/[{}]/g, (c) => (c === '{' ? '{open}' : '{close}'));
}

/** Untrusted text as the terminal may show it (the one rule: displayText); blessed tags still to be escaped. */
export function printable(s: string): string {
  return displayText(s);
}

/** Untrusted text ready for a tagged blessed box: displayText, then tags escaped. */
export function safeTagged(s: string): string {
  return escapeTags(displayText(s));
}

/** Spaces that pad `s` to `width` cells as it will be shown (its escaped form). */
export function padShown(s: string, width: number): string {
  return ' '.repeat(Math.max(0, width - [...displayText(s)].length));
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
    const shown = displayText(seg.text);
    const len = [...shown].length;
    const text = len > left ? fitText(shown, left) : shown;
    left -= Math.min(len, left);
    const esc = escapeTags(text);
    if (!seg.style?.length) out += esc;
    else out += seg.style.map((s) => `{${s}}`).join('') + esc + [...seg.style].reverse().map((s) => `{/${s}}`).join('');
  }
  return out;
}

/** Visible text of segments (what a test or a screen reader sees): the escaped form, as rendered. */
export function plainSegs(segs: Seg[]): string {
  return segs.map((s) => displayText(s.text)).join('');
}
