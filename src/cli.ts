// Command line: one table of every command (name -> module), the top-level flags, and errors mapped to one line.
import { EXIT, IfblameError, formatError } from './errors.js';
import { VERSION } from './version.js';

const HELP = `ifblame ${VERSION}: which process changed which network interface, when, and through which kernel path.

Usage:
  ifblame [live] [--backend B] [--iface IF] [--comm C] [--record FILE]   live terminal UI (default)
  ifblame capture [--duration 10s] [--format text|json|ndjson] [--record FILE]
                  [--fail-on mac,promisc,enslave,...] [filters] [-- CMD ARGS...]
  ifblame record [--dir /var/log/ifblame] [--max-file 16MB] [--max-age 1d] [--max-total 100MB] [--format text|json]
                                                record until stopped, rotated files, one line per change
  ifblame service install|uninstall|status [--dir DIR] [--now]     the systemd unit running \`record\` from boot
  ifblame replay FILE...|DIR [--speed 1|10|max] [--from T] [--to T] [--format tui|text|json|ndjson] [filters]
  ifblame import --bpftrace FILE --netlink FILE [--snapshot FILE] -o TRACE
  ifblame explain FILE...|DIR [--format text|json]
  ifblame explain --boot [-N] [--dir DIR]          the recordings of this boot (or N boots back)
  ifblame script [--backend auto|kfunc|kprobe|syscalls] [--all] [--drop ID,...] [--bpftrace VERSION] [filters]
                                                print the program that runs as root (--all: whole catalog,
                                                no detection; --drop: leave out probes a target kernel lacks)
  ifblame doctor                                                             what works here, and the fixes
  ifblame snapshot [-o FILE] [--netns NS | --all-netns -o DIR]   every interface now, as a trace (no bpftrace, no root)

Filters (repeat or comma-separate):
  --iface IF, --filter-iface IF   only these interfaces (a bond or bridge matches its ports' events too)
  --comm C,   --filter-comm C     only these process names
Backends: kfunc (fentry, cheapest), kprobe, syscalls (tracepoints only: user requests); auto picks.

Exit codes: 0 ok; 1 a --fail-on change happened / explain found an error; 2 bad usage or input;
            3 tracing failed (no root, no bpftrace, bpftrace error); 4 the command after -- failed.
`;

/** A command module: parses its own flags, runs, returns the exit code. */
export interface CommandModule {
  run(args: string[]): Promise<number>;
}

/** Every command, loaded only when used (the text paths never load the terminal UI). */
export const COMMANDS: Record<string, () => Promise<CommandModule>> = {
  live: () => import('./commands/live.js'),
  capture: () => import('./commands/capture.js'),
  replay: () => import('./commands/replay.js'),
  import: () => import('./commands/import.js'),
  explain: () => import('./commands/explain.js'),
  script: () => import('./commands/script.js'),
  doctor: () => import('./commands/doctor.js'),
  snapshot: () => import('./commands/snapshot.js'),
  record: () => import('./commands/record.js'),
  service: () => import('./commands/service.js'),
};

/** Loads a command's module; a module that cannot load is an error with its reason, never "unknown command". */
export async function loadCommand(name: string): Promise<CommandModule> {
  const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!load) throw new IfblameError(`unknown command ${JSON.stringify(name)}`, 'see `ifblame --help`');
  try {
    return await load();
  } catch (e) {
    const why = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new IfblameError(`the ${name} command could not be loaded: ${why}`, 'is the installation complete? (`npm ci && npm run build`)', EXIT.tracing);
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
  const name = first === undefined || first.startsWith('-') ? 'live' : first;
  const args = name === first ? rest : argv;
  return (await loadCommand(name)).run(args);
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
