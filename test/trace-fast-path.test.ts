// The reader's fast path (src/trace/fast-path.ts) against zod itself: on every event of the committed recordings and
// on fuzzed variants of them (keys dropped, added, moved, values replaced, defaults left out, `__proto__` keys), the
// fast path returns what zod returns (same values, same keys in the same order) or nothing (zod then parses it):
// never an event zod would reject, never a different one, and nothing only where zod fills in a default.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { z } from 'zod';
import { Change, LinkEvent, Lost, Note, ProbeEvent } from '../src/events.js';
import { fastPathFor } from '../src/trace/fast-path.js';
import { REPO } from './fixtures/replay/helpers.js';

const SCHEMAS: Record<string, z.ZodType> = { probe: ProbeEvent, link: LinkEvent, change: Change, lost: Lost, note: Note };
const FAST = Object.fromEntries(Object.entries(SCHEMAS).map(([t, s]) => [t, fastPathFor(s)]));

/** Every event line of the committed recordings, parsed. */
const DIR = join(REPO, 'recordings');
const samples: Record<string, unknown>[] = readdirSync(DIR)
  .filter((f) => /\.(ifblame|ndjson)$/.test(f))
  .flatMap((f) => readFileSync(join(DIR, f), 'utf8').split('\n').slice(1).filter(Boolean))
  .map((l) => JSON.parse(l) as Record<string, unknown>)
  .filter((o) => typeof o.type === 'string' && o.type in SCHEMAS);

/** Whether zod's result holds a key the JSON has not (a default filled in) or the JSON an own `__proto__` key (dropped). */
function zodAdds(out: unknown, json: unknown): boolean {
  if (!out || typeof out !== 'object') return false;
  if (!json || typeof json !== 'object' || Object.keys(json).includes('__proto__')) return true;
  const o = out as Record<string, unknown>;
  const j = json as Record<string, unknown>;
  return Object.keys(o).some((k) => !Object.hasOwn(j, k) || zodAdds(o[k], j[k]));
}

/** The fast path gives zod's event (equal, keys in the same order) or null; null only where zod adds something. */
function agree(type: string, json: unknown): unknown {
  const fast = FAST[type]!(json);
  const r = SCHEMAS[type]!.safeParse(json);
  const shown = JSON.stringify(json);
  if (!r.success) {
    assert.equal(fast, null, `fast path took what zod rejects: ${shown}`);
    return null;
  }
  if (fast === null) {
    assert.ok(zodAdds(r.data, json), `fast path gave up on a plain valid event: ${shown}`);
    return null;
  }
  assert.deepStrictEqual(fast, r.data, shown);
  assert.equal(JSON.stringify(fast), JSON.stringify(r.data), `key order: ${shown}`);
  return fast;
}

/** Containers inside a value (objects and arrays), with the root. */
function containers(v: unknown, out: object[] = []): object[] {
  if (v && typeof v === 'object') {
    out.push(v);
    for (const x of Object.values(v)) containers(x, out);
  }
  return out;
}

const oddValue = fc.oneof(
  fc.jsonValue(),
  fc.constantFrom(null, -1, 1.5, -0, 2 ** 53, '', 'x', '02:00:00:00:00:01', 'ZZ', true, [], {}, ['a'], [1], { a: 1 }, 'entry', 'mac', 'kprobe'),
);
/** One change to one container of the event: drop, replace, add or move a key (or an array item). */
const mutation = fc.record({
  where: fc.nat(),
  op: fc.constantFrom('drop', 'set', 'add', 'move', 'proto'),
  key: fc.nat(),
  value: oddValue,
  name: fc.constantFrom('extra', 'kstack', 'chain', 'kernel', 'family', 'path', 'refs', 'seq', '0', 'actor'),
});

function mutate(ev: Record<string, unknown>, ms: { where: number; op: string; key: number; value: unknown; name: string }[]): string {
  const o = structuredClone(ev);
  let proto: object | null = null;
  for (const m of ms) {
    const cs = containers(o);
    const c = cs[m.where % cs.length] as Record<string, unknown>;
    const keys = Object.keys(c);
    const k = keys.length ? keys[m.key % keys.length]! : m.name;
    if (m.op === 'drop') delete c[k];
    else if (m.op === 'set') c[k] = structuredClone(m.value);
    else if (m.op === 'add') c[m.name] = structuredClone(m.value);
    else if (m.op === 'proto') proto = c;
    else {
      const v = c[k];
      delete c[k];
      c[k] = v;
    }
  }
  // an own `__proto__` key, as JSON.parse makes it from a line
  if (proto) Object.defineProperty(proto, '__proto__', { value: 1, enumerable: true, configurable: true, writable: true });
  return JSON.stringify(o);
}

describe('trace fast path agrees with zod', () => {
  it('every event schema has a fast path', () => {
    for (const [t, f] of Object.entries(FAST)) assert.ok(f, `no fast path for ${t}`);
  });

  it('on every event of the committed recordings, and takes nearly all of them as they are', () => {
    assert.ok(samples.length > 1000, `only ${samples.length} events in recordings/`);
    let fast = 0;
    for (const ev of samples) {
      if (agree(ev.type as string, ev) !== null) fast++;
    }
    assert.ok(fast > samples.length * 0.9, `fast path taken for ${fast} of ${samples.length} events`);
  });

  it('on fuzzed events: keys dropped, added, moved, values replaced, defaults left out, __proto__ keys', () => {
    fc.assert(
      fc.property(fc.nat(samples.length - 1), fc.array(mutation, { minLength: 1, maxLength: 4 }), (i, ms) => {
        const ev = samples[i]!;
        agree(ev.type as string, JSON.parse(mutate(ev, ms)));
      }),
      { numRuns: 3000 },
    );
  });

  it('on numbers JSON cannot hold exactly (1e400 parses as Infinity) and on every default left out', () => {
    for (const ev of samples.slice(0, 2000)) {
      const type = ev.type as string;
      agree(type, JSON.parse(JSON.stringify(ev).replace(/"ts":[0-9.]+/, '"ts":1e400')));
      for (const k of ['kstack', 'family', 'refs', 'via', 'actor']) {
        if (!(k in ev)) continue;
        const o = structuredClone(ev);
        delete o[k];
        agree(type, o);
      }
    }
  });
});
