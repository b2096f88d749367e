// Replay of the real-kernel recordings (recordings/kernel-<suite>-<scenario>-<live|kprobe|syscalls>.ndjson, made by
// `IFBLAME_KERNEL_RECORD=recordings npm run test:kernel`): no root, no qemu, no bpftrace.  The same stories as
// the live kernel test, on the trace file alone, for every suite of the matrix, plus the replay path of the
// product: `ifblame replay --format ndjson` must give back the recorded changes.  A missing recording fails.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { CLI, REPO, SCENARIOS, SUITES, SUITE_EXPECT, readTrace, run, type Suite } from './harness.js';
import { KNOWN_GAPS, STORIES, checkSysfsWrites, type StoryBackend } from './stories.js';

const DIR = resolve(REPO, process.env.IFBLAME_KERNEL_RECORDINGS ?? 'recordings');
const RE = /^kernel-(bookworm|trixie|sid)-(.+)-(live|kprobe|syscalls)\.ndjson$/;
const files = existsSync(DIR)
  ? readdirSync(DIR)
      .filter((f) => RE.test(f))
      .sort()
  : [];

for (const suite of SUITES) {
  test(`real-kernel recordings of ${suite} are all present`, () => {
    // a known product gap (stories.ts KNOWN_GAPS) has no passing trace to record
    const want = SCENARIOS.flatMap((s) =>
      ['live', 'kprobe', 'syscalls'].filter((b) => !KNOWN_GAPS[`${suite}/${s}/${b}`]).map((b) => `kernel-${suite}-${s}-${b}.ndjson`),
    );
    const missing = want.filter((f) => !files.includes(f));
    assert.deepEqual(missing, [], `missing recordings: make them with IFBLAME_KERNEL_RECORD=recordings npm run test:kernel`);
  });
}

for (const f of files) {
  const m = RE.exec(f)!;
  const suite = m[1] as Suite;
  const scenario = m[2]!;
  test(`recording ${f}: ${scenario} story holds on replay (and a syscalls trace's sysfs writes)`, () => {
    const story = STORIES[scenario];
    assert.ok(story, `no story for scenario ${scenario}`);
    const trace = readTrace(join(DIR, f));
    assert.match(String(trace.header.kernel), SUITE_EXPECT[suite].kernel, `recorded on Debian ${suite}'s stock kernel`);
    assert.match(String(trace.header.bpftraceVersion), SUITE_EXPECT[suite].bpftrace, `recorded with Debian ${suite}'s bpftrace`);
    if (m[3] === 'live') assert.equal(trace.header.backend, 'kfunc', 'ifblame live (auto) picked kfunc');
    story({ trace, backend: (m[3] === 'live' ? trace.header.backend : m[3]) as StoryBackend });
    if (m[3] === 'syscalls') checkSysfsWrites(trace, scenario);
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
