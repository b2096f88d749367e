// The correlator on real-kernel ground truth (test/fixtures/lab-captures, copied from the lab): each incident's story, for kprobe and kfunc output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Change } from '../src/events.js';
import { correlateAll } from '../src/feed/pipeline.js';
import { loadLab } from './lab.js';

function correlate(scen: string, backend: 'kprobe' | 'kfunc'): Change[] {
  const s = loadLab(scen, backend);
  // Everything through the feed's merge (time order, probes first at equal times), then the correlator, as import does.
  const out = correlateAll(s.snapshot, [...s.links, ...s.probes]).filter((d): d is Change => d.type === 'change');
  return out.sort((a, b) => a.ts - b.ts);
}

const pick = (cs: Change[], iface: string, kind: string) => cs.filter((c) => c.iface === iface && c.kind === kind);

for (const backend of ['kprobe', 'kfunc'] as const) {
  test(`A2 (${backend}): udev's persistent MAC on bond0, slave overwritten, random on release, inherited on re-enslave`, () => {
    const cs = correlate('A2', backend);
    const bondMacs = pick(cs, 'bond0', 'mac');
    const udev = bondMacs[0]!;
    assert.equal(udev.actor?.comm, '(udev-worker)');
    assert.equal(udev.actor?.service, 'systemd-udevd');
    assert.equal(udev.evidence, 'observed');
    assert.ok(udev.via.path.includes('dev_set_mac_address_user') && udev.via.path.includes('dev_set_mac_address'), udev.via.path.join(','));
    const enslaves = pick(cs, 'dum0', 'enslave');
    assert.equal(enslaves.length, 2);
    assert.ok(udev.ts < enslaves[0]!.ts, 'udev set the MAC before the first enslavement');
    assert.equal(enslaves[0]!.actor?.comm, 'sh');
    const overwritten = pick(cs, 'dum0', 'mac').find((c) => c.after === udev.after)!;
    assert.ok(overwritten, 'the slave takes the bond MAC');
    assert.equal(overwritten.actor?.comm, 'sh');
    assert.ok(overwritten.via.path.includes('bond_enslave'));
    assert.match(overwritten.via.note ?? '', /bond bond0 overwrote its slave's MAC/);
    const release = pick(cs, 'dum0', 'release')[0]!;
    const random = bondMacs.find((c) => c.ts > release.ts - 50_000 && /random MAC/.test(c.via.note ?? ''));
    assert.ok(random, 'bond0 gets a random MAC when its last slave is released');
    const inherit = bondMacs.find((c) => c.ts > enslaves[1]!.ts - 50_000 && c.ts < enslaves[1]!.ts + 1_000_000);
    assert.ok(inherit);
    assert.equal(inherit.after, pick(cs, 'dum0', 'mac').filter((c) => c.ts < enslaves[1]!.ts).pop()!.after, 'inherits the slave MAC');
    assert.match(inherit.via.note ?? '', /inherited the MAC of its slave dum0/);
    assert.ok(inherit.via.path.includes('bond_set_dev_addr') || inherit.via.path.includes('bond_enslave'));
    assert.ok(!inherit.via.path.includes('dev_set_mac_address'), 'this write bypasses dev_set_mac_address');
    const del = pick(cs, 'bond0', 'deleted')[0]!;
    assert.equal(del.actor?.comm, 'ip');
  });
}

test('A (kprobe): the stock 98-net-bonding.link leaves bond0 random until it steals its first slave MAC', () => {
  const cs = correlate('A', 'kprobe');
  const bond = pick(cs, 'bond0', 'mac');
  assert.ok(!bond.some((c) => c.actor?.service === 'systemd-udevd'), 'udev does not touch the bond');
  const first = bond[0]!;
  assert.equal(first.actor?.comm, 'sh');
  assert.match(first.via.note ?? '', /inherited the MAC of its slave dum0/);
  assert.equal(first.after, pick(cs, 'dum0', 'mac')[0]!.after, 'the MAC udev gave dum0');
  // promisc on the bond propagates to its slaves, attributed to ip with bond_change_rx_flags in the stack
  const slavePromisc = pick(cs, 'veth0', 'promisc');
  assert.ok(slavePromisc.some((c) => c.actor?.comm === 'ip' && c.via.kstack.some((f) => f.startsWith('bond_change_rx_flags'))), JSON.stringify(slavePromisc.map((c) => c.via.path)));
});

test('B (kprobe): bridge port add and tcpdump raise promiscuity; brauto0 follows its lowest port until set by hand', () => {
  const cs = correlate('B', 'kprobe');
  const vb0 = pick(cs, 'vb0', 'promisc')[0]!;
  assert.deepEqual([vb0.before, vb0.after, vb0.actor?.comm], [0, 1, 'ip']);
  assert.ok(vb0.via.path.includes('br_add_if'));
  const tcpdump = pick(cs, 'vb0p', 'promisc').filter((c) => c.actor?.comm === 'tcpdump');
  assert.deepEqual(tcpdump.map((c) => [c.before, c.after]), [[0, 1], [1, 0]]);
  assert.ok(tcpdump[0]!.via.path.includes('packet_setsockopt'));
  const ipPromisc = pick(cs, 'vb0p', 'promisc').filter((c) => c.actor?.comm === 'ip');
  assert.ok(ipPromisc[0]!.via.path.includes('dev_change_flags') && !ipPromisc[0]!.via.path.includes('dev_set_promiscuity'), '`ip link set promisc on` reaches only __dev_set_promiscuity');
  const follows = pick(cs, 'brauto0', 'mac').filter((c) => /follows its lowest port/.test(c.via.note ?? ''));
  assert.deepEqual(follows.map((c) => c.after), ['02:00:00:00:00:20', '02:00:00:00:00:05', '02:00:00:00:00:20']);
  const byHand = pick(cs, 'brauto0', 'mac').find((c) => c.after === '02:00:00:00:00:99')!;
  assert.ok(byHand.via.path.includes('dev_set_mac_address_user'));
  const after = pick(cs, 'brauto0', 'mac').filter((c) => c.ts > byHand.ts);
  assert.deepEqual(after, [], 'once set by hand it stops following');
});

test('C (kprobe): MAC set by hand is ip\'s; the balance-alb failover swap is the kernel\'s own change', () => {
  const cs = correlate('C', 'kprobe');
  const hand = pick(cs, 'dc0', 'mac').find((c) => c.after === '02:11:22:33:44:55')!;
  assert.equal(hand.actor?.comm, 'ip');
  assert.equal(pick(cs, 'dc0', 'mac').filter((c) => c.after === '02:11:22:33:44:55').length, 1, 'the identical second set is a no-op, not a change');
  const swaps = cs.filter((c) => c.kind === 'mac' && c.actor?.kernel);
  assert.equal(swaps.length, 2);
  for (const s of swaps) {
    assert.match(s.actor!.comm, /^kworker\//);
    assert.equal(s.actor!.service, 'kernel');
    assert.match(s.via.note ?? '', /kernel's own change.*balance-alb bond bond1 swapped/);
    assert.ok(s.via.path.includes('alb_swap_mac_addr'));
  }
  assert.deepEqual(new Set(swaps.map((s) => s.iface)), new Set(['dc1', 'dc2']));
});
