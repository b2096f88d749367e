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

const syscallsFor = async (bpftrace: string) => {
  const r = await run(process.execPath, [CLI, 'script', '--backend', 'syscalls', '--all', '--bpftrace', bpftrace], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
};

test('syscalls program per version: while and delete(@m[k]) up to 0.23, for-range and used delete results from 0.24 (0.25+ warn otherwise)', async () => {
  for (const v of ['0.17.0', '0.23.2']) {
    const text = await syscallsFor(v);
    assert.match(text, /while \(\$i < 32\) \{/, v);
    assert.doesNotMatch(text, /for \(\$i : /, `${v} has no range loops`);
    assert.match(text, /^\s+delete\(@req_ioctl_link\[tid\]\);$/m, v);
    assert.doesNotMatch(text, /delete\(@\w+, /, `${v}: no two-argument delete`);
  }
  for (const v of ['0.24.0', '0.27.1']) {
    const text = await syscallsFor(v);
    assert.match(text, /for \(\$i : 0\.\.32\) \{/, v);
    assert.doesNotMatch(text, /\bwhile\b/, v);
    assert.deepEqual(
      text.match(/^.*\bdelete\(.*$/gm)?.filter((l) => !/^\s*(\$deleted = delete\(@\w+, [^;]+\);\s*)+$/.test(l.replace(/^.*?\{\s*|\s*\}\s*$/g, ''))) ?? [],
      [],
      `${v}: every delete's result is used`,
    );
    assert.match(text, /\$deleted = delete\(@sysfd, \(pid, \$new\)\);/, v);
  }
});

test('syscalls program on every version: no cast BTF-typed args make unnecessary, and no user-space integer compared without kptr()', async () => {
  for (const v of ['0.17.0', '0.23.2', '0.27.1']) {
    const text = await syscallsFor(v);
    // 0.25+ type args from BTF: these casts are "unnecessary" there, and older versions do without them too
    assert.doesNotMatch(text, /\((struct user_msghdr|struct iovec) \*\)|\(uint64\)(args->arg|\$iov->iov_len|args->len)\b/, v);
    // an args field or a user-memory read next to a literal mixes address spaces ("Addrspace mismatch", 0.17-0.27)
    assert.deepEqual(text.match(/(?<!kptr\()args->\w+\s*(==|!=|<=|>=|<|>|&)\s*\d/g) ?? [], [], v);
    assert.deepEqual(text.match(/(?<!kptr\(\(?\w*\)?)\*\(u?int\d+ \*\)uptr\([^)]*\)\s*(==|!=|<=|>=|<|>|&)/g) ?? [], [], v);
  }
});

test('script --bpftrace takes a version only: anything else is one line and exit 2', async () => {
  const r = await run(process.execPath, [CLI, 'script', '--backend', 'syscalls', '--all', '--bpftrace', 'latest'], { timeoutMs: 60_000 });
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr.trim(), /^ifblame: --bpftrace "latest" is not a version/);
  assert.ok(r.stderr.trim().split('\n').length <= 2, r.stderr);
});
