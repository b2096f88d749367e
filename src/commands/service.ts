// `ifblame service install|uninstall|status`: the systemd unit that runs `ifblame record` from early boot, made from
// the template shipped in deploy/systemd/ with the node and ifblame actually in use; its state and its recordings.
import { existsSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { parse } from '../cli/args.js';
import { EXIT, IfblameError } from '../errors.js';
import { displayText } from '../format/escape.js';
import { humanBytes } from '../format/values.js';
import { lateCountOf } from '../feed/late.js';
import { parseDuration, parseSize } from '../options.js';
import { currentBootId, DEFAULT_RECORD_DIR, listRecordFiles, type RecordFile } from '../trace/record-dir.js';
import { TraceReader } from '../trace/reader.js';

export const UNIT_NAME = 'ifblame.service';
const UNIT_DIR = '/etc/systemd/system';
const TEMPLATE = new URL('../../../deploy/systemd/ifblame.service', import.meta.url);

const OPTIONS = {
  root: { type: 'string' },
  dir: { type: 'string' },
  'max-file': { type: 'string' },
  'max-age': { type: 'string' },
  'max-total': { type: 'string' },
  now: { type: 'boolean' },
  'no-enable': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const HELP = `Usage: ifblame service install [--dir ${DEFAULT_RECORD_DIR}] [--max-file 16MB] [--max-age 1d] [--max-total 100MB] [--now] [--no-enable]
       ifblame service uninstall
       ifblame service status [--dir DIR]
  (each: [--root DIR] to act on a system image mounted at DIR instead of this machine)

install   writes ${UNIT_DIR}/${UNIT_NAME} (\`ifblame record\` with this node and this ifblame), enables it for the
          next boot (it starts before network-pre.target), and starts it now with --now
uninstall stops and disables the unit and removes it (the recordings stay in the directory)
status    the unit's state, the recording directory, its files with their sizes, lost and late events
          (exit 1 when the unit is not installed)
`;

/** A path that goes into the unit as is: absolute, no whitespace, quotes, `%` specifiers, `$`, backslashes or `..`. */
export function unitPath(what: string, path: string): string {
  if (!/^\/[A-Za-z0-9._+@/-]*$/.test(path) || /(^|\/)\.\.(\/|$)/.test(path) || path.length > 1024)
    throw new IfblameError(
      `${what} ${JSON.stringify(path)} cannot go into a systemd unit`,
      'use an absolute path of letters, digits and . _ + @ - / (no spaces, quotes, %, $ or ..)',
    );
  return path;
}

/** The unit text for these paths and record flags, from the shipped template. */
export function unitText(node: string, cli: string, dir: string, args: string[]): string {
  let template: string;
  try {
    template = readFileSync(TEMPLATE, 'utf8');
  } catch {
    throw new IfblameError(
      `the unit template ${TEMPLATE.pathname} is missing`,
      'is the installation complete? (the package ships deploy/systemd/)',
      EXIT.tracing,
    );
  }
  const fill: Record<string, string> = {
    NODE: unitPath('the node binary', node),
    CLI: unitPath('the ifblame program', cli),
    DIR: unitPath('--dir', dir),
    ARGS: args.map((a) => ` ${a}`).join(''),
  };
  return template.replace(/@(NODE|CLI|DIR|ARGS)@/g, (_, k: string) => fill[k]!);
}

/** `systemctl ARGS` (offline on `root` when given): its output, or null when systemctl is missing. */
async function systemctl(root: string | undefined, ...args: string[]): Promise<{ ok: boolean; stdout: string; out: string } | null> {
  const r = await execa('systemctl', [...(root ? [`--root=${root}`] : []), ...args], { reject: false, timeout: 60_000 });
  if ((r as { code?: string }).code === 'ENOENT') return null;
  return { ok: r.exitCode === 0, stdout: String(r.stdout).trim(), out: `${String(r.stdout)}\n${String(r.stderr)}`.trim() };
}

/** Whether a service manager runs here (systemctl would only fail otherwise). */
function systemdRunning(root: string | undefined): boolean {
  return !root && existsSync('/run/systemd/system');
}

async function must(root: string | undefined, ...args: string[]): Promise<void> {
  const r = await systemctl(root, ...args);
  if (!r) throw new IfblameError('systemctl not found', 'this needs a systemd system', EXIT.tracing);
  if (!r.ok) throw new IfblameError(`systemctl ${args.join(' ')} failed: ${r.out.split('\n').pop()}`, 'see `journalctl -u ifblame`', EXIT.tracing);
}

/** The record flags for the unit, validated as `ifblame record` would. */
function recordArgs(v: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const flag of ['max-file', 'max-total'] as const) if (v[flag] !== undefined) out.push(`--${flag}`, String(parseSize(String(v[flag]), `--${flag}`)));
  if (v['max-age'] !== undefined) out.push('--max-age', `${parseDuration(String(v['max-age']), '--max-age')}ms`);
  return out;
}

async function install(root: string | undefined, v: Record<string, unknown>, out: NodeJS.WritableStream): Promise<number> {
  const dir = String(v.dir ?? DEFAULT_RECORD_DIR);
  const cli = realpathSync(process.argv[1] ?? '');
  const text = unitText(realpathSync(process.execPath), cli, dir, recordArgs(v));
  const unit = join(root ?? '/', UNIT_DIR, UNIT_NAME);
  mkdirSync(dirname(unit), { recursive: true });
  mkdirSync(join(root ?? '/', dir), { recursive: true, mode: 0o750 });
  // Written beside and renamed: a unit file is never seen half-written.
  writeFileSync(`${unit}.tmp`, text, { mode: 0o644 });
  renameSync(`${unit}.tmp`, unit);
  out.write(`ifblame: wrote ${unit}\n`);
  if (systemdRunning(root)) await must(root, 'daemon-reload');
  if (v['no-enable'] !== true) {
    await must(root, 'enable', UNIT_NAME);
    out.write(`ifblame: enabled ${UNIT_NAME}: it starts at the next boot before network-pre.target\n`);
  }
  if (v.now === true) {
    if (!systemdRunning(root)) throw new IfblameError('--now needs a running systemd', 'start it at the next boot, or run `ifblame record` by hand');
    await must(root, 'start', UNIT_NAME);
    out.write(`ifblame: started ${UNIT_NAME} (its changes: journalctl -u ifblame)\n`);
  }
  return EXIT.ok;
}

async function uninstall(root: string | undefined, out: NodeJS.WritableStream): Promise<number> {
  const unit = join(root ?? '/', UNIT_DIR, UNIT_NAME);
  if (!existsSync(unit)) {
    out.write(`ifblame: ${unit} is not installed\n`);
    return EXIT.ok;
  }
  if (systemdRunning(root)) await systemctl(root, 'stop', UNIT_NAME);
  await must(root, 'disable', UNIT_NAME);
  rmSync(unit);
  if (systemdRunning(root)) await must(root, 'daemon-reload');
  out.write(`ifblame: stopped, disabled and removed ${unit} (the recordings were kept)\n`);
  return EXIT.ok;
}

/** The recording directory the installed unit uses (`--dir` of its ExecStart), if it is installed. */
function unitDir(unit: string): string | undefined {
  if (!existsSync(unit)) return undefined;
  return / record --dir (\S+)/.exec(readFileSync(unit, 'utf8'))?.[1];
}

/** Lost and late events a file records. */
async function countsOf(f: RecordFile): Promise<{ events: number; lost: number; late: number; problems: number }> {
  const c = { events: 0, lost: 0, late: 0, problems: 0 };
  let reader: TraceReader;
  try {
    reader = await TraceReader.open(f.path);
  } catch {
    return { ...c, problems: 1 };
  }
  try {
    for (let batch = await reader.next(); batch; batch = await reader.next())
      for (const item of batch) {
        if (item.problem) c.problems++;
        else {
          c.events++;
          if (item.event.type === 'lost') c.lost += item.event.count;
          c.late += lateCountOf(item.event);
        }
      }
  } finally {
    reader.close();
  }
  return c;
}

async function status(root: string | undefined, v: Record<string, unknown>, out: NodeJS.WritableStream): Promise<number> {
  const unit = join(root ?? '/', UNIT_DIR, UNIT_NAME);
  const installed = existsSync(unit);
  out.write(`unit     ${unit}${installed ? '' : ' (not installed)'}\n`);
  const active = await systemctl(root, 'is-active', UNIT_NAME);
  const enabled = await systemctl(root, 'is-enabled', UNIT_NAME);
  const word = (r: { stdout: string } | null) => (r ? r.stdout.split('\n')[0] || 'not installed' : 'no systemctl');
  out.write(`state    ${root || !systemdRunning(root) ? 'no running systemd' : word(active)}, ${word(enabled)}\n`);
  const dir = String(v.dir ?? unitDir(unit) ?? DEFAULT_RECORD_DIR);
  let files: RecordFile[];
  try {
    files = listRecordFiles(join(root ?? '/', dir));
  } catch {
    out.write(`dir      ${dir} (none yet)\n`);
    return installed ? EXIT.ok : EXIT.finding;
  }
  const boot = currentBootId();
  const total = files.reduce((n, f) => n + f.size, 0);
  const current = files.filter((f) => f.boot === boot).pop();
  out.write(`dir      ${displayText(dir)}: ${files.length} file${files.length === 1 ? '' : 's'}, ${humanBytes(total)}\n`);
  out.write(`current  ${current ? displayText(current.name) : '(none of this boot)'}\n`);
  for (const f of files) {
    const c = await countsOf(f);
    const flags = [c.lost ? `LOST ${c.lost}` : 'lost 0', c.late ? `LATE ${c.late}` : 'late 0', ...(c.problems ? [`${c.problems} bad lines`] : [])];
    out.write(
      `  ${displayText(f.name)}  ${humanBytes(f.size).padStart(8)}  ${String(c.events).padStart(7)} events  ${flags.join('  ')}${f.boot === boot ? '  (this boot)' : ''}\n`,
    );
  }
  return installed ? EXIT.ok : EXIT.finding;
}

export async function runService(args: string[], out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const { values, positionals } = parse(args, OPTIONS, true);
  const v = values as Record<string, string | boolean | undefined>;
  const action = positionals[0];
  if (v.help || !action) {
    out.write(HELP);
    return v.help ? EXIT.ok : EXIT.usage;
  }
  if (positionals.length > 1) throw new IfblameError(`service takes one action, got ${positionals.join(' ')}`, 'ifblame service install|uninstall|status');
  const root = v.root === undefined ? undefined : unitPath('--root', String(v.root));
  if (action === 'install') return install(root, v, out);
  if (action === 'uninstall') return uninstall(root, out);
  if (action === 'status') return status(root, v, out);
  throw new IfblameError(`unknown service action ${JSON.stringify(action)}`, 'ifblame service install|uninstall|status');
}

export const run = (args: string[]): Promise<number> => runService(args);
