// `ifblame import`: flags -> feed/import (raw bpftrace and `ip monitor` outputs become a trace file) -> one summary line.
import { parse } from '../cli/args.js';
import { EXIT, IfblameError } from '../errors.js';
import { Backend } from '../events.js';
import { importTrace, type ImportOptions } from '../feed/import.js';
import type { UtcOffset } from '../time/local-time.js';
import { formatProblem } from '../trace/problems.js';

const HELP = `Usage: ifblame import --bpftrace FILE --netlink FILE [--snapshot FILE] -o TRACE
                      [--aat FILE] [--kernel RELEASE] [--host NAME] [--backend kfunc|kprobe|syscalls]
                      [--program FILE] [--utc-offset +HH:MM|local] [--netns INODE] [--strict]

Builds a trace file (for replay and explain) from raw outputs:
  --bpftrace FILE   what \`bpftrace -f json -B line PROGRAM\` printed, PROGRAM being \`ifblame script\` output
  --netlink FILE    what \`ip [-d] -ts -o monitor link\` printed over the same time (-d adds promiscuity counts)
  --snapshot FILE   \`ip -d -j link show\` taken when tracing started (the initial interface state)
  --aat FILE        lines "<ifname> <addr_assign_type> <address>" from /sys/class/net/*/ at the same moment
  --program FILE    the program that ran (else it is regenerated from the probes the output names)
  --kernel, --host  facts about the traced machine (default: kernel.txt / hostname.txt next to the inputs)
  --backend         which program produced the output (default: detected from the output)
  --utc-offset      zone of ip's [timestamps] (default: the zone bpftrace's #clock line names)
  --netns INODE     keep only probe events from this network namespace (ip monitor ran inside it)
  --strict          stop at the first bad line (default: report it as FILE:LINE, record it as lost, go on)
`;

/** `--utc-offset +01:00` / `-0500` / `0` / `local` -> minutes east of UTC. */
export function parseUtcOffset(text: string): UtcOffset {
  if (text === 'local') return 'local';
  const m = /^([+-])?(\d{1,2})(?::?(\d{2}))?$/.exec(text.trim());
  if (!m) throw new IfblameError(`--utc-offset ${JSON.stringify(text)} is not an offset`, 'use +01:00, -0500, 0 or local');
  const min = Number(m[2]) * 60 + Number(m[3] ?? 0);
  if (min > 14 * 60) throw new IfblameError(`--utc-offset ${JSON.stringify(text)} is out of range`, 'offsets go from -14:00 to +14:00');
  return m[1] === '-' ? -min : min;
}

export async function runImport(args: string[], io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream } = process): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      bpftrace: { type: 'string' },
      netlink: { type: 'string' },
      snapshot: { type: 'string' },
      aat: { type: 'string' },
      output: { type: 'string', short: 'o' },
      kernel: { type: 'string' },
      host: { type: 'string' },
      backend: { type: 'string' },
      program: { type: 'string' },
      'bpftrace-version': { type: 'string' },
      'utc-offset': { type: 'string' },
      netns: { type: 'string' },
      strict: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    true,
  );
  const v = values as Record<string, string | boolean | undefined>;
  if (v.help) {
    io.stdout.write(HELP);
    return EXIT.ok;
  }
  if (positionals.length) throw new IfblameError(`unexpected argument ${JSON.stringify(positionals[0])}`, 'ifblame import --bpftrace FILE --netlink FILE [--snapshot FILE] -o TRACE');
  const need = (k: string, what: string) => {
    const x = v[k];
    if (typeof x !== 'string' || !x) throw new IfblameError(`import needs --${k} ${what}`, 'ifblame import --bpftrace FILE --netlink FILE [--snapshot FILE] -o TRACE');
    return x;
  };
  const opts: ImportOptions = { bpftrace: need('bpftrace', 'FILE'), netlink: need('netlink', 'FILE'), out: need('output', 'TRACE (-o)') };
  const str = (k: string) => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
  if (str('snapshot')) opts.snapshot = str('snapshot')!;
  if (str('aat')) opts.aat = str('aat')!;
  if (str('kernel')) opts.kernel = str('kernel')!;
  if (str('host')) opts.host = str('host')!;
  if (str('program')) opts.program = str('program')!;
  if (str('bpftrace-version')) opts.bpftraceVersion = str('bpftrace-version')!;
  if (str('utc-offset') !== undefined) opts.utcOffset = parseUtcOffset(str('utc-offset')!);
  if (str('backend') !== undefined) {
    const b = Backend.safeParse(str('backend'));
    if (!b.success) throw new IfblameError(`--backend ${JSON.stringify(str('backend'))} is not a backend`, 'use kfunc, kprobe or syscalls');
    opts.backend = b.data;
  }
  if (str('netns') !== undefined) {
    const n = Number(str('netns'));
    if (!Number.isSafeInteger(n) || n <= 0) throw new IfblameError(`--netns ${JSON.stringify(str('netns'))} is not a namespace inode`, 'use the number `stat -L -c %i /proc/PID/ns/net` prints');
    opts.netns = n;
  }
  if (v.strict) opts.strict = true;
  if (opts.out === opts.bpftrace || opts.out === opts.netlink || opts.out === opts.snapshot) throw new IfblameError(`-o ${opts.out} would overwrite an input`, 'write the trace to a new file');
  let problems = 0;
  const r = await importTrace(opts, (p) => {
    problems++;
    io.stderr.write(formatProblem(p) + '\n');
  });
  const from = (k: string) => (r.origin[k] ? ` (${r.origin[k]})` : '');
  io.stderr.write(
    `ifblame: imported ${r.events} events (${r.changes} changes${r.lost ? `, ${r.lost} lost` : ''}${problems ? `, ${problems} bad lines` : ''}) into ${opts.out}: ` +
      `backend ${r.header.backend}${from('backend')}, kernel ${r.header.kernel}${from('kernel')}, host ${r.header.host}${from('host')}, ${r.header.snapshot.length} interfaces in the snapshot\n`,
  );
  return EXIT.ok;
}

export const run = (args: string[]): Promise<number> => runImport(args);
