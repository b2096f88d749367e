// The dependency rule of the README, enforced: cli -> commands -> cli/args -> sinks -> explain -> feed ->
// sources | trace | correlate -> parse -> probes -> base (events, errors, options, version, heap, time, format). No cycles.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SRC = join(ROOT, 'src');

/** Layers, top first: a module may import only from layers below its own (or its own directory). */
export const LAYERS: string[][] = [
  ['cli.ts'],
  ['commands'],
  ['cli'],
  ['sinks'],
  ['explain'],
  ['feed'],
  ['sources', 'trace', 'correlate'],
  ['parse'],
  ['probes'],
  ['events.ts', 'errors.ts', 'options.ts', 'version.ts', 'heap.ts', 'time', 'format'],
];

function layerOf(file: string): { layer: number; unit: string } {
  const unit = relative(SRC, file).split('/')[0]!;
  const layer = LAYERS.findIndex((l) => l.includes(unit));
  assert.ok(layer >= 0, `src/${relative(SRC, file)} is in no layer: add ${unit} to LAYERS and to the README`);
  return { layer, unit };
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:from\s+|import\(\s*)['"](\.{1,2}\/[^'"]+)\.js['"]/g)) out.push(resolve(dirname(file), m[1]! + '.ts'));
  return out;
}

test('every import in src/ goes down the layers (or stays in its own directory)', () => {
  const bad: string[] = [];
  for (const f of sources(SRC)) {
    const from = layerOf(f);
    for (const t of importsOf(f)) {
      const to = layerOf(t);
      const base = to.layer === LAYERS.length - 1 && from.layer === LAYERS.length - 1;
      if (to.unit === from.unit || base || to.layer > from.layer) continue;
      bad.push(`src/${relative(SRC, f)} -> src/${relative(SRC, t)}`);
    }
  }
  assert.deepEqual(bad, [], `imports against the dependency rule:\n${bad.join('\n')}`);
});

test('no import cycle in src/', () => {
  const graph = new Map(sources(SRC).map((f) => [f, importsOf(f)]));
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[] = [];
  const visit = (f: string, path: string[]) => {
    if (state.get(f) === 'done') return;
    if (state.get(f) === 'open') {
      cycles.push([...path.slice(path.indexOf(f)), f].map((p) => relative(SRC, p)).join(' -> '));
      return;
    }
    state.set(f, 'open');
    for (const t of graph.get(f) ?? []) visit(t, [...path, f]);
    state.set(f, 'done');
  };
  for (const f of graph.keys()) visit(f, []);
  assert.deepEqual(cycles, []);
});

test('the rule catches an upward import (checked on a made-up edge)', () => {
  // parse importing feed would be upward: the layer numbers must say so.
  assert.ok(LAYERS.findIndex((l) => l.includes('parse')) > LAYERS.findIndex((l) => l.includes('feed')));
  assert.throws(() => layerOf(join(SRC, 'nowhere/x.ts')), /in no layer/);
});
