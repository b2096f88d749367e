// The registry of explain's rules (src/explain/rules/index.ts): one rule per finding id, and every finding a rule
// gives carries its id and is no more severe than the rule says — over every committed recording and fixture.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TraceEvent } from '../src/events.js';
import { explainTraces } from '../src/explain/index.js';
import { HOSTS_RULES, TRACE_RULES } from '../src/explain/rules/index.js';
import { FindingId, SEVERITY_ORDER } from '../src/explain/types.js';
import type { TraceHeader } from '../src/trace/format.js';
import { REPO } from './fixtures/replay/helpers.js';

const RULES = [...TRACE_RULES, ...HOSTS_RULES];

function read(path: string): { file: string; header: TraceHeader; events: TraceEvent[] } {
  const [h, ...rest] = readFileSync(path, 'utf8').split('\n').filter(Boolean);
  return { file: path, header: JSON.parse(h!) as TraceHeader, events: rest.map((l) => JSON.parse(l) as TraceEvent) };
}

test('one rule per finding id, each with what it looks for', () => {
  assert.deepEqual(RULES.map((r) => r.id).sort(), [...FindingId.options].sort());
  for (const r of RULES) assert.ok(r.about.length > 20, `${r.id}: says what it looks for`);
});

test('every finding carries its rule\'s id and is no more severe than the rule (recordings, fleet fixtures, all at once)', () => {
  const dirs = [join(REPO, 'recordings'), join(REPO, 'test/fixtures/explain')];
  const files = dirs.flatMap((d) => readdirSync(d).filter((f) => /\.(ndjson|ifblame)$/.test(f)).map((f) => join(d, f)));
  const traces = files.map(read);
  const reports = [...traces.map((t) => explainTraces([t])), explainTraces(traces)];
  const seen = new Set<string>();
  for (const r of reports) {
    for (const f of r.findings) {
      const rule = RULES.find((x) => x.id === f.id)!;
      assert.ok(SEVERITY_ORDER[f.severity] >= SEVERITY_ORDER[rule.severity], `${f.id}: ${f.severity} is above the rule's ${rule.severity}`);
      seen.add(f.id);
    }
  }
  assert.ok(seen.size >= 8, `many rules seen at work: ${[...seen].join(', ')}`);
});
