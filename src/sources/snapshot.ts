// Changes only make sense against a starting point: the links as `ip -d -j link show` and sysfs saw them at start.
import { execa } from 'execa';
import type { LinkState } from '../events.js';
import { type ParseError, parseError } from '../parse/errors.js';
import { parseIpLinkJson } from '../parse/ip-link-json.js';
import { mergeAssignTypes, parseAssignTypes } from '../parse/sysfs.js';

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

/** Prints one line per interface in the format parseAssignTypes reads; `bonding_masters` and other files are skipped. */
const SYSFS_SCRIPT = 'for i in /sys/class/net/*; do [ -e "$i/ifindex" ] || continue; '
  + 'printf \'%s %s %s %s\\n\' "${i##*/}" "$(cat "$i/addr_assign_type" 2>/dev/null)" '
  + '"$(cat "$i/address" 2>/dev/null)" "$(cat "$i/ifindex" 2>/dev/null)"; done';

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
  if (sysRun.failed) {
    errors.push(parseError(`sysfs addr_assign_type not read: ${sysRun.reason}`, 0));
    return { takenAt, links, errors };
  }
  const rows = parseAssignTypes(sysRun.stdout);
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
