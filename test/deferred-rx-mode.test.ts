// Kernel 7.x applies a device's receive mode in a workqueue: a slave made promiscuous by a macvlan coming up on its
// bond changes in a kworker, with nothing of the `ip` on the stack. The worker stays the actor (it ran the change);
// the words say why and name what just happened to the device above (real sid 7.2 output, test/fixtures/sid-rx-mode).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { Change } from '../src/events.js';
import { BIN } from './capture.js';
import { ROOT } from './golden.js';

test('sid 7.2: dmj0 promiscuous in a kworker (netif_rx_mode_run) after mv0 on bond0 came up, and back after ip deleted mv0', async (t) => {
  const fx = join(ROOT, 'test', 'fixtures', 'sid-rx-mode');
  const dir = mkdtempSync(join(tmpdir(), 'ifb-rxmode-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'j.trace');
  const f = (n: string) => join(fx, n);
  const kernel = readFileSync(f('kernel.txt'), 'utf8').trim();
  const netns = readFileSync(f('netns.txt'), 'utf8').trim();
  const imp = await execa(
    'node',
    [
      BIN,
      'import',
      '--bpftrace',
      f('bt.json'),
      '--netlink',
      f('ipmon.txt'),
      '--snapshot',
      f('snapshot.json'),
      '--aat',
      f('aat.txt'),
      '--kernel',
      kernel,
      '--netns',
      netns,
      '-o',
      out,
    ],
    { reject: false },
  );
  assert.equal(imp.exitCode, 0, imp.stderr);
  const r = await execa('node', [BIN, 'replay', out, '--format', 'ndjson'], { reject: false });
  const changes = String(r.stdout)
    .split('\n')
    .filter((l) => l.includes('"type":"change"'))
    .map((l) => Change.parse(JSON.parse(l)));
  const promisc = changes.filter((c) => c.iface === 'dmj0' && c.kind === 'promisc');
  assert.deepEqual(
    promisc.map((c) => [c.before, c.after]),
    [
      [0, 1],
      [1, 0],
    ],
  );
  for (const c of promisc) {
    assert.ok(c.actor?.kernel && c.actor.comm.startsWith('kworker/'), 'the worker that ran it, never a guessed process');
    assert.equal(c.evidence, 'observed');
    assert.ok(c.via.path.includes('netif_rx_mode_run'));
  }
  const [on, off] = promisc.map((c) => c.via.note ?? '');
  assert.match(on!, /receive mode in deferred work \(netif_rx_mode_run\): dmj0 became promiscuous when its address lists changed/);
  assert.match(on!, /just before, mv0 \(on bond0\) came up \(netlink: the process that brought it up is not known here\)$/);
  assert.match(off!, /dmj0 stopped being promiscuous/);
  const del = changes.find((c) => c.iface === 'mv0' && c.kind === 'deleted');
  assert.ok(del?.actor && !del.actor.kernel, 'mv0 deleted by a process');
  assert.match(off!, new RegExp(`just before, mv0 \\(on bond0\\) was deleted by ip\\[${del.actor.pid}\\]$`));
});
