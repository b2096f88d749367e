// `ifblame explain FILE...`: what went wrong, in plain words, with the events that show it and the fix.
import { closeSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from '../cli/args.js';
import { EXIT, IfblameError } from '../errors.js';
import { explainFiles, renderJson, renderText } from '../explain/index.js';
import { formatProblem, type TraceProblem } from '../trace/problems.js';

const HELP = `Usage: ifblame explain FILE|DIR... [--format text|json] [--utc] [--strict]

Reads trace files ("-" is standard input; a directory: every trace file under it, e.g. collected/<host>/*.ifblame;
one or several hosts: give them all for checks across hosts) and reports findings:
a bond MAC set by udev's MACAddressPolicy=persistent, a bond MAC that belongs to none of its slaves, one MAC on
two interfaces or two hosts, a bridge MAC that moved with a port, a bridged bond/team lower device without
promiscuity, a flapping MAC, lost events. Each finding lists its evidence (FILE:LINE) and a fix where one is known.
Exit codes: 0 no error-level finding; 1 at least one; 2 a file could not be read.
`;

export async function runExplain(args: string[], io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream } = process): Promise<number> {
  const { values, positionals } = parse(args, { format: { type: 'string' }, utc: { type: 'boolean' }, strict: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, true);
  const v = values as Record<string, string | boolean | undefined>;
  if (v.help) {
    io.stdout.write(HELP);
    return EXIT.ok;
  }
  if (!positionals.length) throw new IfblameError('explain needs at least one trace file', 'ifblame explain host-a.trace host-b.trace');
  const format = (v.format as string | undefined) ?? 'text';
  if (format !== 'text' && format !== 'json') throw new IfblameError(`--format ${JSON.stringify(format)} is not an explain format`, 'use text or json');
  const problems: TraceProblem[] = [];
  if (positionals.filter((p) => p === '-').length > 1) throw new IfblameError('standard input ("-") can be given once', 'ifblame explain - other.trace');
  const files = positionals.flatMap((p) => (p === '-' ? [p] : expandDir(p)));
  if (!files.length) throw new IfblameError(`no trace files under ${positionals.join(', ')}`, 'collect some with `ifblame snapshot -o FILE` or `ifblame capture --record FILE`');
  const sources = files.map((p) => (p === '-' ? { name: '<stdin>', stream: process.stdin as unknown as import('node:stream').Readable } : p));
  const report = await explainFiles(sources, {
    strict: v.strict === true,
    onProblem: (p) => {
      problems.push(p);
      io.stderr.write(formatProblem(p) + '\n');
    },
  });
  io.stdout.write(format === 'json' ? renderJson(report) : renderText(report, { utc: v.utc === true }));
  return report.summary.errors > 0 ? EXIT.finding : EXIT.ok;
}

export const run = (args: string[]): Promise<number> => runExplain(args);

/** Names that are trace files whatever they hold (a bad one is reported by the reader, not skipped here). */
const TRACE_NAME = /\.(ifblame|trace|ndjson)$/;
const HEADER_START = '{"format":"ifblame-trace"';

/**
 * A directory stands for every trace file under it (recursively, sorted; dot-files and other files skipped):
 * those with a trace file's name, and any other file that starts like a trace header (fetched files keep any name).
 * A file is itself.
 */
function expandDir(path: string): string[] {
  let st;
  try {
    st = statSync(path);
  } catch {
    return [path]; // the reader reports it
  }
  if (!st.isDirectory()) return [path];
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.name.startsWith('.')) continue;
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && (TRACE_NAME.test(e.name) || startsLikeTrace(p))) out.push(p);
    }
  };
  walk(path);
  return out;
}

function startsLikeTrace(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const buf = Buffer.alloc(HEADER_START.length);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return buf.toString('utf8', 0, n) === HEADER_START;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
