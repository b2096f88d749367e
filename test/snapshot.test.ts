// The initial link snapshot: ip JSON parsing on lab captures and bad input, and a real snapshot inside a netns.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LinkState } from '../src/events.js';
import { parseIpLinkJson } from '../src/parse/ip-link-json.js';
import { mergeAssignTypes, parseAssignTypes } from '../src/parse/sysfs.js';
import { takeSnapshot } from '../src/sources/snapshot.js';
import { LAB as CAPTURES } from './lab.js';
import { createNetns, type Netns } from './netns.js';

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
      { ifindex: 9, ifname: 'db0', flags: undefined, master: 'br0', addr: '02:00:00:00:00:10', linkType: 'ether', kind: 'dummy', promiscuity: 1, mtu: 1500, addrAssignType: 3 },
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
