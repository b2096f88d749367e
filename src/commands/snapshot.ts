// `ifblame snapshot`: every interface as it is now (ip -d -j link + sysfs), written as a trace file with no events,
// so replay and explain read it like any trace. No bpftrace; works without root except for entering namespaces.
import { mkdirSync, statSync } from 'node:fs';
import { hostname, release } from 'node:os';
import { join } from 'node:path';
import { parse, strings } from '../cli/args.js';
import { EXIT, IfblameError } from '../errors.js';
import { terminalSafeJson } from '../format/escape.js';
import type { LinkState } from '../events.js';
import { buildHeader, type TraceHeader } from '../trace/format.js';
import { createRecorder } from '../trace/writer.js';
import { listNetns, takeSnapshot } from '../sources/snapshot.js';
import { VERSION } from '../version.js';

const HELP = `Usage: ifblame snapshot [-o FILE] [--netns NAME] [--host NAME]
       ifblame snapshot --all-netns -o DIR [--host NAME]

Writes the state of every interface (MAC, permanent MAC, addr_assign_type, kind, bond mode, master and port kind,
promiscuity count, flags, MTU) as a trace file with no events: replay shows it, explain checks it, and explain over
the files of many hosts finds one MAC on several of them. No bpftrace, no root needed for the own namespace.

  -o, --output FILE   write the trace file here (default: standard output)
  --netns NAME        the links of the named network namespace NAME instead (needs root: ip netns exec)
  --all-netns         the own namespace and every named one, one file each in DIR:
                      DIR/HOST.ifblame, DIR/HOST@netns-NAME.ifblame (without root: the named ones are left out, said so)
  --host NAME         the host name written in the file (default: this machine's)

Exit codes: 0 written; 2 bad usage; 3 the snapshot could not be taken (ip failed, no root for --netns).
`;

interface Written {
  path: string;
  links: number;
  netns?: string;
}

export async function runSnapshot(args: string[], io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream } = process): Promise<number> {
  const t0 = performance.now();
  const { values: raw, positionals } = parse(args, {
    output: { type: 'string', short: 'o' },
    netns: { type: 'string', multiple: true },
    'all-netns': { type: 'boolean' },
    host: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  const values = raw as { output?: string; netns?: string[]; 'all-netns'?: boolean; host?: string; help?: boolean };
  if (values.help) {
    io.stdout.write(HELP);
    return EXIT.ok;
  }
  if (positionals.length) throw new IfblameError(`snapshot takes no file argument (got ${JSON.stringify(positionals[0])})`, 'write to a file with -o FILE');
  const host = values.host ?? hostname();
  if (!/^[\x21-\x7e]{1,253}$/.test(host)) throw new IfblameError(`--host ${JSON.stringify(host)} is not a host name`, 'printable ASCII without spaces, at most 253 characters');
  const asked = strings(values.netns).flatMap((v) => v.split(',')).filter(Boolean);
  if (asked.length > 1) throw new IfblameError('--netns takes one namespace', 'use --all-netns -o DIR for all of them');
  const root = process.getuid?.() === 0;
  const warn = (m: string) => io.stderr.write(`ifblame: ${m}\n`);

  if (values['all-netns']) {
    const dir = values.output;
    if (!dir || dir === '-') throw new IfblameError('--all-netns writes one file per namespace: it needs -o DIR', 'ifblame snapshot --all-netns -o /var/tmp/ifblame');
    mkdirSync(dir, { recursive: true });
    if (!statSync(dir).isDirectory()) throw new IfblameError(`${dir} is not a directory`, 'give --all-netns a directory with -o');
    const names = await listNetns().catch((e: Error) => {
      warn(`named network namespaces not listed: ${e.message}`);
      return [] as string[];
    });
    const written: Written[] = [await writeOne(join(dir, `${host}.ifblame`), host, undefined, warn)];
    if (!root && names.length) {
      warn(`not root: ${names.length} named network namespace${names.length === 1 ? '' : 's'} not read (entering one needs root): ${names.join(', ')}`);
    } else {
      for (const ns of names) {
        try {
          written.push(await writeOne(join(dir, `${host}@netns-${ns.replace(/[^\w.-]/g, '_')}.ifblame`), host, ns, warn));
        } catch (e) {
          warn(`netns ${ns}: not read: ${(e as Error).message.split('\n')[0]}`);
        }
      }
    }
    report(written, host, t0, warn);
    return EXIT.ok;
  }

  const ns = asked[0];
  if (ns !== undefined && !root) throw new IfblameError(`--netns ${ns}: entering a network namespace needs root`, 'run with sudo, or run ifblame snapshot inside the namespace', EXIT.tracing);
  const out = values.output ?? '-';
  const w = await writeOne(out, host, ns, warn, io.stdout);
  report([w], host, t0, warn);
  return EXIT.ok;
}

/** Takes one namespace's snapshot and writes it as a header-only trace (to `path`, or `stdout` for "-"). */
async function writeOne(path: string, host: string, netns: string | undefined, warn: (m: string) => void, stdout?: NodeJS.WritableStream): Promise<Written> {
  let snap;
  try {
    snap = await takeSnapshot(netns ? { netns } : {});
  } catch (e) {
    throw new IfblameError(`snapshot${netns ? ` of netns ${netns}` : ''} failed: ${(e as Error).message.split('\n')[0]}`, 'is iproute2 installed? (`ip -d -j link show` must work)', EXIT.tracing);
  }
  for (const p of snap.errors) warn(`${netns ? `netns ${netns}: ` : ''}${p.error}${p.line ? ` (entry ${p.line})` : ''}: left out`);
  const links: LinkState[] = netns ? snap.links.map((l) => ({ ...l, netns })) : snap.links;
  const header: TraceHeader = buildHeader({
    createdAt: new Date(Math.floor(snap.takenAt / 1000)).toISOString(),
    host,
    kernel: release(),
    bpftraceVersion: null,
    // A trace header names a backend; a snapshot has no events, so nothing in it depends on one.
    backend: 'syscalls',
    program: '',
    probes: { used: [], dropped: [] },
    snapshot: links,
    tool: `ifblame ${VERSION} snapshot${netns ? ` --netns ${netns}` : ''}`,
  });
  if (path === '-') {
    await new Promise<void>((res, rej) => (stdout ?? process.stdout).write(terminalSafeJson(JSON.stringify(header)) + '\n', (e) => (e ? rej(e) : res())));
  } else {
    const rec = createRecorder(path, header);
    rec.close();
  }
  return { path, links: links.length, ...(netns ? { netns } : {}) };
}

function report(written: Written[], host: string, t0: number, say: (m: string) => void): void {
  const ms = Math.round(performance.now() - t0);
  for (const w of written) {
    say(`snapshot of ${w.links} interface${w.links === 1 ? '' : 's'} on ${host}${w.netns ? ` (netns ${w.netns})` : ''} written to ${w.path === '-' ? 'standard output' : w.path}`);
  }
  say(`${written.length} file${written.length === 1 ? '' : 's'} in ${ms} ms`);
}

export const run = (args: string[]): Promise<number> => runSnapshot(args);
