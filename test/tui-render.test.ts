// Rendering on fake streams: the real blessed screen driven by a fake Feed, keys pressed as bytes, the screen read from blessed's cells.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRecorder } from '../src/trace/writer.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTui, type TuiOptions, type TuiSession } from '../src/sinks/tui/app.js';
import { FakeControls, FakeFeed, change, iface, link, probe } from './fixtures/tui/fake-feed.js';
import { COLOR, FakeInput, FakeOutput, KEY, screenLines, styleAt, tick } from './fixtures/tui/fake-tty.js';

const opened: { close(): Promise<unknown> }[] = [];
after(async () => {
  for (const t of opened) await t.close();
});

async function open(feed: FakeFeed, opts: { size?: [number, number] } & TuiOptions = {}) {
  const input = new FakeInput();
  const output = new FakeOutput(...(opts.size ?? [80, 24]));
  let session!: TuiSession;
  const exit = runTui(feed, { ...opts, input, output, onReady: (s) => (session = s) });
  await tick(10);
  /** Let keys and events land, then draw one frame and return the screen. */
  const frame = async () => {
    await tick(15);
    session.model.dirty = true;
    session.frames.run();
    return screenLines(session.ui.screen);
  };
  const text = async () => (await frame()).join('\n');
  const press = async (...keys: string[]) => {
    for (const k of keys) {
      input.press(k);
      await tick(2);
    }
  };
  // A failed assertion must not leave a screen (and its timer) open: quit whatever is left when the file ends.
  const t = { input, output, exit, session: () => session, frame, text, press, close: () => (session.quit(), exit) };
  opened.push(t);
  return t;
}

function bondFeed(mode: 'live' | 'replay' = 'live'): FakeFeed {
  const feed = new FakeFeed(mode);
  feed.states = [
    iface('bond0', { ifindex: 3, kind: 'bond', addr: '4a:11:22:33:44:55', aat: 3 }),
    iface('eth0', { ifindex: 2, master: 'bond0', addr: '4a:11:22:33:44:55', permAddr: '52:54:00:aa:bb:01', aat: 0 }),
    iface('veth9', { ifindex: 9, addr: '02:00:00:00:00:02', promiscuity: 1, lastChange: { ts: Date.now() * 1000, kind: 'mac', by: 'ip[31613]' } }),
  ];
  return feed;
}

test('80x24: every panel, the status line and unicode borders fit', async () => {
  const feed = bondFeed();
  const t = await open(feed);
  const lines = await t.frame();
  assert.equal(lines.length, 24);
  for (const l of lines) assert.ok([...l].length <= 80, `line too long: ${l}`);
  const all = lines.join('\n');
  assert.match(lines[0]!, /^┌─ interfaces 3 /);
  assert.match(all, /┌─ changes, newest first/);
  assert.match(all, /┌─ detail/);
  assert.match(all, /┌─ events\/s/);
  assert.match(lines[23]!, /^ LIVE  syscalls \| probes 2 \(1 dropped\) \| lost 0 \| ev 0 \| /);
  assert.match(lines[22]!, /^└.*┘└.*┘$/, 'panels tile down to the status line');
  assert.match(all, /iface +MAC +perm MAC +assign pr master +last change/);
  assert.match(all, /waiting for changes/);
  assert.match(all, /no change yet/);
  assert.ok(feed.started);
  await t.press('q');
  assert.equal(await t.exit, 0);
});

test('interfaces: a bond MAC that belongs to no port is flagged; recent changes come first', async () => {
  const feed = bondFeed();
  const t = await open(feed);
  const all = await t.text();
  assert.match(all, /interfaces 3 ! bond0: MAC belongs to none of eth0/);
  const rows = all.split('\n').filter((l) => /(bond0|eth0|veth9) /.test(l) && !/interfaces/.test(l));
  assert.match(rows[0]!, /│ veth9 +02:00:00:00:00:02 +1 +mac ip\[31613\] │$/, 'no room for the time at 80 columns: kind and who, uncut');
  assert.match(rows[1]!, /│ !bond0 +4a:11:22:33:44:55 +SET/);
  assert.match(rows[2]!, /│ eth0 +4a:11:22:33:44:55 52:54:00:aa:bb:01 PERM +bond0/);
  const screen = t.session().ui.screen;
  assert.deepEqual(styleAt(screen, '│ !bond0'), { fg: COLOR.red, bold: true, inverse: false }, 'the foreign MAC in bold red');
  assert.equal(styleAt(screen, '│ eth0 ')?.fg, COLOR.white, 'a normal row');
  feed.states.push(iface('dum7', { ifindex: 11, addr: '02:00:00:00:00:02' }));
  await t.frame();
  assert.equal(styleAt(screen, '│ !dum7')?.fg, COLOR.yellow, 'a MAC shared with an unrelated interface in yellow');
  assert.equal(styleAt(screen, '│ !veth9')?.fg, COLOR.yellow);
  await t.press('q');
  await t.exit;
});

test('the timeline shows changes newest first with their actor; the detail follows the selection', async () => {
  const feed = bondFeed();
  const t = await open(feed);
  feed.emit(probe());
  feed.emit(link());
  feed.emit(change({ iface: 'eth0', kind: 'mac' }));
  feed.emit(change({ iface: 'bond0', kind: 'enslave', after: 'eth0', actor: { pid: 77, comm: 'ifenslave', chain: [{ pid: 70, comm: 'ifup' }], kernel: false } }));
  let all = await t.text();
  const lines = all.split('\n');
  const i = lines.findIndex((l) => /enslave bond0/.test(l));
  const j = lines.findIndex((l) => /mac +eth0/.test(l));
  assert.ok(i > 0 && j > i, 'newest first');
  assert.match(lines[i]!, /\+ifenslave ->/);
  const screen = t.session().ui.screen;
  assert.deepEqual(styleAt(screen, 'enslave bond0'), { fg: COLOR.green, bold: false, inverse: true }, 'kind coloured; the selected row inverse');
  assert.deepEqual(styleAt(screen, 'mac     eth0'), { fg: COLOR.yellow, bold: false, inverse: false });
  assert.match(all, /changes, newest first 1\/2/);
  assert.match(all, /parents +ifup\[70\]/);
  await t.press('j');
  all = await t.text();
  assert.match(all, /changes, newest first 2\/2 \(held\)/);
  assert.match(all, /bash\[100\] < systemd\[1\]/, 'detail shows the selected (older) change');
  await t.press('k');
  assert.match(await t.text(), /changes, newest first 1\/2/);
  await t.press('q');
  await t.exit;
});

test('Enter opens the detail with the kernel stack and the raw events; Esc closes it', async () => {
  const feed = bondFeed();
  const t = await open(feed);
  const p = probe({ probe: 'dev_set_mac_address', kstack: ['dev_set_mac_address+1', 'do_setlink+2286', 'rtnl_setlink+229'] });
  feed.emit(p);
  feed.emit(change({ iface: 'veth9', refs: [p.seq!], evidence: 'observed', via: { probe: 'dev_set_mac_address', kstack: p.kstack, path: ['rtnl_setlink', 'do_setlink'] } }));
  await t.press(KEY.enter);
  const all = await t.text();
  assert.match(all, /mac veth9 \(up\/down scroll, Esc closes\)/);
  assert.match(all, /kernel stack/);
  assert.match(all, /do_setlink\+2286/);
  assert.match(all, new RegExp(`#${p.seq} probe dev_set_mac_address entry ip\\[4711\\]`));
  await t.press(KEY.escape);
  assert.doesNotMatch(await t.text(), /Esc closes/);
  await t.press('q');
  await t.exit;
});

test('/ filters by interface or process; Esc clears the filter', async () => {
  const feed = bondFeed();
  const t = await open(feed);
  feed.emit(change({ iface: 'eth0' }));
  feed.emit(change({ iface: 'veth9', actor: { pid: 5, comm: 'NetworkManager', chain: [], kernel: false } }));
  await t.press('/', 'i', 'f', ':', 'e', 't', 'h');
  assert.match(await t.text(), /filter: interface or process/);
  await t.press(KEY.enter);
  let all = await t.text();
  assert.match(all, /changes, newest first 1\/1/);
  assert.doesNotMatch(all, /NetworkManager/);
  assert.match(all.split('\n')[23]!, /\/if:eth/);
  await t.press(KEY.escape, '/', 'N', 'e', 't', 'w', KEY.enter);
  all = await t.text();
  assert.match(all, /changes, newest first 1\/1/);
  assert.match(all, /NetworkManager\[5\]/);
  assert.match(all, /interfaces 0/, 'the table follows the filter too (nobody named so changed one last)');
  await t.press('/', KEY.backspace, KEY.backspace, KEY.backspace, KEY.backspace, KEY.enter);
  assert.match(await t.text(), /changes, newest first 1\/2/);
  await t.press('/', 'x', KEY.escape);
  assert.match(await t.text(), /changes, newest first 1\/2/, 'Esc in the prompt keeps the old filter');
  await t.press('q');
  await t.exit;
});

test('p pauses the view while events keep arriving; p again shows them', async () => {
  const feed = bondFeed();
  const t = await open(feed);
  feed.emit(change({ iface: 'eth0' }));
  await t.press('p');
  feed.emit(change({ iface: 'veth9' }));
  let all = await t.text();
  assert.match(all.split('\n')[23]!, /VIEW PAUSED \+1/);
  assert.match(all, /changes, newest first 1\/1/);
  assert.match(all, /ev 2/, 'the counters keep going');
  await t.press('p');
  all = await t.text();
  assert.doesNotMatch(all, /VIEW PAUSED/);
  assert.match(all, /changes, newest first 1\/2/);
  await t.press('q');
  await t.exit;
});

test('? shows the help; Esc closes it', async () => {
  const t = await open(bondFeed());
  await t.press('?');
  const all = await t.text();
  assert.match(all, /help \(Esc closes\)/);
  assert.match(all, /pause the view \(tracing and recording go on\)/);
  await t.press(KEY.escape);
  assert.doesNotMatch(await t.text(), /help \(Esc closes\)/);
  await t.press('q');
  await t.exit;
});

test('r starts and stops recording; the status line shows the file and its size; no overwrite of a used name', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ifb-tui-'));
  try {
    const feed = bondFeed();
    const path = join(dir, 'first.trace');
    const t = await open(feed, { recordPath: path });
    await t.press('r');
    await tick(5);
    assert.deepEqual(feed.record!.calls, [`start ${path}`]);
    feed.record!.bytes = 2048;
    let all = await t.text();
    assert.match(all.split('\n')[23]!, /REC first\.trace 2\.0 KiB/);
    await t.press('r');
    await tick(5);
    assert.equal(feed.record!.calls[1], 'stop');
    assert.match(await t.text(), /recording stopped/);
    await t.press('r');
    await tick(5);
    assert.match(feed.record!.calls[2]!, /^start ifblame-\d{8}-\d{6}\.trace$/);
    await t.press('q');
    await t.exit;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('replay keys drive the replay controls; a seek back to the start clears the view', async () => {
  const feed = bondFeed('replay');
  const c = feed.controls as FakeControls;
  const t = await open(feed);
  feed.emit(change({ iface: 'eth0' }));
  assert.match((await t.frame())[23]!, /^ REPLAY x1 /);
  await t.press(' ', '+', '+', '-', 'n', 'g', 'G');
  assert.deepEqual(c.calls, ['pause', 'speed 2', 'speed 5', 'speed 2', 'step', 'seek start', 'seek end']);
  assert.match((await t.frame())[23]!, /^ REPLAY PAUSED /);
  await t.press(' ');
  assert.match((await t.frame())[23]!, /^ REPLAY x2 /);
  await t.press('r');
  assert.match((await t.frame())[23]!, /no recording in replay/);
  feed.reset();
  assert.match(await t.text(), /waiting for changes/);
  feed.end();
  assert.match((await t.frame())[23]!, /^ REPLAY END /);
  await t.press('q');
  assert.equal(await t.exit, 0);
});

test('quit restores the terminal and stops the feed (q and Ctrl-C)', async () => {
  for (const key of ['q', KEY.ctrlC]) {
    const feed = bondFeed();
    const t = await open(feed);
    assert.ok(t.input.isRaw, 'raw mode while running');
    assert.match(t.output.written, /\x1b\[\?1049h/);
    await t.press(key);
    assert.equal(await t.exit, 0);
    assert.ok(feed.stopped);
    assert.ok(!t.input.isRaw, 'cooked mode after');
    assert.match(t.output.written, /\x1b\[\?1049l/, 'left the alternate screen');
    assert.match(t.output.written, /\x1b\[\?25h/, 'cursor shown');
  }
});

test('tracing that cannot start: a clear screen with the message and the fix; exit code 3', async () => {
  const { IfblameError, EXIT } = await import('../src/errors.js');
  const feed = bondFeed();
  feed.startError = new IfblameError('bpftrace is not installed', 'apt install bpftrace', EXIT.tracing);
  const t = await open(feed);
  const lines = await t.frame();
  const all = lines.join('\n');
  assert.match(all, /ifblame cannot trace here/);
  assert.match(all, /bpftrace is not installed/);
  assert.match(all, /fix: apt install bpftrace/);
  assert.doesNotMatch(all, /changes, newest first/, 'nothing but the message');
  assert.doesNotMatch(all, /at .*\.js:\d+/, 'no stack dump');
  await t.press('q');
  assert.equal(await t.exit, 3);
});

test('tracing that dies later: the data stays, the error is shown over it', async () => {
  const feed = bondFeed() as FakeFeed & { failure?: string };
  const t = await open(feed);
  feed.emit(change({ iface: 'eth0' }));
  feed.failure = 'bpftrace exited with code 1: ERROR: something';
  feed.end();
  let all = await t.text();
  assert.match(all, /tracing stopped/);
  assert.match(all, /bpftrace exited with code 1/);
  await t.press(KEY.escape);
  all = await t.text();
  assert.match(all, /mac +eth0/);
  await t.press('q');
  assert.equal(await t.exit, 3);
});

test('resize: the panels re-tile at any size, down to tiny', async () => {
  const feed = bondFeed();
  const t = await open(feed);
  feed.emit(change({ iface: 'eth0' }));
  for (const [w, h] of [[120, 40], [60, 16], [80, 24], [30, 10]] as const) {
    t.output.resize(w, h);
    await tick(400); // blessed debounces resize
    const lines = await t.frame();
    assert.equal(lines.length, h);
    for (const l of lines) assert.ok([...l].length <= w, `${w}x${h}: ${l}`);
    assert.match(lines[h - 1]!, /LIVE/);
    if (h >= 16) assert.match(lines.join('\n'), /eth0/);
  }
  await t.press('q');
  await t.exit;
});

test('a storm of 50,000 events per second: frames coalesced, memory bounded, keys answered, the recording complete', async (ctx) => {
  const feed = bondFeed();
  // As the live feed does: every event goes to the trace file first, then to the listeners (the TUI).
  const dir = mkdtempSync(join(tmpdir(), 'ifb-tui-storm-'));
  const file = join(dir, 'storm.trace');
  const rec = createRecorder(file, feed.header);
  const emit = feed.emit.bind(feed);
  feed.emit = (ev) => {
    rec.write(ev);
    emit(ev);
  };
  after(() => rmSync(dir, { recursive: true, force: true }));
  const t = await open(feed);
  const s = t.session();
  const framesBefore = s.frames.frames;
  // What the UI itself costs per frame, apart from whatever else the (shared, busy) machine is doing.
  const frameMs: number[] = [];
  const run = s.frames.run.bind(s.frames);
  s.frames.run = () => {
    const a = performance.now();
    run();
    frameMs.push(performance.now() - a);
  };
  let lagMax = 0;
  let last = Date.now();
  const lag = setInterval(() => {
    const now = Date.now();
    lagMax = Math.max(lagMax, now - last - 10);
    last = now;
  }, 10);
  const t0 = Date.now();
  let sent = 0;
  let keyAt = 0;
  let keySeen = 0;
  while (Date.now() - t0 < 2000) {
    // Keep up with 50 events per millisecond = 50,000/s, one change per ten raw events.
    const target = Math.floor((Date.now() - t0) * 50);
    while (sent < target) {
      feed.emit(sent % 10 === 0 ? change({ iface: `if${sent % 300}` }) : probe());
      sent++;
    }
    if (!keyAt && Date.now() - t0 > 1000) {
      keyAt = Date.now();
      t.input.press('p');
    }
    if (keyAt && !keySeen && s.model.paused) keySeen = Date.now();
    await tick(5);
  }
  const secs = (Date.now() - t0) / 1000;
  clearInterval(lag);
  const fps = (s.frames.frames - framesBefore) / secs;
  assert.ok(sent / secs > 40_000, `rate ${Math.round(sent / secs)}/s`);
  assert.ok(fps <= 32, `${fps.toFixed(1)} frames/s`);
  assert.ok(fps >= 5, `the screen kept updating: ${fps.toFixed(1)} frames/s`);
  assert.ok(s.model.changes.size <= 5000);
  assert.ok(s.model.rawWindowSize <= 20000);
  assert.equal(s.model.counts.probe + s.model.counts.change, sent, 'every event reached the model');
  assert.ok(keySeen && keySeen - keyAt < 250, `key answered in ${keySeen - keyAt} ms`);
  frameMs.sort((a, b) => a - b);
  const median = frameMs[Math.floor(frameMs.length / 2)] ?? 0;
  ctx.diagnostic(JSON.stringify({ eventsPerSecond: Math.round(sent / secs), framesPerSecond: +fps.toFixed(1), frameMsMedian: +median.toFixed(2), keyMs: keySeen - keyAt, loopLagMaxMs: lagMax }));
  assert.ok(median < 15, `a frame costs ${median.toFixed(1)} ms`);
  // Generous: the test machines are small and shared; typical lag is tens of ms, a stall of the whole VM is not ours.
  assert.ok(lagMax < 1000, `event loop lag ${lagMax} ms`);
  await t.press('q');
  await t.exit;
  rec.close();
  const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  assert.equal(lines.length, sent + 1, 'the header and every event are in the trace file');
});
