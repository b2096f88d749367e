// The link snapshot: ip JSON and sysfs parsing on lab captures and bad input, a real snapshot inside a netns, and the
// `ifblame snapshot` command (trace file with no events, without root, other namespaces, hundreds of interfaces).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Report } from '../src/explain/index.js';
import { TraceHeader } from '../src/trace/format.js';
import { LinkState } from '../src/events.js';
import { parseIpLinkJson } from '../src/parse/ip-link-json.js';
import { mergeAssignTypes, parseAssignTypes, parseSysfsGrep } from '../src/parse/sysfs.js';
import { takeSnapshot } from '../src/sources/snapshot.js';
import { LAB as CAPTURES } from './lab.js';
import { createNetns, type Netns } from './netns.js';
import { CLI, readTraceLines, runCli } from './fixtures/replay/helpers.js';

const NOBODY = ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', '--'];

const read = (s: string, f: string): string => readFileSync(join(CAPTURES, s, f), 'utf8');

describe('parseIpLinkJson: lab link-before/after.json', () => {
  for (const s of ['A', 'A2', 'B', 'C']) {
    for (const f of ['link-before.json', 'link-after.json']) {
      it(`${s}/${f}: every entry becomes a valid LinkState`, () => {
        const raw = JSON.parse(read(s, f)) as unknown[];
        const { links, errors } = parseIpLinkJson(read(s, f));
        assert.deepEqual(errors, []);
        assert.equal(links.length, raw.length);
        for (const l of links) LinkState.parse(l);
      });
    }
  }

  it('B/link-after.json: kinds, masters, promiscuity; sysfs addr_assign_type merged in', () => {
    const { links } = parseIpLinkJson(read('B', 'link-after.json'));
    const aat = parseAssignTypes(read('B', 'addr_assign_type-after.txt'));
    assert.deepEqual(aat.errors, []);
    const merged = mergeAssignTypes(links, aat.rows);
    const by = new Map(merged.map((l) => [l.ifname, l]));
    assert.deepEqual(
      { ...by.get('db0'), flags: undefined },
      { ifindex: 9, ifname: 'db0', flags: undefined, master: 'br0', addr: '02:00:00:00:00:10', linkType: 'ether', kind: 'dummy', slaveKind: 'bridge', promiscuity: 1, mtu: 1500, addrAssignType: 3 },
    );
    assert.equal(by.get('br0')?.kind, 'bridge');
    assert.equal(by.get('br0')?.master, null);
    assert.equal(by.get('lo')?.linkType, 'loopback');
    assert.equal(by.get('lo')?.addrAssignType, 0);
    assert.equal(by.get('lo')?.kind, undefined);
    assert.deepEqual(merged.map((l) => l.ifname).sort(), ['br0', 'brauto0', 'da1', 'da2', 'db0', 'lo', 'vb0', 'vb0p']);
  });
});

describe('parseIpLinkJson: odd and bad input, never throws', () => {
  it('text that is not a JSON array is one error at line 1', () => {
    for (const t of ['', 'not json', '{"ifindex":1}', 'null', '42', '[1,2', '\u0000']) {
      const r = parseIpLinkJson(t);
      assert.equal(r.links.length, 0);
      assert.equal(r.errors.length, 1, t);
      assert.equal(r.errors[0]?.line, 1);
    }
  });

  it('bad entries are errors numbered by position; good ones are kept', () => {
    const r = parseIpLinkJson([
      { ifindex: 1, ifname: 'lo', flags: ['LOOPBACK'], link_type: 'loopback', address: '00:00:00:00:00:00' },
      { ifname: 'x' },
      'junk',
      { ifindex: -3, ifname: 'y' },
      { ifindex: 4, ifname: 'ok4', promiscuity: 'many' },
      { ifindex: 5, ifname: 'ok5' },
    ]);
    assert.deepEqual(r.links.map((l) => l.ifname), ['lo', 'ok5']);
    assert.deepEqual(r.errors.map((e) => e.line), [2, 3, 4, 5]);
    assert.ok(r.errors.every((e) => e.error.startsWith('bad link entry')));
    assert.deepEqual(r.links[1], { ifindex: 5, ifname: 'ok5', flags: [], master: null });
  });

  it('IPoIB 20-byte address and permaddr kept whole and lowercased; tunnel IP addresses dropped', () => {
    const addr = '80:00:02:08:FE:80:00:00:00:00:00:00:00:02:C9:03:00:0A:BC:01';
    const r = parseIpLinkJson([
      { ifindex: 3, ifname: 'ib0', link_type: 'infiniband', address: addr, permaddr: addr.replace(/01$/, '02'), master: 'bond0', linkinfo: { info_kind: 'ipoib', info_slave_kind: 'bond' }, promiscuity: 0, flags: ['SLAVE'] },
      { ifindex: 4, ifname: 'ipip0', link_type: 'ipip', address: '0.0.0.0', flags: [] },
    ]);
    assert.deepEqual(r.errors, []);
    const [ib, ipip] = r.links;
    assert.equal(ib?.addr, addr.toLowerCase());
    assert.equal(ib?.addr?.split(':').length, 20);
    assert.equal(ib?.permAddr, addr.toLowerCase().replace(/01$/, '02'));
    assert.deepEqual([ib?.kind, ib?.master], ['ipoib', 'bond0']);
    assert.equal(ipip?.addr, undefined);
    for (const l of r.links) LinkState.parse(l);
  });

  it('sysfs listing: lab format and ours (with ifindex); bad rows are errors', () => {
    const r = parseAssignTypes('lo 0 00:00:00:00:00:00 1\nbr0 3 BE:1D:95:27:A0:98\nweird x 00 2\n\nnoaat  aa:bb:cc:dd:ee:ff 7\n');
    assert.deepEqual(r.rows, [
      { ifname: 'lo', addrAssignType: 0, address: '00:00:00:00:00:00', ifindex: 1 },
      { ifname: 'br0', addrAssignType: 3, address: 'be:1d:95:27:a0:98' },
      { ifname: 'noaat', address: 'aa:bb:cc:dd:ee:ff', ifindex: 7 },
    ]);
    assert.deepEqual(r.errors.map((e) => e.line), [3]);
  });

  it('port kind and bond mode from linkinfo (B/link-after.json: bridge ports; a bond as iproute2 prints it)', () => {
    const { links } = parseIpLinkJson(read('B', 'link-after.json'));
    assert.deepEqual(links.filter((l) => l.slaveKind).map((l) => `${l.ifname}>${l.master}:${l.slaveKind}`).sort(), ['da1>brauto0:bridge', 'da2>brauto0:bridge', 'db0>br0:bridge']);
    assert.ok(links.every((l) => l.bondMode === undefined));
    const r = parseIpLinkJson([
      { ifindex: 7, ifname: 'bond7', linkinfo: { info_kind: 'bond', info_data: { mode: '802.3ad', miimon: 100 } } },
      { ifindex: 8, ifname: 'mv0', linkinfo: { info_kind: 'macvlan', info_data: { mode: 'bridge' } } },
      { ifindex: 9, ifname: 'p0', master: 'bond7', linkinfo: { info_slave_kind: 'bond', info_slave_data: { state: 'BACKUP' } } },
    ]);
    assert.deepEqual(r.links.map((l) => [l.ifname, l.bondMode, l.slaveKind]), [['bond7', '802.3ad', undefined], ['mv0', undefined, undefined], ['p0', undefined, 'bond']]);
    for (const l of r.links) LinkState.parse(l);
  });

  it('sysfs grep output: attributes per interface in any order; bad lines are errors', () => {
    const r = parseSysfsGrep([
      '/sys/class/net/eth0/addr_assign_type:0',
      '/sys/class/net/veth-x.1/addr_assign_type:3',
      '/sys/class/net/eth0/ifindex:2',
      '/sys/class/net/veth-x.1/ifindex:17',
      '/sys/class/net/lo/ifindex:1',
      '/sys/class/net/odd/addr_assign_type:banana',
      'grep: something else',
      '/sys/class/net/eth0/mtu:1500',
      '',
    ].join('\n'));
    assert.deepEqual(r.rows, [
      { ifname: 'eth0', addrAssignType: 0, ifindex: 2 },
      { ifname: 'veth-x.1', addrAssignType: 3, ifindex: 17 },
      { ifname: 'lo', ifindex: 1 },
      { ifname: 'odd' },
    ]);
    assert.deepEqual(r.errors.map((e) => e.line), [6, 7]);
  });

  it('merge matches by ifindex and ignores a row whose name changed in between', () => {
    const links = [{ ifindex: 2, ifname: 'a', flags: [] }, { ifindex: 3, ifname: 'b', flags: [] }];
    const merged = mergeAssignTypes(links, [{ ifname: 'a', ifindex: 2, addrAssignType: 3 }, { ifname: 'renamed', ifindex: 3, addrAssignType: 1 }]);
    assert.deepEqual(merged.map((l) => l.addrAssignType), [3, undefined]);
  });
});

describe('takeSnapshot: real ip and sysfs in a network namespace', { timeout: 30_000 }, () => {
  let ns: Netns;
  before(async () => { ns = await createNetns('ifb'); });
  after(async () => { await ns?.remove(); });

  it('sees set MAC (aat 3), random peer (aat 1), loopback (aat 0), bridge port master and promiscuity', async () => {
    await ns.ip('link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v0p');
    await ns.ip('link', 'set', 'dev', 'v0', 'address', '02:11:22:33:44:55');
    await ns.ip('link', 'add', 'br0', 'type', 'bridge');
    await ns.ip('link', 'set', 'v0', 'master', 'br0');
    const before = Date.now() * 1000;
    const snap = await takeSnapshot({ netns: ns.name });
    assert.deepEqual(snap.errors, []);
    assert.ok(snap.takenAt >= before - 1e6 && snap.takenAt <= Date.now() * 1000);
    const by = new Map(snap.links.map((l) => [l.ifname, l]));
    assert.deepEqual([...by.keys()].sort(), ['br0', 'lo', 'v0', 'v0p'], 'only the namespace\'s links');
    for (const l of snap.links) LinkState.parse(l);
    const v0 = by.get('v0');
    assert.deepEqual(
      [v0?.addr, v0?.addrAssignType, v0?.master, v0?.kind, v0?.promiscuity, v0?.linkType],
      ['02:11:22:33:44:55', 3, 'br0', 'veth', 1, 'ether'],
    );
    assert.equal(by.get('v0p')?.addrAssignType, 1);
    assert.equal(by.get('lo')?.addrAssignType, 0);
    assert.equal(by.get('br0')?.kind, 'bridge');
    assert.deepEqual(await ns.pids(), []);
  });

  it('a missing namespace rejects with ip\'s message (a source failure, not bad input)', async () => {
    await assert.rejects(takeSnapshot({ netns: 'ifb-no-such-netns-0000', timeoutMs: 5000 }), /ip -d -j link show failed/);
  });
});

describe('ifblame snapshot: the command', { timeout: 180_000 }, () => {
  let ns: Netns;
  let dir: string;
  const inNs = (argv: string[], opts: { asNobody?: boolean } = {}) =>
    runCli([], { argv0: ['ip', 'netns', 'exec', ns.name, ...(opts.asNobody ? NOBODY : []), process.execPath, CLI, ...argv], cwd: '/tmp' });
  before(async () => {
    ns = await createNetns('ifbsnap');
    dir = mkdtempSync(join(tmpdir(), 'ifb-snap-'));
    chmodSync(dir, 0o777);
    await ns.ip('link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v0p');
    await ns.ip('link', 'set', 'dev', 'v0', 'address', '02:11:22:33:44:55');
    await ns.ip('link', 'add', 'br0', 'type', 'bridge');
    await ns.ip('link', 'set', 'v0', 'master', 'br0');
    await ns.ip('link', 'set', 'v0p', 'promisc', 'on');
  });
  after(async () => {
    await ns?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('inside a namespace: a trace file with a header and no events, every link with what ip and sysfs say; replay and explain read it', async () => {
    const f = join(dir, 'h1.ifblame');
    const r = await inNs(['snapshot', '-o', f, '--host', 'h1']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`^ifblame: snapshot of 4 interfaces on h1 written to ${f}\\nifblame: 1 file in \\d+ ms\\n$`));
    const { header, events } = readTraceLines(f);
    assert.deepEqual(events, []);
    const h = TraceHeader.parse(header);
    assert.equal(h.host, 'h1');
    assert.equal(h.bpftraceVersion, null);
    assert.deepEqual(h.probes, { used: [], dropped: [] });
    assert.match(h.tool ?? '', /^ifblame \S+ snapshot$/);
    const by = new Map(h.snapshot.map((l) => [l.ifname, l]));
    assert.deepEqual([...by.keys()].sort(), ['br0', 'lo', 'v0', 'v0p']);
    const v0 = by.get('v0')!;
    assert.deepEqual([v0.addr, v0.addrAssignType, v0.master, v0.slaveKind, v0.kind, v0.promiscuity], ['02:11:22:33:44:55', 3, 'br0', 'bridge', 'veth', 1]);
    assert.deepEqual([by.get('v0p')?.promiscuity, by.get('v0p')?.addrAssignType, by.get('v0p')?.flags.includes('PROMISC')], [1, 1, true]);
    assert.equal(by.get('br0')?.kind, 'bridge');
    assert.equal(by.get('lo')?.addrAssignType, 0);
    assert.ok(h.snapshot.every((l) => l.netns === undefined), 'the own namespace is not named');
    const rep = await runCli(['replay', f, '--format', 'ndjson']);
    assert.equal(rep.code, 0, rep.stderr);
    assert.equal(rep.stderr, '');
    const ex = await runCli(['explain', f, '--format', 'json']);
    assert.equal(ex.stderr, '');
    assert.equal(ex.code, 0, ex.stdout);
    assert.deepEqual((JSON.parse(ex.stdout) as Report).files.map((x) => [x.host, x.events]), [['h1', 0]]);
  });

  it('standard output by default (explain reads it from "-"); --netns NAME from outside gives the same links, marked with the namespace', async () => {
    const out = await inNs(['snapshot', '--host', 'h1']);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stderr, /written to standard output/);
    const inside = TraceHeader.parse(JSON.parse(out.stdout.split('\n')[0]!));
    const ex = await runCli(['explain', '-'], { input: out.stdout });
    assert.equal(ex.code, 0, ex.stderr);
    const f = join(dir, 'outside.ifblame');
    const r = await runCli(['snapshot', '--netns', ns.name, '-o', f, '--host', 'h1']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`snapshot of 4 interfaces on h1 \\(netns ${ns.name}\\) written to`));
    const outside = TraceHeader.parse(readTraceLines(f).header);
    assert.ok(outside.snapshot.every((l) => l.netns === ns.name));
    assert.deepEqual(outside.snapshot.map(({ netns: _n, ...l }) => l), inside.snapshot);
  });

  it('without root: the own namespace in full, the same as root sees it; --netns refused (exit 3); --all-netns says which namespaces it lost', async () => {
    const asRoot = await inNs(['snapshot']);
    const asNobody = await inNs(['snapshot'], { asNobody: true });
    assert.equal(asNobody.code, 0, asNobody.stderr);
    const links = (s: string) => TraceHeader.parse(JSON.parse(s.split('\n')[0]!)).snapshot;
    assert.deepEqual(links(asNobody.stdout), links(asRoot.stdout), 'ip -d -j link and sysfs need no privilege');
    const refused = await inNs(['snapshot', '--netns', ns.name], { asNobody: true });
    assert.equal(refused.code, 3);
    assert.match(refused.stderr, /^ifblame: --netns \S+: entering a network namespace needs root/);
    const all = await inNs(['snapshot', '--all-netns', '-o', join(dir, 'all-nobody'), '--host', 'h9'], { asNobody: true });
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stderr, new RegExp(`^ifblame: not root: \\d+ named network namespaces? not read \\(entering one needs root\\): .*\\b${ns.name}\\b`, 'm'));
    assert.deepEqual(readdirSync(join(dir, 'all-nobody')), ['h9.ifblame']);
  });

  it('--all-netns as root: one file for the own namespace and one per named namespace', async () => {
    const out = join(dir, 'all-root');
    const r = await runCli(['snapshot', '--all-netns', '-o', out, '--host', 'h2']);
    assert.equal(r.code, 0, r.stderr);
    const files = readdirSync(out);
    assert.ok(files.includes('h2.ifblame'), files.join(' '));
    assert.ok(files.includes(`h2@netns-${ns.name}.ifblame`), files.join(' '));
    const mine = TraceHeader.parse(readTraceLines(join(out, `h2@netns-${ns.name}.ifblame`)).header);
    assert.deepEqual(mine.snapshot.map((l) => l.ifname).sort(), ['br0', 'lo', 'v0', 'v0p']);
  });

  it('bad usage: exit 2 with one line', async () => {
    for (const args of [['snapshot', 'file'], ['snapshot', '--all-netns'], ['snapshot', '--netns', 'a', '--netns', 'b'], ['snapshot', '--host', 'a b']]) {
      const r = await runCli(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
  });

  it('explain DIR reads every trace file under it, recursively, and skips other files', async () => {
    const top = join(dir, 'collected');
    mkdirSync(join(top, 'a'), { recursive: true });
    mkdirSync(join(top, 'b', 'deeper'), { recursive: true });
    await inNs(['snapshot', '-o', join(top, 'a', 'snap.ifblame'), '--host', 'ha']);
    await inNs(['snapshot', '-o', join(top, 'b', 'deeper', 'fetched-without-suffix'), '--host', 'hb']);
    writeFileSync(join(top, 'b', 'notes.txt'), 'not a trace\n');
    writeFileSync(join(top, '.hidden.ifblame'), 'junk\n');
    const r = await runCli(['explain', top, '--format', 'json']);
    assert.equal(r.stderr, '');
    const rep = JSON.parse(r.stdout) as Report;
    assert.deepEqual(rep.files.map((x) => [x.file, x.host]), [[join(top, 'a', 'snap.ifblame'), 'ha'], [join(top, 'b', 'deeper', 'fetched-without-suffix'), 'hb']]);
    // Both snapshots are of the same namespace: every MAC is on two "hosts".
    assert.ok(rep.findings.some((x) => x.title.startsWith('02:11:22:33:44:55 is used on 2 hosts')), JSON.stringify(rep.findings.map((x) => x.title)));
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    const e = await runCli(['explain', empty]);
    assert.equal(e.code, 2);
    assert.match(e.stderr, /^ifblame: no trace files under /);
  });

  it('hundreds of interfaces: well under a second', async (t) => {
    const big = await createNetns('ifbsnapbig');
    try {
      const pairs = 250;
      await big.exec(['sh', '-c', `for i in $(seq 1 ${pairs}); do echo "link add va$i type veth peer name vb$i"; done | ip -batch -`], { timeoutMs: 60_000 });
      const inside: number[] = [];
      const wall: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t0 = Date.now();
        const r = await runCli([], { argv0: ['ip', 'netns', 'exec', big.name, process.execPath, CLI, 'snapshot', '-o', join(dir, 'big.ifblame')] });
        wall.push(Date.now() - t0);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, new RegExp(`snapshot of ${pairs * 2 + 1} interfaces`));
        inside.push(Number(/in (\d+) ms/.exec(r.stderr)![1]));
      }
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      t.diagnostic(`${pairs * 2 + 1} interfaces: snapshot ${median(inside)} ms (median of ${inside.join(', ')}), whole command with node start ${median(wall)} ms (${wall.join(', ')})`);
      assert.ok(median(inside) < 800, `snapshot took ${inside.join(', ')} ms`);
      const h = TraceHeader.parse(readTraceLines(join(dir, 'big.ifblame')).header);
      assert.equal(h.snapshot.filter((l) => l.addrAssignType === 1 && l.kind === 'veth').length, pairs * 2, 'every veth with its sysfs assign type');
    } finally {
      await big.remove();
    }
  });
});
