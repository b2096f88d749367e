// A device being created is seen by a probe before it has an index or a name: it is matched to its link by its new
// address (or the name a request gave), never to "the next device created".
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Correlator } from '../src/correlate/correlator.js';
import { Change, LinkEvent, ProbeEvent, type TraceEvent } from '../src/events.js';

const STACK = ['dev_addr_mod+1', 'dummy_setup+194', 'alloc_netdev_mqs+471', 'rtnl_create_link+728', '__rtnl_newlink+1826', 'rtnl_newlink+67'];

/** The real shape of `dev_addr_mod` while `ip link add` allocates a dummy (Debian 6.1, kfunc program). */
function allocating(ts: number, pid: number, addr: string): ProbeEvent {
  return ProbeEvent.parse({
    type: 'probe',
    ts,
    backend: 'kfunc',
    probe: 'dev_addr_mod',
    phase: 'entry',
    pid,
    tid: pid,
    comm: 'ip',
    fields: { dev: '', ifindex: 0, aat: 0, offset: 0, old: '00:00:00:00:00:00', new: addr },
    kstack: STACK,
  });
}

function newlink(ts: number, ifindex: number, ifname: string, addr: string): LinkEvent {
  return LinkEvent.parse({ type: 'link', ts, action: 'new', ifindex, ifname, flags: ['BROADCAST', 'NOARP'], linkType: 'ether', addr, promiscuity: 0 });
}

const created = (evs: TraceEvent[]) => evs.filter((e): e is Change => e.type === 'change' && e.kind === 'created');

test('two devices created by two processes: each link gets its own creator', () => {
  const c = new Correlator([]);
  const out = [
    ...c.push(allocating(1_000, 495, '02:00:00:00:00:a0')),
    ...c.push(allocating(1_100, 496, '02:00:00:00:00:b0')),
    ...c.push(newlink(1_200, 7, 'dum1', '02:00:00:00:00:b0')),
    ...c.push(newlink(1_300, 6, 'dum0', '02:00:00:00:00:a0')),
    ...c.flush(),
  ];
  const by = Object.fromEntries(created(out).map((ch) => [ch.iface, ch.actor?.pid ?? null]));
  assert.deepEqual(by, { dum0: 495, dum1: 496 });
});

test('the creator of dum0 seen only after dum0 was announced is never given to dum1', () => {
  // The late-output case: dum0's netlink message was processed before the probe event arrived.
  const c = new Correlator([]);
  const out = [
    ...c.push(newlink(1_200, 6, 'dum0', '02:00:00:00:00:a0')),
    ...c.push(allocating(1_000, 495, '02:00:00:00:00:a0')),
    ...c.push(newlink(1_500, 7, 'dum1', '02:00:00:00:00:b0')),
    ...c.flush(),
  ];
  const dum1 = created(out).find((ch) => ch.iface === 'dum1')!;
  assert.equal(dum1.actor, null, 'nobody was seen creating dum1');
  assert.equal(dum1.evidence, 'inferred'); // The late probe explains dum0's creation, already reported without it: dum0 takes its creator, once.
  const dum0 = created(out).filter((ch) => ch.iface === 'dum0');
  assert.equal(dum0.length, 1, 'dum0 created once');
  assert.equal(dum0[0]!.actor?.pid, 495, 'dum0 created by ip[495], whose probe came late');
  assert.equal(dum0[0]!.evidence, 'observed');
  assert.match(dum0[0]!.via.note ?? '', /arrived late/);
});
