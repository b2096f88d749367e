// `ifblame explain FILE...`: what went wrong, in plain words, with the events that show it and the fix.
import { parse, takeBoot } from '../cli/args.js';
import { EXIT, IfblameError } from '../errors.js';
import { explainFiles, renderJson, renderText } from '../explain/index.js';
import { traceFilesUnder } from '../trace/files.js';
import { problemPrinter } from '../trace/problems.js';
import { DEFAULT_RECORD_DIR, filesOfBoot } from '../trace/record-dir.js';

const HELP = `Usage: ifblame explain FILE|DIR... [--format text|json] [--utc] [--strict]
       ifblame explain --boot [-N] [--dir ${DEFAULT_RECORD_DIR}]   this boot's recordings (or N boots back)

Reads trace files ("-" is standard input; a directory: every trace file under it, e.g. collected/<host>/*.ifblame;
one or several hosts: give them all for checks across hosts) and reports findings:
a bond MAC set by udev's MACAddressPolicy=persistent, a bond MAC set explicitly or that belongs to none of its
slaves, a slave released still holding its bond's MAC, one MAC on two interfaces or two hosts, a hard-coded MAC
repeated across hosts, a bridge MAC that moved with a port, a bridged bond/team lower device without promiscuity,
a flapping MAC, lost events. VRRP virtual MACs and a VF with its synthetic NIC are not findings. Each finding lists its evidence (FILE:LINE) and a fix where one is known.
Exit codes: 0 no error-level finding; 1 at least one; 2 a file could not be read.
`;

export async function runExplain(args: string[], io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream } = process): Promise<number> {
  const taken = takeBoot(args);
  const { values, positionals } = parse(
    taken.args,
    { format: { type: 'string' }, utc: { type: 'boolean' }, strict: { type: 'boolean' }, dir: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    true,
  );
  const v = values as Record<string, string | boolean | undefined>;
  if (v.help) {
    io.stdout.write(HELP);
    return EXIT.ok;
  }
  if (taken.boot !== undefined && positionals.length) throw new IfblameError('explain --boot takes no files', 'ifblame explain --boot -1 [--dir DIR]');
  const named = taken.boot !== undefined ? filesOfBoot(String(v.dir ?? DEFAULT_RECORD_DIR), taken.boot) : positionals;
  if (!named.length) throw new IfblameError('explain needs at least one trace file', 'ifblame explain host-a.trace host-b.trace, or ifblame explain --boot');
  const format = (v.format as string | undefined) ?? 'text';
  if (format !== 'text' && format !== 'json') throw new IfblameError(`--format ${JSON.stringify(format)} is not an explain format`, 'use text or json');
  if (named.filter((p) => p === '-').length > 1) throw new IfblameError('standard input ("-") can be given once', 'ifblame explain - other.trace');
  const files = named.flatMap((p) => (p === '-' ? [p] : traceFilesUnder(p)));
  if (!files.length)
    throw new IfblameError(`no trace files under ${positionals.join(', ')}`, 'collect some with `ifblame snapshot -o FILE` or `ifblame capture --record FILE`');
  const sources = files.map((p) => (p === '-' ? { name: '<stdin>', stream: process.stdin as unknown as import('node:stream').Readable } : p));
  const printer = problemPrinter((line) => io.stderr.write(line));
  const report = await explainFiles(sources, { strict: v.strict === true, onProblem: (p) => printer.report(p) });
  printer.end();
  io.stdout.write(format === 'json' ? renderJson(report) : renderText(report, { utc: v.utc === true }));
  return report.summary.errors > 0 ? EXIT.finding : EXIT.ok;
}

export const run = (args: string[]): Promise<number> => runExplain(args);
