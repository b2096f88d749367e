// Stories of scenarios i-l (issue 10): a device moved into another namespace, a macvlan on a bond making its slave
// promiscuous, an 802.3ad bond letting its first slave go, a bridge deleted with its ports.  Like stories.ts:
// asserted on a trace file alone, with the guest's steps when there are some.
import assert from 'node:assert/strict';
import type { TraceEvent } from '../../src/events.js';
import { explainTraces } from '../../src/explain/index.js';
import type { TraceHeader } from '../../src/trace/format.js';
import { actorIs, describe, during, find, mac, mentions, netlinkAddrs, notObserved, observedKernel, of, real, show, validate } from './story-kit.js';
import type { ChangeT, StoryInput } from './story-kit.js';

const up = (c: ChangeT) => typeof c.before === 'number' && typeof c.after === 'number' && c.after === c.before + 1;
const down = (c: ChangeT) => typeof c.before === 'number' && typeof c.after === 'number' && c.after === c.before - 1;

/** When a step started (µs), or undefined on replay (no steps.log). */
function stepStart(input: StoryInput, name: string): number | undefined {
  if (!input.steps?.length) return undefined;
  const s = input.steps.find((x) => x.name === name);
  assert.ok(s, `no step ${name} in steps.log`);
  return s.start;
}

// ---------------------------------------------------------------- (i) moved into a namespace, MAC set there

const NS = 'ifbns1';
const NS_MAC = '02:00:00:00:0a:07';

export function storyNetnsMove(input: StoryInput): void {
  const changes = validate(input);
  const b = input.backend;
  // i02: a move by ip, never a deletion
  const [moved] = find(changes, `vni0p moved to ${NS}`, (c) => c.iface === 'vni0p' && c.kind === 'moved');
  actorIs(moved, 'ip', 'ip link set vni0p netns');
  if (observedKernel(b)) assert.equal(moved.evidence, 'observed', `the move is seen by a probe (__dev_change_net_namespace): ${show(moved)}`);
  else notObserved(moved, 'the move');
  // the live session could read /run/netns: the namespace by name
  if (b === 'kfunc') assert.match(String(moved.after), new RegExp(`^${NS} \\(netns \\d+\\)$`), `the move names ${NS}: ${show(moved)}`);
  during(input, moved, 'i02_move');
  assert.deepEqual(of(changes, 'vni0p', 'deleted').map(show), [], 'a move is not a deletion');
  // i03: the MAC set in the other namespace, by ip, naming that namespace
  const [set] = find(changes, `vni0p MAC set to ${NS_MAC} in ${NS}`, (c) => c.iface === 'vni0p' && c.kind === 'mac' && mac(c.after) === NS_MAC);
  actorIs(set, 'ip', `ip -n ${NS} link set address`);
  assert.equal(set.evidence, observedKernel(b) ? 'observed' : 'requested', `MAC in ${NS}: ${show(set)}`);
  assert.ok(set.netns?.inode, `the change names the namespace it happened in (inode): ${JSON.stringify(set)}`);
  if (b === 'kfunc') assert.equal(set.netns.name, NS, `and its name: ${JSON.stringify(set.netns)}`);
  if (observedKernel(b))
    assert.ok(String(moved.after).includes(`netns ${set.netns.inode}`), `moved to the namespace the MAC was set in: ${show(moved)} / ${set.netns.inode}`);
  during(input, set, 'i03_set_mac');
  assert.ok(moved.ts <= set.ts, 'the move before the MAC set there');
  // the host's own changes never carry a namespace: vni0 stays here
  const [made] = find(changes, 'vni0 created', (c) => c.iface === 'vni0' && c.kind === 'created');
  assert.equal(made.netns, undefined, `a change in the watched namespace names none: ${JSON.stringify(made)}`);
}

// ---------------------------------------------------------------- (j) macvlan on a bond: the slave made promiscuous

/** The address-list sync that makes a device without unicast filtering promiscuous (bond_set_rx_mode > dev_uc_sync_multiple > __dev_set_rx_mode). */
const SYNC = ['bond_set_rx_mode', 'dev_uc_sync'];

export function storyMacvlanOnBond(input: StoryInput): void {
  const changes = validate(input);
  const b = input.backend;
  const slave = changes.filter((c) => c.iface === 'dmj0' && c.kind === 'promisc');
  if (!observedKernel(b)) {
    // __dev_set_rx_mode changes the count without a netlink message (notify false): nothing for netlink or a
    // request to show; whatever the syscalls backend reports of it must not claim to have seen it
    for (const c of slave) notObserved(c, 'dmj0 promiscuity');
    return;
  }
  const [on, i] = find(changes, 'dmj0 promiscuity +1 when mv0 comes up on bond0', (c) => c.iface === 'dmj0' && c.kind === 'promisc' && up(c));
  const [off] = find(changes, 'dmj0 promiscuity -1 when mv0 is deleted', (c) => c.iface === 'dmj0' && c.kind === 'promisc' && down(c), i);
  for (const [c, st, word, before] of [
    [on, 'j05_mv_up', 'became', /just before, mv0 \(on bond0\) came up/],
    [off, 'j06_del_mv', 'stopped being', /just before, mv0 \(on bond0\) was deleted by ip\[\d+\]/],
  ] as const) {
    if (mentions(c, 'netif_rx_mode_run')) {
      // 7.x applies the rx mode in a workqueue: the kworker ran it and stays the actor; the words say why and name
      // what just happened to mv0 (its deletion by ip is observed; its coming up only netlink shows)
      assert.ok(c.actor?.kernel && /^kworker/.test(c.actor.comm), `deferred rx mode runs in a kworker: ${show(c)}`);
      assert.equal(c.evidence, 'observed', `seen by __dev_set_promiscuity: ${show(c)}`);
      assert.match(c.via.note ?? '', new RegExp(`receive mode in deferred work \\(netif_rx_mode_run\\): dmj0 ${word} promiscuous`), show(c));
      // what happened above it is named when the trace shows it in time: mv0's UP comes from netlink, stamped when
      // `ip monitor` reads it, which can be after the kworker ran (seen on sid: 0.6 ms after)
      if ((c.via.note ?? '').includes('just before')) assert.match(c.via.note ?? '', before, `what happened to mv0 just before: ${show(c)}`);
      during(input, c, st);
      continue;
    }
    actorIs(c, 'ip', `dmj0 promiscuity (${st})`);
    assert.equal(c.evidence, 'observed', `seen by __dev_set_promiscuity: ${show(c)}`);
    assert.ok(
      SYNC.every((f) => mentions(c, f)),
      `the path reads through the address-list sync (${SYNC.join(' > ')}), not as "ip link set promisc": ${show(c)}`,
    );
    assert.match(
      c.via.note ?? '',
      new RegExp(`dmj0 cannot filter unicast addresses: it ${word} promiscuous when an upper device's address list was synced to it`),
      `the cause in words: ${show(c)}`,
    );
    during(input, c, st);
  }
  assert.equal(slave.length, 2, `dmj0's promiscuity changed twice, no more:\n${describe(slave)}`);
}

// ---------------------------------------------------------------- (k) 802.3ad bond, first slave released

export function storyBondRelease8023ad(input: StoryInput): void {
  const changes = validate(input);
  const b = input.backend;
  // k03: bond0 inherits dmk1's MAC (its first slave), dmk2 is overwritten with it
  const [inherit, iI] = find(changes, "bond0 inherits its first slave's MAC", (c) => c.iface === 'bond0' && c.kind === 'mac' && c.before !== c.after);
  const M = mac(inherit.after) as string;
  assert.equal(netlinkAddrs(input.trace, 'dmk1', inherit.ts).pop(), M, `bond0 took dmk1's MAC: ${show(inherit)}`);
  const [over] = find(
    changes,
    "dmk2 overwritten with bond0's MAC",
    (c) => c.iface === 'dmk2' && c.kind === 'mac' && mac(c.after) === M && c.before !== c.after,
    iI,
  );
  for (const c of [inherit, over]) {
    during(input, c, 'k03_enslave');
    if (observedKernel(b)) {
      actorIs(c, 'ip', 'enslavement');
      assert.equal(c.evidence, 'observed');
      assert.ok(mentions(c, 'bond_enslave'), `bond_enslave in the path: ${show(c)}`);
    } else notObserved(c, 'a MAC written by bond_enslave');
  }
  // k04: dmk1 released by ip
  const [rel] = find(changes, 'dmk1 released from bond0', (c) => c.iface === 'dmk1' && c.kind === 'release' && c.before === 'bond0');
  actorIs(rel, 'ip', 'ip link set dmk1 nomaster');
  if (observedKernel(b)) {
    assert.equal(rel.evidence, 'observed');
    assert.ok(mentions(rel, '__bond_release_one'), `__bond_release_one in the path: ${show(rel)}`);
  } else notObserved(rel, 'release');
  during(input, rel, 'k04_release1');
  // what the bonding driver does: bond0 keeps M (it still has dmk2), dmk1 is given its permanent MAC back, which is M
  const after = real(changes.filter((c) => c.kind === 'mac' && ['dmk1', 'dmk2', 'bond0'].includes(c.iface) && c.ts >= rel.ts - 5_000));
  assert.deepEqual(after.map(show), [], 'no MAC moves on the release: dmk1 keeps the address bond0 still uses');
  for (const ifc of ['dmk1', 'bond0', 'dmk2']) assert.equal(netlinkAddrs(input.trace, ifc).pop(), M, `${ifc} ends with ${M}`);
  // explain: the released slave still holding the bond's MAC is one finding, the release its first evidence
  const report = explainTraces([{ file: 'k', header: input.trace.header as unknown as TraceHeader, events: input.trace.events as unknown as TraceEvent[] }]);
  const mine = report.findings.filter((f) => f.ifaces.includes('dmk1'));
  assert.deepEqual(
    mine.map((f) => `${f.id}: ${f.title}`),
    [`released-slave-mac: dmk1: released from bond bond0, which still uses its MAC ${M}`],
    'explain tells the released slave sharing the bond MAC, once',
  );
  assert.equal((mine[0]!.evidence[0]!.event as ChangeT).kind, 'release', 'with the release as its evidence');
  // its fix gives bond0 the MAC bonding keeps for dmk2 (the one dmk2 had when enslaved), which dmk2 gets back on release
  assert.deepEqual(mine[0]!.fix?.commands, [`ip link set dev bond0 address ${mac(over.before)}`], "the fix names dmk2's MAC from before the enslavement");
}

// ---------------------------------------------------------------- (l) a bridge deleted with its ports

export function storyBridgeDeleted(input: StoryInput): void {
  const changes = validate(input);
  const b = input.backend;
  const [del] = find(changes, 'brl0 deleted', (c) => c.iface === 'brl0' && c.kind === 'deleted');
  actorIs(del, 'ip', 'ip link del brl0');
  assert.equal(del.evidence, observedKernel(b) ? 'observed' : 'requested', show(del));
  during(input, del, 'l04_del_br');
  const rels: ChangeT[] = [];
  for (const port of ['vl0', 'dml1']) {
    // br_dev_delete lets each port go (del_nbp): released by the ip that deleted the bridge
    const [rel] = find(changes, `${port} released from brl0 as brl0 is deleted`, (c) => c.iface === port && c.kind === 'release' && c.before === 'brl0');
    actorIs(rel, 'ip', `${port} released`);
    assert.equal(rel.actor!.pid, del.actor!.pid, `${port}: released by the process that deleted brl0: ${show(rel)} / ${show(del)}`);
    if (rel.evidence === 'inferred') assert.match(rel.via.note ?? '', /master brl0 was deleted/, show(rel));
    during(input, rel, 'l04_del_br');
    rels.push(rel);
    // and its promiscuity given back, by the same ip
    const [pd] = find(
      changes,
      `${port} promiscuity -1 as brl0 is deleted`,
      (c) => c.iface === port && c.kind === 'promisc' && down(c) && c.ts >= del.ts - 1_000_000,
    );
    during(input, pd, 'l04_del_br');
    if (observedKernel(b)) {
      actorIs(pd, 'ip', `${port} promiscuity given back`);
      assert.equal(pd.actor!.pid, del.actor!.pid, `${port}: by the ip that deleted brl0: ${show(pd)}`);
      assert.equal(pd.evidence, 'observed', show(pd));
    }
  }
  // what brl0 undergoes while dying is part of its deletion: no change of its own from the deletion on
  const from = stepStart(input, 'l04_del_br') ?? Math.min(del.ts, ...rels.map((r) => r.ts));
  assert.deepEqual(
    changes.filter((c) => c.iface === 'brl0' && c.kind !== 'deleted' && c.ts >= from).map(show),
    [],
    "brl0's own changes while being deleted are folded into its deletion",
  );
  assert.equal(of(changes, 'brl0', 'deleted').length, 1, 'brl0 deleted once');
}
