// Untrusted text (names from the kernel, ip, /proc or a trace file) made safe for a terminal: one rule, one place.
//
// The rule: every string that comes from the kernel (comm, parent comm, interface names and aliases, kernel stack
// frames, bpftrace messages), from `ip`, from /proc or from a trace file reaches a terminal only through
// `displayText`. It shows C0/C1 controls, DEL, ESC, Unicode bidi and line-separator controls, and bytes that were
// not UTF-8 as escapes, never raw:
//   `\xNN`    a byte: a C0 control or DEL (`\x1b`), or a byte that was not valid UTF-8 (`\xff`);
//   `\u{N}`   a Unicode code point that must not reach a terminal raw: C1 controls (`\u{9b}`), bidi (`\u{202e}`);
//   `\\`      a backslash, so that an escape is never ambiguous with the same characters in a name.
// Bytes that are not UTF-8 stay representable in a string as lone surrogates U+DC80..U+DCFF ("surrogateescape"):
// `decodeBytes` makes them, `textBytes` turns them back into the bytes, JSON keeps them exactly (`"\udcff"`).

/** Code points that must not reach a terminal raw (and the backslash that starts our escapes). */
const UNSAFE =
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\\]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Characters JSON.stringify leaves raw that a terminal may act on (DEL, C1, bidi, line separators). */
const JSON_UNSAFE = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const hex2 = (n: number) => n.toString(16).padStart(2, '0');

function escapeOne(ch: string): string {
  if (ch === '\\') return '\\\\';
  const cp = ch.codePointAt(0)!;
  if (cp < 0x80) return `\\x${hex2(cp)}`;
  // A byte that was not UTF-8, kept as a lone low surrogate by decodeBytes: show the byte.
  if (cp >= 0xdc80 && cp <= 0xdcff) return `\\x${hex2(cp - 0xdc00)}`;
  return `\\u{${cp.toString(16)}}`;
}

/** The text as a terminal may show it: unchanged when harmless, else with each unsafe character escaped (`\x1b`). */
export function displayText(s: string): string {
  UNSAFE.lastIndex = 0;
  return UNSAFE.test(s) ? s.replace(UNSAFE, escapeOne) : s;
}

/** Does `s` hold anything displayText would escape (a control, bidi, invalid byte or backslash)? */
export function needsEscape(s: string): boolean {
  UNSAFE.lastIndex = 0;
  return UNSAFE.test(s);
}

/** Width of already displayable text in terminal cells (code points; every escape is ASCII). */
export function textWidth(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** displayText(s), padded with spaces to at least `width` cells of its escaped form (alignment holds). */
export function displayPadded(s: string, width: number): string {
  const d = displayText(s);
  const w = textWidth(d);
  return w >= width ? d : d + ' '.repeat(width - w);
}

/**
 * JSON text that means exactly the same value, with the characters a terminal could act on that JSON.stringify
 * leaves raw (DEL, C1 controls, bidi, U+2028/2029) written as `\uXXXX`: such characters only occur inside strings.
 */
export function terminalSafeJson(json: string): string {
  JSON_UNSAFE.lastIndex = 0;
  if (!JSON_UNSAFE.test(json)) return json;
  return json.replace(JSON_UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Bytes (a kernel string) as text: valid UTF-8 decoded, every byte that is not part of a valid UTF-8 sequence
 * kept as the lone surrogate U+DC00+byte, so nothing is lost and displayText shows it as `\xNN`.
 */
export function decodeBytes(b: Uint8Array): string {
  let out = '';
  let i = 0;
  const n = b.length;
  while (i < n) {
    const c = b[i]!;
    if (c < 0x80) {
      // Runs of ASCII at once.
      let j = i + 1;
      while (j < n && b[j]! < 0x80) j++;
      out += String.fromCharCode(...b.subarray(i, j));
      i = j;
      continue;
    }
    let len = 0;
    let cp = 0;
    let min = 0;
    if (c >= 0xc2 && c <= 0xdf) [len, cp, min] = [2, c & 0x1f, 0x80];
    else if (c >= 0xe0 && c <= 0xef) [len, cp, min] = [3, c & 0x0f, 0x800];
    else if (c >= 0xf0 && c <= 0xf4) [len, cp, min] = [4, c & 0x07, 0x10000];
    let ok = len > 0 && i + len <= n;
    for (let k = 1; ok && k < len; k++) {
      const cc = b[i + k]!;
      if ((cc & 0xc0) !== 0x80) ok = false;
      else cp = (cp << 6) | (cc & 0x3f);
    }
    if (ok && (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))) ok = false;
    if (ok) {
      out += String.fromCodePoint(cp);
      i += len;
    } else {
      out += String.fromCharCode(0xdc00 + c);
      i++;
    }
  }
  return out;
}

/** The bytes a string stands for: UTF-8, with decodeBytes' lone surrogates U+DC80..U+DCFF back as single bytes. */
export function textBytes(s: string): Buffer {
  if (!/[\ud800-\udfff]/.test(s)) return Buffer.from(s, 'utf8');
  const parts: Buffer[] = [];
  let run = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (cp >= 0xdc80 && cp <= 0xdcff) {
      if (run) parts.push(Buffer.from(run, 'utf8'));
      run = '';
      parts.push(Buffer.from([cp - 0xdc00]));
    } else run += ch;
  }
  if (run) parts.push(Buffer.from(run, 'utf8'));
  return Buffer.concat(parts);
}

/** Length in bytes of what a string stands for (see textBytes). */
export function byteLength(s: string): number {
  if (!/[\ud800-\udfff]/.test(s)) return Buffer.byteLength(s, 'utf8');
  return textBytes(s).length;
}
