// Ports let go by a master that is being deleted, and devices moved to another namespace, in the shapes a real kernel
// gives them (Debian 6.1 under the kernel matrix, scenarios i-netns-move and l-bridge-del).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Correlator } from '../src/correlate/correlator.js';
import { Change, LinkEvent, ProbeEvent, type LinkState, type TraceEvent } from '../src/events.js';
import { KERNEL_PROBES } from '../src/probes/catalog.js';
import { generate } from '../src/probes/generate.js';

/** The stack of `ip link del brl0` giving a port's promiscuity back (kfunc program, Debian 6.1). */
const DEL_NBP = ['dev_set_promiscuity+5', 'del_nbp+218', 'br_dev_delete+67', 'rtnl_dellink+307', 'rtnetlink_rcv_msg+334', 'netlink_rcv_skb+81'];

function promiscDown(ts: number, dev: string, ifindex: number): ProbeEvent {
  return ProbeEvent.parse({
    type: 'probe',
    ts,
    backend: 'kfunc',
    probe: 'dev_set_promiscuity',
    phase: 'entry',
    pid: 2941,
    tid: 2941,
    comm: 'ip',
    fields: { dev, ifindex, aat: 3, inc: -1, promiscuity: 1, flags: 4354 },
    kstack: DEL_NBP,
  });
}

function unregister(ts: number): ProbeEvent {
  return ProbeEvent.parse({
    type: 'probe',
    ts,
    backend: 'kfunc',
    probe: 'unregister_netdevice',
    phase: 'entry',
    pid: 2941,
    tid: 2941,
    comm: 'ip',
    fields: { dev: 'brl0', ifindex: 18, aat: 3, mac: '32:05:f4:8c:2a:45' },
    kstack: ['unregister_netdevice_queue+1', 'rtnl_dellink+307', 'rtnetlink_rcv_msg+334'],
  });
}

const link = (ts: number, action: 'new' | 'del', ifindex: number, ifname: string, over: Partial<LinkEvent> = {}) =>
  LinkEvent.parse({ type: 'link', ts, action, ifindex, ifname, flags: ['BROADCAST', 'MULTICAST'], ...over });

const port = (ifindex: number, ifname: string): LinkState => ({ ifindex, ifname, flags: ['BROADCAST', 'MULTICAST'], master: 'brl0', promiscuity: 1 });

const changes = (evs: TraceEvent[]) => evs.filter((e): e is Change => e.type === 'change').map((c) => Change.parse(c));

test('a bridge deleted with ports: the releases netlink shows before the bridge unregisters are the deleting ip', () => {
  // br_dev_delete lets the ports go (del_nbp) before unregister_netdevice_queue(brl0): each release reaches netlink
  // before anything has seen the bridge deleted
  const snapshot: LinkState[] = [
    { ifindex: 18, ifname: 'brl0', flags: ['BROADCAST', 'MULTICAST', 'UP'], master: null, kind: 'bridge', addr: '32:05:f4:8c:2a:45', promiscuity: 0 },
    port(20, 'vl0'),
    port(21, 'dml1'),
  ];
  const c = new Correlator(snapshot);
  const out = [
    ...c.push(promiscDown(110_403, 'dml1', 21)),
    ...c.push(link(119_671, 'new', 21, 'dml1', { master: 'brl0', promiscuity: 0 })),
    ...c.push(link(151_423, 'new', 21, 'dml1', { master: null, promiscuity: 0 })),
    ...c.push(promiscDown(153_190, 'vl0', 20)),
    ...c.push(link(163_739, 'new', 20, 'vl0', { master: 'brl0', promiscuity: 0 })),
    ...c.push(link(189_098, 'new', 20, 'vl0', { master: null, promiscuity: 0 })),
    ...c.push(unregister(192_407)),
    ...c.push(link(239_627, 'del', 18, 'brl0', { master: null })),
    ...c.flush(),
  ];
  const cs = changes(out);
  for (const p of ['vl0', 'dml1']) {
    const rel = cs.find((x) => x.iface === p && x.kind === 'release');
    assert.ok(rel, `${p} released: ${JSON.stringify(cs)}`);
    assert.equal(rel.before, 'brl0');
    assert.equal(rel.actor?.pid, 2941, `${p}: released by the ip that deleted brl0: ${JSON.stringify(rel)}`);
    assert.equal(rel.evidence, 'inferred', 'no probe in del_nbp: told from netlink');
    assert.equal(rel.via.note, 'released because its master brl0 was deleted');
    assert.deepEqual(rel.via.path.slice(-2), ['br_dev_delete', 'del_nbp'], `the path of the deletion, up to the port let go: ${rel.via.path.join(' > ')}`);
  }
  const del = cs.filter((x) => x.iface === 'brl0');
  assert.deepEqual(
    del.map((x) => [x.kind, x.actor?.pid]),
    [['deleted', 2941]],
    'brl0: its deletion only',
  );
});

test('a port released while nothing deletes its bridge is not pinned on a bridge deletion', () => {
  const c = new Correlator([port(20, 'vl0'), { ifindex: 18, ifname: 'brl0', flags: [], master: null, kind: 'bridge' }]);
  const other = ProbeEvent.parse({ ...promiscDown(100, 'vl0', 20), kstack: ['dev_set_promiscuity+5', 'do_setlink+589', 'rtnl_setlink+269'] });
  const out = [...c.push(other), ...c.push(link(2_000, 'new', 20, 'vl0', { master: null, promiscuity: 0 })), ...c.flush()];
  const rel = changes(out).find((x) => x.kind === 'release')!;
  assert.notEqual(rel.via.note, 'released because its master brl0 was deleted', JSON.stringify(rel));
});

test("a move's target namespace is an unsigned inode: the programs print to_netns with %llu, not %d", () => {
  const field = KERNEL_PROBES.find((p) => p.id === 'change_net_namespace')!.fields.find((f) => f.name === 'to_netns');
  assert.equal(field?.type, 'u64', 'inodes above 2^31 (4026532235 on Debian 6.1) printed with %d came out negative');
  for (const backend of ['kprobe', 'kfunc'] as const) {
    const line = generate({ backend, filters: { iface: [], comm: [] } })
      .text.split('\n')
      .find((l) => l.includes('printf("change_net_namespace\\t'));
    assert.ok(line, `${backend}: change_net_namespace printf`);
    assert.match(line, /\\t%llu\\n%s"/, `${backend}: to_netns, the last field, unsigned: ${line}`);
  }
});

test('a move recorded by an older program (to_netns printed signed) still names the right namespace', () => {
  const c = new Correlator([{ ifindex: 10, ifname: 'vni0p', flags: [], master: null }], { netns: 4026531840 });
  const move = ProbeEvent.parse({
    type: 'probe',
    ts: 1_000,
    backend: 'kprobe',
    probe: 'change_net_namespace',
    phase: 'entry',
    pid: 2262,
    tid: 2262,
    comm: 'ip',
    netns: 4026531840,
    fields: { dev: 'vni0p', ifindex: 10, aat: 3, to_netns: -268435061 },
    kstack: ['__dev_change_net_namespace+1', 'do_setlink+1210', 'rtnl_newlink+67'],
  });
  const out = [...c.push(move), ...c.push(link(2_000, 'del', 10, 'vni0p', { movedTo: { netns: 'netnsid 0', ifindex: 10 } })), ...c.flush()];
  const moved = changes(out).find((x) => x.kind === 'moved');
  assert.equal(moved?.after, 'netns 4026532235', JSON.stringify(moved));
  assert.equal(moved.actor?.comm, 'ip');
});
