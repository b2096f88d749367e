// Options shared by every command, validated with zod before anything reaches a program that runs as root.
import { z } from 'zod';
import { Backend } from './events.js';
import { IfblameError } from './errors.js';

/**
 * Interface names: the kernel takes 1..15 bytes (IFNAMSIZ-1) without '/', ':' or whitespace, and not '.'/'..'.
 * We accept the conventional subset (letters, digits, `_ . - @ +`) so nothing needs escaping in bpftrace.
 */
export const IfaceName = z
  .string()
  .min(1, 'is empty')
  .max(15, 'is longer than 15 bytes (IFNAMSIZ)')
  .regex(/^[A-Za-z0-9_.@+-]+$/, 'may contain only letters, digits and _ . - @ +')
  .refine((s) => s !== '.' && s !== '..', 'cannot be "." or ".."');

/** Process names: 1..15 bytes (TASK_COMM_LEN-1), printable ASCII without quotes or backslashes. */
export const CommName = z
  .string()
  .min(1, 'is empty')
  .max(15, 'is longer than 15 bytes (TASK_COMM_LEN)')
  .regex(/^[\x20-\x7e]+$/, 'may contain only printable ASCII')
  .refine((s) => !/["\\{}]/.test(s), 'may not contain quotes, backslashes or braces');

export const BackendChoice = z.union([Backend, z.literal('auto')]);
export type BackendChoice = z.infer<typeof BackendChoice>;

export const Filters = z.object({ iface: z.array(IfaceName).default([]), comm: z.array(CommName).default([]) });
export type Filters = z.infer<typeof Filters>;

/** Validate one filter value; the error names the flag and the reason on one line. */
function check<T>(schema: z.ZodType<T>, flag: string, value: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const why = r.error.issues[0]?.message ?? 'is invalid';
  throw new IfblameError(
    `${flag} ${JSON.stringify(value)} ${why}`,
    `${flag} takes a name like ${flag === '--iface' ? 'eth0 or bond0' : 'ip or systemd-udevd'}; repeat the flag or separate values with commas`,
  );
}

/** `--iface a,b --iface c` -> validated list. */
export function parseFilters(iface: string[], comm: string[]): Filters {
  const split = (vs: string[]) => vs.flatMap((v) => (v.includes(',') ? v.split(',') : [v]));
  return {
    iface: split(iface).map((v) => check(IfaceName, '--iface', v)),
    comm: split(comm).map((v) => check(CommName, '--comm', v)),
  };
}

/** A bpftrace string literal for an already validated value; refuses anything that would need escaping. */
export function bpftraceString(value: string): string {
  if (!/^[\x20-\x7e]*$/.test(value) || /["\\]/.test(value)) {
    throw new IfblameError(`refusing to put ${JSON.stringify(value)} into a bpftrace program`, 'use plain printable names');
  }
  return `"${value}"`;
}

/** `10s`, `500ms`, `2m`, `1h`, `1d` -> milliseconds. */
export function parseDuration(text: string, flag = '--duration'): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m) throw new IfblameError(`${flag} ${JSON.stringify(text)} is not a duration`, 'use 10s, 500ms, 2m, 1h or 1d');
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  return Math.round(n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[unit]!);
}

/** `16MB`, `100M`, `512k`, `1G`, `4096` -> bytes (binary multiples: 1M = 1 MiB). */
export function parseSize(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kKmMgG]?)(?:i?[bB])?$/.exec(text.trim());
  if (!m) throw new IfblameError(`${flag} ${JSON.stringify(text)} is not a size`, 'use 16MB, 512K or 1G');
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase()]!;
  return Math.round(Number(m[1]) * mult);
}
