// The "late modules" phase on a real kernel (issue 13; guest side: guest/late.sh): `ifblame capture --record`
// started while bonding, team and 8021q were not loaded; a bond, a team and a VLAN were then created (each
// `ip link add` autoloads its driver), and ports enslaved and released once the capture said the module's
// probes were added.  Asserted from ifblame's own recording and summary: when the probes were added and
// from when they cover, every enslave/release observed with its process and kernel path, and nothing before
// the attach pinned on a module probe (inferred from netlink there).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Change } from '../../src/events.js';
import type { LateProbes } from '../../src/feed/feed.js';
import { readSteps, readTrace, type Step, type Suite, type TraceFile } from './harness.js';
import { describe as describeChanges, validate } from './stories.js';

interface Late {
  dir: string;
  trace: TraceFile;
  steps: Step[];
  changes: Change[];
  added: LateProbes[];
  notes: string[];
}

function readLate(outDir: string): Late {
  const dir = join(outDir, 'late');
  assert.ok(existsSync(join(dir, 'capture.rc')), `the late-modules phase did not run (no ${dir}/capture.rc)`);
  const trace = readTrace(join(dir, 'trace.ifblame'));
  const steps = readSteps(dir);
  const changes = validate({ trace, backend: 'kfunc', steps });
  const summary = readFileSync(join(dir, 'capture.ndjson'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { type?: string; added?: LateProbes[] })
    .find((l) => l.type === 'summary');
  assert.ok(summary, 'capture printed its summary');
  const notes = trace.events.filter((e) => e.type === 'note' && e.source === 'probes').map((e) => String(e.message));
  return { dir, trace, steps, changes, added: summary.added ?? [], notes };
}

const show = (c: Change) =>
  `${c.iface} ${c.kind} ${JSON.stringify(c.before)} -> ${JSON.stringify(c.after)} by ${c.actor?.comm ?? 'nobody'} [${c.evidence}] via ${c.via.path.join(' > ')}`;

function stepOf(l: Late, name: string): { start: number; end: number } {
  const i = l.steps.findIndex((s) => s.name === name);
  assert.ok(i >= 0, `no step ${name} in ${l.dir}/steps.log`);
  return { start: l.steps[i]!.start, end: l.steps[i + 1]?.start ?? Infinity };
}

/** The enslavements and releases the phase makes, and the kernel function that must be in each one's path. */
const PORT_CHANGES: [step: string, iface: string, kind: 'enslave' | 'release', master: string, path: RegExp][] = [
  ['l04_enslave1', 'ld1', 'enslave', 'lb0', /bond_enslave/],
  ['l05_enslave2', 'ld2', 'enslave', 'lb0', /bond_enslave/],
  ['l06_release1', 'ld1', 'release', 'lb0', /__bond_release_one/],
  ['l10_team_port1', 'lt1', 'enslave', 'lt0', /team_add_slave|team_port_add/],
  ['l11_team_port2', 'lt2', 'enslave', 'lt0', /team_add_slave|team_port_add/],
  ['l12_team_release', 'lt1', 'release', 'lt0', /team_del_slave|team_port_del/],
];

/** Registers the phase's tests in the suite's `describe`; `outDir` is read when they run (after the boot). */
export function lateModuleTests(suite: Suite, outDir: () => string, log: (line: string) => void): void {
  let late: Late | undefined;
  const get = (): Late => (late ??= readLate(outDir()));

  test(`${suite}: late modules: capture started with bonding, team and 8021q not loaded, and ran every step`, () => {
    const l = get();
    const timing = join(l.dir, 'timing.txt');
    if (existsSync(timing)) log(`${suite}: late: ${readFileSync(timing, 'utf8').trim()}`);
    const before = readFileSync(join(l.dir, 'lsmod-before.txt'), 'utf8');
    for (const m of ['bonding', 'team', '8021q']) assert.doesNotMatch(before, new RegExp(`^${m}\\s`, 'm'), `${m} was loaded before the capture`);
    const after = readFileSync(join(l.dir, 'lsmod-after.txt'), 'utf8');
    for (const m of ['bonding', 'team', '8021q']) assert.match(after, new RegExp(`^${m}\\s`, 'm'), `${m} was autoloaded by the steps`);
    assert.equal(
      readFileSync(join(l.dir, 'capture.rc'), 'utf8').trim(),
      '0',
      `capture exit:\n${readFileSync(join(l.dir, 'capture.stderr'), 'utf8').slice(-2000)}`,
    );
    for (const s of l.steps) assert.equal(s.rc, 0, `step ${s.name} (${s.cmd}) exit ${s.rc}`);
    const dropped = (l.trace.header.probes as { dropped: { probe: string; reason: string }[] }).dropped;
    for (const id of ['bond_enslave', '__bond_release_one', 'team_port_add', 'team_port_del'])
      assert.ok(
        dropped.some((d) => d.probe === id && /module (bonding|team) is not loaded/.test(d.reason)),
        `the program at start lacks ${id} (its module was not loaded): ${JSON.stringify(dropped)}`,
      );
    const tp = readFileSync(join(l.dir, 'module-tracepoint.txt'), 'utf8');
    log(`${suite}: late: tracepoint module:module_load ${/module_load/.test(tp) ? 'exists' : 'absent'} (the watcher polls /sys/module)`);
  });

  test(`${suite}: late modules: the capture says when the probes of bonding and team were added and from when they cover`, () => {
    const l = get();
    assert.ok(
      l.notes.some((n) => /^watching for modules .*bonding.*team|^watching for modules .*team.*bonding/.test(n)),
      `notes:\n${l.notes.join('\n')}`,
    );
    for (const [module, wait, probes] of [
      ['bonding', 'l02_wait_bonding', /bond_enslave, __bond_release_one/],
      ['team', 'l08_wait_team', /team_port_add( \(at team_add_slave\))?, team_port_del( \(at team_del_slave\))?/],
    ] as const) {
      const a = l.added.find((x) => x.module === module);
      assert.ok(a, `summary.added has ${module}: ${JSON.stringify(l.added)}`);
      assert.equal(a.failure, undefined, `${module}: ${a.failure}`);
      assert.ok(a.from !== null && a.from > a.loadedAt, `${module}: covers from after its load: ${JSON.stringify(a)}`);
      const w = stepOf(l, wait);
      assert.ok(a.from! <= w.end, `${module}: attached before the wait step ended`);
      assert.ok(
        a.loadedAt >= stepOf(l, module === 'bonding' ? 'l01_add_bond' : 'l07_add_team').start - 5_000,
        `${module}: seen loaded after the step that autoloaded it`,
      );
      const note = l.notes.find((n) => n.startsWith(`probes added for module ${module}:`));
      assert.ok(note, `the trace file says probes were added for ${module}:\n${l.notes.join('\n')}`);
      assert.match(note, probes);
      assert.match(note, /they cover from \d\d:\d\d:\d\d\.\d+ \(.*its load at \d\d:\d\d:\d\d\.\d+ and then.* inferred/);
      log(`${suite}: late: ${module} seen loaded, probes attached ${((a.from! - a.loadedAt) / 1e6).toFixed(1)} s later (${note})`);
    }
    assert.ok(!l.added.some((a) => a.module === '8021q'), 'nothing to attach for 8021q (no catalog probe)');
    const stdout = readFileSync(join(l.dir, 'capture.ndjson'), 'utf8');
    assert.doesNotMatch(stdout + readFileSync(join(l.dir, 'capture.stderr'), 'utf8'), /WARN(ING)?:|could not be attached/, 'no warning');
  });

  test(`${suite}: late modules: every enslave and release is observed with its process and kernel path`, () => {
    const l = get();
    for (const [step, iface, kind, master, path] of PORT_CHANGES) {
      const w = stepOf(l, step);
      const c = l.changes.find((x) => x.iface === iface && x.kind === kind && x.ts >= w.start - 5_000 && x.ts < w.end);
      assert.ok(c, `${step}: no ${kind} of ${iface}; changes:\n${describeChanges(l.changes)}`);
      assert.equal(c.evidence, 'observed', `${step}: observed by a probe, not inferred: ${show(c)}`);
      assert.equal(c.actor?.comm, 'ip', `${step}: by the ip that did it: ${show(c)}`);
      assert.equal(c.actor?.kernel, false, `${step}: a user process: ${show(c)}`);
      assert.ok(
        c.via.path.some((p) => path.test(p)),
        `${step}: ${path} in the kernel path: ${show(c)}`,
      );
      assert.ok(JSON.stringify([c.before, c.after]).includes(master), `${step}: names ${master}: ${show(c)}`);
    }
  });

  test(`${suite}: late modules: nothing before the probes were attached is pinned on a module probe; the VLAN shows`, () => {
    const l = get();
    for (const a of l.added) {
      const funcs = a.module === 'bonding' ? /bond_enslave|__bond_release_one/ : /team_add_slave|team_port_add|team_del_slave|team_port_del/;
      const early = l.changes.filter(
        (c) => a.from !== null && c.ts < a.from - 100_000 && (funcs.test(c.via.probe ?? '') || c.via.path.some((p) => funcs.test(p))),
      );
      assert.deepEqual(early.map(show), [], `${a.module}: changes before its probes were attached, attributed to them`);
    }
    const created = l.changes.find((c) => c.iface === 'lb0' && c.kind === 'created');
    assert.ok(created, `lb0 created:\n${describeChanges(l.changes)}`);
    assert.ok(
      l.changes.some((c) => c.iface === 'lv0.7' && c.kind === 'created'),
      `the VLAN lv0.7 created:\n${describeChanges(l.changes)}`,
    );
  });
}
