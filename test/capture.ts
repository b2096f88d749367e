// `ifblame capture --netns NS --backend syscalls --format ndjson [...extra] -- sh -c SCRIPT` for the end-to-end tests:
// its changes (validated) and summary.
import { execa } from 'execa';
import { Change } from '../src/events.js';
import { ROOT } from './golden.js';

export const BIN = `${ROOT}bin/ifblame.js`;

export async function captureNdjson(ns: string, script: string, extra: string[] = []) {
  const r = await execa('node', [BIN, 'capture', '--netns', ns, '--backend', 'syscalls', '--format', 'ndjson', ...extra, '--', 'sh', '-c', script], {
    reject: false,
    timeout: 120_000,
  });
  const lines = String(r.stdout)
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { type: string });
  const changes = lines.filter((l) => l.type === 'change').map((l) => Change.parse(l));
  const summary = lines.find((l) => l.type === 'summary') as { total: number; lost: number; command?: { exitCode: number } } | undefined;
  return { exitCode: r.exitCode, changes, summary, stderr: String(r.stderr) };
}
