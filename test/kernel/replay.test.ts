// Replay of the real-kernel recordings (recordings/kernel-<scenario>-<backend>.ndjson, made by
// `IFBLAME_KERNEL_RECORD=recordings npm run test:kernel`): no root, no qemu, no bpftrace.  The same
// stories as the live kernel test, on the trace file alone, plus the replay path of the product:
// `ifblame replay --format ndjson` must give back the recorded changes.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { CLI, REPO, readTrace, run } from './harness.js';
import { STORIES, type StoryBackend } from './stories.js';

const DIR = resolve(REPO, process.env.IFBLAME_KERNEL_RECORDINGS ?? 'recordings');
const files = existsSync(DIR)
  ? readdirSync(DIR)
      .filter((f) => /^kernel-.+-(kprobe|kfunc|syscalls)\.ndjson$/.test(f))
      .sort()
  : [];

const BACKENDS: StoryBackend[] = ['kprobe', 'kfunc', 'syscalls'];

test('real-kernel recordings are present: one per scenario and backend, none missing', () => {
  const expected = Object.keys(STORIES)
    .flatMap((s) => BACKENDS.map((b) => `kernel-${s}-${b}.ndjson`))
    .sort();
  const missing = expected.filter((f) => !files.includes(f));
  assert.deepEqual(missing, [], `missing in ${DIR}: make them with IFBLAME_KERNEL_RECORD=recordings npm run test:kernel`);
});

for (const f of files) {
  const m = /^kernel-(.+)-(kprobe|kfunc|syscalls)\.ndjson$/.exec(f)!;
  const scenario = m[1]!;
  const backend = m[2] as StoryBackend;
  test(`recording ${f}: ${scenario} story holds on replay`, () => {
    const story = STORIES[scenario];
    assert.ok(story, `no story for scenario ${scenario}`);
    const trace = readTrace(join(DIR, f));
    assert.match(String(trace.header.kernel), /^6\.1\.\d+-\d+-amd64$/, 'recorded on the Debian stock kernel');
    story({ trace, backend });
  });

  test(`recording ${f}: ifblame replay gives back the recorded changes`, async () => {
    const r = await run(process.execPath, [CLI, 'replay', join(DIR, f), '--format', 'ndjson'], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    const replayed = r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { type: string });
    const recorded = readTrace(join(DIR, f)).events.filter((e) => e.type === 'change');
    const key = (e: Record<string, unknown>) =>
      JSON.stringify([e.iface, e.kind, e.before, e.after, (e.actor as { comm?: string } | null)?.comm ?? null, e.evidence]);
    assert.deepEqual(
      replayed.filter((e) => e.type === 'change').map((e) => key(e as Record<string, unknown>)),
      recorded.map(key),
    );
  });
}
