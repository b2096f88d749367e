// The syscalls program's sysfs_write on the real kernel (real bpftrace, real shell): only network sysfs files, each
// write once with its result, and nothing a shell prints after restoring its stdout from a sysfs redirection.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { captureNdjson } from './capture.js';
import { createNetns } from './netns.js';
import { TraceEvent } from '../src/events.js';

const dir = mkdtempSync(join(tmpdir(), 'ifb-sysfs-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('sysfs writes: `echo x > /sys/class/net/...` once each with its result; the echo after dup2 restored stdout and a /sys/kernel write are not reported', async () => {
  const ns = await createNetns('ifb-sysfs');
  try {
    await ns.ip('link', 'add', 'sw0', 'type', 'veth', 'peer', 'name', 'sw0p');
    const trace = join(dir, 'sysfs.ndjson');
    // dash saves fd 1 (F_DUPFD_CLOEXEC), dup2()s the sysfs file onto it for the builtin echo, then dup2()s it back
    const inner = 'echo ifb-alias > /sys/class/net/sw0/ifalias; echo stdout-after-dup2; echo 1400 > /sys/class/net/sw0/mtu; echo stdout-again';
    const script = `ip netns exec ${ns.name} sh -c '${inner}' > /dev/null; echo ifb-marker > /sys/kernel/tracing/trace_marker`;
    const r = await captureNdjson(ns.name, script, ['--record', trace]);
    assert.equal(r.exitCode, 0, r.stderr);
    const events = readFileSync(trace, 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => TraceEvent.parse(JSON.parse(l)))
      .filter((e) => e.type === 'probe' && e.probe === 'sysfs_write');
    const shown = JSON.stringify(events.map((e) => (e.type === 'probe' ? [e.phase, e.fields] : e)));
    const entries = events.flatMap((e) => (e.type === 'probe' && e.phase === 'entry' ? [e.fields] : []));
    assert.deepEqual(
      entries.map((f) => [f.data, f.path]),
      [
        ['ifb-alias\n', '/sys/class/net/sw0/ifalias'],
        ['1400\n', '/sys/class/net/sw0/mtu'],
      ],
      shown,
    );
    const results = events.flatMap((e) => (e.type === 'probe' && e.phase === 'return' ? [e.fields.ret] : []));
    assert.deepEqual(results, [10, 5], `one result per write, the bytes written: ${shown}`);
  } finally {
    await ns.remove();
  }
});
