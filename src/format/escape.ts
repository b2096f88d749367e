// Untrusted text (names from the kernel, ip, /proc or a trace file) made safe for a terminal: one rule, one place.
// C0/C1 controls, DEL, ESC, Unicode bidi controls and lone surrogates (invalid UTF-8) show as escapes, never raw.

/** Code points that must not reach a terminal raw, and the backslash that starts our escapes. */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\\]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

function escapeOne(ch: string): string {
  if (ch === '\\') return '\\\\';
  const cp = ch.codePointAt(0)!;
  return cp < 0x100 ? `\\x${cp.toString(16).padStart(2, '0')}` : `\\u{${cp.toString(16)}}`;
}

/** The text as a terminal may show it: unchanged when harmless, else with each unsafe character escaped (`\x1b`). */
export function displayText(s: string): string {
  return s.replace(UNSAFE, escapeOne);
}
