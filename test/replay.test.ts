// Replay: the trace-file reader, the replay Feed (order, pacing, pause/step/seek, windows, filters, state) and the
// `ifblame replay` command, on traces ifblame itself built from real captures (test/fixtures/replay/local-*),
// plus a run as an unprivileged user with bpftrace nowhere on PATH.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { TraceEvent } from '../src/events.js';
import { ReplayFeed, type ReplayClock } from '../src/feed/replay.js';
import { LineSplitter } from '../src/trace/lines.js';
import { TraceReader } from '../src/trace/reader.js';
import type { TraceProblem } from '../src/trace/problems.js';
import { parseSpeed } from '../src/commands/replay.js';
import { parseTimeSpec, resolveTimeSpec } from '../src/time/spec.js';
import { change, CLI, header, importLocal, IP, link, lnk, readTraceLines, resetSeq, runCli, T0, tempDir, writeTrace } from './fixtures/replay/helpers.js';

/** A clock whose timers fire only when the test advances it. */
class FakeClock implements ReplayClock {
  t = 0;
  private timers: { at: number; fn: () => void }[] = [];
  /** Every delay the feed asked for, in order. */
  readonly asked: number[] = [];
  now(): number {
    return this.t;
  }
  setTimer(fn: () => void, ms: number): () => void {
    this.asked.push(ms);
    const timer = { at: this.t + ms, fn };
    this.timers.push(timer);
    return () => (this.timers = this.timers.filter((x) => x !== timer));
  }
  /** Moves time on and fires what is due; lets promises settle. */
  async advance(ms: number): Promise<void> {
    this.t += ms;
    const due = this.timers.filter((x) => x.at <= this.t);
    this.timers = this.timers.filter((x) => x.at > this.t);
    for (const d of due) d.fn();
    await settle();
  }
  get pending(): number {
    return this.timers.length;
  }
}

/** Waits (real time, file I/O included) until `cond` holds, up to 2 s. */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

/** A small hand-made trace: link events and changes 100 ms apart. */
function smallTrace(dir: string, n = 10): string {
  resetSeq();
  const snapshot = [lnk(2, 'eth0', { addr: '02:00:00:00:00:01' }), lnk(3, 'eth1', { addr: '02:00:00:00:00:02' })];
  const events: TraceEvent[] = [];
  for (let i = 0; i < n; i++) {
    const iface = i % 2 ? 'eth1' : 'eth0';
    const mac = `02:00:00:00:01:${String(i).padStart(2, '0')}`;
    events.push(change(i * 100_000, iface, 'mac', null, mac, IP, { probe: 'dev_set_mac_address' }));
  }
  return writeTrace(join(dir, 'small.trace'), header({}, snapshot), events);
}

describe('trace file reader', () => {
  it('splits lines across any chunking, counts and skips over-long lines without holding them', () => {
    const lines: string[] = [];
    const long: [number, number][] = [];
    const sp = new LineSplitter(10, (b, s, e, no) => lines.push(`${no}:${b.toString('utf8', s, e)}`), (no, bytes) => long.push([no, bytes]));
    const text = 'abc\n0123456789ABCDEF\nxy\n\nlast';
    for (const ch of Buffer.from(text)) sp.push(Buffer.from([ch]));
    sp.end();
    assert.deepEqual(lines, ['1:abc', '3:xy', '4:', '5:last']);
    assert.deepEqual(long, [[2, 16]]);
  });

  it('reads the header and every event of a trace ifblame built from a real capture', async (t) => {
    const dir = tempDir(t);
    const path = await importLocal('local-a', dir);
    const raw = readTraceLines(path);
    const r = await TraceReader.open(path);
    assert.equal(r.header.host, 'host-a');
    assert.equal(r.header.backend, 'syscalls');
    const events: TraceEvent[] = [];
    for await (const e of r.events()) events.push(e.event);
    assert.equal(events.length, raw.events.length);
    // what the reader hands out is what was written (zod defaults were already there)
    assert.deepEqual(events.map((e) => JSON.parse(JSON.stringify(e))), raw.events);
    assert.deepEqual(r.stats().errors, 0);
  });

  it('tolerates CRLF, blank lines and a torn last line (reported as a warning with file:line)', async (t) => {
    const dir = tempDir(t);
    resetSeq();
    const evs = [change(0, 'eth0', 'mac', 'a', 'b', IP), change(1, 'eth0', 'mac', 'b', 'c', IP)];
    const path = join(dir, 'crlf.trace');
    writeFileSync(path, [JSON.stringify(header()), JSON.stringify(evs[0]), '', JSON.stringify(evs[1])].join('\r\n') + '\r\n' + '{"type":"change","ts":');
    const problems: TraceProblem[] = [];
    const r = await TraceReader.open(path);
    const got: number[] = [];
    for await (const e of r.events((p) => problems.push(p))) got.push(e.line);
    assert.deepEqual(got, [2, 4]);
    assert.equal(problems.length, 1);
    assert.equal(problems[0]!.line, 5);
    assert.equal(problems[0]!.level, 'warning');
    assert.match(problems[0]!.message, /torn last line/);
  });
});

describe('replay feed', () => {
  it('emits exactly the recorded events, in file order, and the state the live correlator kept', async (t) => {
    const dir = tempDir(t);
    const path = await importLocal('local-a', dir);
    const recorded = readTraceLines(path).events;
    const feed = await ReplayFeed.open(path, { speed: Infinity });
    const got: TraceEvent[] = [];
    feed.onEvent((e) => got.push(e));
    await feed.start();
    await feed.done;
    assert.equal(feed.mode, 'replay');
    assert.deepEqual(got.map((e) => JSON.parse(JSON.stringify(e))), recorded);
    assert.deepEqual(feed.stats(), { events: recorded.length, lost: 0, badLines: 0 });
    const st = new Map(feed.state().map((s) => [s.name, s]));
    assert.equal(st.get('br0')?.addr, '02:00:00:01:00:20', 'br0 follows d1 again once d2 left');
    assert.equal(st.get('d1')?.master, 'br0');
    assert.equal(st.get('d2')?.master, null);
    assert.equal(st.get('d3')?.addr, '02:aa:bb:cc:dd:01');
    assert.equal(st.get('d4')?.deleted, true);
    assert.equal(st.get('d5')?.addr, '02:00:00:01:05:0b');
    assert.equal(st.get('d1')?.lastChange?.kind, 'promisc');
  });

  it('paces by recorded time: speed 1, speed 10, and max asks for no timers', async (t) => {
    const dir = tempDir(t);
    const path = smallTrace(dir, 5);
    for (const [speed, gap] of [[1, 100], [10, 10]] as const) {
      const clock = new FakeClock();
      const feed = await ReplayFeed.open(path, { speed, clock });
      const got: number[] = [];
      feed.onEvent((e) => got.push(e.ts));
      await feed.start();
      await settle();
      assert.equal(got.length, 1, `speed ${speed}: the first event at once`);
      for (let i = 1; i < 5; i++) {
        await clock.advance(gap - 1);
        assert.equal(got.length, i, `speed ${speed}: event ${i + 1} not before its time`);
        await clock.advance(1);
        assert.equal(got.length, i + 1, `speed ${speed}: event ${i + 1} at its time`);
      }
      await feed.done;
    }
    const clock = new FakeClock();
    const feed = await ReplayFeed.open(path, { speed: Infinity, clock });
    let n = 0;
    feed.onEvent(() => n++);
    await feed.start();
    await feed.done;
    assert.equal(n, 5);
    assert.deepEqual(clock.asked, []);
  });

  it('pause, step, speed change, resume, and seek to the end', async (t) => {
    const dir = tempDir(t);
    const path = smallTrace(dir, 8);
    const clock = new FakeClock();
    const feed = await ReplayFeed.open(path, { speed: 1, clock, paused: true });
    const got: number[] = [];
    feed.onEvent((e) => got.push(e.ts - T0));
    await feed.start();
    await settle();
    assert.equal(got.length, 0, 'paused: nothing');
    assert.equal(feed.controls.paused, true);
    feed.controls.step();
    await settle();
    assert.deepEqual(got, [0], 'one step, one event');
    feed.controls.step();
    await settle();
    assert.deepEqual(got, [0, 100_000]);
    await clock.advance(10_000);
    assert.equal(got.length, 2, 'still paused');
    feed.controls.setSpeed(10);
    assert.equal(feed.controls.speed, 10);
    feed.controls.resume();
    await settle();
    assert.equal(got.length, 3, 'resumed: the next event goes at once (pacing starts again from it)');
    await clock.advance(10);
    assert.equal(got.length, 4, 'then 100 ms of recorded time are 10 ms at speed 10');
    feed.controls.pause();
    await clock.advance(1000);
    assert.equal(got.length, 4);
    feed.controls.seek('end');
    await feed.done;
    assert.equal(got.length, 8, 'seek end: everything at once, paused or not');
  });

  it('seek to the start replays from the beginning and tells the sinks to reset', async (t) => {
    const dir = tempDir(t);
    const path = smallTrace(dir, 6);
    const clock = new FakeClock();
    const feed = await ReplayFeed.open(path, { speed: 1, clock });
    const got: number[] = [];
    let resets = 0;
    feed.onEvent((e) => got.push(e.seq!));
    feed.onReset(() => {
      resets++;
      got.length = 0;
    });
    await feed.start();
    await clock.advance(250);
    assert.equal(got.length, 3);
    feed.controls.seek('start');
    await until(() => got.length === 1);
    await settle();
    assert.equal(resets, 1);
    assert.deepEqual(got, [0], 'from the first event again');
    assert.equal(feed.state().find((s) => s.name === 'eth0')?.addr, '02:00:00:00:01:00', 'state rebuilt from the snapshot');
    feed.controls.seek('end');
    await feed.done;
    assert.deepEqual(got, [0, 1, 2, 3, 4, 5]);
    // after the end, seeking to the start plays it again
    feed.controls.seek('start');
    feed.controls.seek('end');
    await until(() => got.length === 6);
    assert.equal(resets, 2);
    assert.deepEqual(got, [0, 1, 2, 3, 4, 5]);
    await feed.stop();
  });

  it('--from/--to: only the window is emitted, earlier events still build the state', async (t) => {
    const dir = tempDir(t);
    const path = smallTrace(dir, 10);
    const feed = await ReplayFeed.open(path, { speed: Infinity, from: T0 + 300_000, to: T0 + 600_000 });
    const got: number[] = [];
    feed.onEvent((e) => got.push((e.ts - T0) / 1000));
    await feed.start();
    await feed.done;
    assert.deepEqual(got, [300, 400, 500, 600]);
    // eth1's last change inside the window is #5; eth0's is #6; nothing after #6 was applied
    const st = new Map(feed.state().map((s) => [s.name, s.addr]));
    assert.equal(st.get('eth0'), '02:00:00:00:01:06');
    assert.equal(st.get('eth1'), '02:00:00:00:01:05');
  });

  it('--iface and --comm filter as live does: changes by interface/actor, netlink always', async (t) => {
    const dir = tempDir(t);
    const path = await importLocal('local-a', dir);
    const run = async (filters: { iface: string[]; comm: string[] }) => {
      const feed = await ReplayFeed.open(path, { speed: Infinity, filters });
      const got: TraceEvent[] = [];
      feed.onEvent((e) => got.push(e));
      await feed.start();
      await feed.done;
      return got;
    };
    const all = await run({ iface: [], comm: [] });
    const d5 = await run({ iface: ['d5'], comm: [] });
    const changes = d5.filter((e) => e.type === 'change');
    assert.ok(changes.length >= 4);
    assert.ok(changes.every((c) => c.type === 'change' && c.iface === 'd5'));
    assert.equal(d5.filter((e) => e.type === 'link').length, all.filter((e) => e.type === 'link').length, 'netlink messages all pass, as live');
    const br = await run({ iface: ['br0'], comm: [] });
    assert.ok(br.some((e) => e.type === 'change' && e.iface === 'd1' && e.kind === 'enslave'), 'a port joining br0 matches --iface br0');
    const py = await run({ iface: [], comm: ['python3'] });
    const pc = py.filter((e) => e.type === 'change');
    assert.equal(pc.length, 2);
    assert.ok(pc.every((c) => c.type === 'change' && c.actor?.comm === 'python3' && c.kind === 'promisc'));
    assert.ok(py.filter((e) => e.type === 'probe').every((e) => e.type === 'probe' && e.comm === 'python3'));
  });
});

describe('ifblame replay', () => {
  it('--format ndjson gives back the recorded changes; text and json read the same file', async (t) => {
    const dir = tempDir(t);
    const path = await importLocal('local-a', dir);
    const recorded = readTraceLines(path).events.filter((e) => e.type === 'change');
    const nd = await runCli(['replay', path, '--format', 'ndjson']);
    assert.equal(nd.code, 0, nd.stderr);
    const out = nd.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(out.filter((e) => e.type === 'change'), recorded);
    assert.equal(out.at(-1)?.type, 'summary');
    const raw = await runCli(['replay', path, '--format', 'ndjson', '--raw']);
    assert.equal(raw.stdout.split('\n').filter(Boolean).length, readTraceLines(path).events.length + 1, 'every event plus the summary');
    const text = await runCli(['replay', path]);
    assert.equal(text.code, 0);
    assert.match(text.stdout, /br0\s+mac\s+02:00:00:01:00:20 -> 02:00:00:01:00:05 +by ip\[\d+\]/);
    assert.match(text.stdout, /d2\s+promisc\s+0 -> 1 +by python3\[\d+\].*PACKET_MR_PROMISC/);
    assert.match(text.stdout, /^-- \d+ changes .* backend syscalls$/m);
    const json = await runCli(['replay', path, '--format', 'json', '--iface', 'd5']);
    const doc = JSON.parse(json.stdout) as { events: { type: string; iface: string }[]; summary: { total: number } };
    const jc = doc.events.filter((e) => e.type === 'change');
    assert.ok(jc.length >= 4 && jc.every((e) => e.iface === 'd5'));
    assert.equal(doc.summary.total, jc.length);
  });

  it('reads standard input with "-", and windows by time of day or offset', async (t) => {
    const dir = tempDir(t);
    const path = smallTrace(dir, 10);
    const r = await runCli(['replay', '-', '--format', 'ndjson'], { input: readFileSync(path) });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.split('\n').filter((l) => l.includes('"change"')).length, 10);
    const w = await runCli(['replay', path, '--format', 'ndjson', '--from', '+200ms', '--to', '+0.4s']);
    assert.equal(w.code, 0, w.stderr);
    assert.equal(w.stdout.split('\n').filter((l) => l.includes('"change"')).length, 3);
    assert.deepEqual(parseTimeSpec('--from', '12:40:59.5'), { timeOfDay: { h: 12, m: 40, s: 59, us: 500000 } });
    assert.equal(resolveTimeSpec(parseTimeSpec('--to', '2026-11-21T12:40:59.25Z'), 0), Date.UTC(2026, 10, 21, 12, 40, 59) * 1000 + 250_000);
    assert.equal(resolveTimeSpec(parseTimeSpec('--to', '+2m'), 5), 120_000_005);
    assert.equal(parseSpeed('max', 1), Infinity);
    assert.equal(parseSpeed('10', 1), 10);
    assert.throws(() => parseSpeed('0', 1), /--speed "0" is not a speed/);
    assert.throws(() => parseTimeSpec('--from', 'yesterday'), /--from "yesterday" is not a time/);
  });

  it('bad flags are one line with a hint and exit 2', async (t) => {
    const dir = tempDir(t);
    const path = smallTrace(dir, 2);
    for (const args of [['--speed', 'fast'], ['--from', 'noon'], ['--format', 'xml'], ['--iface', 'a/b']]) {
      const r = await runCli(['replay', path, ...args]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /^ifblame: .*\(hint: /);
    }
    const none = await runCli(['replay']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /replay needs a trace file/);
  });

  it('prints progress on stderr for long non-TUI replays', async (t) => {
    const dir = tempDir(t);
    resetSeq();
    const events = Array.from({ length: 17 }, (_, i) => link(i * 100_000, 2, 'eth0'));
    const path = writeTrace(join(dir, 'slow.trace'), header(), events);
    const r = await runCli(['replay', path, '--speed', '1', '--format', 'ndjson', '--progress']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^ifblame: replay +\d+%\s+\d+ events read/m);
    const quiet = await runCli(['replay', path, '--speed', '1', '--format', 'ndjson']);
    assert.equal(quiet.stderr, '', 'not a terminal and no --progress: quiet');
  });

  it('works as an unprivileged user with bpftrace nowhere on PATH', async (t) => {
    if (process.getuid?.() !== 0) {
      t.skip('needs root to switch to nobody');
      return;
    }
    const dir = tempDir(t);
    chmodSync(dir, 0o755);
    const path = await importLocal('local-a', dir);
    chmodSync(path, 0o644);
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, 'node'));
    chmodSync(bin, 0o755);
    const env = { PATH: bin, HOME: '/nonexistent', LANG: 'C.UTF-8' };
    const which = await runCli([], { argv0: ['/usr/bin/setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', '/usr/bin/env', `PATH=${bin}`, '/bin/sh', '-c', 'command -v bpftrace || echo none; /usr/bin/id -u'], env });
    assert.deepEqual(which.stdout.trim().split('\n'), ['none', '65534'], 'the test really hides bpftrace and drops root');
    const asNobody = ['/usr/bin/setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', '/usr/bin/env', `PATH=${bin}`, 'node', CLI];
    const r = await runCli(['replay', path, '--format', 'ndjson'], { argv0: asNobody, env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    const changes = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string }).filter((e) => e.type === 'change');
    assert.equal(changes.length, readTraceLines(path).events.filter((e) => e.type === 'change').length);
    const ex = await runCli(['explain', path], { argv0: asNobody, env });
    assert.equal(ex.code, 0, ex.stderr);
    assert.match(ex.stdout, /bridge MAC moved/);
  });
});
