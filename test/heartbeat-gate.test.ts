// bpftrace's watermark under a storm: a heartbeat holds only once the last event of every CPU it names has been read
// (its per-CPU buffers are read one after another, and one can be left unread for half a second).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { HeartbeatGate, type Heartbeat } from '../src/feed/heartbeat-gate.js';
import { decodeLine, decodePrintf } from '../src/parse/bpftrace-json.js';
import { generate, HEARTBEAT_CPUS_PER_LINE } from '../src/probes/generate.js';
import { possibleCpus } from '../src/probes/plan.js';
import { ROOT } from './golden.js';

const hb = (mono: number, last: number[], base = 0, total = last.length): Heartbeat => ({ mono, ts: mono / 1000, cpus: { total, base, last } });

test('a heartbeat read before an older event of another CPU holds only once that event is read', () => {
  const g = new HeartbeatGate();
  assert.equal(g.event(1_000), null); // CPU 0's event, and no heartbeat yet
  // CPU 1's buffer is read late: the heartbeat (from CPU 0's) says CPU 1 printed an event at 2_000
  assert.equal(g.heartbeat(hb(5_000, [1_000, 2_000])), null, 'CPU 1 event 2_000 not read yet');
  assert.equal(g.heartbeat(hb(6_000, [1_000, 2_000])), null);
  assert.equal(g.event(2_000), 6, 'both heartbeats hold at once, the newest wins (µs)');
  assert.equal(g.heartbeat(hb(7_000, [1_000, 2_000])), 7, 'nothing new on either CPU: holds at once');
  assert.equal(g.heartbeat(hb(8_000, [0, 0])), 8, 'a CPU that printed nothing needs nothing');
});

test('a machine with more CPUs than one line holds: the heartbeat waits for all its lines', () => {
  const g = new HeartbeatGate();
  const n = HEARTBEAT_CPUS_PER_LINE + 4;
  const first = Array.from({ length: HEARTBEAT_CPUS_PER_LINE }, () => 0);
  assert.equal(g.heartbeat(hb(9_000, first, 0, n)), null, 'the CPUs of the second line are still unknown');
  assert.equal(g.heartbeat(hb(9_000, [0, 0, 0, 4_000], HEARTBEAT_CPUS_PER_LINE, n)), null, 'the last CPU printed at 4_000');
  assert.equal(g.event(4_000), 9);
});

test('lost events: the heartbeats waiting for them hold, and an older program heartbeat holds by its time alone', () => {
  const g = new HeartbeatGate();
  assert.equal(g.heartbeat(hb(3_000, [2_500])), null);
  assert.equal(g.lost(), 3, 'the event named may have been one of those lost');
  assert.equal(g.heartbeat({ mono: 4_000, ts: 4 }), 4);
});

test('an event named but never read (lost without a word) holds the watermark at most 5 s of heartbeats', () => {
  const g = new HeartbeatGate();
  assert.equal(g.heartbeat(hb(1_000_000_000, [999_000_000])), null);
  assert.equal(g.heartbeat(hb(5_900_000_000, [999_000_000])), null, 'still within 5 s');
  assert.equal(g.heartbeat(hb(6_100_000_000, [999_000_000])), 6_100_000, 'given up: the event counts as read, every heartbeat holds');
  assert.equal(g.event(999_000_000), null, 'read after all: nothing was waiting for it any more');
  assert.equal(g.heartbeat(hb(6_200_000_000, [999_000_000])), 6_200_000);
});

test("a real storm's bpftrace output: the gate never passes an event still to come; heartbeat times alone would have", () => {
  const gz = readFileSync(join(ROOT, 'test', 'fixtures', 'storm-rings', 'syscalls-storm-5000.json.gz'));
  const lines = gunzipSync(gz).toString('utf8').split('\n').filter(Boolean);
  const ctx = { backend: 'syscalls' as const, monoToWallUs: 0 };
  const g = new HeartbeatGate();
  let gated = -Infinity; // µs
  let byTime = -Infinity;
  let events = 0;
  let passedByGate = 0;
  let passedByTime = 0;
  for (const line of lines) {
    const d = decodeLine(line, ctx);
    if (d.kind === 'event') {
      events++;
      const ts = d.event.ts;
      if (ts < gated - 5_000) passedByGate++; // the live feed's slack: 5 ms
      if (ts < byTime - 50_000) passedByTime++; // the heartbeat-time rule's: 50 ms
      gated = Math.max(gated, g.event(d.event.mono!) ?? -Infinity);
    } else if (d.kind === 'heartbeat') {
      assert.ok(d.cpus, 'the program names each CPU last event');
      gated = Math.max(gated, g.heartbeat(d) ?? -Infinity);
      byTime = Math.max(byTime, d.ts);
    }
  }
  assert.ok(events >= 5000, `${events} events`);
  assert.equal(passedByGate, 0, 'events the gate had already let netlink pass');
  assert.ok(passedByTime > 1000, `heartbeat times alone let netlink pass ${passedByTime} events (the fixture shows the lag)`);
  assert.ok(gated > byTime - 1_000_000, 'the gate moved on with the storm, not stuck at its start');
});

test('the program stores each event time as its CPU last, and the heartbeat prints every CPU', () => {
  const text = generate({ backend: 'kfunc', filters: { iface: [], comm: [] }, cpus: 20 }).text;
  const prints = text.split('\n').filter((l) => /printf\("[a-z_]/.test(l));
  assert.ok(prints.length > 10);
  for (const l of prints) assert.match(l, /^\s*@ifb_last\[cpu\] = nsecs; printf\(/, l);
  const hbs = text.split('\n').filter((l) => l.includes('printf("#hb'));
  assert.equal(hbs.length, 2, '20 CPUs: two lines of at most 16');
  assert.ok(hbs[1]!.includes('@ifb_last[19]') && !text.includes('@ifb_last[20]'));
  assert.match(text, /END\n\{\n {2}clear\(@ifb_last\);/, 'cleared at exit, or bpftrace prints the map');
});

test('#hb lines: both formats decode; a bad one is an error, not a heartbeat', () => {
  const ctx = { backend: 'syscalls' as const, monoToWallUs: 0 };
  assert.deepEqual(decodePrintf('#hb\t5000\t2\t0\t10\t0', ctx), { kind: 'heartbeat', mono: 5000, ts: 5, cpus: { total: 2, base: 0, last: [10, 0] } });
  assert.deepEqual(decodePrintf('#hb\t5000', ctx), { kind: 'heartbeat', mono: 5000, ts: 5 });
  for (const bad of ['#hb\t5000\t2\t1\t10\t0', '#hb\t5000\t2\t0\t-1', '#hb\t5000\tx\t0\t1', '#hb\t5000\t2\t0'])
    assert.equal(decodePrintf(bad, ctx).kind, 'error', bad);
});

test('possible CPUs: ranges and lists from sysfs, else the CPUs online', () => {
  assert.equal(
    possibleCpus(() => '0-1\n'),
    2,
  );
  assert.equal(
    possibleCpus(() => '0\n'),
    1,
  );
  assert.equal(
    possibleCpus(() => '0-3,8-11\n'),
    12,
  );
  assert.ok(possibleCpus(() => 'garbage') >= 1);
  assert.ok(possibleCpus() >= 1);
});
