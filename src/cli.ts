// Command line: parse flags per command (pwru-style --filter-*/--output-* families), run it, map errors to one line.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { EXIT, IfblameError, formatError } from './errors.js';
import { BackendChoice, parseFilters } from './options.js';
import { VERSION } from './version.js';

const HELP = `ifblame ${VERSION}: which process changed which network interface, when, and through which kernel path.

Usage:
  ifblame [live] [--backend B] [--iface IF] [--comm C] [--record FILE]   live terminal UI (default)
  ifblame capture [--duration 10s] [--format text|json|ndjson] [--record FILE]
                  [--fail-on mac,promisc,enslave,...] [filters] [-- CMD ARGS...]
  ifblame replay FILE [--speed 1|10|max] [--from T] [--to T] [--format tui|text|json|ndjson] [filters]
  ifblame import --bpftrace FILE --netlink FILE [--snapshot FILE] -o TRACE
  ifblame explain FILE... [--format text|json]
  ifblame script [--backend auto|kfunc|kprobe|syscalls] [--all] [--drop ID,...] [filters]
                                                print the program that runs as root (--all: whole catalog,
                                                no detection; --drop: leave out probes a target kernel lacks)
  ifblame doctor                                                             what works here, and the fixes

Filters (repeat or comma-separate):
  --iface IF, --filter-iface IF   only these interfaces (a bond or bridge matches its ports' events too)
  --comm C,   --filter-comm C     only these process names
Backends: kfunc (fentry, cheapest), kprobe, syscalls (tracepoints only: user requests); auto picks.

Exit codes: 0 ok; 1 a --fail-on change happened / explain found an error; 2 bad usage or input;
            3 tracing failed (no root, no bpftrace, bpftrace error); 4 the command after -- failed.
`;

type Flags = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** --iface/--comm and their --filter-* spellings: every command that shows changes takes them. */
export const FILTER_OPTIONS = {
  iface: { type: 'string', multiple: true },
  'filter-iface': { type: 'string', multiple: true },
  comm: { type: 'string', multiple: true },
  'filter-comm': { type: 'string', multiple: true },
} as const satisfies ParseArgsConfig['options'];

/** The filters plus --backend: every command that traces. */
export const TRACE_OPTIONS = { ...FILTER_OPTIONS, backend: { type: 'string' } } as const satisfies ParseArgsConfig['options'];

function strings(v: Flags[string]): string[] {
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

async function dispatch(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === '--help' || first === '-h' || first === 'help') {
    process.stdout.write(HELP);
    return EXIT.ok;
  }
  if (first === '--version' || first === '-V') {
    process.stdout.write(`ifblame ${VERSION}\n`);
    return EXIT.ok;
  }
  const command = first === undefined || first.startsWith('-') ? 'live' : first;
  const args = command === first ? rest : argv;
  switch (command) {
    case 'script': {
      const values = parse(args, { ...TRACE_OPTIONS, all: { type: 'boolean' }, drop: { type: 'string', multiple: true } }).values as Flags;
      const { runScript } = await import('./commands/script.js');
      return runScript({ backend: backendOf(values), filters: filtersOf(values), all: values.all === true, drop: strings(values.drop) }, process.stdout, process.stderr);
    }
    case 'doctor': {
      parse(args, {});
      const { runDoctor } = await import('./commands/doctor.js');
      return runDoctor(process.stdout);
    }
    case 'capture': {
      const { runCaptureCli } = await import('./commands/capture.js');
      return runCaptureCli(args);
    }
    default: {
      const extra = await import('./commands/index.js').catch(() => null);
      const run = extra?.COMMANDS[command];
      if (run) return run(args);
      throw new IfblameError(`unknown command ${JSON.stringify(command)}`, 'see `ifblame --help`');
    }
  }
}

export async function main(argv: string[]): Promise<number> {
  try {
    return await dispatch(argv);
  } catch (e) {
    process.stderr.write(formatError(e) + '\n');
    if (process.env.IFBLAME_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    return e instanceof IfblameError ? e.exitCode : EXIT.usage;
  }
}
