// The TUI view-model without a terminal: window bounds, filters, selection, pause, rates, highlights, detail and status text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TuiModel } from '../src/sinks/tui/model.js';
import { findHighlights } from '../src/sinks/tui/highlights.js';
import { parseFilter } from '../src/sinks/tui/filter.js';
import { detailLines, idleLines, rawText } from '../src/sinks/tui/detail.js';
import { humanBytes } from '../src/format/values.js';
import { statusSegs } from '../src/sinks/tui/status.js';
import { sparkText, sparkLines } from '../src/sinks/tui/spark.js';
import { changeSegs } from '../src/sinks/tui/format.js';
import { escapeTags, fitText, plainSegs, renderSegs } from '../src/sinks/tui/text.js';
import { Ring } from '../src/sinks/tui/ring.js';
import { fixesFor } from '../src/sinks/tui/fixes.js';
import type { IfaceState } from '../src/feed/feed.js';
import { change, header, iface, link, probe } from './fixtures/tui/fake-feed.js';

function model(opts: { states?: IfaceState[]; maxChanges?: number; maxRaw?: number; mode?: 'live' | 'replay' } = {}) {
  let now = 1_000_000;
  const states = opts.states ?? [];
  const m = new TuiModel({
    header: header(),
    mode: opts.mode ?? 'live',
    states: () => states,
    now: () => now,
    ...(opts.maxChanges ? { maxChanges: opts.maxChanges } : {}),
    ...(opts.maxRaw ? { maxRaw: opts.maxRaw } : {}),
  });
  return { m, states, advance: (ms: number) => (now += ms) };
}

test('changes are shown newest first and counted by type', () => {
  const { m } = model();
  const a = change({ iface: 'a' });
  const b = change({ iface: 'b' });
  m.ingest(a);
  m.ingest(probe());
  m.ingest(link());
  m.ingest(b);
  m.ingest({ type: 'lost', ts: 1, source: 'bpftrace', count: 7 });
  assert.deepEqual(m.visibleChanges(), [b, a]);
  assert.deepEqual(m.counts, { probe: 1, link: 1, change: 2, lost: 1, note: 0 });
  assert.equal(m.lostEvents, 7);
  assert.equal(m.selectedChange(), b);
});

test('the window is bounded: old changes and raw events fall out, counts keep going', () => {
  const { m } = model({ maxChanges: 100, maxRaw: 50 });
  for (let i = 0; i < 1000; i++) {
    m.ingest(probe());
    m.ingest(change({ iface: `if${i}` }));
  }
  assert.equal(m.changes.size, 100);
  assert.equal(m.changes.evicted, 900);
  assert.equal(m.visibleChanges().length, 100);
  assert.equal(m.visibleChanges()[0]!.iface, 'if999');
  assert.equal(m.rawWindowSize, 50);
  assert.equal(m.counts.change, 1000);
  assert.equal(m.counts.probe, 1000);
});

test('raw events behind a change are looked up by seq; ones out of the window point to the trace file', () => {
  const { m } = model({ maxRaw: 2 });
  const p1 = probe({ kstack: ['dev_set_mac_address+1', 'do_setlink+300'] });
  const l1 = link();
  const l2 = link();
  const l3 = link();
  [p1, l1, l2, l3].forEach((e) => m.ingest(e));
  const c = change({
    refs: [p1.seq!, l3.seq!],
    via: { probe: 'dev_set_mac_address', kstack: ['dev_set_mac_address+1', 'do_setlink+300'], path: ['rtnl_setlink', 'do_setlink'], note: 'set by hand' },
    evidence: 'observed',
  });
  m.ingest(c);
  assert.equal(m.rawBySeq(p1.seq!), undefined);
  assert.equal(m.rawBySeq(l3.seq!), l3);
  const text = detailLines(c, (s) => m.rawBySeq(s)).join('\n');
  assert.match(text, /ip\[4711\]/);
  assert.match(text, /bash\[100\] < systemd\[1\]/);
  assert.match(text, /session-1\.scope/);
  assert.match(text, /rtnl_setlink > do_setlink/);
  assert.match(text, /dev_set_mac_address\+1/);
  assert.match(text, /set by hand/);
  assert.match(text, new RegExp(`#${p1.seq} \\(no longer in the window; it is in the trace file\\)`));
  assert.match(text, new RegExp(`#${l3.seq} link new veth0 addr 02:00:00:00:00:02`));
});

test('detail says when evidence is only requested or inferred, and names kernel threads', () => {
  const inferred = change({ actor: null, evidence: 'inferred' });
  assert.match(detailLines(inferred, () => undefined).join('\n'), /inferred from netlink only/);
  const kw = change({ actor: { pid: 90, comm: 'kworker/0:1', chain: [], kernel: true }, evidence: 'observed' });
  const text = detailLines(kw, () => undefined).join('\n');
  assert.match(text, /kworker\/0:1 \(kernel\)/);
  assert.match(text, /a kernel thread/);
});

test('a filter matches the interface, or the process, its service and parents; prefixes pick one', () => {
  const { m } = model();
  const udev = change({
    iface: 'bond0',
    actor: { pid: 9, comm: '(udev-worker)', chain: [{ pid: 8, comm: 'systemd-udevd' }], service: 'systemd-udevd', kernel: false },
  });
  const ip = change({ iface: 'eth0' });
  const ipOnBond = change({ iface: 'bond0' });
  [udev, ip, ipOnBond].forEach((c) => m.ingest(c));
  m.setFilter('bond0');
  assert.deepEqual(m.visibleChanges(), [ipOnBond, udev]);
  m.setFilter('udevd');
  assert.deepEqual(m.visibleChanges(), [udev]);
  m.setFilter('comm:ip');
  assert.deepEqual(m.visibleChanges(), [ipOnBond, ip]);
  m.setFilter('if:ip');
  assert.deepEqual(m.visibleChanges(), []);
  m.setFilter('  ');
  assert.equal(m.filter, null);
  assert.equal(m.visibleChanges().length, 3);
  m.setFilter('comm:udev');
  assert.deepEqual(m.visibleChanges(), [udev], 'process names match anywhere');
  const veth = change({ iface: 'veth0' });
  m.ingest(veth);
  m.setFilter('if:eth');
  assert.deepEqual(m.visibleChanges(), [ip], 'interface names match by prefix: eth is not veth0');
  m.setFilter('if:veth');
  assert.deepEqual(m.visibleChanges(), [veth]);
  assert.deepEqual(parseFilter('comm:'), null);
  assert.equal(parseFilter('IF:Eth0')?.needle, 'eth0');
});

test('the interface table follows the filter: by name, master, or last actor', () => {
  const states = [
    iface('eth0', { master: 'bond0' }),
    iface('eth1', { lastChange: { ts: 5, kind: 'mac', by: 'NetworkManager[12]' } }),
    iface('bond0'),
    iface('lo', { flags: ['LOOPBACK'] }),
  ];
  const { m } = model({ states });
  m.setFilter('bond0');
  assert.deepEqual(
    m
      .interfaceRows()
      .map((r) => r.state.name)
      .sort(),
    ['bond0', 'eth0'],
  );
  m.setFilter('comm:networkmanager');
  assert.deepEqual(
    m.interfaceRows().map((r) => r.state.name),
    ['eth1'],
  );
});

test('selection follows the newest until moved; then it stays on the same change as new ones arrive', () => {
  const { m } = model();
  const cs = [1, 2, 3, 4, 5].map((i) => change({ iface: `if${i}` }));
  cs.forEach((c) => m.ingest(c));
  assert.equal(m.selectedChange(), cs[4]);
  assert.ok(m.following);
  m.moveSelection(2);
  assert.equal(m.selectedChange(), cs[2]);
  assert.ok(!m.following);
  const newer = change({ iface: 'new' });
  m.ingest(newer);
  assert.equal(m.selectedChange(), cs[2], 'the same change stays selected');
  assert.equal(m.selectionIndex(), 3);
  m.moveSelection(100);
  assert.equal(m.selectedChange(), cs[0]);
  m.moveSelection(-100);
  assert.ok(m.following);
  m.ingest(change({ iface: 'newest' }));
  assert.equal(m.selectedChange()?.iface, 'newest');
  m.selectLast();
  assert.equal(m.selectedChange(), cs[0]);
  m.selectFirst();
  assert.equal(m.selectedChange()?.iface, 'newest');
});

test('the timeline window scrolls to keep the selection in view', () => {
  const { m } = model();
  for (let i = 0; i < 20; i++) m.ingest(change({ iface: `if${i}` }));
  let w = m.timelineWindow(5);
  assert.deepEqual(
    w.rows.map((c) => c.iface),
    ['if19', 'if18', 'if17', 'if16', 'if15'],
  );
  assert.equal(w.selected, 0);
  m.moveSelection(7);
  w = m.timelineWindow(5);
  assert.equal(w.rows[w.selected]!.iface, 'if12');
  assert.equal(w.selected, 4);
  m.moveSelection(-3);
  w = m.timelineWindow(5);
  assert.equal(w.rows[w.selected]!.iface, 'if15');
  assert.equal(w.total, 20);
});

test('a selected change that leaves the window keeps the selection at its place', () => {
  const { m } = model({ maxChanges: 5 });
  for (let i = 0; i < 5; i++) m.ingest(change({ iface: `if${i}` }));
  m.moveSelection(4);
  assert.equal(m.selectedChange()?.iface, 'if0');
  for (let i = 5; i < 8; i++) m.ingest(change({ iface: `if${i}` }));
  assert.equal(m.selectionIndex(), 4);
  assert.equal(m.selectedChange()?.iface, 'if3');
});

test('pause freezes the view (changes and interfaces) while events keep flowing into the window', () => {
  const states = [iface('eth0', { addr: '02:00:00:00:00:01' })];
  const { m } = model({ states });
  const a = change();
  m.ingest(a);
  m.togglePause();
  assert.ok(m.paused);
  states[0]!.addr = '02:00:00:00:00:99';
  const b = change();
  m.ingest(b);
  m.ingest(change());
  assert.deepEqual(m.visibleChanges(), [a]);
  assert.equal(m.pendingWhilePaused, 2);
  assert.equal(m.changes.size, 3, 'the window keeps taking events');
  assert.equal(m.interfaceRows()[0]!.state.addr, '02:00:00:00:00:01');
  m.setFilter('nomatch');
  assert.deepEqual(m.visibleChanges(), [], 'filters apply to the frozen view');
  m.setFilter('');
  m.togglePause();
  assert.equal(m.visibleChanges().length, 3);
  assert.equal(m.pendingWhilePaused, 0);
  assert.equal(m.interfaceRows()[0]!.state.addr, '02:00:00:00:00:99');
});

test('reset (a replay seeking to the start) clears everything shown', () => {
  const { m } = model();
  m.ingest(change());
  m.ingest(probe());
  m.ingest({ type: 'note', ts: 1, level: 'warn', source: 'probes', message: 'x' });
  m.reset();
  assert.equal(m.visibleChanges().length, 0);
  assert.equal(m.counts.probe, 0);
  assert.equal(m.notes.size, 0);
  assert.equal(m.rawWindowSize, 0);
});

test('rates: counts per kind close once a second into a bounded history', () => {
  const { m, advance } = model();
  for (let i = 0; i < 30; i++) m.ingest(probe());
  m.ingest(change());
  m.ingest({ type: 'lost', ts: 1, source: 'bpftrace', count: 4 });
  m.tick();
  assert.equal(m.rates.last('probe'), 0, 'nothing closed before a second passed');
  advance(1000);
  m.dirty = false;
  m.tick();
  assert.ok(m.dirty);
  assert.equal(m.rates.last('probe'), 30);
  assert.equal(m.rates.last('change'), 1);
  assert.equal(m.rates.last('lost'), 4);
  advance(3000);
  m.tick();
  assert.deepEqual(m.rates.series('probe'), [30, 0, 0, 0]);
  advance(3_600_000);
  m.tick();
  assert.equal(m.rates.series('probe').length, 60);
});

test('flash messages expire', () => {
  const { m, advance } = model();
  m.say('recording', 1000);
  assert.equal(m.flash?.text, 'recording');
  advance(1500);
  m.tick();
  assert.equal(m.flash, null);
});

test('overlays: detail only with a selected change; help toggles; escape closes', () => {
  const { m } = model();
  m.openDetail();
  assert.equal(m.overlay, 'none');
  m.ingest(change());
  m.openDetail();
  assert.equal(m.overlay, 'detail');
  m.toggleHelp();
  assert.equal(m.overlay, 'help');
  m.toggleHelp();
  assert.equal(m.overlay, 'none');
  m.openFilterPrompt();
  m.closeOverlay();
  assert.equal(m.overlay, 'none');
});

test('highlights: a master whose MAC belongs to none of its ports (incident 1)', () => {
  const bond = iface('bond0', { kind: 'bond', addr: '4a:11:22:33:44:55', aat: 3 });
  const eth0 = iface('eth0', { master: 'bond0', addr: '4a:11:22:33:44:55', permAddr: '52:54:00:aa:bb:01' });
  const eth1 = iface('eth1', { master: 'bond0', addr: '4a:11:22:33:44:55', permAddr: '52:54:00:aa:bb:02' });
  const h = findHighlights([bond, eth0, eth1]);
  assert.deepEqual(h.get(bond)?.kinds, ['foreign']);
  assert.match(h.get(bond)!.reasons[0]!, /none of eth0, eth1/);
  assert.equal(h.get(eth0), undefined, 'ports sharing their master MAC are normal');
  const ok = findHighlights([{ ...bond, addr: '52:54:00:aa:bb:01' }, eth0, eth1]);
  assert.equal(ok.size, 0);
});

test('highlights: a bridge on its lowest port MAC is fine; one MAC on two unrelated interfaces is not', () => {
  const br = iface('br0', { kind: 'bridge', addr: '02:00:00:00:00:01' });
  const p = iface('veth0', { master: 'br0', addr: '02:00:00:00:00:01' });
  const other = iface('dummy7', { addr: '02:00:00:00:00:01' });
  assert.equal(findHighlights([br, p]).size, 0);
  const h = findHighlights([br, p, other]);
  assert.deepEqual(h.get(other)?.kinds, ['shared']);
  assert.match(h.get(other)!.reasons[0]!, /br0, veth0/);
  assert.deepEqual(h.get(br)?.kinds, ['shared']);
  const vlan = iface('eth0.100', { kind: 'vlan', addr: '02:00:00:00:00:01' });
  assert.equal(findHighlights([br, p, vlan]).size, 0, 'a vlan inherits its lower MAC by design');
  const lo = iface('lo', { addr: '00:00:00:00:00:00', flags: ['LOOPBACK'] });
  const lo2 = iface('lo2', { addr: '00:00:00:00:00:00' });
  assert.equal(findHighlights([lo, lo2]).size, 0);
  const gone = iface('old', { addr: '02:00:00:00:00:01', deleted: true });
  assert.equal(findHighlights([br, p, gone]).size, 0);
});

test('interface rows: recently changed first, then highlighted, then by ifindex; deleted last', () => {
  const states = [
    iface('a', { ifindex: 1 }),
    iface('gone', { ifindex: 2, deleted: true, lastChange: { ts: 99, kind: 'deleted', by: 'ip' } }),
    iface('b', { ifindex: 3, lastChange: { ts: 10, kind: 'mac', by: 'ip' } }),
    iface('c', { ifindex: 4, lastChange: { ts: 20, kind: 'mac', by: 'ip' } }),
    iface('d', { ifindex: 5, addr: '02:00:00:00:00:09' }),
    iface('e', { ifindex: 6, addr: '02:00:00:00:00:09' }),
  ];
  const { m } = model({ states });
  assert.deepEqual(
    m.interfaceRows().map((r) => r.state.name),
    ['c', 'b', 'd', 'e', 'a', 'gone'],
  );
});

test('status line: live, replay, paused view, recording, lost; a flash message takes the place of the details', () => {
  const base = {
    mode: 'live' as const,
    backend: 'syscalls',
    probesUsed: 9,
    probesDropped: 2,
    lost: 0,
    events: 10,
    recording: { path: null, bytes: 0 },
    viewPaused: false,
    pending: 0,
    filter: null,
    flash: null,
  };
  assert.equal(plainSegs(statusSegs(base)), ' LIVE  syscalls | probes 9 (2 dropped) | lost 0 | ev 10 | ? help');
  const rec = plainSegs(
    statusSegs({ ...base, recording: { path: '/var/tmp/x.trace', bytes: 3 * 1024 * 1024 }, lost: 5, viewPaused: true, pending: 4, filter: 'ip' }),
  );
  assert.equal(rec, ' LIVE  VIEW PAUSED +4  REC x.trace 3.0 MiB | syscalls | probes 9 (2 dropped) | lost 5 | ev 10 | /ip | ? help');
  const flash = plainSegs(statusSegs({ ...base, recording: { path: 'x.trace', bytes: 10 }, flash: 'recording to x.trace' }));
  assert.equal(flash, ' LIVE  REC x.trace 10 B | recording to x.trace | lost 0');
  const rp = plainSegs(statusSegs({ ...base, mode: 'replay', recording: null, replay: { paused: false, speed: 10 } }));
  assert.match(rp, /^ REPLAY x10  syscalls/);
  assert.match(plainSegs(statusSegs({ ...base, mode: 'replay', recording: null, replay: { paused: false, speed: Infinity } })), /REPLAY max/);
  assert.match(plainSegs(statusSegs({ ...base, mode: 'replay', recording: null, replay: { paused: true, speed: 1 } })), /REPLAY PAUSED/);
  assert.equal(humanBytes(512), '512 B');
  assert.equal(humanBytes(2048), '2.0 KiB');
});

test('sparklines scale to their maximum and keep silence blank', () => {
  assert.equal(sparkText([0, 1, 2, 4, 8], 5), ' ▁▂▄█');
  assert.equal(sparkText([8], 4), '   █');
  assert.equal(sparkText([1, 2, 3, 4, 5, 6], 3), '▅▆█');
  assert.equal(sparkText([0, 8], 2, false), ' #');
  const { m, advance } = model();
  m.ingest(probe());
  advance(1000);
  m.tick();
  const lines = sparkLines(m.rates, 30);
  assert.equal(lines.length, 4);
  assert.match(lines[0]!, /probe.*█ +1\/s$/);
});

test('timeline rows: time, coloured kind, interface, actor, transition; tags in data are escaped', () => {
  const c = change({ iface: 'veth0', kind: 'promisc', before: 0, after: 1 });
  const plain = plainSegs(changeSegs(c));
  assert.match(plain, /^\d\d:\d\d:\d\d\.\d{3} promisc veth0     \+ip 0 -> 1$/);
  const udev = change({
    actor: { pid: 9, comm: '(udev-worker)', chain: [{ pid: 8, comm: 'systemd-udevd' }], service: 'systemd-udevd', kernel: false },
    evidence: 'observed',
  });
  assert.match(plainSegs(changeSegs(udev)), / \*systemd-udevd /, 'the timeline names the program behind the worker');
  const kw = change({ actor: { pid: 90, comm: 'kworker/0:1', chain: [], kernel: true, service: 'kernel' } });
  assert.match(plainSegs(changeSegs(kw)), / \+kworker\/0:1 \(k\) /);
  assert.match(renderSegs(changeSegs(c), 200), /\{magenta-fg\}promisc/);
  assert.equal(escapeTags('a{b}'), 'a{open}b{close}');
  assert.equal(renderSegs([{ text: 'x{y}' }], 10), 'x{open}y{close}');
  assert.equal(fitText('abcdef', 4), 'abc…');
  assert.equal(fitText('ab', 4, true), 'ab  ');
  assert.equal(plainSegs([{ text: 'abc' }]), 'abc');
  assert.equal(renderSegs([{ text: 'abcdef', style: ['bold'] }, { text: 'zz' }], 4), '{bold}abc…{/bold}');
});

test('raw events print in one line each', () => {
  assert.match(rawText(probe({ seq: 3 })), /^#3 probe nl_setlink entry ip\[4711\] ifindex=5 addr=02:00:00:00:00:02$/);
  assert.match(rawText(link({ seq: 4, master: 'br0', promiscuity: 1 })), /^#4 link new veth0 addr 02:00:00:00:00:02 master br0 promiscuity 1 <BROADCAST,UP>$/);
  assert.match(rawText({ type: 'lost', ts: 1, source: 'netlink', count: 2, detail: 'ENOBUFS' }), /lost 2 from netlink: ENOBUFS/);
});

test('idle detail names the session and the dropped probes', () => {
  const text = idleLines(header(), [{ type: 'note', ts: 1, level: 'warn', source: 'probes', message: 'bond probes dropped' }]).join('\n');
  assert.match(text, /testhost/);
  assert.match(text, /2 used, 1 dropped/);
  assert.match(idleLines(header(), [], 17).join('\n'), /2 used \(17 attach points\), 1 dropped/);
  assert.match(text, /bond_enslave.*bonding module not loaded/);
  assert.match(text, /bond probes dropped/);
});

test('the error screen names the fix for the failures people hit', () => {
  assert.match(fixesFor('kfunc: bpftrace is not installed; kprobe: bpftrace is not installed')[0]!, /apt install bpftrace/);
  assert.match(fixesFor('bpftrace: Operation not permitted')[0]!, /sudo ifblame/);
  assert.match(fixesFor('spawn ip ENOENT')[0]!, /iproute2/);
  assert.deepEqual(fixesFor('something else entirely'), []);
});

test('ring buffer basics', () => {
  const r = new Ring<number>(3);
  assert.equal(r.push(1), undefined);
  r.push(2);
  r.push(3);
  assert.equal(r.push(4), 1);
  assert.deepEqual(r.newestFirst(), [4, 3, 2]);
  assert.equal(r.at(0), 2);
  assert.equal(r.at(5), undefined);
  assert.throws(() => new Ring(0));
});
