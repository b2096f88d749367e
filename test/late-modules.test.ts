// Modules loaded after tracing started: the /sys/module watcher (a directory of our own stands in for it), the
// program generated for one module's probes (with the team alternatives), and its bpftrace merged as a source of its
// own from when it attached, removed when the module unloads.  The real modules and bpftrace: test/kernel/late-modules.ts.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { TraceEvent, type Note, type ProbeEvent } from '../src/events.js';
import { LateModules, parseProbesAdded, type LateSource } from '../src/feed/late-modules.js';
import { Pipeline } from '../src/feed/pipeline.js';
import type { Decoded } from '../src/parse/bpftrace-json.js';
import type { Capabilities } from '../src/probes/detect.js';
import { clockText } from '../src/format/values.js';
import { formatSummary, lateText } from '../src/sinks/text.js';
import { statusSegs } from '../src/sinks/tui/status.js';
import { ModuleWatcher } from '../src/sources/modules.js';
import { TraceHeader } from '../src/trace/format.js';
import { fakeKernel } from './fixtures/capabilities.js';
import { ROOT } from './golden.js';

const until = async (what: string, ok: () => boolean, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

function moduleDir(root: string, name: string, state: string | null): void {
  if (state === null) return rmSync(join(root, name), { recursive: true, force: true });
  mkdirSync(join(root, name), { recursive: true });
  writeFileSync(join(root, name, 'initstate'), `${state}\n`);
}

test('the watcher reports a module once it is live (not while its init runs), and again when it goes', () => {
  const root = mkdtempSync(join(tmpdir(), 'ifb-mod-'));
  const seen: string[] = [];
  const w = new ModuleWatcher({ modules: ['bonding', 'team'], root, onLoad: (m) => seen.push(`+${m}`), onUnload: (m) => seen.push(`-${m}`) });
  try {
    w.poll();
    moduleDir(root, 'bonding', 'coming');
    w.poll();
    assert.deepEqual(seen, [], 'nothing while bonding is coming');
    moduleDir(root, 'bonding', 'live');
    moduleDir(root, 'bridge', 'live');
    w.poll();
    w.poll();
    assert.deepEqual(seen, ['+bonding'], 'bonding once; bridge is not watched');
    moduleDir(root, 'bonding', 'going');
    w.poll();
    moduleDir(root, 'bonding', null);
    moduleDir(root, 'team', 'live');
    w.poll();
    assert.deepEqual(seen, ['+bonding', '-bonding', '+team']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

/** A session header and raw probe events from a committed local recording. */
function session(): { header: TraceHeader; probes: ProbeEvent[] } {
  const [first, ...rest] = readFileSync(`${ROOT}recordings/local-hand-set-mac.ifblame`, 'utf8').split('\n').filter(Boolean);
  const header = TraceHeader.parse(JSON.parse(first!));
  const probes = rest.map((l) => TraceEvent.parse(JSON.parse(l))).filter((e): e is ProbeEvent => e.type === 'probe');
  return { header: { ...header, clock: { monoToWallUs: 0 } }, probes };
}

/** A kprobe-capable kernel whose traceable functions are `funcs` (team_port_add inlined, say). */
function kernel(dir: string, funcs: string[]): Capabilities {
  return fakeKernel(
    dir,
    funcs.map((f) => `${f} [mod]`),
    new Set(['dev_set_mac_address']),
    false,
  );
}

test('a module that loads later gets a program of its own probes (team at team_add_slave), merged from its start, removed at unload', async () => {
  const root = mkdtempSync(join(tmpdir(), 'ifb-mod-'));
  const { header, probes } = session();
  const pipeline = new Pipeline(header, { correlate: true, sources: 2 });
  const out: TraceEvent[] = [];
  pipeline.onEvent((ev) => out.push(ev));
  const programs: string[] = [];
  const feeds: ((d: Decoded, line: number) => void)[] = [];
  const stopped: string[] = [];
  const caps = kernel(root, ['bond_enslave', '__bond_release_one', 'team_add_slave', 'team_del_slave', 'team_port_del']);
  const late = new LateModules({
    pipeline,
    caps,
    backend: 'kprobe',
    filters: { iface: [], comm: [] },
    modules: ['bonding', 'team'],
    onDecoded: (d, _line, src) => {
      if (d.kind === 'event') pipeline.push(src, d.event, false);
      if (d.kind === 'heartbeat') pipeline.advance(src, d.ts);
    },
    readyTimeoutMs: 1000,
    moduleRoot: root,
    intervalMs: 10,
    startSource: async (program, cb, created) => {
      const i = programs.push(program) - 1;
      feeds.push(cb);
      const source: LateSource = {
        attached: 2,
        exited: new Promise(() => undefined),
        stop: async () => void (stopped.includes(`program ${i}`) || stopped.push(`program ${i}`)),
      };
      created(source);
      return source;
    },
  });
  try {
    late.start();
    // The main program has run up to t=1 s; netlink's watermark is further on.
    const t0 = probes[0]!.ts;
    pipeline.advance(0, t0 + 1_000_000);
    moduleDir(root, 'bonding', 'live');
    await until('the bonding program', () => programs.length === 1);
    assert.match(programs[0]!, /^kprobe:bond_enslave$/m);
    assert.match(programs[0]!, /^kprobe:__bond_release_one$/m);
    assert.deepEqual(
      [...programs[0]!.matchAll(/^k\w+:(\w+)$/gm)].map((m) => m[1]),
      ['bond_enslave', 'bond_enslave', '__bond_release_one'],
      'only bonding probes',
    );
    assert.match(programs[0]!, /printf\("#cols\\tbond_enslave\\t/, 'BEGIN prints its columns like the main program');
    // Its first lines come before BEGIN's clock line: held, then merged from the clock line's time on.
    const early = { ...probes[0]!, ts: t0 + 2_000_000 };
    feeds[0]!({ kind: 'event', event: early }, 1);
    pipeline.advance(1, t0 + 10_000_000);
    assert.ok(!out.some((e) => e === early), 'an event before the clock line waits');
    feeds[0]!({ kind: 'clock', mono: (t0 + 1_500_000) * 1000, wall: 'x' }, 2);
    await until(
      'the probes-added note',
      () => late.list()[0]?.from !== null && out.some((e) => e.type === 'note' && /probes added for module bonding/.test(e.message)),
    );
    assert.equal(late.list()[0]!.from, t0 + 1_500_000, 'covers from its BEGIN');
    assert.equal(pipeline.merge.low(), t0 + 1_000_000, 'the main program still holds the merge where it was');
    pipeline.advance(0, t0 + 3_000_000);
    assert.ok(!out.includes(early), 'held back: the new source has not passed it');
    feeds[0]!({ kind: 'heartbeat', mono: 0, ts: t0 + 2_500_000 }, 3);
    assert.ok(out.includes(early), 'released once its own watermark passed it');
    const notes = out.filter((e): e is Note => e.type === 'note').map((n) => n.message);
    assert.ok(
      notes.some((m) => /module bonding loaded .*until then, what only they see .* comes from netlink alone, inferred/.test(m)),
      notes.join('\n'),
    );

    // team: team_port_add inlined here, team_port_del present: the one attaches at team_add_slave, the other as is.
    moduleDir(root, 'team', 'live');
    await until('the team program', () => programs.length === 2);
    assert.match(programs[1]!, /^kprobe:team_add_slave$/m);
    assert.match(programs[1]!, /^kprobe:team_port_del$/m);
    assert.match(programs[1]!, /printf\("team_port_add\\t/, 'same probe id, same field list');
    feeds[1]!({ kind: 'clock', mono: (t0 + 2_600_000) * 1000, wall: 'x' }, 1);
    await until('team added', () => late.list()[1]?.from !== null);
    assert.deepEqual(late.list()[1]!.points, { team_port_add: 'team_add_slave' });
    assert.equal(late.attached, 4);
    // explain reads the trace file's note back: which probes, of which module (attached at an alternative or not)
    const added = out
      .filter((e): e is Note => e.type === 'note')
      .map((n) => parseProbesAdded(n.message))
      .filter((a) => a !== null);
    assert.deepEqual(added, [
      { module: 'bonding', probes: ['bond_enslave', '__bond_release_one'] },
      { module: 'team', probes: ['team_port_add', 'team_port_del'] },
    ]);

    // bonding unloads: its bpftrace stops, its source no longer holds the merge.
    moduleDir(root, 'bonding', null);
    await until('bonding detached', () => late.list()[0]!.until !== undefined && stopped.includes('program 0'));
    feeds[1]!({ kind: 'heartbeat', mono: 0, ts: t0 + 9_000_000 }, 2);
    pipeline.advance(0, t0 + 9_000_000);
    assert.equal(pipeline.merge.low(), t0 + 9_000_000, 'only the open sources count');
    await late.stop();
    assert.deepEqual(stopped.sort(), ['program 0', 'program 1'], 'stopping the feed stops every late program');
  } finally {
    await late.stop();
    rmSync(root, { recursive: true, force: true });
  }
});

test('a module whose probes cannot attach here says so and leaves its changes inferred', async () => {
  const root = mkdtempSync(join(tmpdir(), 'ifb-mod-'));
  const { header } = session();
  const pipeline = new Pipeline(header, { correlate: true, sources: 2 });
  const notes: string[] = [];
  pipeline.onEvent((ev) => ev.type === 'note' && notes.push(ev.message));
  const late = new LateModules({
    pipeline,
    caps: kernel(root, ['bond_enslave', '__bond_release_one']),
    backend: 'kprobe',
    filters: { iface: [], comm: [] },
    modules: ['team'],
    onDecoded: () => undefined,
    readyTimeoutMs: 1000,
    moduleRoot: root,
    intervalMs: 10,
    startSource: async () => {
      throw new Error('not reached: nothing to attach');
    },
  });
  try {
    late.start();
    moduleDir(root, 'team', 'live');
    await until('the failure', () => late.list()[0]?.failure !== undefined);
    assert.match(late.list()[0]!.failure!, /none of its probes is traceable/);
    assert.ok(
      notes.some((n) => /probes for module team could not be attached: .*stays inferred from netlink/.test(n)),
      notes.join('\n'),
    );
  } finally {
    await late.stop();
    rmSync(root, { recursive: true, force: true });
  }
});

test('the summary and the status line say when probes were added and from when they cover', () => {
  const at = (s: number) => Date.UTC(2026, 10, 29, 12, 0, s) * 1000;
  const bonding = { module: 'bonding', probes: ['bond_enslave', '__bond_release_one'], points: {}, loadedAt: at(1), from: at(3), until: at(9) };
  const team = { module: 'team', probes: ['team_port_add'], points: { team_port_add: 'team_add_slave' }, loadedAt: at(4), from: at(6) };
  const text = formatSummary({ backend: 'kfunc', changes: {}, total: 0, lost: 0, badLines: 0, dropped: [], added: [bonding, team], durationMs: 1000 });
  const local = (s: number) => clockText(at(s));
  assert.ok(
    text.includes(
      `-- probes added for module bonding (bond_enslave, __bond_release_one): cover from ${local(3)}, detached at ${local(9)} (module unloaded); loaded at ${local(1)}: before ${local(3)} what only they see is inferred from netlink`,
    ),
    text,
  );
  assert.ok(text.includes(`-- probes added for module team (team_port_add at team_add_slave): cover from ${local(6)}`), text);
  const failed = lateText({ module: 'team', probes: [], points: {}, loadedAt: at(4), from: null, failure: 'none of its probes is traceable on this kernel' });
  assert.match(failed, /its probes were never attached \(none of its probes is traceable on this kernel\); what only they see is inferred from netlink/);
  const segs = statusSegs({
    mode: 'live',
    backend: 'kfunc',
    probesUsed: 19,
    probesAdded: [`bonding ${local(3)}`],
    probesDropped: 2,
    lost: 0,
    events: 5,
    recording: null,
    viewPaused: false,
    pending: 0,
    filter: null,
    flash: null,
    ended: false,
  });
  assert.match(segs.map((s) => s.text).join(''), new RegExp(`probes 19 \\+bonding ${local(3).replace('.', '\\.')} \\(2 dropped\\)`));
});
