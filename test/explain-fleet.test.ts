// explain over the snapshots of a fleet (issue 15 item 2): three hand-made hosts (test/fixtures/explain/web-*.ifblame,
// header-only trace files as `ifblame snapshot` writes them). Findings per host and across hosts, each with a
// case where it must fire and one where it must not: a bond MAC set explicitly to none of its slaves', one MAC on
// several hosts, a hard-coded locally administered MAC copied between hosts, bridged bond lower devices without
// promiscuity; and the legitimate patterns that must stay quiet (VRRP virtual MACs, a VF under its synthetic NIC,
// VLANs of one parent, an active-backup bond's backup slave).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { LinkState } from '../src/events.js';
import { explainTraces, type Finding, type Report } from '../src/explain/index.js';
import { Finding as FindingSchema } from '../src/explain/types.js';
import type { TraceHeader } from '../src/trace/format.js';
import { REPO, runCli, tempDir } from './fixtures/replay/helpers.js';

const DIR = join(REPO, 'test/fixtures/explain');
const HOSTS = ['web-1', 'web-2', 'web-3'] as const;
const BOND_MAC = '0a:70:07:d1:dc:2f';

const fixture = (host: string): TraceHeader => JSON.parse(readFileSync(join(DIR, `${host}.ifblame`), 'utf8')) as TraceHeader;
const keys = (r: Report) => r.findings.map((f) => `${f.severity} ${f.id} ${f.hosts.join(',')} ${f.ifaces.join(',')}`).sort();
const of = (r: Report, id: Finding['id']) => r.findings.filter((f) => f.id === id);

/** The fleet, with `change` applied to the snapshot of some host. */
function fleet(change: Partial<Record<(typeof HOSTS)[number], (links: LinkState[]) => LinkState[]>> = {}): Report {
  return explainTraces(
    HOSTS.map((h) => {
      const header = fixture(h);
      return { file: `${h}.ifblame`, header: { ...header, snapshot: change[h]?.(header.snapshot) ?? header.snapshot }, events: [] };
    }),
  );
}
const edit = (name: string, over: Partial<LinkState>) => (links: LinkState[]) => links.map((l) => (l.ifname === name ? { ...l, ...over } : l));

describe('explain over the snapshots of three hosts', () => {
  it('`explain DIR`: per host and across hosts, exactly these; exit 1; every finding valid', async () => {
    const r = await runCli(['explain', DIR, '--format', 'json']);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr, '');
    const rep = JSON.parse(r.stdout) as Report;
    for (const f of rep.findings) FindingSchema.parse(f);
    assert.deepEqual(rep.files.map((f) => [f.host, f.events]), [['web-1', 0], ['web-2', 0], ['web-3', 0]]);
    assert.deepEqual(keys(rep), [
      'error bridged-lower-not-promisc web-1 eno2,bond0,br0',
      'error duplicate-mac-hosts web-2,web-3 eno3,eth1',
      'error hardcoded-mac-hosts web-1,web-2 bond0',
      'error hardcoded-mac-hosts web-2,web-3 mgmt0',
      'warning bond-mac-set web-1 bond0,eno1,eno2',
      'warning bond-mac-set web-2 bond0,eno1,eno2',
    ]);
    assert.deepEqual(rep.summary, { errors: 4, warnings: 2, infos: 0 });
  });

  it('a bond whose MAC is set (addr_assign_type 3) and none of its slaves\': the likely setters and how to catch one', () => {
    const r = fleet();
    const [f] = of(r, 'bond-mac-set').filter((x) => x.hosts[0] === 'web-1');
    assert.ok(f);
    assert.equal(f.title, `bond0: MAC ${BOND_MAC} set explicitly (addr_assign_type 3), belongs to none of its slaves (eno1, eno2)`);
    for (const setter of [/systemd-udevd with MACAddressPolicy=persistent/, /systemd-networkd sets MACAddress=/, /NetworkManager sets the connection's cloned-mac-address/, /ifupdown sets hwaddress/, /a script ran ip link set dev bond0 address/]) {
      assert.match(f.detail, setter);
    }
    assert.match(f.detail, /own addresses are 3c:ec:ef:10:00:01, 3c:ec:ef:10:00:02/);
    assert.match(f.fix!.summary, /ifblame capture --record bond0\.trace -- systemctl restart networking/);
    assert.match(f.fix!.summary, /boot recorder/);
    assert.ok(f.fix!.commands.includes('ifblame explain bond0.trace'));
    assert.deepEqual(f.evidence.map((e) => [e.file, e.line]), [['web-1.ifblame', undefined]]);
    // not: web-3's bond1 has its first slave's MAC (STOLEN); a bond MAC set to a RANDOM one is not "set"
    assert.ok(!of(r, 'bond-mac-set').some((x) => x.hosts.includes('web-3')));
    const random = fleet({ 'web-1': edit('bond0', { addrAssignType: 1 }) });
    assert.ok(!of(random, 'bond-mac-set').some((x) => x.hosts.includes('web-1')));
  });

  it('one MAC on several hosts (kept): a NIC MAC of a cloned VM on two hosts; not when only one host has it', () => {
    const [f] = of(fleet(), 'duplicate-mac-hosts');
    assert.equal(f!.title, '3c:ec:ef:20:00:03 is used on 2 hosts: eno3 on web-2, eth1 on web-3');
    assert.deepEqual(f!.evidence.map((e) => e.text), ['eno3 on web-2 has 3c:ec:ef:20:00:03 (snapshot)', 'eth1 on web-3 has 3c:ec:ef:20:00:03 (snapshot)']);
    assert.equal(of(fleet({ 'web-3': edit('eth1', { addr: '3c:ec:ef:30:00:01' }) }), 'duplicate-mac-hosts').length, 0);
  });

  it('a hard-coded locally administered MAC on several hosts; not on one host, not a universal one, not a random one', () => {
    const r = fleet();
    const mgmt = of(r, 'hardcoded-mac-hosts').find((f) => f.ifaces.includes('mgmt0'))!;
    assert.equal(mgmt.title, '02:00:0a:0a:0a:01 is used on 2 hosts: mgmt0 on web-2, mgmt0 on web-3');
    assert.match(mgmt.detail, /locally administered address \(bit 0x02 of its first byte/);
    assert.match(mgmt.detail, /hard-coded MAC in a configuration or script copied from host to host/);
    assert.ok(mgmt.fix!.commands.some((c) => c.includes('machine-id')), 'SET alone could be udev on clones: compare machine-ids');
    const bonds = of(r, 'hardcoded-mac-hosts').find((f) => f.ifaces.includes('bond0'))!;
    assert.equal(bonds.title, `${BOND_MAC} is used on 2 hosts: bond0 on web-1, bond0 on web-2`, 'the bond speaks for its host, not the ports carrying its MAC');
    assert.ok(!r.findings.some((f) => f.title.includes('02:00:0a:0a:0a:99')), 'mgmt1 is on web-1 only');
    // a RANDOM one on two hosts is a coincidence of another kind: the general finding
    const rnd = fleet({ 'web-2': edit('mgmt0', { addrAssignType: 1 }), 'web-3': edit('mgmt0', { addrAssignType: 1 }) });
    assert.ok(!of(rnd, 'hardcoded-mac-hosts').some((f) => f.ifaces.includes('mgmt0')));
    assert.ok(of(rnd, 'duplicate-mac-hosts').some((f) => f.ifaces.includes('mgmt0')));
  });

  it('bridged bond lower devices without promiscuity, on snapshots (the count): by bond mode', () => {
    const [f, ...more] = of(fleet(), 'bridged-lower-not-promisc');
    assert.equal(more.length, 0, 'web-2 is active-backup: its backup slave eno2 needs none');
    assert.equal(f!.title, 'eno2: not promiscuous, though bond0 is a port of bridge br0');
    assert.deepEqual(f!.evidence.map((e) => e.text), ['eno2 (port of bond0, port of br0) has promiscuity 0 in the snapshot']);
    // active-backup with no promiscuous slave at all: the active one is missing it too
    const none = fleet({ 'web-2': edit('eno1', { promiscuity: 0 }) });
    assert.deepEqual(of(none, 'bridged-lower-not-promisc').filter((x) => x.hosts[0] === 'web-2').map((x) => x.ifaces[0]).sort(), ['eno1', 'eno2']);
    // 802.3ad with both promiscuous: fine
    assert.equal(of(fleet({ 'web-1': edit('eno2', { promiscuity: 1 }) }), 'bridged-lower-not-promisc').length, 0);
    // the bond's kind known only from its ports (IFLA_INFO_SLAVE_KIND): still found
    const portsOnly = fleet({ 'web-1': (ls) => ls.map((l) => (l.ifname === 'bond0' ? (({ kind: _k, ...rest }) => rest)(l) : l)).map((l) => (l.ifname === 'bond0' ? { ...l, ifname: 'uplink' } : l.master === 'bond0' ? { ...l, master: 'uplink' } : l)) });
    assert.deepEqual(of(portsOnly, 'bridged-lower-not-promisc').map((x) => x.ifaces.join(',')), ['eno2,uplink,br0']);
  });
});

describe('explain over several snapshots of one host', () => {
  it('taken twice a few seconds apart: each finding once, with both files as evidence; a named namespace of the host: its own findings', () => {
    const h = fixture('web-1');
    const later = { ...h, createdAt: new Date(Date.parse(h.createdAt) + 10_000).toISOString() };
    const blue = { ...h, snapshot: h.snapshot.map((l) => ({ ...l, netns: 'blue' })) };
    const r = explainTraces([
      { file: 'web-1.ifblame', header: h, events: [] },
      { file: 'web-1-again.ifblame', header: later, events: [] },
      { file: 'web-1@netns-blue.ifblame', header: blue, events: [] },
    ]);
    const set = of(r, 'bond-mac-set');
    assert.equal(set.length, 2, keys(r).join('\n'));
    const twice = set.find((f) => f.evidence.length === 2)!;
    assert.deepEqual(twice.evidence.map((e) => e.file), ['web-1.ifblame', 'web-1-again.ifblame']);
    assert.match(twice.detail, /Seen in 2 files of web-1 from one time span/);
    assert.deepEqual(set.find((f) => f !== twice)!.evidence.map((e) => e.file), ['web-1@netns-blue.ifblame']);
    assert.equal(of(r, 'bridged-lower-not-promisc').length, 2);
    assert.equal(of(r, 'duplicate-mac-hosts').length + of(r, 'hardcoded-mac-hosts').length, 0, 'one host, however many files');
  });
});

describe('explain over the snapshots of three hosts: legitimate patterns stay quiet', () => {
  it('VRRP virtual MACs (IPv4 00:00:5e:00:01:xx, IPv6 00:00:5e:00:02:xx) on several hosts and on two VLANs of one host', () => {
    const r = fleet();
    assert.ok(!r.findings.some((f) => /00:00:5e/.test(f.title) || f.ifaces.some((i) => i.startsWith('vrrp'))), keys(r).join('\n'));
    // the same address outside the VRRP range is a finding: the exclusion is that range only
    const other = fleet({ 'web-1': edit('vrrp.51', { addr: '00:00:5e:00:03:33' }), 'web-2': edit('vrrp.51', { addr: '00:00:5e:00:03:33' }) });
    assert.ok(of(other, 'duplicate-mac-hosts').some((f) => f.title.startsWith('00:00:5e:00:03:33')));
  });

  it('a VF (mlx5_core) enslaved to its synthetic hv_netvsc NIC, both with one MAC (Azure accelerated networking)', () => {
    const r = fleet();
    assert.ok(!r.findings.some((f) => f.ifaces.includes('enP30832s1') || (f.hosts.includes('web-3') && f.ifaces.includes('eth0'))), keys(r).join('\n'));
    // the same two without the enslavement are two interfaces with one MAC
    const loose = fleet({ 'web-3': edit('enP30832s1', { master: null, flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'] }) });
    assert.deepEqual(of(loose, 'duplicate-mac').map((f) => f.ifaces), [['enP30832s1', 'eth0']]);
  });

  it('VLANs of one parent share its MAC by design', () => {
    assert.ok(!fleet().findings.some((f) => f.ifaces.some((i) => i.startsWith('eno3.'))));
  });

  it('one host alone with warnings only: exit 0; names from the file reach the terminal escaped, JSON keeps them', async (t) => {
    const dir = tempDir(t);
    const h = fixture('web-2');
    const evil = 'bond\u001b[2J0';
    const snapshot = h.snapshot.map((l) => (l.ifname === 'bond0' ? { ...l, ifname: evil } : l.master === 'bond0' ? { ...l, master: evil } : l));
    const path = join(dir, 'web-2.ifblame');
    writeFileSync(path, JSON.stringify({ ...h, snapshot }) + '\n');
    const text = await runCli(['explain', path]);
    assert.equal(text.code, 0, text.stderr);
    assert.ok(!text.stdout.includes('\u001b'), 'no raw ESC on the terminal');
    assert.match(text.stdout, /^WARNING bond\\x1b\[2J0: MAC 0a:70:07:d1:dc:2f set explicitly/m);
    const json = await runCli(['explain', path, '--format', 'json']);
    const rep = JSON.parse(json.stdout) as Report;
    assert.equal(of(rep, 'bond-mac-set')[0]!.ifaces[0], evil);
  });
});
