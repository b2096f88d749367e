// `ifblame explain`: findings on traces ifblame built from real captures — this machine's (test/fixtures/replay/
// local-a, local-b: two "hosts" sharing a hard-coded MAC) and the lab's real bonding/bridge kernel (through the
// correlator, see fixtures/replay/lab.ts) — and on small hand-made traces for what no capture shows yet.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { explainTraces, type Finding, type Report } from '../src/explain/index.js';
import { Finding as FindingSchema } from '../src/explain/types.js';
import { BOND_LINK_CONTENT } from '../src/explain/fixes.js';
import type { TraceEvent } from '../src/events.js';
import { actor, change, header, importLocal, IP, lnk, resetSeq, runCli, tempDir, UDEV, writeTrace } from './fixtures/replay/helpers.js';
import { labTrace } from './fixtures/replay/lab.js';

const ids = (r: Report) => r.findings.map((f) => `${f.severity} ${f.id}`);
const one = (r: Report, id: Finding['id']) => {
  const f = r.findings.filter((x) => x.id === id);
  assert.equal(f.length, 1, `one ${id}: ${JSON.stringify(ids(r))}`);
  return f[0]!;
};

function lab(scenario: string, host?: string) {
  const t = labTrace(scenario, host ? { host } : {});
  return { file: `lab-${scenario}.trace`, header: t.header, events: t.events };
}

describe('explain on real captures', () => {
  it("incident 1 (lab A2): udev set bond0's MAC before enslavement; the fix is the bonding .link file", () => {
    const r = explainTraces([lab('A2')]);
    assert.deepEqual(ids(r), ['error udev-bond-mac'], "nothing else: the slave sharing its bond's MAC is by design");
    const f = one(r, 'udev-bond-mac');
    assert.match(f.title, /^bond0: MAC set by systemd-udevd \(MACAddressPolicy=persistent\) before its slaves were enslaved$/);
    assert.match(f.detail, /0a:70:07:d1:dc:2f from \(udev-worker\)\[942\] of systemd-udevd/);
    assert.match(f.detail, /wrote it over its slave \(dum0\)/);
    assert.deepEqual(f.ifaces, ['bond0', 'dum0']);
    const ev = f.evidence.map((e) => e.event as TraceEvent & { type: 'change' });
    assert.equal(ev[0]!.iface, 'bond0');
    assert.equal(ev[0]!.actor?.comm, '(udev-worker)');
    assert.ok(
      ev[0]!.via.kstack.some((k) => k.startsWith('dev_set_mac_address')),
      'the decisive kernel stack is in the evidence',
    );
    assert.ok(ev.some((e) => e.iface === 'dum0' && e.kind === 'enslave'));
    assert.ok(ev.some((e) => e.iface === 'dum0' && e.kind === 'mac' && e.after === '0a:70:07:d1:dc:2f' && e.via.path.includes('bond_enslave')));
    assert.equal(f.fix?.file?.path, '/etc/systemd/network/98-net-bonding.link');
    assert.match(f.fix!.file!.content, /\[Match\]\nDriver=bonding\n\n\[Link\]\nMACAddressPolicy=none\n/);
    assert.match(f.fix!.summary, /98-net-bonding\.link/);
  });

  it('stock bond, bridges, plain ip and balance-alb failover (lab A, B, C): only the bridge that followed its ports', () => {
    assert.deepEqual(ids(explainTraces([lab('A')])), []);
    assert.deepEqual(ids(explainTraces([lab('C')])), [], 'alb swapping slave MACs and slaves getting their own back are not flapping');
    const b = explainTraces([lab('B')]);
    assert.deepEqual(ids(b), ['warning bridge-mac-moved']);
    const f = one(b, 'bridge-mac-moved');
    assert.match(f.title, /^brauto0: bridge MAC moved with its ports \(3 times\)$/);
    const afters = f.evidence.map((e) => (e.event as { after?: unknown }).after);
    assert.deepEqual(afters, ['02:00:00:00:00:20', '02:00:00:00:00:05', '02:00:00:00:00:20']);
    assert.deepEqual(f.fix?.commands, ['ip link set dev brauto0 address 02:00:00:00:00:20']);
  });

  it('two hosts cloned from one image (A2 twice): the udev bond MAC is on both, an error', () => {
    const r = explainTraces([lab('A2', 'web-1'), lab('A2', 'web-2')]);
    // (one capture under two names also shares its random MACs; real clones share what udev derives from machine-id)
    const f = r.findings.find((x) => x.id === 'duplicate-mac-hosts' && x.title.startsWith('0a:70:07:d1:dc:2f'));
    assert.ok(f, JSON.stringify(ids(r)));
    assert.equal(f.severity, 'error', 'udev gives it on every host: an error even though the bond is gone at the end');
    const dum = r.findings.find((x) => x.id === 'duplicate-mac-hosts' && x.title.startsWith('32:34:71:a6:f6:09'));
    assert.equal(dum?.severity, 'error', "dum0's udev-derived MAC is on both hosts too");
    assert.deepEqual(f.hosts, ['web-1', 'web-2']);
    assert.match(f.title, /^0a:70:07:d1:dc:2f is used on 2 hosts: bond0 on web-1, bond0 on web-2$/);
    assert.match(f.detail, /machine-id/);
    assert.match(f.fix!.summary, /machine-id/);
    assert.equal(f.fix?.file?.content, BOND_LINK_CONTENT);
    assert.equal(r.findings[0]!.severity, 'error');
  });

  it('this machine (local-a, local-b): bridge following ports, one MAC on two interfaces, a flapping MAC, and the hard-coded MAC on both hosts', async (t) => {
    const dir = tempDir(t);
    const a = await importLocal('local-a', dir);
    const b = await importLocal('local-b', dir);
    const single = await runCli(['explain', a, '--format', 'json']);
    assert.equal(single.code, 0, `warnings only: exit 0\n${single.stderr}`);
    const ra = JSON.parse(single.stdout) as Report;
    assert.deepEqual(ids(ra).sort(), ['info inferred-only', 'warning bridge-mac-moved', 'warning duplicate-mac', 'warning mac-flapping']);
    for (const f of ra.findings) FindingSchema.parse(f);
    const dup = one(ra, 'duplicate-mac');
    assert.match(dup.title, /^d3 and d4 both have 02:aa:bb:cc:dd:01 \(for a while\)$/);
    const flap = one(ra, 'mac-flapping');
    assert.match(flap.title, /^d5: MAC flapping \(6 changes\)$/);
    // evidence points at the very lines of the trace
    const lines = readFileSync(a, 'utf8').split('\n');
    for (const f of ra.findings) {
      for (const e of f.evidence) {
        if (e.line === undefined) continue;
        assert.equal(e.file, a);
        assert.deepEqual(JSON.parse(lines[e.line - 1]!), e.event, `${f.id}: ${a}:${e.line}`);
      }
    }
    const both = await runCli(['explain', a, b]);
    assert.equal(both.code, 1, 'an error finding: exit 1');
    assert.match(both.stdout, /^ERROR +02:aa:bb:cc:dd:01 is used on 2 hosts: d3 on host-a, d3 on host-b$/m);
    assert.match(both.stdout, /^ {4}evidence:\n {8}\S+local-a\.trace:\d+ +\d\d:\d\d:\d\d\.\d{3} +d3 mac \S+ -> 02:aa:bb:cc:dd:01 by ip\[\d+\]/m);
    assert.match(both.stdout, /^-- 1 error, 6 warnings, 2 notes$/m);
  });
});

describe('explain on hand-made traces', () => {
  it('a bonded team under a bridge whose lower devices are not promiscuous (tcpdump hides it)', () => {
    resetSeq();
    const snap = [
      lnk(2, 'br0', { kind: 'bridge', addr: '02:00:00:00:0b:00', promiscuity: 0 }),
      lnk(3, 'team0', { kind: 'team', master: 'br0', addr: '02:00:00:00:00:01', promiscuity: 1 }),
      lnk(4, 'eth1', { master: 'team0', addr: '02:00:00:00:00:01', permAddr: '02:00:00:00:00:01', promiscuity: 0 }),
      lnk(5, 'eth2', { master: 'team0', addr: '02:00:00:00:00:01', permAddr: '02:00:00:00:00:02', promiscuity: 0 }),
    ];
    const tcpdump = actor('tcpdump', 4242, { service: 'tcpdump' });
    const events = [change(1000, 'eth1', 'promisc', 0, 1, tcpdump, { probe: 'dev_set_promiscuity', path: ['packet_setsockopt', 'dev_set_promiscuity'] })];
    const r = explainTraces([{ file: 'team.trace', header: header({}, snap), events }]);
    const fs = r.findings.filter((f) => f.id === 'bridged-lower-not-promisc');
    assert.deepEqual(fs.map((f) => f.title).sort(), [
      'eth1: promiscuous only because of a packet capture, though team0 is a port of bridge br0',
      'eth2: not promiscuous, though team0 is a port of bridge br0',
    ]);
    assert.ok(fs.every((f) => f.severity === 'error'));
    assert.deepEqual(fs.find((f) => f.ifaces[0] === 'eth2')!.fix!.commands, ['ip link set dev eth2 promisc on']);
    // the same with the master propagating promiscuity to its lower devices: fine
    const ok = snap.map((l) => (l.master === 'team0' ? { ...l, promiscuity: 1 } : l));
    assert.deepEqual(ids(explainTraces([{ file: 'ok.trace', header: header({}, ok), events: [] }])), []);
  });

  it('a bond whose MAC a script set by hand belongs to none of its slaves; a bond preset before the trace', () => {
    resetSeq();
    const snap = [
      lnk(2, 'bond0', { kind: 'bond', addr: '02:00:00:00:00:11', addrAssignType: 2 }),
      lnk(3, 'eth0', { master: 'bond0', addr: '02:00:00:00:00:11', permAddr: '02:00:00:00:00:11' }),
      lnk(4, 'bond1', { kind: 'bond', addr: '0a:70:07:d1:dc:2f', addrAssignType: 3 }),
    ];
    const sh = actor('ifenslave-setup', 77, { service: 'ifenslave-setup' });
    const events = [
      change(0, 'bond0', 'mac', '02:00:00:00:00:11', '02:de:ad:be:ef:01', sh, { probe: 'dev_set_mac_address', path: ['rtnl_setlink', 'dev_set_mac_address'] }),
      change(10, 'eth0', 'mac', '02:00:00:00:00:11', '02:de:ad:be:ef:01', sh, {
        probe: 'dev_set_mac_address',
        path: ['bond_set_mac_address', 'dev_set_mac_address'],
      }),
      change(3_000_000, 'bond0', 'promisc', 0, 1, IP),
    ];
    const r = explainTraces([{ file: 'script.trace', header: header({}, snap), events }]);
    const f = one(r, 'bond-mac-foreign');
    assert.equal(f.severity, 'warning');
    assert.equal(f.title, 'bond0: bond MAC 02:de:ad:be:ef:01 belongs to none of its slaves (eth0)');
    assert.match(f.detail, /own addresses are 02:00:00:00:00:11, and still does/);
    const p = one(r, 'bond-mac-preset');
    assert.match(p.title, /^bond1: MAC already set explicitly when the trace started \(addr_assign_type 3\)$/);
    assert.equal(p.fix?.file?.path, '/etc/systemd/network/98-net-bonding.link');
  });

  it("a udev RUN rule setting the bond MAC is told apart from udev's own policy", () => {
    resetSeq();
    const fromRule = actor('ip', 501, {
      ppid: 500,
      pcomm: '(udev-worker)',
      chain: [
        { pid: 500, comm: '(udev-worker)' },
        { pid: 226, comm: 'systemd-udevd' },
      ],
      service: 'ip',
    });
    const events = [
      change(0, 'bond0', 'mac', 'ce:49:9d:df:70:7a', '02:00:00:00:99:99', fromRule, {
        probe: 'dev_set_mac_address',
        path: ['rtnl_setlink', 'dev_set_mac_address'],
      }),
    ];
    const r = explainTraces([{ file: 'rule.trace', header: header({}, [lnk(3, 'bond0', { kind: 'bond' })]), events }]);
    const f = one(r, 'udev-bond-mac');
    assert.equal(f.title, 'bond0: MAC set by ip, run from a udev rule');
    assert.equal(f.severity, 'error', 'the bond still has it');
    assert.match(f.fix!.summary, /udev RUN rule ran ip/);
    assert.equal(f.fix?.file, undefined);
    // and udev's policy on a bond that never got a slave in the trace is still an error while it holds the MAC
    const solo = explainTraces([
      {
        file: 'solo.trace',
        header: header({}, [lnk(3, 'bond0', { kind: 'bond' })]),
        events: [change(0, 'bond0', 'mac', 'ce:49:9d:df:70:7a', '0a:70:07:d1:dc:2f', UDEV)],
      },
    ]);
    assert.match(one(solo, 'udev-bond-mac').detail, /No slave joined during the trace/);
  });

  it('lost events, unreadable lines and dropped probes make the picture incomplete', async (t) => {
    const dir = tempDir(t);
    resetSeq();
    const h = header({ probes: { used: ['dev_set_mac_address'], dropped: [{ probe: 'bond_enslave', reason: 'bonding module not loaded' }] } });
    const path = writeTrace(join(dir, 'lossy.trace'), h, [
      change(0, 'eth0', 'mac', '02:00:00:00:00:01', '02:00:00:00:00:02', IP),
      { type: 'lost', seq: 100, ts: h.snapshot.length + 1_795_260_056_887_063, source: 'bpftrace', count: 7, detail: 'bpftrace perf buffer overflow' },
      'this line is garbage',
    ]);
    const r = await runCli(['explain', path, '--format', 'json']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`^ifblame: ${path}:4: not JSON: "this line is garbage": skipped$`, 'm'));
    const rep = JSON.parse(r.stdout) as Report;
    const lost = one(rep, 'lost-events');
    assert.equal(lost.severity, 'warning');
    assert.equal(lost.title, 'the picture is incomplete: 7 from bpftrace, 1 unreadable line in the file');
    assert.deepEqual(
      lost.evidence.map((e) => e.line),
      [3, 4],
    );
    assert.match(one(rep, 'probes-dropped').title, /bond_enslave/);
    assert.equal(rep.files[0]!.skipped, 1);
  });

  it('bad arguments and unreadable files: one line, exit 2', async (t) => {
    const dir = tempDir(t);
    for (const [args, re] of [
      [[], /explain needs at least one trace file/],
      [[join(dir, 'nope.trace')], /nope\.trace: no such file/],
      [['--format', 'yaml', join(dir, 'x')], /--format "yaml" is not an explain format/],
    ] as [string[], RegExp][]) {
      const r = await runCli(['explain', ...args]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, re);
      assert.equal(r.stderr.trim().split('\n').length, 1);
    }
  });
});
