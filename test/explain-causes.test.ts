// explain, one cause one finding (issue 10 item 6): a slave released from a bond that keeps its MAC, a bridge
// following its ports is not also "flapping", and one finding from several files of one host and time span is
// told once with all the evidence — on hand-made traces and on the committed kernel recordings.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ReplayState } from '../src/correlate/state.js';
import type { Change, LinkState, TraceEvent } from '../src/events.js';
import { explainTraces, type Finding, type Report } from '../src/explain/index.js';
import { Finding as FindingSchema } from '../src/explain/types.js';
import type { TraceHeader } from '../src/trace/format.js';
import { actor, change, header, IP, link, lnk, REPO, resetSeq, runCli, tempDir, UDEV } from './fixtures/replay/helpers.js';

const ids = (r: Report) => r.findings.map((f) => `${f.severity} ${f.id}`);
const only = (r: Report, id: Finding['id']) => {
  const f = r.findings.filter((x) => x.id === id);
  assert.equal(f.length, 1, `one ${id}: ${JSON.stringify(ids(r))}`);
  return f[0]!;
};
const RELEASE = { probe: '__bond_release_one', path: ['rtnl_setlink', 'do_setlink', '__bond_release_one'] };

/** bond0 took eth0's MAC (eth0 was its first slave) and overwrote eth1 with it. */
function bondSnapshot(): LinkState[] {
  return [
    lnk(2, 'bond0', { kind: 'bond', addr: '52:54:00:00:00:01', addrAssignType: 1 }),
    lnk(3, 'eth0', { master: 'bond0', addr: '52:54:00:00:00:01', permAddr: '52:54:00:00:00:01' }),
    lnk(4, 'eth1', { master: 'bond0', addr: '52:54:00:00:00:01', permAddr: '52:54:00:00:00:02' }),
  ];
}

function recording(name: string): { header: TraceHeader; events: TraceEvent[] } {
  const [h, ...rest] = readFileSync(join(REPO, 'recordings', name), 'utf8')
    .split('\n')
    .filter(Boolean);
  return { header: JSON.parse(h!) as TraceHeader, events: rest.map((l) => JSON.parse(l) as TraceEvent) };
}

describe('explain: a slave released from a bond that keeps its MAC', () => {
  it('the first slave leaves, the bond keeps its MAC: one finding with the release as evidence, not also a duplicate MAC', () => {
    resetSeq();
    const events = [
      change(0, 'eth0', 'release', 'bond0', null, IP, RELEASE, { ifindex: 3 }),
      link(100, 3, 'eth0', { addr: '52:54:00:00:00:01', master: null }),
      change(5_000_000, 'eth1', 'promisc', 0, 1, IP),
    ];
    const r = explainTraces([{ file: 'release.trace', header: header({}, bondSnapshot()), events }]);
    assert.deepEqual(ids(r), ['warning released-slave-mac']);
    const f = only(r, 'released-slave-mac');
    FindingSchema.parse(f);
    assert.equal(f.title, 'eth0: released from bond bond0, which still uses its MAC 52:54:00:00:00:01');
    assert.match(f.detail, /still in use by bond/);
    assert.deepEqual(f.ifaces, ['eth0', 'bond0']);
    assert.equal(f.evidence[0]!.line, 2, 'the release is the first evidence, at its line');
    assert.equal((f.evidence[0]!.event as Change).kind, 'release');
    assert.deepEqual(f.fix?.commands, ['ip link set dev bond0 address 52:54:00:00:00:02'], "the remaining slave's own MAC");
  });

  it('the fix gives the bond the MAC its remaining slave had when enslaved, not the one it was created with (802.3ad, Debian 6.1)', () => {
    // udev's policy replaced eth1's creation MAC (…:09) with …:02 before bond_enslave overwrote it: bonding keeps …:02
    resetSeq();
    const snap = [
      lnk(2, 'bond0', { kind: 'bond', addr: '52:54:00:00:00:01', addrAssignType: 1 }),
      lnk(3, 'eth0', { master: 'bond0', addr: '52:54:00:00:00:01' }),
      lnk(4, 'eth1', { addr: '52:54:00:00:00:09' }),
    ];
    const enslave = { probe: 'bond_enslave', path: ['rtnl_newlink', 'do_setlink', 'bond_enslave', 'dev_set_mac_address', 'dev_addr_mod'] };
    const events = [
      change(0, 'eth1', 'mac', '52:54:00:00:00:09', '52:54:00:00:00:02', UDEV, {}, { ifindex: 4 }),
      change(1_000, 'eth1', 'enslave', null, 'bond0', IP, { probe: 'bond_enslave', path: ['rtnl_newlink', 'do_setlink', 'bond_enslave'] }, { ifindex: 4 }),
      change(1_100, 'eth1', 'mac', '52:54:00:00:00:02', '52:54:00:00:00:01', IP, enslave, { ifindex: 4 }),
      change(2_000_000, 'eth0', 'release', 'bond0', null, IP, RELEASE, { ifindex: 3 }),
      link(2_000_100, 3, 'eth0', { addr: '52:54:00:00:00:01', master: null }),
    ];
    const f = only(explainTraces([{ file: 'udev.trace', header: header({}, snap), events }]), 'released-slave-mac');
    assert.deepEqual(f.fix?.commands, ['ip link set dev bond0 address 52:54:00:00:00:02']);
  });

  it("a slave released without getting its own MAC back (fail_over_mac) keeps the bond's: the same finding", () => {
    resetSeq();
    const events = [change(0, 'eth1', 'release', 'bond0', null, IP, RELEASE, { ifindex: 4 })];
    const r = explainTraces([{ file: 'keep.trace', header: header({}, bondSnapshot()), events }]);
    assert.equal(only(r, 'released-slave-mac').title, 'eth1: released from bond bond0, which still uses its MAC 52:54:00:00:00:01');
  });

  it('not a finding: the released slave gets its own MAC back, the last slave leaves (the bond goes random), the bond is deleted', () => {
    resetSeq();
    const restored = [
      change(0, 'eth1', 'release', 'bond0', null, IP, RELEASE, { ifindex: 4 }),
      change(
        10,
        'eth1',
        'mac',
        '52:54:00:00:00:01',
        '52:54:00:00:00:02',
        IP,
        { path: ['__bond_release_one', 'dev_set_mac_address'], note: 'eth1 got its own MAC back when released from bond0' },
        { ifindex: 4 },
      ),
    ];
    assert.deepEqual(ids(explainTraces([{ file: 'a.trace', header: header({}, bondSnapshot()), events: restored }])), []);
    resetSeq();
    const snap = bondSnapshot().filter((l) => l.ifname !== 'eth1');
    const last = [
      change(0, 'eth0', 'release', 'bond0', null, IP, RELEASE, { ifindex: 3 }),
      change(
        20,
        'bond0',
        'mac',
        '52:54:00:00:00:01',
        '86:c2:c9:87:70:a9',
        IP,
        { path: ['__bond_release_one', 'dev_addr_mod'], note: 'bond bond0 took a new random MAC after its slave eth0 was released' },
        { ifindex: 2 },
      ),
    ];
    assert.deepEqual(ids(explainTraces([{ file: 'b.trace', header: header({}, snap), events: last }])), []);
    resetSeq();
    const deleted = [
      change(0, 'eth0', 'release', 'bond0', null, IP, RELEASE, { ifindex: 3 }),
      change(10, 'eth1', 'release', 'bond0', null, IP, RELEASE, { ifindex: 4 }),
      change(
        20,
        'eth1',
        'mac',
        '52:54:00:00:00:01',
        '52:54:00:00:00:02',
        IP,
        { path: ['__bond_release_one', 'dev_set_mac_address'], note: 'eth1 got its own MAC back when released from bond0' },
        { ifindex: 4 },
      ),
      change(30, 'bond0', 'deleted', '52:54:00:00:00:01', null, IP, {}, { ifindex: 2 }),
    ];
    assert.deepEqual(ids(explainTraces([{ file: 'c.trace', header: header({}, bondSnapshot()), events: deleted }])), []);
  });

  it("a change in another network namespace is about that namespace's interface, whatever its name and index", () => {
    resetSeq();
    const ns = { netns: { inode: 4026532177, name: 'ns1' } };
    const events = [change(0, 'eth0', 'release', 'bond0', null, IP, RELEASE, { ifindex: 3, ...ns }), change(5_000_000, 'eth1', 'promisc', 0, 1, IP)];
    const r = explainTraces([{ file: 'ns.trace', header: header({}, bondSnapshot()), events }]);
    assert.deepEqual(ids(r), [], "the watched namespace's eth0 is still bond0's port");
    resetSeq();
    const flaps = Array.from({ length: 8 }, (_, i) =>
      change(i * 1000, 'eth0', 'mac', `02:00:00:00:00:0${i}`, `02:00:00:00:00:0${i + 1}`, IP, {}, { ifindex: 3, ...ns }),
    );
    const f = only(explainTraces([{ file: 'ns.trace', header: header({}, bondSnapshot()), events: flaps }]), 'mac-flapping');
    assert.equal(f.title, 'eth0@ns1: MAC flapping (8 changes)');
    assert.deepEqual(f.evidence[0]!.event, flaps[0], 'the evidence is the event as recorded');
  });

  it('the kernel recordings (releases on delete, the last slave leaving, balance-alb): never this finding', () => {
    for (const name of ['kernel-a-bond-udev-kprobe.ndjson', 'kernel-b-bond-stock-kfunc.ndjson', 'kernel-e-alb-kprobe.ndjson', 'kernel-e-alb-syscalls.ndjson']) {
      const t = recording(name);
      const r = explainTraces([{ file: name, header: t.header, events: t.events }]);
      assert.ok(!r.findings.some((f) => f.id === 'released-slave-mac' || f.id === 'duplicate-mac'), `${name}: ${ids(r).join(', ')}`);
    }
  });
});

describe('explain: a bridge following its ports is not also a flapping MAC', () => {
  /** br0 follows the lowest MAC of its ports while two container veths come and go, ten times in 20 s. */
  function churn(): { header: TraceHeader; events: TraceEvent[] } {
    resetSeq();
    const snap = [
      lnk(2, 'br0', { kind: 'bridge', addr: '02:00:00:00:00:10' }),
      lnk(3, 'veth-a', { kind: 'veth', master: 'br0', addr: '02:00:00:00:00:10' }),
      lnk(4, 'veth-b', { kind: 'veth', addr: '02:00:00:00:00:05' }),
    ];
    const dockerd = actor('dockerd', 812, { service: 'dockerd', unit: 'docker.service' });
    const events: TraceEvent[] = [];
    let mac = '02:00:00:00:00:10';
    for (let i = 0; i < 10; i++) {
      const join = i % 2 === 0;
      const next = join ? '02:00:00:00:00:05' : '02:00:00:00:00:10';
      events.push(
        change(
          i * 2_000_000,
          'veth-b',
          join ? 'enslave' : 'release',
          join ? null : 'br0',
          join ? 'br0' : null,
          dockerd,
          { path: [join ? 'br_add_if' : 'br_del_if'] },
          { ifindex: 4 },
        ),
      );
      events.push(
        change(
          i * 2_000_000 + 10,
          'br0',
          'mac',
          mac,
          next,
          dockerd,
          { path: [join ? 'br_add_if' : 'br_del_if', 'br_stp_recalculate_bridge_id'], note: `bridge br0 follows its lowest port MAC` },
          { ifindex: 2 },
        ),
      );
      mac = next;
    }
    return { header: header({}, snap), events };
  }

  it('ten moves in 20 s: bridge-mac-moved only', () => {
    const t = churn();
    const r = explainTraces([{ file: 'churn.trace', ...t }]);
    assert.deepEqual(ids(r), ['warning bridge-mac-moved']);
    assert.equal(only(r, 'bridge-mac-moved').title, 'br0: bridge MAC moved with its ports (10 times)');
  });

  it('the same bridge set by hand back and forth is still flapping: only explained changes are left out', () => {
    const t = churn();
    const hand = t.events.map((e) =>
      e.type === 'change' && e.kind === 'mac' ? { ...e, actor: IP, via: { kstack: [], path: ['do_setlink', 'dev_set_mac_address_user'] } } : e,
    );
    const r = explainTraces([{ file: 'hand.trace', header: t.header, events: hand }]);
    assert.ok(ids(r).includes('warning mac-flapping'), ids(r).join(', '));
    assert.ok(!ids(r).includes('warning bridge-mac-moved'), 'set by hand is not a move with a port');
  });

  it('the committed bridge recordings: the bridge moved, nothing flapped', () => {
    for (const name of [
      'kernel-c-bridge-kprobe.ndjson',
      'kernel-c-bridge-kfunc.ndjson',
      'kernel-c-bridge-syscalls.ndjson',
      'local-bridge-mac-follows-port.ifblame',
    ]) {
      const t = recording(name);
      const r = explainTraces([{ file: name, header: t.header, events: t.events }]);
      assert.ok(
        r.findings.some((f) => f.id === 'bridge-mac-moved'),
        `${name}: ${ids(r).join(', ')}`,
      );
      assert.ok(!r.findings.some((f) => f.id === 'mac-flapping'), `${name}: ${ids(r).join(', ')}`);
    }
  });
});

describe('explain: one finding from several files of one host and time span', () => {
  /** The recording cut in two at `at` (index into the events), as a rotating recorder writes it: the second header's snapshot is the state at the cut. */
  function rotate(name: string, at: number): { file: string; header: TraceHeader; events: TraceEvent[] }[] {
    const t = recording(name);
    const st = new ReplayState(t.header.snapshot);
    for (const e of t.events.slice(0, at)) st.apply(e);
    const snapshot: LinkState[] = st.table
      .all()
      .filter((s) => !s.deleted)
      .map((s) => ({
        ifindex: s.ifindex,
        ifname: s.name,
        flags: s.flags,
        master: s.master ?? null,
        ...(s.addr !== undefined ? { addr: s.addr } : {}),
        ...(s.permAddr !== undefined ? { permAddr: s.permAddr } : {}),
        ...(s.aat !== undefined ? { addrAssignType: s.aat } : {}),
        ...(s.kind !== undefined ? { kind: s.kind } : {}),
        ...(s.promiscuity !== undefined ? { promiscuity: s.promiscuity } : {}),
      }));
    const second = t.events[at]!;
    return [
      { file: `${name}.1`, header: t.header, events: t.events.slice(0, at) },
      { file: `${name}.2`, header: { ...t.header, createdAt: new Date(second.ts / 1000).toISOString(), snapshot }, events: t.events.slice(at) },
    ];
  }

  it('rotated files of the bridge recording: the bridge moved once, with the moves of both files as evidence', () => {
    const name = 'kernel-c-bridge-kprobe.ndjson';
    const whole = explainTraces([{ file: name, ...recording(name) }]);
    const moves = only(whole, 'bridge-mac-moved');
    const events = recording(name).events;
    const secondMove = events.findIndex(
      (e, i) =>
        e.type === 'change' &&
        e.kind === 'mac' &&
        e.iface === 'brauto0' &&
        events.slice(0, i).some((x) => x.type === 'change' && x.kind === 'mac' && x.iface === 'brauto0'),
    );
    const parts = rotate(name, secondMove);
    const split = explainTraces(parts);
    const f = only(split, 'bridge-mac-moved');
    assert.deepEqual(new Set(f.evidence.map((e) => e.file)), new Set([`${name}.1`, `${name}.2`]), 'evidence from both files');
    assert.deepEqual(
      f.evidence.map((e) => (e.event as Change).after),
      moves.evidence.map((e) => (e.event as Change).after),
      'the same moves, in order',
    );
    assert.match(f.detail, /Seen in 2 files of ifblame-kt from one time span/);
    assert.equal(f.title, moves.title, 'the moves of both files counted');
    // two copies of one file (a capture and a recording of one incident): the same count, every file:line listed
    const copies = explainTraces([
      { file: 'capture', ...recording(name) },
      { file: 'recording', ...recording(name) },
    ]);
    const c = only(copies, 'bridge-mac-moved');
    assert.equal(c.title, moves.title);
    assert.equal(c.evidence.length, 2 * moves.evidence.length);
    assert.equal(split.findings.length, whole.findings.length, `${ids(split).join(', ')} vs ${ids(whole).join(', ')}`);
  });

  it('a capture and a recording of one incident: udev-bond-mac once, its evidence from both; a day later or another host: told apart', async (t) => {
    const name = 'kernel-a-bond-udev-kprobe.ndjson';
    const dir = tempDir(t);
    const text = readFileSync(join(REPO, 'recordings', name), 'utf8');
    const capture = join(dir, 'capture.ndjson');
    const record = join(dir, 'record.ifblame');
    writeFileSync(capture, text);
    writeFileSync(record, text);
    const r = await runCli(['explain', capture, record, '--format', 'json']);
    assert.equal(r.code, 1, r.stderr);
    const rep = JSON.parse(r.stdout) as Report;
    const f = only(rep, 'udev-bond-mac');
    assert.deepEqual([...new Set(f.evidence.map((e) => e.file))].sort(), [capture, record].sort());
    assert.equal(rep.findings.filter((x) => x.id === 'udev-bond-mac').length, 1);
    const { header: h, events } = recording(name);
    const later = events.map((e) => ({ ...e, ts: e.ts + 86_400_000_000 }));
    const apart = explainTraces([
      { file: 'monday', header: h, events },
      { file: 'tuesday', header: { ...h, createdAt: new Date(Date.parse(h.createdAt) + 86_400_000).toISOString() }, events: later },
    ]);
    assert.equal(apart.findings.filter((x) => x.id === 'udev-bond-mac').length, 2, 'a day apart: two incidents');
    const hosts = explainTraces([
      { file: 'a', header: h, events },
      { file: 'b', header: { ...h, host: 'other' }, events },
    ]);
    assert.equal(hosts.findings.filter((x) => x.id === 'udev-bond-mac').length, 2, 'two hosts: two findings');
  });
});

describe("explain: why a bond holds udev's MAC at one time and its slave's at another (issue 14)", () => {
  it("the kernel recording: udev set bond0, the last slave left (RANDOM), re-enslaving made bond0 take the slave's MAC: one finding says why", () => {
    const name = 'kernel-a-bond-udev-kfunc.ndjson';
    const t = recording(name);
    const f = only(explainTraces([{ file: name, header: t.header, events: t.events }]), 'udev-bond-mac');
    assert.match(
      f.detail,
      /lost its last slave and the bonding driver gave it a random MAC \(addr_assign_type 1, RANDOM\); when duma0 was enslaved at \S+, bond0 took duma0's MAC (\S+)\./,
    );
    assert.match(f.detail, /That is why the two differ/);
    const notes = f.evidence.map((e) => ((e.event as Change | undefined)?.via?.note ?? '') as string);
    assert.ok(
      notes.some((n) => /took a new random MAC after its slave duma0 was released/.test(n)),
      'the random MAC is evidence',
    );
    assert.ok(
      notes.some((n) => /inherited the MAC of its slave duma0/.test(n)),
      'the inherited MAC is evidence',
    );
  });

  it('a bond created again and enslaved before udev acted: the creation is the reason; no later inherit, no sentence', () => {
    resetSeq();
    const snap = [lnk(3, 'eth0', { addr: '52:54:00:00:00:01', permAddr: '52:54:00:00:00:01' })];
    const ENSLAVE = { probe: 'bond_enslave', path: ['bonding_sysfs_store_option', 'bond_enslave'] };
    const INHERIT = {
      path: ['bond_enslave', 'bond_set_dev_addr', 'dev_addr_mod'],
      note: 'bond bond0 inherited the MAC of its slave eth0 (bond_enslave, bypassing dev_set_mac_address)',
    };
    const boot = [
      change(0, 'bond0', 'created', null, '9e:55:af:a7:71:a5', IP, {}, { ifindex: 5 }),
      change(50_000, 'bond0', 'mac', '9e:55:af:a7:71:a5', '22:92:00:f7:c2:9c', UDEV, { path: ['rtnl_setlink', 'dev_set_mac_address'] }, { ifindex: 5 }),
      change(500_000, 'eth0', 'enslave', null, 'bond0', IP, ENSLAVE, { ifindex: 3 }),
    ];
    const again = [
      change(60_000_000, 'bond0', 'deleted', '22:92:00:f7:c2:9c', null, IP, {}, { ifindex: 5 }),
      change(61_000_000, 'bond0', 'created', null, '0e:6a:7f:27:59:0c', IP, {}, { ifindex: 6 }),
      change(61_010_000, 'eth0', 'enslave', null, 'bond0', IP, ENSLAVE, { ifindex: 3 }),
      change(61_011_000, 'bond0', 'mac', '0e:6a:7f:27:59:0c', '52:54:00:00:00:01', IP, INHERIT, { ifindex: 6 }),
    ];
    const both = only(explainTraces([{ file: 'both.trace', header: header({}, snap), events: [...boot, ...again] }]), 'udev-bond-mac');
    assert.match(
      both.detail,
      /bond0 was created again at \S+ with a random MAC \(addr_assign_type 1, RANDOM\), and eth0 was enslaved before udev set one; when eth0 was enslaved at \S+, bond0 took eth0's MAC 52:54:00:00:00:01/,
    );
    resetSeq();
    const first = only(explainTraces([{ file: 'boot.trace', header: header({}, snap), events: boot }]), 'udev-bond-mac');
    assert.doesNotMatch(first.detail, /did not keep it/);
  });
});
