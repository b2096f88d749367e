// Programs and environment for the bpftrace that will run them (issue 12, item 2), checked on the host
// (no root, no qemu).  The kernel matrix (kernel.test.ts) proves the same on the real 0.17 / 0.23 / 0.27:
// no bpftrace warning reaches the user of `ifblame capture` there.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bpftraceEnv, warningOf } from '../../src/sources/bpftrace.js';
import { CLI, run } from './harness.js';

test('string length variable by version: BPFTRACE_STRLEN up to 0.20, BPFTRACE_MAX_STRLEN from 0.21 (0.23 warns about the old name)', () => {
  for (const v of ['0.17.0', '0.20.4', null, undefined]) {
    const env = bpftraceEnv(v);
    assert.equal(env.BPFTRACE_STRLEN, '64', String(v));
    assert.equal(env.BPFTRACE_MAX_STRLEN, undefined, String(v));
  }
  for (const v of ['0.21.0', '0.23.2', '0.27.1', '1.0.0']) {
    const env = bpftraceEnv(v);
    assert.equal(env.BPFTRACE_MAX_STRLEN, '128', v);
    assert.equal(env.BPFTRACE_STRLEN, undefined, v);
  }
  for (const v of ['0.17.0', '0.23.2', '0.27.1'])
    assert.ok(Number(bpftraceEnv(v).BPFTRACE_PERF_RB_PAGES) > 64, `perf buffer larger than bpftrace's default 64 pages (${v})`);
});

test("newer bpftrace's WARN: lines are handed on as warnings like 0.17's WARNING:", () => {
  assert.equal(warningOf('WARN: Unnecessary cast: expression is already of type int32'), 'WARNING: Unnecessary cast: expression is already of type int32');
  assert.equal(warningOf('stdin:3:5-10: WARNING: something'), 'WARNING: something');
  assert.equal(warningOf('Attaching 12 probes...'), null);
});

test('kfunc programs carry no cast bpftrace 0.27 calls unnecessary; kprobe programs keep the casts they need', async () => {
  const kfunc = await run(process.execPath, [CLI, 'script', '--backend', 'kfunc', '--all'], { timeoutMs: 60_000 });
  assert.equal(kfunc.code, 0, kfunc.stderr);
  assert.deepEqual(kfunc.stdout.match(/\(int32\)(retval|args->\w+)/g) ?? [], [], 'no (int32) on typed fentry values');
  assert.match(kfunc.stdout, /\(int64\)retval/, 'return values widened instead');
  const kprobe = await run(process.execPath, [CLI, 'script', '--backend', 'kprobe', '--all'], { timeoutMs: 60_000 });
  assert.equal(kprobe.code, 0, kprobe.stderr);
  assert.match(kprobe.stdout, /\(int32\)retval/, 'kretprobe retval is a raw register: the cast stays');
});
