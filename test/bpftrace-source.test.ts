// bpftrace messages validated (never guessed), stderr classified, the runner's readiness and failures, and actors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { decodeLine, parseClockWall } from '../src/parse/bpftrace-json.js';
import { explainFailure, meaningfulStderr } from '../src/probes/detect.js';
import { BpftraceSource } from '../src/sources/bpftrace.js';
import { IfblameError } from '../src/errors.js';
import { describeCgroup, isKernelTask, serviceOf, actorOf } from '../src/correlate/actor.js';
import { generate } from '../src/probes/generate.js';
import { LAB } from './lab.js';

const ctx = { backend: 'kprobe' as const, monoToWallUs: 0 };

test('bpftrace JSON messages: the real 0.17 ones from the lab, and the shapes of other releases', () => {
  const real = readFileSync(`${LAB}A/bt-kprobe.json`, 'utf8').split('\n').filter(Boolean);
  assert.deepEqual(decodeLine(real[0]!, ctx), { kind: 'attached', probes: 13 });
  // The lab's own printf lines are not ifblame's: an error value naming the probe, not a throw.
  const d = decodeLine(real[2]!, ctx);
  assert.equal(d.kind, 'error');
  assert.deepEqual(decodeLine('{"type": "lost_events", "data": {"events": 12}}', ctx), { kind: 'lost', count: 12 });
  assert.deepEqual(decodeLine('{"type": "lost_events", "data": {"events": "18446744073709551"}}', ctx), { kind: 'lost', count: 18446744073709551 });
  assert.deepEqual(decodeLine('{"type": "attached_probes", "data": {"probes": "3"}}', ctx), { kind: 'attached', probes: 3 });
  assert.deepEqual(decodeLine('{"type": "map", "data": {"@req_ioctl_link": {}}}', ctx), { kind: 'ignored', what: 'map' });
  assert.equal(decodeLine('{"type": "error", "msg": "Failed to attach"}', ctx).kind, 'error');
  assert.deepEqual(decodeLine('{"type": "surprise", "data": 1}', ctx), { kind: 'error', message: 'unknown bpftrace message type "surprise"' });
  assert.deepEqual(decodeLine('{"type": "printf", "data": 5}', ctx).kind, 'error');
  assert.deepEqual(decodeLine('not json {', ctx), { kind: 'error', message: 'not JSON' });
  assert.deepEqual(decodeLine('{"type": "printf", "data": "#clock\\t1000\\t2026-11-21T12:40:56.887063+0000\\n"}', ctx), {
    kind: 'clock',
    mono: 1000,
    wall: '2026-11-21T12:40:56.887063+0000',
  });
  assert.equal(parseClockWall('2026-11-21T12:40:56.887063+0100'), Date.parse('2026-11-21T11:40:56Z') * 1000 + 887063);
});

test('stderr: the RLIMIT_MEMLOCK line Debian prints on every start is not an error; the attach failure is the explanation', () => {
  const stderr = [
    `ERROR: Unknown error -1: couldn't set RLIMIT_MEMLOCK for bpftrace. If your program is not loading, you can try "ulimit -l 8192" to fix the problem`,
    'stdin:1:1-27: WARNING: dev_set_mac_address is not traceable (either non-existing, inlined, or marked as "notrace"); attaching to it will likely fail',
    'create_probe_event: open(/sys/kernel/debug/tracing/kprobe_events): No such file or directory',
    "ERROR: Error attaching probe: 'kprobe:dev_set_mac_address'",
  ].join('\n');
  assert.ok(!meaningfulStderr(stderr).some((l) => /RLIMIT/.test(l)));
  assert.match(explainFailure(stderr), /^Error attaching probe: 'kprobe:dev_set_mac_address' \(no kprobe_events in tracefs/);
  assert.equal(explainFailure(stderr.split('\n')[0]!), 'bpftrace failed without a message');
});

test("runner: a program that cannot attach rejects with bpftrace's reason, one line, no stack", async () => {
  const src = new BpftraceSource({ program: 'kprobe:dev_set_mac_address { printf("x\\n"); }', backend: 'kprobe', onDecoded: () => undefined });
  await assert.rejects(
    src.start(),
    (e: unknown) => e instanceof IfblameError && /Error attaching probe/.test(e.message) && !e.message.includes('\n') && !/RLIMIT/.test(e.message),
  );
});

test('runner: the syscalls program becomes ready, decodes its #cols lines, and stops on SIGINT', async (t) => {
  const seen: string[] = [];
  const src = new BpftraceSource({
    program: generate({ backend: 'syscalls', filters: { iface: [], comm: [] } }).text,
    backend: 'syscalls',
    onDecoded: (d) => seen.push(d.kind),
  });
  t.after(() => src.stop());
  await src.start();
  assert.ok(src.attached >= 15);
  assert.ok(seen.includes('clock'));
  // BEGIN prints #clock first (readiness), then one #cols line per probe.
  for (let i = 0; i < 50 && seen.filter((k) => k === 'cols').length < 4; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(seen.filter((k) => k === 'cols').length, 4);
  const pid = src.pid!;
  await src.stop();
  assert.equal(await src.exited, null, 'a stop we asked for is not a failure');
  assert.throws(() => process.kill(pid, 0));
});

test("actors: (udev-worker) is systemd-udevd's, kworkers are the kernel's, units and containers come from the cgroup", () => {
  assert.equal(serviceOf({ comm: '(udev-worker)', chain: [{ pid: 226, comm: 'systemd-udevd' }], kernel: false }), 'systemd-udevd');
  assert.equal(serviceOf({ comm: 'ip', chain: [{ pid: 1, comm: 'bash' }], kernel: false }), 'ip');
  assert.equal(serviceOf({ comm: 'kworker/u4:4', chain: [], kernel: true }), 'kernel');
  assert.ok(isKernelTask('kworker/u4:4', 'kthreadd', 2));
  assert.ok(!isKernelTask('ip', 'bash', 900));
  assert.deepEqual(describeCgroup('/system.slice/systemd-udevd.service/udev'), { unit: 'systemd-udevd.service' });
  assert.deepEqual(describeCgroup('/system.slice/docker-0123456789abcdef0123456789abcdef.scope'), { container: '0123456789ab' });
  assert.deepEqual(describeCgroup('/kubepods.slice/kubepods-pod1.slice/cri-containerd-aabbccddeeff00112233.scope'), { container: 'aabbccddeeff' });
  const a = actorOf({
    type: 'probe',
    ts: 0,
    backend: 'kprobe',
    probe: 'dev_set_mac_address',
    phase: 'entry',
    pid: 978,
    tid: 978,
    comm: '(udev-worker)',
    ppid: 226,
    pcomm: 'systemd-udevd',
    fields: {},
    kstack: [],
  });
  assert.equal(a.service, 'systemd-udevd');
  assert.deepEqual(a.chain, [{ pid: 226, comm: 'systemd-udevd' }]);
});
