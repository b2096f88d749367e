// `ifblame` / `ifblame live`: trace now and watch it in the terminal UI (optionally recording); failures get a clear screen.
import { backendOf, filtersOf, parse, TRACE_OPTIONS } from '../cli/args.js';
import { IfblameError } from '../errors.js';
import type { Feed } from '../feed/feed.js';

const OPTIONS = {
  ...TRACE_OPTIONS,
  record: { type: 'string' },
  netns: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const HELP = `Usage: ifblame [live] [--backend auto|kfunc|kprobe|syscalls] [--iface IF] [--comm C] [--record FILE] [--netns NS]

The live terminal UI: every MAC, master (bond/bridge) and promiscuity change, who made it and through which
kernel path. Needs root and bpftrace. Press ? inside for the keys; r starts/stops recording at any time.

  --record FILE   record everything to FILE while watching (replay it with \`ifblame replay FILE\`)
  --netns NS      show the interfaces of network namespace NS (bpftrace itself sees every namespace)
`;

export interface LiveCli {
  backend: ReturnType<typeof backendOf>;
  filters: ReturnType<typeof filtersOf>;
  record?: string;
  netns?: string;
}

export function parseLiveArgs(args: string[]): LiveCli | 'help' {
  const v = parse(args, OPTIONS).values as Record<string, string | boolean | string[] | undefined>;
  if (v.help) return 'help';
  if (v.netns !== undefined && !/^[A-Za-z0-9_.-]{1,64}$/.test(String(v.netns))) throw new IfblameError(`--netns ${JSON.stringify(v.netns)} is not a namespace name`, 'see `ip netns list`');
  if (v.record !== undefined && !String(v.record)) throw new IfblameError('--record needs a file name', 'e.g. --record incident.trace');
  return {
    backend: backendOf(v),
    filters: filtersOf(v),
    ...(v.record !== undefined ? { record: String(v.record) } : {}),
    ...(v.netns !== undefined ? { netns: String(v.netns) } : {}),
  };
}

export async function runLive(args: string[]): Promise<number> {
  const cli = parseLiveArgs(args);
  if (cli === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  const tty = Boolean(process.stdout.isTTY && process.stdin.isTTY);
  if (!tty) throw new IfblameError('the live view needs a terminal', 'use `ifblame capture` in scripts, or run it in a terminal');
  const { runTui } = await import('../sinks/tui/app.js');
  const { createLiveFeed } = await import('../feed/live.js');
  let feed: Feed;
  try {
    feed = await createLiveFeed({ backend: cli.backend, filters: cli.filters, ...(cli.record ? { record: cli.record } : {}), ...(cli.netns ? { netns: cli.netns } : {}) });
  } catch (e) {
    // No bpftrace, no root, no backend: the same clear screen as a failure while attaching.
    const { failedFeed } = await import('../feed/failed.js');
    feed = failedFeed(e, cli.backend === 'auto' ? 'syscalls' : cli.backend);
  }
  return runTui(feed, { title: 'ifblame', recordPath: cli.record ?? null });
}

export const run = (args: string[]): Promise<number> => runLive(args);
