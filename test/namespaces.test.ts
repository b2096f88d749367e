// Namespaces, moves and deletions on this kernel (syscalls backend, real bpftrace and ip, throw-away namespaces):
// a device moved to another namespace is a move by its process, not a deletion; its MAC set there names that
// namespace; ports of a deleted bridge are released by whoever deleted it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { captureNdjson } from './capture.js';
import { createNetns } from './netns.js';

test('`ip link set X netns N` is a move by ip; the MAC set in N names N; nothing is "deleted"', async () => {
  const watched = await createNetns('ifb-ns');
  const other = await createNetns('ifb-ns');
  try {
    await watched.ip('link', 'add', 'mva', 'type', 'veth', 'peer', 'name', 'mvb');
    const r = await captureNdjson(
      watched.name,
      `ip -n ${watched.name} link set mvb netns ${other.name} && ip -n ${other.name} link set dev mvb address 02:aa:bb:cc:dd:07`,
    );
    assert.equal(r.exitCode, 0, r.stderr);
    const moved = r.changes.filter((c) => c.iface === 'mvb' && c.kind === 'moved');
    assert.equal(moved.length, 1, JSON.stringify(r.changes));
    assert.equal(moved[0]!.actor?.comm, 'ip');
    assert.match(String(moved[0]!.after), /netnsid \d+/);
    assert.equal(r.changes.filter((c) => c.iface === 'mvb' && c.kind === 'deleted').length, 0, 'a move is not a deletion');
    const mac = r.changes.find((c) => c.iface === 'mvb' && c.kind === 'mac');
    assert.ok(mac, JSON.stringify(r.changes));
    assert.equal(mac.after, '02:aa:bb:cc:dd:07');
    assert.equal(mac.actor?.comm, 'ip');
    assert.equal(mac.netns?.name, other.name, 'the change names the namespace it happened in');
    assert.ok(mac.netns?.inode, 'and its inode');
    assert.ok(moved[0]!.ts <= mac.ts, 'in time order');
  } finally {
    await watched.remove();
    await other.remove();
  }
});

test('ports of a deleted bridge are released by the ip that deleted it', async () => {
  const ns = await createNetns('ifb-ns');
  try {
    await ns.ip('link', 'add', 'dbr0', 'type', 'bridge');
    await ns.ip('link', 'add', 'dp0', 'type', 'veth', 'peer', 'name', 'dp0p');
    await ns.ip('link', 'set', 'dp0', 'master', 'dbr0');
    const r = await captureNdjson(ns.name, `ip -n ${ns.name} link del dbr0`);
    assert.equal(r.exitCode, 0, r.stderr);
    const del = r.changes.find((c) => c.iface === 'dbr0' && c.kind === 'deleted');
    assert.equal(del?.actor?.comm, 'ip', JSON.stringify(r.changes));
    const release = r.changes.find((c) => c.iface === 'dp0' && c.kind === 'release');
    assert.ok(release, JSON.stringify(r.changes));
    assert.equal(release.actor?.pid, del!.actor!.pid, 'released by the process that deleted the bridge');
    assert.match(release.via.note ?? '', /master dbr0 was deleted/);
    const times = r.changes.map((c) => c.ts);
    assert.deepEqual(
      times,
      [...times].sort((a, b) => a - b),
      'changes in time order',
    );
  } finally {
    await ns.remove();
  }
});
