// The one ordering structure: per-source watermarks, the bounded wait and its count, and the pipeline built on it
// attributing a change right when bpftrace's output arrives after netlink's message (seen on every real kernel).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Change, TraceEvent, type LinkEvent, type ProbeEvent } from '../src/events.js';
import { Merge } from '../src/feed/merge.js';
import { Pipeline } from '../src/feed/pipeline.js';
import { TraceHeader } from '../src/trace/format.js';
import { ROOT } from './golden.js';

test('an item leaves only when every source has passed it; ties go to the lower source', () => {
  const m = new Merge<string>(2);
  m.push(1, 10, 'nl@10');
  assert.deepEqual(m.drain(), [], 'source 0 has said nothing yet');
  m.push(0, 10, 'bt@10', false);
  m.advance(0, 9);
  assert.deepEqual(m.drain(), []);
  m.advance(0, 12);
  assert.deepEqual(m.drain(), ['bt@10', 'nl@10']);
  assert.deepEqual(m.stats(), { waiting: 0, forced: 0, late: 0 });
});

test('the bounded wait releases what a silent source holds back, and counts it; a straggler is counted late', () => {
  const m = new Merge<string>(2);
  m.push(1, 100, 'nl@100');
  m.push(1, 300, 'nl@300');
  assert.deepEqual(m.force(200), ['nl@100']);
  assert.equal(m.stats().forced, 1);
  m.push(0, 150, 'bt@150', false);
  assert.equal(m.stats().late, 0, 'bt@150 is younger than anything released: it still has its place');
  m.end(0);
  assert.deepEqual(m.drain(), ['bt@150', 'nl@300']);
});

test('a source added later holds the merge back only from when it is added, ties with its rank, and removing it lets go', () => {
  const m = new Merge<string>(2);
  m.push(1, 100, 'nl@100');
  m.advance(0, 500);
  const late = m.addSource(300, 0);
  assert.equal(late, 2, 'indexes are never reused');
  m.push(1, 200, 'nl@200');
  m.push(1, 400, 'nl@400');
  assert.deepEqual(m.drain(), ['nl@100', 'nl@200'], 'what came before the new source is not held back by it');
  assert.equal(m.low(), 300, 'from its start on it holds the merge');
  m.push(late, 400, 'mod@400', false);
  m.advance(late, 450);
  assert.deepEqual(m.drain(), ['mod@400', 'nl@400'], 'at equal times the added source (rank 0) goes before netlink');
  m.push(1, 600, 'nl@600');
  m.advance(0, 700);
  assert.deepEqual(m.drain(), [], 'the added source has not passed 600');
  m.removeSource(late);
  assert.deepEqual(m.drain(), ['nl@600'], 'removed: it holds nothing back');
  m.push(late, 650, 'stray@650', false);
  m.advance(1, 660);
  assert.deepEqual(m.drain(), ['stray@650'], "a line still in a removed source's pipe is not lost, and keeps its place in time");
  assert.deepEqual(m.stats(), { waiting: 0, forced: 0, late: 0 });
});

test('a straggler older than what already left is late', () => {
  const m = new Merge<string>(2);
  m.push(1, 100, 'nl@100');
  m.end(0);
  assert.deepEqual(m.drain(), ['nl@100']);
  m.push(0, 50, 'bt@50', false);
  assert.equal(m.stats().late, 1);
  assert.deepEqual(m.flush(), ['bt@50']);
});

function load(name: string): { header: TraceHeader; events: TraceEvent[] } {
  const [first, ...rest] = readFileSync(`${ROOT}recordings/local-${name}.ifblame`, 'utf8').split('\n').filter(Boolean);
  return { header: TraceHeader.parse(JSON.parse(first!)), events: rest.map((l) => TraceEvent.parse(JSON.parse(l))) };
}

/** A local recording's raw events, its recorded changes, and a fresh live-shaped pipeline collecting changes. */
function replayThrough(name: string) {
  const { header, events } = load(name);
  const raw = events.filter((e): e is ProbeEvent | LinkEvent => e.type === 'probe' || e.type === 'link');
  const recorded = events.filter((e): e is Change => e.type === 'change');
  const p = new Pipeline(header, { correlate: true, sources: 2 });
  const out: Change[] = [];
  p.onEvent((ev) => {
    if (ev.type === 'change') out.push(ev);
  });
  return { raw, recorded, p, out };
}

const brief = (c: Change) => `${c.iface} ${c.kind} ${c.before} -> ${c.after} ${c.actor?.comm ?? '?'} ${c.evidence}`;

for (const name of ['hand-set-mac', 'bridge-mac-follows-port']) {
  test(`${name}: every netlink message first, bpftrace's output late: same attributed changes, none twice, in time order`, () => {
    const { raw, recorded, p, out } = replayThrough(name);
    // The worst live order: ip monitor's lines all arrive (and its watermark moves) before bpftrace prints anything.
    for (const ev of raw.filter((e) => e.type === 'link')) p.push(1, { ...ev }, true);
    assert.equal(out.length, 0, 'nothing is correlated while bpftrace has not passed the netlink messages');
    for (const ev of raw.filter((e) => e.type === 'probe')) p.push(0, { ...ev }, false);
    p.advance(0, Math.max(...raw.map((e) => e.ts)) + 1);
    p.end(0);
    p.end(1);
    p.flush();
    assert.deepEqual(out.map(brief).sort(), recorded.map(brief).sort());
    assert.ok(
      out.every((c) => c.evidence !== 'inferred' || recorded.some((r) => brief(r) === brief(c))),
      'no change became inferred',
    );
    assert.deepEqual(
      out.map((c) => c.ts),
      [...out.map((c) => c.ts)].sort((a, b) => a - b),
      'changes come out in event-time order',
    );
    assert.deepEqual(p.stats().merge, { waiting: 0, forced: 0, late: 0 });
  });
}

test('when the bounded wait runs out, a late cause still attributes its change, once', () => {
  const { raw, recorded, p, out } = replayThrough('hand-set-mac');
  for (const ev of raw.filter((e) => e.type === 'link')) p.push(1, { ...ev }, true);
  p.force(Math.max(...raw.map((e) => e.ts)) + 1); // bpftrace said nothing for too long
  for (const ev of raw.filter((e) => e.type === 'probe')) p.push(0, { ...ev }, false);
  p.end(0);
  p.end(1);
  p.flush();
  assert.ok(p.stats().merge.forced > 0, 'the wait ran out');
  assert.deepEqual(out.map(brief).sort(), recorded.map(brief).sort(), 'the same changes, none twice, each with its process');
});
