// Re-import of real guest captures (test/kernel/captures/<run>/<scenario>/: bpftrace JSON per backend,
// ip monitor, snapshot, sysfs assign types, steps.log) on the host: no root, no qemu, no bpftrace.
// The product's import path on real-kernel input, with the timing the real kernel produced, including
// runs whose timing once exposed a bug (see captures/README.md).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BACKENDS, KERNEL_DIR, importScenario, readSteps, readTrace, type KBackend } from './harness.js';
import { STORIES, type StoryBackend } from './stories.js';

const ROOT = join(KERNEL_DIR, 'captures');
const runs = existsSync(ROOT)
  ? readdirSync(ROOT)
      .filter((d) => statSync(join(ROOT, d)).isDirectory())
      .sort()
  : [];
const tmp = mkdtempSync(join(tmpdir(), 'ifblame-reimport-'));

test('real-kernel raw captures are present', () => {
  assert.ok(runs.length > 0, `no test/kernel/captures/<run>/: save one with IFBLAME_KERNEL_SAVE_RAW=1 npm run test:kernel`);
});

for (const r of runs) {
  const dir = join(ROOT, r);
  for (const s of readdirSync(dir).filter((d) => STORIES[d] && statSync(join(dir, d)).isDirectory())) {
    for (const b of BACKENDS.filter((x) => existsSync(join(dir, s, x, 'bt.json')))) {
      test(`capture ${r}/${s} / ${b}: import + story`, async () => {
        const trace = join(tmp, `${r}-${s}-${b}.ndjson`);
        const program = join(dir, 'programs', `${b}.bt`);
        const res = await importScenario(join(dir, s), b as KBackend, trace, program);
        assert.equal(res.code, 0, `ifblame import failed (${res.code}):\n${res.stderr}`);
        STORIES[s]!({
          trace: readTrace(trace),
          backend: b as StoryBackend,
          steps: readSteps(join(dir, s)),
          kernel: readFileSync(join(dir, s, 'kernel.txt'), 'utf8').trim(),
          program: existsSync(program) ? readFileSync(program, 'utf8') : undefined,
        });
      });
    }
  }
}
