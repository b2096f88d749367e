// A storm under lag: thousands of MAC changes a second, one source late by seconds. Each change is reported once,
// with its process, whichever source is late: a late netlink message confirms the change its request already
// reported; a late request claims the change netlink already reported without it. (Seen live: `ip -batch` of 20,000
// MAC changes on a loaded machine gave 168 and then 3,066 duplicates when only the newest 512 changes were searched.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Correlator } from '../src/correlate/correlator.js';
import { Change, LinkEvent, ProbeEvent, type LinkState, type TraceEvent } from '../src/events.js';

const N = 25_000; // 2 s of storm: longer than any wait for a match
const STEP_US = 80; // ~12k changes/s, `ip -batch` speed
const T0 = 1_000_000_000;
const mac = (i: number) => `02:00:00:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}:01`;
const SNAPSHOT: LinkState[] = [{ ifindex: 5, ifname: 'st0', flags: ['BROADCAST'], addr: '02:00:00:ff:ff:01', promiscuity: 0 } as LinkState];

/** The syscalls backend's view of `ip link set dev st0 address X` (an RTM_NEWLINK request with IFLA_ADDRESS). */
function request(i: number, seq: number): ProbeEvent {
  return ProbeEvent.parse({
    type: 'probe',
    seq,
    ts: T0 + i * STEP_US,
    backend: 'syscalls',
    probe: 'nl_link',
    phase: 'entry',
    pid: 4242,
    tid: 4242,
    comm: 'ip',
    fields: { nl_type: 16, nl_flags: 5, ifindex: 5, ifname: '', addr: mac(i), ifi_change: 0, ifi_flags: 0 },
    kstack: [],
  });
}

/** netlink's message for change i, a few µs after its request. */
function message(i: number, seq: number): LinkEvent {
  return LinkEvent.parse({
    type: 'link',
    seq,
    ts: T0 + i * STEP_US + 20,
    action: 'new',
    ifindex: 5,
    ifname: 'st0',
    flags: ['BROADCAST'],
    linkType: 'ether',
    addr: mac(i),
    promiscuity: 0,
  });
}

const macChanges = (evs: TraceEvent[]) => evs.filter((e): e is Change => e.type === 'change' && e.kind === 'mac' && e.iface === 'st0');

function assertOncePerChange(changes: Change[]): void {
  const byAfter = new Map<string, number>();
  for (const c of changes) byAfter.set(String(c.after), (byAfter.get(String(c.after)) ?? 0) + 1);
  const twice = [...byAfter].filter(([, n]) => n > 1);
  assert.equal(twice.length, 0, `${twice.length} changes reported more than once, e.g. ${twice.slice(0, 3).map(([a]) => a)}`);
  assert.equal(changes.length, N);
  const unattributed = changes.filter((c) => c.actor?.comm !== 'ip');
  assert.equal(unattributed.length, 0, `${unattributed.length} changes not attributed to ip`);
}

test('netlink late by seconds: each message confirms the change its request already reported, none is reported again', () => {
  const c = new Correlator(SNAPSHOT);
  const out: TraceEvent[] = [];
  let seq = 0;
  for (let i = 0; i < N; i++) out.push(...c.push(request(i, ++seq)));
  // The requests' wait for netlink ran out: they are reported as requested, unconfirmed.
  out.push(...c.advance(T0 + N * STEP_US + 3_000_000));
  assert.equal(macChanges(out).length, N, 'every request reported once its wait ran out');
  for (let i = 0; i < N; i++) out.push(...c.push(message(i, ++seq)));
  out.push(...c.flush());
  const changes = macChanges(out);
  assertOncePerChange(changes);
  assert.ok(
    changes.every((ch) => ch.refs.length === 2),
    'each change holds its request and the late message that confirmed it',
  );
});

test('requests late by seconds: each claims the change netlink reported without it, none is reported again', () => {
  const c = new Correlator(SNAPSHOT);
  const out: TraceEvent[] = [];
  let seq = 0;
  for (let i = 0; i < N; i++) out.push(...c.push(message(i, ++seq)));
  out.push(...c.advance(T0 + N * STEP_US + 2_000_000));
  assert.equal(macChanges(out).filter((ch) => ch.actor === null).length, N, 'netlink alone: reported without a process');
  for (let i = 0; i < N; i++) out.push(...c.push(request(i, ++seq)));
  out.push(...c.flush());
  const changes = macChanges(out);
  assertOncePerChange(changes);
  assert.ok(
    changes.every((ch) => ch.via.note?.includes('arrived late')),
    'each says its cause arrived late',
  );
});

test('netlink overrun (messages lost) under lag: the requests whose messages never came are still reported, once each', () => {
  const c = new Correlator(SNAPSHOT);
  const out: TraceEvent[] = [];
  let seq = 0;
  // netlink a little ahead in places, requests ahead in others; every 7th message lost to ENOBUFS
  for (let i = 0; i < N; i += 100) {
    const block = Array.from({ length: Math.min(100, N - i) }, (_, k) => i + k);
    const reqs = block.map((j) => request(j, ++seq));
    const msgs = block.filter((j) => j % 7 !== 0).map((j) => message(j, ++seq));
    const evs: (ProbeEvent | LinkEvent)[] = (i / 100) % 2 ? [...msgs, ...reqs] : [...reqs, ...msgs];
    for (const ev of evs) out.push(...c.push(ev));
  }
  out.push(...c.flush());
  const changes = macChanges(out);
  assertOncePerChange(changes);
  assert.equal(
    changes.filter((ch) => ch.via.note?.includes('not confirmed by netlink')).length,
    Math.ceil(N / 7),
    'each change whose message was lost says so',
  );
});
