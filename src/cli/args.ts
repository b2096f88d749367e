// Flag parsing shared by the commands (pwru-style --filter-* families): one-line errors, validated filters and backend.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { IfblameError } from '../errors.js';
import { BackendChoice, parseFilters } from '../options.js';

export type Flags = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** --iface/--comm and their --filter-* spellings: every command that shows changes takes them. */
export const FILTER_OPTIONS = {
  iface: { type: 'string', multiple: true },
  'filter-iface': { type: 'string', multiple: true },
  comm: { type: 'string', multiple: true },
  'filter-comm': { type: 'string', multiple: true },
} as const satisfies ParseArgsConfig['options'];

/** The filters plus --backend: every command that traces. */
export const TRACE_OPTIONS = { ...FILTER_OPTIONS, backend: { type: 'string' } } as const satisfies ParseArgsConfig['options'];

export function strings(v: Flags[string]): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}

export function filtersOf(values: Flags) {
  return parseFilters([...strings(values.iface), ...strings(values['filter-iface'])], [...strings(values.comm), ...strings(values['filter-comm'])]);
}

export function backendOf(values: Flags): BackendChoice {
  const r = BackendChoice.safeParse(values.backend ?? 'auto');
  if (!r.success) throw new IfblameError(`--backend ${JSON.stringify(values.backend)} is not a backend`, 'use auto, kfunc, kprobe or syscalls');
  return r.data;
}

/** parseArgs with one-line errors instead of its exceptions. */
export function parse(args: string[], options: ParseArgsConfig['options'], allowPositionals = false) {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (e) {
    throw new IfblameError((e as Error).message.split('\n')[0]!.replace(/^TypeError \[\w+\]: /, ''), 'see `ifblame --help`');
  }
}

/** `--boot [-N]` (journalctl's `-b -1`: 0 this boot, -1 the one before), taken out of the arguments before parsing. */
export function takeBoot(args: string[]): { args: string[]; boot?: number } {
  const rest: string[] = [];
  let boot: number | undefined;
  for (let i = 0; i < args.length; i++) {
    const m = /^--boot(?:=(.*))?$/.exec(args[i]!);
    if (!m) {
      rest.push(args[i]!);
      continue;
    }
    const value = m[1] ?? (/^-?\d+$/.test(args[i + 1] ?? '') ? args[++i] : '0');
    if (!/^(0|-\d+)$/.test(value!))
      throw new IfblameError(`--boot ${JSON.stringify(value)} is not a boot`, 'boots count back from this one: --boot, --boot -1, --boot -2');
    boot = Number(value);
  }
  return boot === undefined ? { args: rest } : { args: rest, boot };
}
