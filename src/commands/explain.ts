// `ifblame explain FILE...`: what went wrong, in plain words, with the events that show it and the fix.
import { parse } from '../cli/args.js';
import { EXIT, IfblameError } from '../errors.js';
import { explainFiles, renderJson, renderText } from '../explain/index.js';
import { formatProblem, type TraceProblem } from '../trace/problems.js';

const HELP = `Usage: ifblame explain FILE... [--format text|json] [--utc] [--strict]

Reads trace files ("-" is standard input; one or several hosts: give them all for checks across hosts) and reports findings:
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
  const sources = positionals.map((p) => (p === '-' ? { name: '<stdin>', stream: process.stdin as unknown as import('node:stream').Readable } : p));
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
