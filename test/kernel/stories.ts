// What each real-kernel scenario must show, asserted on a trace file alone (header + events), so the
// same checks run on a fresh capture (kernel.test.ts) and on the committed recordings (replay.test.ts).
// Steps (from the guest's steps.log), when given, add timing checks: the change happened during the
// step that caused it.
import assert from 'node:assert/strict';
import { Change, TraceEvent } from '../../src/events.js';
import { TraceHeader } from '../../src/trace/format.js';
import type { Step, TraceFile } from './harness.js';

type ChangeT = ReturnType<typeof Change.parse>;
type Kind = ChangeT['kind'];
export type StoryBackend = 'kprobe' | 'kfunc' | 'syscalls';

export interface StoryInput {
  trace: TraceFile;
  backend: StoryBackend;
  /** The guest's steps.log; absent on replay of a recording. */
  steps?: Step[];
  /** `uname -r` in the guest; absent on replay (then the header must still name a real kernel). */
  kernel?: string;
  /** The exact program that ran; the header must carry it. */
  program?: string;
}

/** Every line validates against the product's own schemas; returns the changes, in file order. */
export function validate(input: StoryInput): ChangeT[] {
  const { trace, backend } = input;
  const h = TraceHeader.safeParse(trace.header);
  assert.ok(h.success, `trace header does not validate: ${h.success ? '' : JSON.stringify(h.error.issues.slice(0, 5))}`);
  assert.equal(h.data.backend, backend, 'header.backend');
  if (input.kernel) assert.equal(h.data.kernel, input.kernel, 'header.kernel is the guest kernel');
  assert.match(h.data.kernel, /^\d+\.\d+\./, 'header.kernel names a kernel release');
  assert.ok(h.data.program.includes('BEGIN'), 'header.program holds the generated program');
  if (input.program !== undefined) assert.equal(h.data.program, input.program, 'header.program is the exact program that ran');
  assert.ok(h.data.snapshot.length > 0, 'header.snapshot holds the initial link snapshot');
  assert.equal(trace.bad, 0, 'no unparsable lines');
  const changes: ChangeT[] = [];
  trace.events.forEach((e, i) => {
    const r = TraceEvent.safeParse(e);
    assert.ok(
      r.success,
      `event ${i + 2} does not validate: ${r.success ? '' : JSON.stringify(r.error.issues.slice(0, 3))}\n${JSON.stringify(e).slice(0, 400)}`,
    );
    if (r.data.type === 'change') changes.push(r.data);
  });
  // fentry stacks start with bpf_prog_…/bpf_trampoline_… frames (and a concurrent fentry program puts
  // trampolines into kprobe stacks too): a reader must not see them
  for (const c of changes) {
    const bpf = [...c.via.kstack, ...c.via.path].filter((f) => /\bbpf_(prog|trampoline)_/.test(f));
    assert.deepEqual(bpf, [], `BPF frames shown to the reader: ${show(c)}`);
  }
  // every interface that appears during the capture (not in the initial snapshot) has its `created` change
  const known = new Set(h.data.snapshot.map((l) => l.ifname));
  const appeared = new Set(
    trace.events.filter((e) => e.type === 'link' && e.action === 'new' && e.family !== 'bridge' && !known.has(String(e.ifname))).map((e) => String(e.ifname)),
  );
  for (const n of appeared)
    assert.ok(
      changes.some((c) => c.iface === n && c.kind === 'created'),
      `${n} was created during the capture but there is no 'created' change; changes:\n${describe(changes)}`,
    );
  const lost = trace.events.filter((e) => e.type === 'lost').reduce((n, e) => n + Number(e.count ?? 0), 0);
  assert.equal(lost, 0, `${lost} events lost`);
  return changes;
}

// ---------------------------------------------------------------- helpers

const show = (c: ChangeT) =>
  `${c.iface} ${c.kind} ${JSON.stringify(c.before)} -> ${JSON.stringify(c.after)} by ${c.actor ? `${c.actor.comm}[${c.actor.pid}]${c.actor.service ? ` (${c.actor.service})` : ''}${c.actor.kernel ? ' kernel' : ''}` : 'nobody'} via ${c.via.probe ?? '-'} path=[${c.via.path.join(' > ')}] ${c.evidence}`;

export function describe(changes: ChangeT[]): string {
  return changes.map((c) => '  ' + show(c)).join('\n');
}

function of(changes: ChangeT[], iface: string, kind: Kind): ChangeT[] {
  return changes.filter((c) => c.iface === iface && c.kind === kind);
}

/** Real changes only: a MAC "set" to the value it already had is not a change. */
function real(cs: ChangeT[]): ChangeT[] {
  return cs.filter((c) => c.before !== c.after);
}

const mac = (v: unknown) => (typeof v === 'string' ? v.toLowerCase() : v);

function isUdev(c: ChangeT): boolean {
  const a = c.actor;
  return !!a && (a.service === 'systemd-udevd' || a.comm === '(udev-worker)' || a.comm === 'systemd-udevd');
}

function mentions(c: ChangeT, fn: string): boolean {
  return c.via.path.some((p) => p.includes(fn));
}

function inStack(c: ChangeT, re: RegExp): boolean {
  return c.via.kstack.some((f) => re.test(f));
}

/** The first change matching `pred` after index `from` (file order), or a failure listing all changes. */
function find(changes: ChangeT[], what: string, pred: (c: ChangeT) => boolean, from = -1): [ChangeT, number] {
  const i = changes.findIndex((c, j) => j > from && pred(c));
  assert.ok(i >= 0, `expected ${what}; the changes were:\n${describe(changes)}`);
  return [changes[i]!, i];
}

/** With steps: the change's time falls in [start of the first step named, start of the step after the last one). */
function during(input: StoryInput, c: ChangeT, ...names: string[]): void {
  if (!input.steps?.length) return;
  const idx = names.map((n) => {
    const i = input.steps!.findIndex((s) => s.name === n);
    assert.ok(i >= 0, `no step ${n} in steps.log`);
    return i;
  });
  const first = input.steps[Math.min(...idx)]!;
  const end = input.steps[Math.max(...idx) + 1]?.start ?? Infinity;
  // 5 ms slack: probe and step clocks are read at different moments
  assert.ok(c.ts >= first.start - 5_000 && c.ts < end, `${show(c)} at ${c.ts} is not during ${names.join('/')} [${first.start}, ${end})`);
}

function actorIs(c: ChangeT, comm: string, what: string): void {
  assert.ok(c.actor, `${what}: no actor: ${show(c)}`);
  assert.equal(c.actor.comm, comm, `${what}: actor comm: ${show(c)}`);
  assert.equal(c.actor.kernel, false, `${what}: a user process, not the kernel: ${show(c)}`);
}

const observedKernel = (b: StoryBackend) => b === 'kprobe' || b === 'kfunc';

/** The syscalls backend never claims to have seen a kernel-internal change. */
function notObserved(c: ChangeT, what: string): void {
  assert.notEqual(c.evidence, 'observed', `${what}: the syscalls backend cannot observe this: ${show(c)}`);
}

/** The addresses netlink reported for an interface, in time order (before `until`, µs, when given). */
function netlinkAddrs(trace: TraceFile, iface: string, until = Infinity): string[] {
  return trace.events
    .filter((x) => x.type === 'link' && x.ifname === iface && typeof x.addr === 'string' && x.addr !== '' && Number(x.ts) < until)
    .sort((a, b) => Number(a.ts) - Number(b.ts))
    .map((x) => String(x.addr).toLowerCase());
}

// ---------------------------------------------------------------- (a) bond + udev, 98-net-bonding.link masked

export function storyBondUdev(input: StoryInput): void {
  const changes = validate(input);
  const b = input.backend;
  // a02: systemd-udevd, through a (udev-worker), gives bond0 its name-derived MAC (addr_assign_type 3)
  const [udev, iU] = find(changes, 'bond0 mac set by systemd-udevd', (c) => c.iface === 'bond0' && c.kind === 'mac' && c.before !== c.after && isUdev(c));
  assert.equal(udev.actor!.comm, '(udev-worker)', 'udev worker seen as the task');
  assert.equal(udev.actor!.service, 'systemd-udevd', 'the (udev-worker) is attributed to systemd-udevd');
  assert.equal(udev.evidence, observedKernel(b) ? 'observed' : 'requested', 'udev MAC: evidence');
  if (observedKernel(b)) assert.ok(inStack(udev, /dev_set_mac_address/), `udev MAC: kernel stack has dev_set_mac_address: ${udev.via.kstack.join(' ')}`);
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
  if (observedKernel(input.backend)) assert.ok(inStack(m, /dev_set_mac_address/), `stack: ${m.via.kstack.join(' ')}`);
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

export const STORIES: Record<string, (i: StoryInput) => void> = {
  'a-bond-udev': storyBondUdev,
  'b-bond-stock': storyBondStock,
  'c-bridge': storyBridge,
  'd-ip': storyIp,
  'e-alb': storyAlb,
};
