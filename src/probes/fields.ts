// One field list per probe drives the generated printf and its parser, which checks each value against its field type (libbpf-tools' sigsnoop.h idea).
import { decodeBytes } from '../format/escape.js';

/**
 * How a field is printed and read back:
 * - `u64`/`int`: decimal number (`%llu` / `%d`);
 * - `hex`: `0x%x`, read back as a number;
 * - `str`: a kernel string printed with `%r` of `buf()`, so non-printable bytes (our tab separator,
 *   newlines) arrive escaped as `\xNN` and can never forge a field; decoded and cut at the first NUL;
 * - `hw`: a hardware address printed with `%rx` of `buf(ptr, len)`: every byte as `\xNN`, any length;
 * - `text`: a bpftrace string printed with `%s` (a map value `buf()` cannot take): only as the last field,
 *   and the parser gives it the rest of the line, so a tab inside cannot shift the other fields.
 */
export type FieldType = 'u64' | 'int' | 'hex' | 'str' | 'hw' | 'text';

export interface Field {
  name: string;
  type: FieldType;
  /** bpftrace expression; `{arg}` placeholders are replaced per backend (see generate). */
  expr: string;
  /** For `str`: bytes to print (IFNAMSIZ, TASK_COMM_LEN). For `hw`: the length expression. */
  len?: string;
  doc?: string;
}

/** Printed first by every probe: who and when. Order matters: the parser reads by position. */
export const COMMON_FIELDS: readonly Field[] = [
  { name: 'nsecs', type: 'u64', expr: 'nsecs', doc: 'CLOCK_MONOTONIC ns' },
  { name: 'pid', type: 'int', expr: 'pid' },
  { name: 'tid', type: 'int', expr: 'tid' },
  { name: 'comm', type: 'str', expr: 'comm', len: '16' },
  { name: 'ppid', type: 'int', expr: 'curtask->real_parent->tgid' },
  { name: 'pcomm', type: 'str', expr: 'curtask->real_parent->comm', len: '16' },
  { name: 'cgroup', type: 'u64', expr: 'cgroup' },
  { name: 'netns', type: 'u64', expr: 'curtask->nsproxy->net_ns->ns.inum', doc: 'network namespace of the task' },
];

/** Fields printed at return: the common ones but the parent (not needed twice). */
export const COMMON_RET_FIELDS: readonly Field[] = COMMON_FIELDS.filter((f) => ['nsecs', 'pid', 'tid', 'comm'].includes(f.name));

const FORMAT: Record<FieldType, string> = { u64: '%llu', int: '%d', hex: '0x%x', str: '%r', hw: '%rx', text: '%s' };

/** The printf conversion for a field. */
export function formatOf(f: Field): string {
  return FORMAT[f.type];
}

/** The printf argument for a field, its placeholders already substituted. */
export function argumentOf(f: Field, expr: string, len: string | undefined): string {
  if (f.type === 'str') return `buf(${expr}, ${len ?? '16'})`;
  if (f.type === 'hw') return `buf(${expr}, ${len ?? '6'})`;
  return expr;
}

/** Decode bpftrace's `%r` / `%rx` escaping back to bytes. */
export function decodeEscaped(s: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\' && s[i + 1] === 'x' && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 2, i + 4))) {
      out.push(parseInt(s.slice(i + 2, i + 4), 16));
      i += 3;
    } else {
      for (const b of Buffer.from(s[i]!, 'utf8')) out.push(b);
    }
  }
  return Buffer.from(out);
}

/**
 * A kernel C string from `%r` output, cut at the first NUL. Valid UTF-8 is decoded; a byte that is not stays
 * representable (a lone surrogate, see decodeBytes) and is shown as `\xNN` by displayText, never raw or lost.
 */
export function decodeString(s: string): string {
  const bytes = decodeEscaped(s);
  const nul = bytes.indexOf(0);
  return decodeBytes(nul < 0 ? bytes : bytes.subarray(0, nul));
}

/** A hardware address from `%rx` output: `aa:bb:...`, as many bytes as were printed. */
export function decodeHwAddr(s: string): string {
  return [...decodeEscaped(s)].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** Parse one printed value by its field type; `undefined` when it does not fit. */
export function decodeValue(f: Field, raw: string): string | number | undefined {
  switch (f.type) {
    case 'u64':
    case 'int': {
      if (!/^-?\d+$/.test(raw)) return undefined;
      const n = Number(raw);
      return Number.isFinite(n) ? n : undefined;
    }
    case 'hex':
      return /^0x[0-9a-fA-F]+$/.test(raw) ? parseInt(raw.slice(2), 16) : undefined;
    case 'str':
      return decodeString(raw);
    case 'hw':
      return /^(\\x[0-9a-fA-F]{2})*$/.test(raw) ? decodeHwAddr(raw) : undefined;
    case 'text':
      return raw;
  }
}

