// The live pipeline's paced release: a storm's backlog is correlated in bounded slices with the event loop's turn
// in between (a key queued meanwhile runs before the backlog is done), and nothing is lost or reordered doing so.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { TraceEvent, type LinkEvent } from '../src/events.js';
import { Pipeline } from '../src/feed/pipeline.js';
import { TraceHeader } from '../src/trace/format.js';
import { ROOT } from './golden.js';

const N = 50_000;
const SLICE_MS = 8;

/** A recording's header, and its first netlink message as the model of a storm's MAC changes. */
function storm(): { header: TraceHeader; link: LinkEvent } {
  const [first, ...rest] = readFileSync(`${ROOT}recordings/local-hand-set-mac.ifblame`, 'utf8').split('\n').filter(Boolean);
  const link = rest.map((l) => TraceEvent.parse(JSON.parse(l))).find((e): e is LinkEvent => e.type === 'link')!;
  return { header: TraceHeader.parse(JSON.parse(first!)), link };
}

const mac = (i: number) => `02:00:${[(i >> 16) & 255, (i >> 8) & 255, i & 255].map((b) => b.toString(16).padStart(2, '0')).join(':')}:01`;
const turn = () => new Promise<void>((r) => setImmediate(r));

test('a backlog of 50k events is correlated in bounded slices; a key queued meanwhile runs before it is done; nothing lost', async () => {
  const { header, link } = storm();
  // A clock that moves 1 ms each time it is read: a slice is a fixed number of chunks, whatever the machine's speed.
  let clock = 0;
  const p = new Pipeline(header, { correlate: true, sources: 2, paced: { sliceMs: SLICE_MS, now: () => clock++ } });
  const raw: number[] = [];
  let changes = 0;
  let perTurn = 0;
  let largestTurn = 0;
  p.onEvent((ev) => {
    if (ev.type === 'link') raw.push(ev.ts);
    if (ev.type === 'change') changes++;
    largestTurn = Math.max(largestTurn, ++perTurn);
  });
  // The storm's netlink messages all arrive at once (the merge holds them until bpftrace's watermark passes them).
  for (let i = 0; i < N; i++) p.push(1, { ...link, ts: link.ts + i * 10, addr: mac(i + 1) }, true);
  assert.equal(raw.length, 0, 'pushing files the work; it is not done inside push');
  p.advance(0, link.ts + N * 10); // bpftrace's heartbeat releases the whole backlog
  let keySawRaw = -1;
  setImmediate(() => (keySawRaw = raw.length)); // a key press queued while the backlog waits
  let turns = 0;
  while (p.stats().merge.waiting > 0 || changes < N) {
    perTurn = 0;
    await turn();
    if (++turns > N) assert.fail('the backlog never finished');
  }
  assert.ok(keySawRaw > 0 && keySawRaw < N / 10, `the key ran after one slice, long before the backlog was done (it saw ${keySawRaw} of ${N})`);
  assert.ok(p.slices > 20, `worked off in many slices (${p.slices})`);
  assert.ok(largestTurn <= 2 * (SLICE_MS + 1) * 64 + 64, `no turn of the event loop handled more than a slice (${largestTurn} events)`);
  assert.equal(raw.length, N, 'every raw event reached the listeners');
  assert.equal(changes, N, 'every change was derived');
  assert.deepEqual(
    raw,
    raw.map((t) => t).sort((a, b) => a - b),
    'in event-time order',
  );
  assert.deepEqual(p.stats().merge, { waiting: 0, forced: 0, late: 0 });
});

test('paced, the bounded wait still lets go what a silent source holds back, and counts it', async () => {
  const { header, link } = storm();
  const p = new Pipeline(header, { correlate: true, sources: 2, paced: {} });
  const out: string[] = [];
  p.onEvent((ev) => {
    if (ev.type === 'change') out.push(String(ev.after));
  });
  p.push(1, { ...link, ts: link.ts + 1, addr: mac(1) }, true);
  p.push(1, { ...link, ts: link.ts + 2, addr: mac(2) }, true);
  await turn();
  assert.deepEqual(out, [], 'bpftrace has said nothing: held back');
  p.force(link.ts + 1);
  await turn();
  await turn();
  assert.deepEqual(out, [mac(1)], 'only what the bounded wait reached');
  assert.equal(p.stats().merge.forced, 1);
  p.flush();
  assert.deepEqual(out, [mac(1), mac(2)], 'a flush takes the rest at once');
});
