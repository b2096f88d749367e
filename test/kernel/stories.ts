// What each real-kernel scenario must show, asserted on a trace file alone (header + events), so the
// same checks run on a fresh capture (kernel.test.ts) and on the committed recordings (replay.test.ts).
// Steps (from the guest's steps.log), when given, add timing checks: the change happened during the
// step that caused it.
import assert from 'node:assert/strict';
import { Change } from '../../src/events.js';
import type { IfState, Suite, TraceFile } from './harness.js';
import {
  actorIs,
  describe,
  during,
  find,
  inStack,
  isUdev,
  mac,
  mentions,
  netlinkAddrs,
  notObserved,
  observedKernel,
  of,
  real,
  show,
  validate,
} from './story-kit.js';
import type { ChangeT, StoryBackend, StoryInput } from './story-kit.js';
import { storyBondRelease8023ad, storyBridgeDeleted, storyMacvlanOnBond, storyNetnsMove } from './stories-moves.js';

export { describe, validate, type StoryBackend, type StoryInput } from './story-kit.js';

// ---------------------------------------------------------------- (a) bond + udev, 98-net-bonding.link masked

export function storyBondUdev(input: StoryInput): void {
  const changes = validate(input);
  const b = input.backend;
  // a02: systemd-udevd, through a (udev-worker), gives bond0 its name-derived MAC (addr_assign_type 3)
  const [udev, iU] = find(changes, 'bond0 mac set by systemd-udevd', (c) => c.iface === 'bond0' && c.kind === 'mac' && c.before !== c.after && isUdev(c));
  assert.equal(udev.actor!.comm, '(udev-worker)', 'udev worker seen as the task');
  assert.equal(udev.actor!.service, 'systemd-udevd', 'the (udev-worker) is attributed to systemd-udevd');
  assert.equal(udev.evidence, observedKernel(b) ? 'observed' : 'requested', 'udev MAC: evidence');
  if (observedKernel(b))
    assert.ok(inStack(udev, /dev_set_mac_address|netif_set_mac_address/), `udev MAC: kernel stack has dev_set_mac_address: ${udev.via.kstack.join(' ')}`);
  during(input, udev, 'a02_add_bond');
  const udevMac = mac(udev.after);

  // a03: enslaving duma0 (ip) overwrites duma0's MAC with the bond's
  const [over, iO] = find(
    changes,
    "duma0's MAC overwritten with the bond's",
    (c) => c.iface === 'duma0' && c.kind === 'mac' && mac(c.after) === udevMac && c.before !== c.after,
    iU,
  );
  const dumaMac = mac(over.before);
  if (observedKernel(b)) {
    actorIs(over, 'ip', 'slave MAC overwrite');
    assert.ok(mentions(over, 'bond_enslave'), `slave MAC overwrite: bond_enslave in the path: ${show(over)}`);
    assert.equal(over.evidence, 'observed');
  } else notObserved(over, 'slave MAC overwrite');
  during(input, over, 'a03_enslave_ip');
  find(
    changes,
    'duma0 enslaved to bond0',
    (c) => c.iface === 'duma0' && (c.kind === 'enslave' || c.kind === 'master') && String(c.after ?? '').includes('bond0'),
  );

  // a04: releasing the last slave: bond0 gets a random MAC (and duma0 its own back)
  const [rand, iR] = find(
    changes,
    'bond0 random MAC on release of its last slave',
    (c) => c.iface === 'bond0' && c.kind === 'mac' && mac(c.before) === udevMac && c.before !== c.after && mac(c.after) !== dumaMac,
    iO,
  );
  if (observedKernel(b)) {
    actorIs(rand, 'ip', 'random MAC on release');
    assert.equal(rand.evidence, 'observed');
  } else notObserved(rand, 'random MAC on release');
  during(input, rand, 'a04_release');
  const back = find(changes, 'duma0 gets its own MAC back', (c) => c.iface === 'duma0' && c.kind === 'mac' && mac(c.after) === dumaMac, iO)[0];
  during(input, back, 'a04_release');

  // a05: re-enslaving (sysfs write from sh): bond0 inherits duma0's MAC without dev_set_mac_address
  const [inherit] = find(
    changes,
    "bond0 inherits duma0's MAC",
    (c) => c.iface === 'bond0' && c.kind === 'mac' && mac(c.after) === dumaMac && c.before !== c.after,
    iR,
  );
  if (observedKernel(b)) {
    actorIs(inherit, 'sh', 'bond inherits slave MAC');
    assert.ok(mentions(inherit, 'bond_enslave'), `bond inherits slave MAC: bond_enslave in the path: ${show(inherit)}`);
    assert.equal(inherit.evidence, 'observed', 'the inherited MAC is caught by a probe, not guessed');
    assert.ok(!inStack(inherit, /^\s*dev_set_mac_address\b/) || inherit.via.probe !== 'dev_set_mac_address', 'caught without dev_set_mac_address');
  } else assert.equal(inherit.evidence, 'inferred', `syscalls: bond inheriting its slave's MAC is inferred: ${show(inherit)}`);
  during(input, inherit, 'a05_enslave_sysfs');
}

// ---------------------------------------------------------------- (b) bond, stock Debian (98-net-bonding.link in place)

export function storyBondStock(input: StoryInput): void {
  const changes = validate(input);
  const b = input.backend;
  const bondMacs = real(of(changes, 'bond0', 'mac'));
  assert.ok(!bondMacs.some(isUdev), `udev must leave bond0 alone with 98-net-bonding.link in place:\n${describe(bondMacs)}`);
  // the first real MAC change of bond0 is the enslavement: it keeps its random MAC until then
  assert.ok(bondMacs.length >= 1, `bond0 must inherit dumb0's MAC; changes:\n${describe(changes)}`);
  const first = bondMacs[0]!;
  // dumb0's MAC when it was enslaved: the last one netlink reported before (udev gave it a persistent one)
  const slaveMac = netlinkAddrs(input.trace, 'dumb0', first.ts).pop();
  assert.ok(slaveMac, 'dumb0 seen in netlink');
  assert.equal(mac(first.after), slaveMac, `bond0 inherits dumb0's MAC: ${show(first)}`);
  const created = netlinkAddrs(input.trace, 'bond0')[0];
  if (created) assert.equal(mac(first.before), created, 'bond0 kept the random MAC it was created with until then');
  if (observedKernel(b)) {
    actorIs(first, 'ip', 'bond inherits slave MAC');
    assert.ok(mentions(first, 'bond_enslave'), `bond_enslave in the path: ${show(first)}`);
    assert.equal(first.evidence, 'observed');
  } else assert.equal(first.evidence, 'inferred', `syscalls: ${show(first)}`);
  during(input, first, 'b04_enslave');
  // dumb0 keeps its own MAC: nothing changes it from the enslavement on
  assert.deepEqual(
    real(of(changes, 'dumb0', 'mac'))
      .filter((c) => c.ts >= first.ts - 100_000 && mac(c.after) !== slaveMac)
      .map(show),
    [],
    "dumb0's MAC is not replaced",
  );
}

// ---------------------------------------------------------------- (c) bridge ports, tcpdump, bridge following its lowest port

export function storyBridge(input: StoryInput): void {
  const changes = validate(input);
  const b = input.backend;
  const up = (c: ChangeT) => typeof c.before === 'number' && typeof c.after === 'number' && c.after === c.before + 1;
  const down = (c: ChangeT) => typeof c.before === 'number' && typeof c.after === 'number' && c.after === c.before - 1;

  // c03: br_add_if raises vb0's promiscuity
  const [port] = find(changes, 'vb0 promiscuity +1 from br_add_if', (c) => c.iface === 'vb0' && c.kind === 'promisc' && up(c));
  if (observedKernel(b)) {
    actorIs(port, 'ip', 'bridge port promiscuity');
    assert.ok(mentions(port, 'br_add_if'), `br_add_if in the path: ${show(port)}`);
    assert.equal(port.evidence, 'observed');
  } else notObserved(port, 'bridge port promiscuity');
  during(input, port, 'c03_port_vb0');

  // c05: tcpdump raises vb0p's promiscuity through its packet socket, and drops it on exit
  const [tcpUp, iT] = find(
    changes,
    'vb0p promiscuity +1 by tcpdump',
    (c) => c.iface === 'vb0p' && c.kind === 'promisc' && up(c) && c.actor?.comm === 'tcpdump',
  );
  assert.equal(tcpUp.evidence, observedKernel(b) ? 'observed' : 'requested');
  if (observedKernel(b)) assert.ok(mentions(tcpUp, 'packet') || inStack(tcpUp, /packet_setsockopt/), `packet socket path: ${show(tcpUp)}`);
  during(input, tcpUp, 'c05_tcpdump');
  const [tcpDown] = find(changes, 'vb0p promiscuity -1 when tcpdump exits', (c) => c.iface === 'vb0p' && c.kind === 'promisc' && down(c), iT);
  during(input, tcpDown, 'c05_tcpdump');

  // c06: leaving the bridge drops vb0's promiscuity again
  const [unport] = find(changes, 'vb0 promiscuity -1 on nomaster', (c) => c.iface === 'vb0' && c.kind === 'promisc' && down(c));
  during(input, unport, 'c06_vb0_nomaster');

  // c09-c11: brauto0 follows its lowest port MAC, written without dev_set_mac_address
  const seq = ['02:00:00:00:00:20', '02:00:00:00:00:05', '02:00:00:00:00:20'];
  const stepsFor = ['c09_port_da1', 'c10_port_da2_lower', 'c11_da2_nomaster'];
  let from = -1;
  seq.forEach((want, k) => {
    const [c, i] = find(
      changes,
      `brauto0 MAC -> ${want} (${stepsFor[k]})`,
      (x) => x.iface === 'brauto0' && x.kind === 'mac' && mac(x.after) === want && x.before !== x.after,
      from,
    );
    from = i;
    if (observedKernel(b)) {
      actorIs(c, 'ip', `bridge follows port (${want})`);
      assert.equal(c.evidence, 'observed', `bridge MAC following a port is caught: ${show(c)}`);
    } else assert.equal(c.evidence, 'inferred', `syscalls: ${show(c)}`);
    during(input, c, stepsFor[k]!);
  });
}

// ---------------------------------------------------------------- (d) ip link set address / promisc

export function storyIp(input: StoryInput): void {
  const changes = validate(input);
  const ev = observedKernel(input.backend) ? 'observed' : 'requested';
  const [m] = find(changes, 'dd0 MAC set to 02:11:22:33:44:55 by ip', (c) => c.iface === 'dd0' && c.kind === 'mac' && mac(c.after) === '02:11:22:33:44:55');
  actorIs(m, 'ip', 'ip link set address');
  assert.equal(m.evidence, ev);
  if (observedKernel(input.backend)) assert.ok(inStack(m, /dev_set_mac_address|netif_set_mac_address/), `stack: ${m.via.kstack.join(' ')}`);
  during(input, m, 'd02_set_mac');
  const [on, i] = find(changes, 'dd0 promiscuity 0 -> 1 by ip', (c) => c.iface === 'dd0' && c.kind === 'promisc' && c.before === 0 && c.after === 1);
  actorIs(on, 'ip', 'promisc on');
  assert.equal(on.evidence, ev);
  during(input, on, 'd03_promisc_on');
  const [off] = find(changes, 'dd0 promiscuity 1 -> 0 by ip', (c) => c.iface === 'dd0' && c.kind === 'promisc' && c.before === 1 && c.after === 0, i);
  actorIs(off, 'ip', 'promisc off');
  assert.equal(off.evidence, ev);
  during(input, off, 'd04_promisc_off');
  // d05: `ip link del dd0` is a new ip process: the deletion must not be pinned on the promisc-off one
  const [del] = find(changes, 'dd0 deleted', (c) => c.iface === 'dd0' && c.kind === 'deleted', i);
  during(input, del, 'd05_del');
  if (del.actor) assert.notEqual(del.actor.pid, off.actor!.pid, `deletion attributed to the earlier promisc-off process: ${show(del)}`);
}

// ---------------------------------------------------------------- (e) balance-alb failover: the kernel swaps slave MACs

export function storyAlb(input: StoryInput): void {
  const changes = validate(input);
  const b = input.backend;
  // after de1 goes down: de1 and de2 swap MACs: two changes within a second, each one's after = the other's before
  const cands = real(changes.filter((c) => c.kind === 'mac' && (c.iface === 'de1' || c.iface === 'de2')));
  const pairs = (x: ChangeT, y: ChangeT) =>
    y.iface !== x.iface && Math.abs(y.ts - x.ts) < 1_000_000 && mac(y.after) === mac(x.before) && mac(x.after) === mac(y.before);
  const swap = cands.find((x) => cands.some((y) => pairs(x, y)));
  assert.ok(swap, `de1/de2 swap MACs on failover; changes:\n${describe(changes)}`);
  const other = cands.find((y) => pairs(swap, y))!;
  for (const c of [swap, other]) {
    if (observedKernel(b)) {
      assert.ok(c.actor, `failover swap has an actor: ${show(c)}`);
      assert.equal(c.actor.kernel, true, `shown as the kernel's own change: ${show(c)}`);
      assert.match(c.actor.comm, /^kworker\//, `a kernel worker: ${show(c)}`);
      assert.equal(c.evidence, 'observed');
      assert.ok(mentions(c, 'alb') || inStack(c, /alb_swap_mac_addr|bond_alb_handle_active_change/), `balance-alb path: ${show(c)}`);
    } else {
      assert.equal(c.evidence, 'inferred', `syscalls: ${show(c)}`);
      assert.ok(!c.actor || c.actor.kernel || c.actor.comm !== 'ip', `syscalls must not blame ip for the kernel's swap: ${show(c)}`);
    }
    during(input, c, 'e07_de1_down', 'e08_wait');
  }
}

// ---------------------------------------------------------------- (f) team under a bridge, container veth

export function storyTeamBridge(input: StoryInput): void {
  const changes = validate(input);
  const b = input.backend;
  const up = (c: ChangeT) => typeof c.before === 'number' && typeof c.after === 'number' && c.after === c.before + 1;
  // f03/f04: both ports enslaved to team0 with their process on every kernel: team_port_add is inlined on
  // Debian's 6.1, 6.12 and 7.2, and the probe attaches at team_add_slave there (same id, same fields)
  if (observedKernel(b)) {
    const used = (input.trace.header.probes as { used?: string[] } | undefined)?.used ?? [];
    assert.ok(used.includes('team_port_add') && used.includes('team_port_del'), `the team probes are in the program: ${used.join(' ')}`);
  }
  for (const [port, st] of [
    ['dft1', 'f03_team_port1'],
    ['dft2', 'f04_team_port2'],
  ] as const) {
    const [en] = find(
      changes,
      `${port} enslaved to team0`,
      (c) =>
        c.iface === port &&
        (c.kind === 'enslave' || c.kind === 'master') &&
        String(c.after ?? '').includes('team0') &&
        (!observedKernel(b) || c.evidence === 'observed'),
    );
    if (observedKernel(b)) {
      actorIs(en, 'ip', `${port} enslaved`);
      assert.ok(
        mentions(en, 'team_port_add') || mentions(en, 'team_add_slave') || inStack(en, /team_add_slave|team_port_add/),
        `${port}: the team's kernel path: ${show(en)}`,
      );
    }
    during(input, en, st);
  }
  // f06: team0 joins brt0: br_add_if makes it promiscuous, and the team driver passes that on to both ports
  const [teamP] = find(changes, 'team0 promiscuity +1 from br_add_if', (c) => c.iface === 'team0' && c.kind === 'promisc' && up(c));
  during(input, teamP, 'f06_team_to_bridge');
  if (observedKernel(b)) {
    actorIs(teamP, 'ip', 'team0 promiscuous');
    assert.ok(mentions(teamP, 'br_add_if'), `br_add_if in the path: ${show(teamP)}`);
  } else notObserved(teamP, 'team0 promiscuous');
  for (const port of ['dft1', 'dft2']) {
    const [pp] = find(
      changes,
      `${port} promiscuity +1 (the team passes the bridge's promiscuity on)`,
      (c) => c.iface === port && c.kind === 'promisc' && up(c),
    );
    during(input, pp, 'f06_team_to_bridge');
    if (observedKernel(b)) {
      actorIs(pp, 'ip', `${port} promiscuous`);
      assert.equal(pp.evidence, 'observed');
      assert.ok(
        mentions(pp, 'br_add_if') || inStack(pp, /team_change_rx_flags|br_add_if/),
        `${port}: the bridge port add through the team in the path: ${show(pp)}`,
      );
    } else notObserved(pp, `${port} promiscuous`);
  }
  // f09: the container's veth (02:00:00:00:00:01, lower than team0's) joins: brt0's MAC follows it; f11: and back
  const [follow, iF] = find(
    changes,
    'brt0 MAC -> 02:00:00:00:00:01 (container veth joins)',
    (c) => c.iface === 'brt0' && c.kind === 'mac' && mac(c.after) === '02:00:00:00:00:01' && c.before !== c.after,
  );
  during(input, follow, 'f09_veth_to_bridge');
  const [back] = find(
    changes,
    'brt0 MAC back when the veth leaves',
    (c) => c.iface === 'brt0' && c.kind === 'mac' && mac(c.before) === '02:00:00:00:00:01' && c.before !== c.after,
    iF,
  );
  during(input, back, 'f11_veth_leaves');
  for (const c of [follow, back]) {
    if (observedKernel(b)) {
      actorIs(c, 'ip', 'bridge follows the container veth');
      assert.equal(c.evidence, 'observed', `bridge MAC following a port is caught: ${show(c)}`);
    } else assert.equal(c.evidence, 'inferred', `syscalls: ${show(c)}`);
  }
}

// ---------------------------------------------------------------- (g) seed script: bond through sysfs, four orderings

const SEED = 'seed-bond-sysfs';
const isSeed = (c: ChangeT) => !!c.actor && c.actor.comm.startsWith(SEED.slice(0, 15));

export function storyBondSysfs(input: StoryInput): void {
  const changes = validate(input);
  const b = input.backend;
  ['now', 'read', 'sleep', 'settle'].forEach((order, k) => {
    const n = k + 1;
    const slave = `dumg${n}`;
    const seedStep = `g${n}2_seed_${order}`;
    // this ordering's window: from its dummy's creation to the next ordering's
    const [made, iM] = find(changes, `${slave} created`, (c) => c.iface === slave && c.kind === 'created');
    const end = changes.findIndex((c, j) => j > iM && c.kind === 'created' && c.iface === `dumg${n + 1}`);
    const mine = changes.slice(iM, end < 0 ? undefined : end);
    void made;
    const [bond] = find(mine, `bond0 created by the seed script (${order})`, (c) => c.iface === 'bond0' && c.kind === 'created');
    if (observedKernel(b)) actorIs(bond, SEED.slice(0, 15), `bond0 created through bonding_masters (${order})`);
    const enslaved = (c: ChangeT) => c.iface === slave && (c.kind === 'enslave' || c.kind === 'master') && String(c.after ?? '').includes('bond0');
    // kernel backends: the enslavement observed in the script's own sysfs write (bond_enslave)
    const [en] = find(
      mine,
      `${slave} enslaved to bond0 by the script (${order})`,
      (c) => enslaved(c) && (!observedKernel(b) || (isSeed(c) && c.evidence === 'observed')),
    );
    during(input, en, seedStep);
    // bond0's MAC story in this ordering: either udev set it before the enslavement (then the slave takes it),
    // or it had not (then bond0 inherits the slave's).  Which one is the race; telling it is the point.
    const bondMacs = real(of(mine, 'bond0', 'mac'));
    const slaveMacs = real(of(mine, slave, 'mac'));
    // The kernel backends time both writes inside the kernel, in the order they took effect. The syscalls backend
    // times a request when it is sent, and bonding's sysfs store restarts the write while it cannot take rtnl: the
    // script's write can be sent before udev's SETLINK and take effect after it. There the order is what the kernel
    // did: udev acted first unless bond0 ever carried the slave's MAC (the inheritance).
    const slaveAtEnslave = netlinkAddrs(input.trace, slave, en.ts + 1).pop();
    const udevFirst = observedKernel(b)
      ? bondMacs.find((c) => isUdev(c) && c.ts < en.ts)
      : bondMacs.some((c) => mac(c.after) === slaveAtEnslave)
        ? undefined
        : bondMacs.find(isUdev);
    if (udevFirst) {
      const [over] = find(
        mine,
        `${order}: udev acted first, so ${slave} takes bond0's MAC`,
        (c) =>
          c.iface === slave &&
          c.kind === 'mac' &&
          mac(c.after) === mac(udevFirst.after) &&
          c.before !== c.after &&
          (!observedKernel(b) || c.evidence === 'observed'),
      );
      if (observedKernel(b)) {
        assert.ok(isSeed(over), `${order}: slave MAC overwrite by the script: ${show(over)}`);
        assert.ok(mentions(over, 'bond_enslave'), `${order}: bond_enslave in the path: ${show(over)}`);
      } else notObserved(over, `${order}: slave MAC overwrite`);
      during(input, over, seedStep);
    } else {
      const slaveMac = slaveAtEnslave;
      const [inherit] = find(
        mine,
        `${order}: udev had not acted, so bond0 inherits ${slave}'s MAC (${slaveMac})`,
        (c) =>
          c.iface === 'bond0' && c.kind === 'mac' && mac(c.after) === slaveMac && c.before !== c.after && (!observedKernel(b) || c.evidence === 'observed'),
      );
      if (observedKernel(b)) {
        assert.ok(isSeed(inherit), `${order}: bond inherits the slave's MAC in the script's write: ${show(inherit)}`);
        assert.equal(inherit.evidence, 'observed');
      } else assert.equal(inherit.evidence, 'inferred', `syscalls: ${show(inherit)}`);
      during(input, inherit, seedStep);
      const later = slaveMacs.filter((c) => c.ts > en.ts - 5_000 && c.ts < en.ts + 2_000_000 && mac(c.after) !== slaveMac);
      // a request is timed when it is sent (syscalls backend): udev's SETLINK may be sent while the script's sysfs write
      // holds rtnl and take effect after the inheritance, so there "late" means after the script's request
      const udevLate = bondMacs.find((c) => isUdev(c) && c.ts > (observedKernel(b) ? inherit.ts : en.ts));
      if (udevLate) {
        // udev acted after the enslavement: its SETLINK on bond0 is passed on to the slave (bond_set_mac_address),
        // so the slave ends with udev's MAC too, in udev's request, not the script's
        const [passed] = find(later, `${order}: udev late: bond0's new MAC passed on to ${slave}`, (c) => mac(c.after) === mac(udevLate.after));
        if (observedKernel(b)) assert.ok(isUdev(passed), `${order}: the late udev write reaches the slave as udev's: ${show(passed)}`);
        assert.deepEqual(later.filter((c) => mac(c.after) !== mac(udevLate.after)).map(show), [], `${order}: ${slave}: no other MAC`);
      } else assert.deepEqual(later.map(show), [], `${order}: ${slave} keeps its MAC`);
    }
    // whatever udev did to bond0 is udev's, never the script's
    for (const c of bondMacs.filter(isUdev)) assert.equal(c.actor!.service, 'systemd-udevd', show(c));
  });
}

// ---------------------------------------------------------------- (h) hard-coded MAC by a script, then ifenslave

export function storyIfenslaveHardMac(input: StoryInput): void {
  const changes = validate(input);
  const b = input.backend;
  const HARD = '02:de:ad:be:ef:01';
  const [set] = find(
    changes,
    `bond0 MAC set to the hard-coded ${HARD}`,
    (c) => c.iface === 'bond0' && c.kind === 'mac' && mac(c.after) === HARD && c.before !== c.after,
  );
  actorIs(set, 'ip', 'hard-coded MAC');
  assert.ok(
    set.actor!.pcomm === 'hardmac-bond.sh' || set.actor!.chain.some((p) => p.comm === 'hardmac-bond.sh'),
    `the script that ran ip is named: ${JSON.stringify(set.actor)}`,
  );
  assert.equal(set.evidence, observedKernel(b) ? 'observed' : 'requested');
  during(input, set, 'h03_hardmac');
  for (const slave of ['dumh1', 'dumh2']) {
    const [en] = find(
      changes,
      `${slave} enslaved by ifenslave`,
      (c) => c.iface === slave && (c.kind === 'enslave' || c.kind === 'master') && String(c.after ?? '').includes('bond0'),
    );
    during(input, en, 'h04_ifenslave');
    const [over] = find(
      changes,
      `${slave} takes the hard-coded MAC`,
      (c) => c.iface === slave && c.kind === 'mac' && mac(c.after) === HARD && c.before !== c.after && (!observedKernel(b) || c.evidence === 'observed'),
    );
    during(input, over, 'h04_ifenslave');
    if (observedKernel(b)) {
      actorIs(en, 'ifenslave', `${slave} enslaved`);
      actorIs(over, 'ifenslave', `${slave} MAC overwrite`);
      assert.ok(mentions(over, 'bond_enslave'), `bond_enslave in the path: ${show(over)}`);
    } else notObserved(over, `${slave} MAC overwrite`);
  }
  // bond0 keeps the hard-coded MAC through the enslavements (it was SET, so no slave's MAC is copied in)
  const [firstEn] = find(changes, 'an enslavement', (c) => c.iface.startsWith('dumh') && c.kind === 'enslave');
  const [firstRel] = find(changes, 'a release', (c) => c.iface.startsWith('dumh') && c.kind === 'release');
  assert.deepEqual(
    real(of(changes, 'bond0', 'mac'))
      .filter((c) => c.ts > firstEn.ts && c.ts < firstRel.ts)
      .map(show),
    [],
    'bond0 keeps its hard-coded MAC while enslaved',
  );
  // h05: ifdown releases the slaves, each gets its own MAC back
  for (const slave of ['dumh1', 'dumh2']) {
    const [back] = find(
      changes,
      `${slave} gets its own MAC back on release`,
      (c) => c.iface === slave && c.kind === 'mac' && mac(c.before) === HARD && c.before !== c.after,
    );
    during(input, back, 'h05_release');
  }
  // and the hard-coded MAC does not survive: releasing the last slave gives bond0 a random one (bonding does
  // that whatever the MAC was), in the ifenslave hook's write
  if (observedKernel(b)) {
    const [lost] = find(
      changes,
      'bond0 loses the hard-coded MAC when its last slave leaves',
      (c) => c.iface === 'bond0' && c.kind === 'mac' && mac(c.before) === HARD && c.before !== c.after && c.evidence === 'observed',
    );
    actorIs(lost, 'ifenslave', 'random MAC on the last release');
    during(input, lost, 'h05_release');
  }
}

export const STORIES: Record<string, (i: StoryInput) => void> = {
  'a-bond-udev': storyBondUdev,
  'b-bond-stock': storyBondStock,
  'c-bridge': storyBridge,
  'd-ip': storyIp,
  'e-alb': storyAlb,
  'f-team-bridge': storyTeamBridge,
  'g-bond-sysfs': storyBondSysfs,
  'h-ifenslave-hardmac': storyIfenslaveHardMac,
  'i-netns-move': storyNetnsMove,
  'j-macvlan-bond': storyMacvlanOnBond,
  'k-bond-8023ad-release': storyBondRelease8023ad,
  'l-bridge-del': storyBridgeDeleted,
};

// ---------------------------------------------------------------- the syscalls program's sysfs writes (issue 12)

/** Network sysfs files: what sysfs_write may report (a cgroup or other /sys write is no network change). */
const NET_SYSFS = /^\/sys\/(class\/net|devices\/.*\/net)\//;

/**
 * The raw sysfs_write events of a syscalls trace: only network sysfs files; each write once with one result (a
 * write bonding restarts under rtnl contention is one event, never a -ERESTARTNOINTR result); and in scenario g
 * exactly the seed script's four writes per ordering, never its stdout (`echo "bond0 after: ..."` after the
 * shell restored fd 1 with dup2).
 */
export function checkSysfsWrites(trace: TraceFile, scenario: string): void {
  const writes = trace.events.filter((e) => e.type === 'probe' && e.probe === 'sysfs_write');
  const open = new Map<unknown, Record<string, unknown>>();
  for (const e of writes) {
    const f = e.fields as Record<string, unknown>;
    if (e.phase === 'entry') {
      assert.match(String(f.path), NET_SYSFS, `sysfs_write outside network sysfs: ${JSON.stringify(e)}`);
      assert.ok(!open.has(e.tid), `sysfs_write twice without a result between (a restarted write reported again?): ${JSON.stringify(e)}`);
      open.set(e.tid, e);
    } else {
      const ret = Number(f.ret);
      assert.notEqual(ret, -513, `sysfs_write result is a restart (-ERESTARTNOINTR): ${JSON.stringify(e)}`);
      assert.ok(open.delete(e.tid), `sysfs_write result without its write: ${JSON.stringify(e)}`);
    }
  }
  if (scenario !== 'g-bond-sysfs') return;
  const seed = writes.filter((e) => e.phase === 'entry' && String(e.comm).startsWith(SEED.slice(0, 15)));
  const data = seed.map((e) => String((e.fields as Record<string, unknown>).data).trim());
  const expected = [1, 2, 3, 4].flatMap((n) => ['+bond0', 'active-backup', '100', `+dumg${n}`]);
  assert.deepEqual(data, expected, `the seed script's sysfs writes, once each and nothing it printed to stdout: ${JSON.stringify(seed.map((e) => e.fields))}`);
}

// ---------------------------------------------------------------- sysfs ground truth (the scenarios, not the product)

export function groundTruth(scenarios: readonly string[], at: (s: string) => Map<string, Map<string, IfState>>): void {
  const get = (s: string, step: string, ifc: string) => {
    const v = at(s).get(step)?.get(ifc);
    assert.ok(v, `${s}: no state of ${ifc} after ${step}`);
    return v;
  };
  if (scenarios.includes('a-bond-udev')) {
    assert.equal(get('a-bond-udev', 'a02_add_bond', 'bond0').aat, 3, 'a: udev set bond0 MAC (aat 3 SET)');
    const udevMac = get('a-bond-udev', 'a02_add_bond', 'bond0').mac;
    assert.equal(get('a-bond-udev', 'a03_enslave_ip', 'duma0').mac, udevMac, "a: slave took the bond's MAC");
    assert.equal(get('a-bond-udev', 'a04_release', 'bond0').aat, 1, 'a: release of the last slave -> RANDOM');
    assert.equal(get('a-bond-udev', 'a05_enslave_sysfs', 'bond0').mac, get('a-bond-udev', 'a01_add_dummy', 'duma0').mac, "a: bond inherited the slave's MAC");
  }
  if (scenarios.includes('b-bond-stock')) {
    assert.equal(get('b-bond-stock', 'b02_add_bond', 'bond0').aat, 1, 'b: stock: bond0 keeps a RANDOM MAC');
    assert.equal(get('b-bond-stock', 'b04_enslave', 'bond0').mac, get('b-bond-stock', 'b01_add_dummy', 'dumb0').mac, "b: bond inherited the slave's MAC");
  }
  if (scenarios.includes('c-bridge')) {
    assert.equal(get('c-bridge', 'c03_port_vb0', 'vb0').promisc, 1, 'c: port promiscuous');
    assert.equal(get('c-bridge', 'c10_port_da2_lower', 'brauto0').mac, '02:00:00:00:00:05', 'c: bridge follows lowest port');
    assert.equal(get('c-bridge', 'c11_da2_nomaster', 'brauto0').mac, '02:00:00:00:00:20', 'c: and back');
  }
  if (scenarios.includes('d-ip')) {
    assert.equal(get('d-ip', 'd02_set_mac', 'dd0').mac, '02:11:22:33:44:55');
    assert.equal(get('d-ip', 'd03_promisc_on', 'dd0').promisc, 1);
  }
  if (scenarios.includes('e-alb')) {
    const b1 = get('e-alb', 'e05_enslave_de2', 'de1').mac;
    const b2 = get('e-alb', 'e05_enslave_de2', 'de2').mac;
    assert.equal(get('e-alb', 'e08_wait', 'de1').mac, b2, 'e: failover swapped de1 <- de2 MAC');
    assert.equal(get('e-alb', 'e08_wait', 'de2').mac, b1, 'e: failover swapped de2 <- de1 MAC');
  }
  if (scenarios.includes('f-team-bridge')) {
    assert.equal(get('f-team-bridge', 'f04_team_port2', 'dft2').master, 'team0', 'f: dft2 is a team0 port');
    assert.equal(get('f-team-bridge', 'f06_team_to_bridge', 'team0').master, 'brt0', 'f: team0 is a brt0 port');
    for (const p of ['dft1', 'dft2']) assert.equal(get('f-team-bridge', 'f06_team_to_bridge', p).promisc, 1, `f: ${p} promiscuous under the bridge`);
    assert.equal(get('f-team-bridge', 'f09_veth_to_bridge', 'brt0').mac, '02:00:00:00:00:01', 'f: bridge follows the container veth');
    assert.notEqual(get('f-team-bridge', 'f11_veth_leaves', 'brt0').mac, '02:00:00:00:00:01', 'f: and leaves it');
  }
  if (scenarios.includes('g-bond-sysfs')) {
    ['now', 'read', 'sleep', 'settle'].forEach((o, k) => {
      const n = k + 1;
      assert.equal(get('g-bond-sysfs', `g${n}2_seed_${o}`, `dumg${n}`).master, 'bond0', `g ${o}: enslaved through sysfs`);
      assert.equal(
        get('g-bond-sysfs', `g${n}2_seed_${o}`, `dumg${n}`).mac,
        get('g-bond-sysfs', `g${n}2_seed_${o}`, 'bond0').mac,
        `g ${o}: bond and slave share a MAC`,
      );
    });
  }
  if (scenarios.includes('h-ifenslave-hardmac')) {
    assert.equal(get('h-ifenslave-hardmac', 'h03_hardmac', 'bond0').mac, '02:de:ad:be:ef:01', 'h: hard-coded MAC');
    for (const p of ['dumh1', 'dumh2']) {
      assert.equal(get('h-ifenslave-hardmac', 'h04_ifenslave', p).master, 'bond0', `h: ${p} enslaved by ifenslave`);
      assert.equal(get('h-ifenslave-hardmac', 'h04_ifenslave', p).mac, '02:de:ad:be:ef:01', `h: ${p} took the bond's MAC`);
    }
    for (const p of ['dumh1', 'dumh2']) assert.equal(get('h-ifenslave-hardmac', 'h05_release', p).master, '', `h: ${p} released by ifdown`);
  }
  if (scenarios.includes('i-netns-move')) {
    get('i-netns-move', 'i01_add_veth', 'vni0p');
    assert.equal(at('i-netns-move').get('i02_move')?.get('vni0p'), undefined, 'i: vni0p left the host namespace');
    get('i-netns-move', 'i03_set_mac', 'vni0');
  }
  if (scenarios.includes('j-macvlan-bond')) {
    assert.equal(get('j-macvlan-bond', 'j04_read', 'dmj0').master, 'bond0', 'j: dmj0 is a bond0 slave');
    assert.equal(get('j-macvlan-bond', 'j04_read', 'dmj0').promisc, 0, 'j: not promiscuous before mv0 is up');
    assert.equal(get('j-macvlan-bond', 'j05_mv_up', 'dmj0').promisc, 1, 'j: promiscuous once mv0 is up');
    assert.equal(get('j-macvlan-bond', 'j05_mv_up', 'bond0').promisc, 0, 'j: bond0 filters unicast itself');
    assert.equal(get('j-macvlan-bond', 'j06_del_mv', 'dmj0').promisc, 0, 'j: and back when mv0 is gone');
  }
  if (scenarios.includes('k-bond-8023ad-release')) {
    const m = get('k-bond-8023ad-release', 'k02_add_slaves', 'dmk1').mac;
    assert.equal(get('k-bond-8023ad-release', 'k03_enslave', 'bond0').mac, m, "k: bond0 took its first slave's MAC");
    assert.equal(get('k-bond-8023ad-release', 'k03_enslave', 'dmk2').mac, m, "k: dmk2 took bond0's");
    assert.equal(get('k-bond-8023ad-release', 'k04_release1', 'dmk1').master, '', 'k: dmk1 released');
    assert.equal(get('k-bond-8023ad-release', 'k04_release1', 'dmk1').mac, m, 'k: dmk1 has its own MAC, still bond0s');
    assert.equal(get('k-bond-8023ad-release', 'k04_release1', 'bond0').mac, m, 'k: bond0 keeps it');
  }
  if (scenarios.includes('l-bridge-del')) {
    for (const p of ['vl0', 'dml1']) assert.equal(get('l-bridge-del', 'l03_ports', p).master, 'brl0', `l: ${p} a brl0 port`);
    assert.equal(at('l-bridge-del').get('l04_del_br')?.get('brl0'), undefined, 'l: brl0 deleted');
    for (const p of ['vl0', 'dml1']) assert.equal(get('l-bridge-del', 'l04_del_br', p).master, '', `l: ${p} let go`);
  }
}

// ---------------------------------------------------------------- each change once

/**
 * One change, one line: the same interface, kind and new value reported twice within 50 ms is a duplicate
 * (seen live under load: a netlink message outruns its probe events, is emitted as `inferred`, and the
 * observed change follows; or two probes of one MAC write are not merged).
 */
export function duplicates(trace: TraceFile): string[] {
  const cs = validate({ trace, backend: trace.header.backend as StoryBackend });
  const out: string[] = [];
  cs.forEach((c, i) => {
    const d = cs.find(
      (x, j) => j > i && x.iface === c.iface && x.kind === c.kind && JSON.stringify(x.after) === JSON.stringify(c.after) && Math.abs(x.ts - c.ts) < 50_000,
    );
    if (d) out.push(`${show(c)}\n    and ${show(d)}`);
  });
  return out;
}

// ---------------------------------------------------------------- known product gaps

/**
 * Stories the product does not tell yet on a given kernel, by `<suite>/<scenario>/<live|kprobe|syscalls>`: the
 * test still runs and prints its failure, as a TODO (node:test), so the rest of the matrix stays green and the
 * gap stays visible.  Each entry says what was seen.  Remove an entry when the product is fixed.
 */
export const KNOWN_GAPS: Record<string, string> = {};

// ---------------------------------------------------------------- ifblame's own output in the guest

/** Probes a suite's kernel may legitimately lack (static functions inlined by the compiler). */
const MAY_DROP: Record<Suite, string[]> = {
  bookworm: ['netdev_changeaddr'],
  trixie: ['netdev_changeaddr'],
  sid: ['netdev_changeaddr', 'dev_set_mac_address_user'],
};
/** Probes every suite must find: the ones the stories stand on (team ports at team_add_slave/team_del_slave where inlined). */
const MUST_FIND = [
  'dev_set_mac_address',
  'dev_addr_mod',
  'bond_enslave',
  '__bond_release_one',
  'dev_set_promiscuity',
  '__dev_set_promiscuity',
  'br_add_if',
  'team_port_add',
  'team_port_del',
];

/** `ifblame doctor` in the guest: every backend attaches, auto picks kfunc, the probes are found. */
export function checkDoctor(suite: Suite, out: string, rc: string, stderr: string): void {
  assert.equal(
    rc,
    '0',
    `ifblame doctor exit ${rc}:
${out}
${stderr}`,
  );
  assert.match(
    out,
    /live tracing: ready, backend kfunc \(auto\)/,
    `auto picks kfunc:
${out}`,
  );
  for (const b of ['kfunc', 'kprobe', 'syscalls'])
    assert.match(
      out,
      new RegExp(`^backend ${b}\\s+ok\\b`, 'm'),
      `backend ${b} attaches:
${out}`,
    );
  assert.match(out, /^bpftrace\s+ok\s+v0\.\d+/m, 'doctor names the bpftrace version');
  const rows = [...out.matchAll(/^probe (\S+)\s+(ok|dropped)\b\s*(.*)$/gm)].map((m) => ({ id: m[1]!, ok: m[2] === 'ok', detail: m[3]! }));
  assert.ok(rows.length >= MUST_FIND.length, `doctor lists the probes:\n${out}`);
  for (const id of MUST_FIND) assert.ok(rows.find((r) => r.id === id)?.ok, `probe ${id} found:\n${out}`);
  // doctor names the attach point: the function itself, or the alternative where it is inlined
  for (const [id, alt] of [
    ['team_port_add', 'team_add_slave'],
    ['team_port_del', 'team_del_slave'],
  ])
    assert.match(
      rows.find((r) => r.id === id)!.detail,
      new RegExp(`^(${id}|${alt} \\(${id} is not usable here\\))\\s*$`),
      `doctor says where ${id} attaches:\n${out}`,
    );
  const unexpected = rows.filter((r) => !r.ok && !MAY_DROP[suite].includes(r.id));
  assert.deepEqual(
    unexpected.map((r) => `${r.id}: ${r.detail}`),
    [],
    `${suite}: probes dropped that this kernel should have`,
  );
}

export interface CaptureRun {
  rc: string;
  stdout: string;
  stderr: string;
  trace: TraceFile;
  commandStarted: boolean;
}

/** `ifblame capture --record --format ndjson -- <scenarios>`: ran, exit 0, no event lost, no bpftrace warning left for the user. */
export function checkCapture(c: CaptureRun): void {
  assert.ok(
    c.commandStarted,
    `ifblame capture never ran its command (exit ${c.rc}):
${c.stderr.split('\n').slice(-20).join('\n')}`,
  );
  assert.equal(
    c.rc,
    '0',
    `ifblame capture exit ${c.rc}:
${c.stderr.split('\n').slice(-20).join('\n')}`,
  );
  assert.equal(c.trace.bad, 0, 'recording has no unparsable lines');
  assert.equal(c.trace.header.backend, 'kfunc', 'auto picked kfunc');
  const notes = c.trace.events.filter((e) => e.type === 'note');
  const warnings = notes.filter((n) => n.source === 'bpftrace' && n.level !== 'info').map((n) => String(n.message));
  assert.deepEqual(warnings, [], 'bpftrace warnings that reached the user');
  const lost = c.trace.events.filter((e) => e.type === 'lost').reduce((n, e) => n + Number(e.count ?? 0), 0);
  assert.equal(lost, 0, 'events lost during the capture');
  // The first change of a capture is where bpftrace's output most often trails netlink's (its perf buffer is read
  // late at start): it must still be seen by a probe and carry its process, never be "inferred".
  const first = c.trace.events.filter((e) => e.type === 'change').sort((x, y) => Number(x.ts) - Number(y.ts))[0];
  assert.ok(first, 'the capture has changes');
  const fc = Change.parse(first);
  assert.equal(fc.evidence, 'observed', `the capture's first change is observed by a probe: ${show(fc)}`);
  assert.ok(fc.actor && !fc.actor.kernel, `the capture's first change names its process: ${show(fc)}`);
  if (fc.iface === 'duma0' && fc.kind === 'created') assert.equal(fc.actor.comm, 'ip', `a01 (ip link add duma0): ${show(fc)}`);
  const lines = c.stdout.split('\n').filter(Boolean);
  assert.ok(lines.length > 10, 'capture printed the changes as ndjson');
  for (const l of lines) JSON.parse(l);
  const bpftraceWarning = /WARN(ING)?:|deprecated|Unnecessary cast/;
  assert.deepEqual(
    (c.stdout + c.stderr).split('\n').filter((l) => bpftraceWarning.test(l)),
    [],
    "no bpftrace warning on capture's output",
  );
}

/** The TUI screen (tmux capture-pane) after the d-ip steps: live, kfunc, dd0's hand-set MAC and who did it. */
export function checkTuiScreen(screen: string, rc: string, stderr: string): void {
  const ctx = `\n--- screen ---\n${screen}\n--- live exit ${rc}, stderr ---\n${stderr}`;
  assert.match(screen, /LIVE/, `status line says LIVE${ctx}`);
  assert.match(screen, /kfunc/, `status line names the backend${ctx}`);
  assert.match(screen, /lost 0/, `nothing lost${ctx}`);
  assert.match(screen, /dd0/, `dd0 on screen${ctx}`);
  assert.match(screen, /02:11:22:33:44:55/, `the hand-set MAC on screen${ctx}`);
  assert.match(screen, /\bip\b/, `the actor ip on screen${ctx}`);
  assert.match(screen, /promisc/i, `the promiscuity changes on screen${ctx}`);
  assert.equal(rc, '0', `ifblame live quit with q and exit 0${ctx}`);
}
