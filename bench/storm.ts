// The live storm case of `npm run bench`: N MAC changes made with `ip -batch` in a throw-away namespace, with and
// without `ifblame capture --record` tracing them (syscalls backend: this machine's kernel has no kprobes).
// Prints changes made vs changes in the trace file, lost and late events, the slow-down of `ip -batch` and peak RSS.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface StormResult {
  changes: number;
  inTrace: number;
  /** Of those, the ones attributed to the `ip` that made them (a late probe event leaves a change unattributed). */
  byIp: number;
  lost: number;
  late: number;
  bareS: number;
  tracedS: number;
  peakMb: number;
}

function sh(argv: string[], timeoutMs = 600_000): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 1 << 30 });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** `ip -batch` input: n MAC changes of st0, each to a new address. */
export function stormBatch(n: number): string {
  const mac = (i: number) => `02:00:${[(i >> 16) & 255, (i >> 8) & 255, i & 255].map((b) => b.toString(16).padStart(2, '0')).join(':')}:01`;
  return Array.from({ length: n }, (_, i) => `link set dev st0 address ${mac(i + 1)}\n`).join('');
}

/** The storm's MAC changes of st0 in a trace file, how many name the `ip` that made them, and the events lost. */
export function countTrace(trace: string): { inTrace: number; byIp: number; lost: number } {
  let inTrace = 0;
  let byIp = 0;
  let lost = 0;
  for (const line of readFileSync(trace, 'utf8').split('\n')) {
    if (line.includes('"type":"change"') && line.includes('"iface":"st0"') && line.includes('"kind":"mac"')) {
      inTrace++;
      if (line.includes('"comm":"ip"')) byIp++;
    } else if (line.includes('"type":"lost"')) lost += Number(/"count":(\d+)/.exec(line)?.[1] ?? 0);
  }
  return { inTrace, byIp, lost };
}

/** Runs the storm; the namespace and the files are removed whatever happens. */
export function runStorm(cli: string, n: number): StormResult {
  const ns = `ifb-storm-${process.pid}`;
  const dir = mkdtempSync(join(tmpdir(), 'ifblame-storm-'));
  try {
    sh(['ip', 'netns', 'add', ns]);
    sh(['ip', '-n', ns, 'link', 'add', 'st0', 'type', 'veth', 'peer', 'name', 'st1']);
    const batch = join(dir, 'batch');
    writeFileSync(batch, stormBatch(n));
    const timed = join(dir, 'ns.txt');
    // The command times itself (ns), so tracing start-up is not counted as the storm's time.
    const script = `s=$(date +%s%N); ip -n ${ns} -batch ${batch}; e=$(date +%s%N); echo $((e-s)) > ${timed}`;
    const bare = () => {
      sh(['sh', '-c', script]);
      return Number(readFileSync(timed, 'utf8')) / 1e9;
    };
    const bareS = Math.min(bare(), bare());
    const trace = join(dir, 'storm.trace');
    const r = sh([
      '/usr/bin/time',
      '-f',
      'IFBLAME_RSS %M',
      process.execPath,
      cli,
      'capture',
      '--netns',
      ns,
      '--backend',
      'syscalls',
      '--format',
      'json',
      '--record',
      trace,
      '--',
      'sh',
      '-c',
      script,
    ]);
    const tracedS = Number(readFileSync(timed, 'utf8')) / 1e9;
    const summary = (JSON.parse(r.stdout) as { summary: { lost: number; late?: number } }).summary;
    const { inTrace, byIp } = countTrace(trace);
    const peakKb = Number(/IFBLAME_RSS (\d+)/.exec(r.stderr)?.[1] ?? 0);
    return { changes: n, inTrace, byIp, lost: summary.lost, late: summary.late ?? 0, bareS, tracedS, peakMb: peakKb / 1024 };
  } finally {
    sh(['ip', 'netns', 'del', ns]);
    rmSync(dir, { recursive: true, force: true });
  }
}
