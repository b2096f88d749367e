// Changes only make sense against a starting point: the links as `ip -d -j link show` and sysfs saw them at start.
import { execa } from 'execa';
import type { LinkState } from '../events.js';
import { type ParseError, parseError } from '../parse/errors.js';
import { parseIpLinkJson } from '../parse/ip-link-json.js';
import { mergeAssignTypes, parseSysfsGrep, SYSFS_ATTRS } from '../parse/sysfs.js';

export interface SnapshotOptions {
  /** Run inside `ip netns exec NETNS` (which also remounts /sys, so sysfs matches the namespace). */
  netns?: string;
  /** argv prefix for both commands (after `wrap`, before the netns part), e.g. a custom namespace runner. */
  prefix?: string[];
  /** argv prefix put in front of everything (e.g. a parent-death wrapper). */
  wrap?: string[];
  /** The ip binary; default `ip`. */
  ip?: string;
  timeoutMs?: number;
}

export interface Snapshot {
  /** Wall-clock µs since the epoch when the snapshot was started. */
  takenAt: number;
  links: LinkState[];
  /** Entries or sysfs lines that could not be used (never thrown). */
  errors: ParseError[];
}

/**
 * One process reads every interface's sysfs attributes (`/sys/class/net/IF/ATTR:VALUE` lines): a fork per file
 * would cost seconds on a host with hundreds of interfaces. `-s`: a file that cannot be read (a device going away)
 * is left out, not an error; grep then exits 2 with the rest printed.
 */
const SYSFS_SCRIPT = `exec grep -sH '' ${SYSFS_ATTRS.map((a) => `/sys/class/net/*/${a}`).join(' ')}`;

/**
 * Takes the initial snapshot. Rejects only when `ip` itself cannot run or fails (a source failure);
 * unusable entries and a failed sysfs read come back in `errors`.
 */
export async function takeSnapshot(opts: SnapshotOptions = {}): Promise<Snapshot> {
  const takenAt = Date.now() * 1000;
  const argv0 = [...(opts.wrap ?? []), ...(opts.prefix ?? []), ...(opts.netns ? ['ip', 'netns', 'exec', opts.netns] : [])];
  const timeout = opts.timeoutMs ?? 10_000;
  const [ipRun, sysRun] = await Promise.all([
    run([...argv0, opts.ip ?? 'ip', '-d', '-j', 'link', 'show'], timeout),
    run([...argv0, 'sh', '-c', SYSFS_SCRIPT], timeout),
  ]);
  if (ipRun.failed) throw new Error(`ip -d -j link show failed: ${ipRun.reason}`);
  const { links, errors } = parseIpLinkJson(ipRun.stdout);
  if (sysRun.failed && sysRun.stdout === '') {
    errors.push(parseError(`sysfs addr_assign_type not read: ${sysRun.reason}`, 0));
    return { takenAt, links, errors };
  }
  const rows = parseSysfsGrep(sysRun.stdout);
  errors.push(...rows.errors.map((e) => ({ ...e, error: `sysfs: ${e.error}` })));
  return { takenAt, links: mergeAssignTypes(links, rows.rows), errors };
}

interface RunResult { failed: boolean; stdout: string; reason: string }

async function run(argv: string[], timeout: number): Promise<RunResult> {
  const [file = 'ip', ...args] = argv;
  const r = await execa(file, args, { reject: false, timeout, stdin: 'ignore', stripFinalNewline: false });
  const stdout = typeof r.stdout === 'string' ? r.stdout : '';
  const stderr = typeof r.stderr === 'string' ? r.stderr.trim() : '';
  const reason = r.failed ? `${r.shortMessage}${stderr ? `: ${stderr.slice(0, 500)}` : ''}` : '';
  return { failed: r.failed, stdout, reason };
}

/** Named network namespaces (`ip netns list`: /run/netns), readable without root; entering them needs root. */
export async function listNetns(opts: Pick<SnapshotOptions, 'ip' | 'timeoutMs'> = {}): Promise<string[]> {
  const r = await run([opts.ip ?? 'ip', '-j', 'netns', 'list'], opts.timeoutMs ?? 10_000);
  if (r.failed) throw new Error(`ip netns list failed: ${r.reason}`);
  if (r.stdout.trim() === '') return [];
  try {
    const list = JSON.parse(r.stdout) as unknown;
    if (!Array.isArray(list)) return [];
    return list.map((e) => (e && typeof e === 'object' ? (e as { name?: unknown }).name : undefined)).filter((n): n is string => typeof n === 'string' && n !== '');
  } catch {
    throw new Error(`ip -j netns list printed something that is not JSON: ${r.stdout.slice(0, 80)}`);
  }
}
