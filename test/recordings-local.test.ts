// The recordings made on this machine's kernel (recordings/record-local.sh): their stories, and the same changes when re-correlated offline.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Change, TraceEvent, type LinkEvent, type ProbeEvent } from '../src/events.js';
import { TraceHeader } from '../src/trace/format.js';
import { correlateAll } from '../src/feed/pipeline.js';
import { ROOT } from './golden.js';

function load(name: string): { header: TraceHeader; events: TraceEvent[] } {
  const [first, ...rest] = readFileSync(`${ROOT}recordings/local-${name}.ifblame`, 'utf8').split('\n').filter(Boolean);
  return { header: TraceHeader.parse(JSON.parse(first!)), events: rest.map((l) => TraceEvent.parse(JSON.parse(l))) };
}

const changes = (evs: TraceEvent[]) => evs.filter((e): e is Change => e.type === 'change');
const brief = (c: Change) => `${c.iface} ${c.kind} ${c.before} -> ${c.after} ${c.actor?.comm ?? '?'} ${c.evidence}`;

for (const name of ['hand-set-mac', 'bridge-mac-follows-port', 'bridge-tcpdump-promisc']) {
  test(`${name}: re-correlating the recorded raw events offline gives the changes recorded live`, () => {
    const { header, events } = load(name);
    assert.equal(header.backend, 'syscalls');
    const raw = events.filter((e): e is ProbeEvent | LinkEvent => e.type === 'probe' || e.type === 'link');
    const offline = changes(correlateAll(header.snapshot, raw, header.netns !== undefined ? { netns: header.netns } : {})).map(brief).sort();
    assert.deepEqual(offline, changes(events).map(brief).sort());
  });
}

test('hand-set MAC: two changes by ip; the identical second set is not a change', () => {
  const cs = changes(load('hand-set-mac').events);
  assert.deepEqual(cs.map((c) => [c.iface, c.kind, c.after, c.actor?.comm, c.evidence]), [
    ['hand0', 'mac', '02:11:22:33:44:55', 'ip', 'requested'],
    ['hand0', 'mac', '02:11:22:33:44:66', 'ip', 'requested'],
  ]);
});

test('bridge MAC follows its lowest port until set by hand', () => {
  const macs = changes(load('bridge-mac-follows-port').events).filter((c) => c.iface === 'brauto0' && c.kind === 'mac');
  assert.deepEqual(macs.map((c) => c.after), ['02:00:00:00:00:20', '02:00:00:00:00:05', '02:00:00:00:00:20', '02:00:00:00:00:99']);
  assert.deepEqual(macs.map((c) => c.evidence), ['inferred', 'inferred', 'inferred', 'requested']);
  assert.match(macs[1]!.via.note ?? '', /follows the MAC of its port da2/);
  assert.ok(macs.every((c) => c.actor?.comm === 'ip'));
});

test('promiscuity: bridge port, tcpdump (taken and given back), ip promisc on/off, with counts', () => {
  const cs = changes(load('bridge-tcpdump-promisc').events).filter((c) => c.kind === 'promisc');
  assert.deepEqual(cs.map((c) => `${c.iface} ${c.before}->${c.after} ${c.actor?.comm}`), [
    'vb0 0->1 ip',
    'vb0p 0->1 tcpdump',
    'vb0p 1->0 tcpdump',
    'vb0p 0->1 ip',
    'vb0p 1->0 ip',
    'vb0 1->0 ip',
  ]);
  assert.match(cs[1]!.via.note ?? '', /PACKET_MR_PROMISC/);
  assert.match(cs[2]!.via.note ?? '', /closed its packet socket/);
});
