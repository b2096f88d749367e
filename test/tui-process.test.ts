// The real program in a real pseudo-terminal (tmux): start it, press keys, read the screen; live tracing in a netns,
// a replay, and the terminal given back (and no child left) after q, SIGTERM, SIGHUP, an uncaught error, a failure.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Change, LinkEvent, ProbeEvent } from '../src/events.js';
import { TraceHeader } from '../src/trace/format.js';
import { createNetns, type Netns } from './netns.js';
import { change, header, link, probe } from './fixtures/tui/fake-feed.js';
import { Tmux, alive, commOf, descendantsOf, haveTmux } from './fixtures/tui/tmux.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'ifblame.js');
const NODE = process.execPath;
const CRASH = join(ROOT, 'test', 'fixtures', 'tui', 'crash-preload.mjs');
const isRoot = process.getuid?.() === 0;
const haveBpftrace = (() => {
  try {
    execFileSync('bpftrace', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const noTmux = haveTmux() ? false : 'tmux is not installed';
const noLive = noTmux || (!isRoot ? 'needs root' : !haveBpftrace ? 'needs bpftrace' : false);

let dir: string;
const sessions: Tmux[] = [];
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'ifb-tui-proc-'));
});
after(() => {
  for (const s of sessions) s.kill();
  rmSync(dir, { recursive: true, force: true });
});

function terminal(cols = 80, rows = 24, env: Record<string, string> = {}): Tmux {
  const t = new Tmux(dir, cols, rows, env);
  sessions.push(t);
  return t;
}

/** The ifblame node process under the shell, once it runs. */
async function programPid(t: Tmux): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const pid = descendantsOf(t.shellPid()).find((p) => commOf(p) === 'node');
    if (pid) return pid;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('ifblame did not start');
}

/** The shell is back: the exit line printed, the terminal out of the alternate screen, cursor on, cooked mode. */
async function assertRestored(t: Tmux, exitCode: number): Promise<void> {
  const screen = await t.waitFor(new RegExp(`EXIT=${exitCode}\\b`), 15_000);
  const m = t.modes();
  assert.equal(m.alternate, false, 'left the alternate screen');
  assert.equal(m.cursor, true, 'cursor visible');
  assert.equal(m.mouse, false, 'no mouse reporting');
  assert.doesNotMatch(screen, /┌─ interfaces|Assertion failed|\n\s+at .*\.js:\d+/);
  t.type(`stty -a | grep -qE -- '(^| )-(icanon|echo)( |;|$)' && echo TTY-RAW || echo TTY-COOKED`);
  const after = await t.waitFor(/^TTY-(RAW|COOKED)$/m);
  assert.match(after, /^TTY-COOKED$/m, 'the tty is back in cooked mode with echo');
}

/** A small recording of incident 1: udev gives bond0 a name-derived MAC, then eth0 is enslaved. */
function writeRecording(path: string): void {
  const h = TraceHeader.parse(header({
    backend: 'kfunc',
    probes: { used: ['dev_set_mac_address', 'bond_enslave', 'dev_addr_mod'], dropped: [] },
    snapshot: [
      { ifindex: 2, ifname: 'eth0', addr: '52:54:00:aa:bb:01', permAddr: '52:54:00:aa:bb:01', addrAssignType: 0, kind: undefined, flags: ['BROADCAST', 'UP'], master: null },
      { ifindex: 7, ifname: 'bond0', addr: '8e:1f:33:44:55:66', addrAssignType: 1, kind: 'bond', flags: ['BROADCAST', 'MASTER'], master: null },
    ],
  }));
  const t0 = Date.now() * 1000;
  const udev = { pid: 978, comm: '(udev-worker)', chain: [{ pid: 412, comm: 'systemd-udevd' }, { pid: 1, comm: 'systemd' }], service: 'systemd-udevd', unit: 'systemd-udevd.service', kernel: false };
  const p1 = ProbeEvent.parse(probe({ seq: 1, ts: t0 + 1000, backend: 'kfunc', probe: 'dev_set_mac_address', pid: 978, tid: 978, comm: '(udev-worker)', fields: { dev: 'bond0', addr: '4a:11:22:33:44:55' }, kstack: ['dev_set_mac_address+1', 'do_setlink+2286', 'rtnl_setlink+229'] }));
  const l1 = LinkEvent.parse(link({ seq: 2, ts: t0 + 2000, ifindex: 7, ifname: 'bond0', addr: '4a:11:22:33:44:55', flags: ['BROADCAST', 'MASTER'] }));
  const c1 = Change.parse(change({ seq: 3, ts: t0 + 2000, iface: 'bond0', ifindex: 7, kind: 'mac', before: '8e:1f:33:44:55:66', after: '4a:11:22:33:44:55', actor: udev, evidence: 'observed', refs: [1, 2], via: { probe: 'dev_set_mac_address', kstack: p1.kstack, path: ['rtnl_setlink', 'do_setlink', 'dev_set_mac_address'] } }));
  const l2 = LinkEvent.parse(link({ seq: 4, ts: t0 + 500_000, ifindex: 2, ifname: 'eth0', addr: '4a:11:22:33:44:55', master: 'bond0', flags: ['BROADCAST', 'SLAVE', 'UP'] }));
  const c2 = Change.parse(change({ seq: 5, ts: t0 + 500_000, iface: 'eth0', ifindex: 2, kind: 'enslave', before: null, after: 'bond0', actor: { pid: 2001, comm: 'ifenslave', chain: [{ pid: 2000, comm: 'ifup' }], kernel: false }, evidence: 'observed', refs: [4] }));
  const c3 = Change.parse(change({ seq: 6, ts: t0 + 500_001, iface: 'eth0', ifindex: 2, kind: 'mac', before: '52:54:00:aa:bb:01', after: '4a:11:22:33:44:55', actor: { pid: 2001, comm: 'ifenslave', chain: [{ pid: 2000, comm: 'ifup' }], kernel: false }, evidence: 'observed', refs: [4], via: { note: "bond bond0 overwrote its slave's MAC with its own (bond_enslave)", kstack: [], path: ['bond_enslave'] } }));
  writeFileSync(path, [h, p1, l1, c1, l2, c2, c3].map((o) => JSON.stringify(o)).join('\n') + '\n');
}

test('replay in the TUI: step, speed, the incident on screen, detail, filter, seek; q gives the terminal back', { skip: noTmux, timeout: 60_000 }, async () => {
  const file = join(dir, 'incident.trace');
  writeRecording(file);
  const t = terminal();
  t.type(`${NODE} ${BIN} replay ${file} --paused --speed 10; echo EXIT=$?`);
  let screen = await t.waitFor(/^ REPLAY PAUSED /m);
  assert.match(screen, /waiting for changes/);
  // One event at a time: the udev probe, its netlink message, then the change they make.
  t.keys('n', 'n');
  await t.waitFor(/ev 2 /);
  assert.match(t.screen(), /waiting for changes/);
  t.keys('n');
  screen = await t.waitFor(/mac +bond0 +\*systemd-udev/);
  assert.match(screen, /ev 3 /);
  t.keys('+', 'Space');
  screen = await t.waitFor(/REPLAY END/);
  assert.match(screen, /^ REPLAY END  kfunc \| probes 3 \| lost 0 \| ev 6 /m);
  assert.match(screen, /interfaces 2 ! bond0: MAC belongs to none of eth0/);
  assert.match(screen, /mac +eth0 +\*ifenslave/);
  assert.match(screen, /enslave eth0 +\*ifenslave/);
  assert.match(screen, /mac +bond0 +\*systemd-udev/, 'the udev worker is named by its service');
  assert.match(screen, /│ !bond0 .* mac systemd-… │/, 'and so is the last change of the interface (not the worker)');
  // Oldest change, then its detail: the worker, its parents, the kernel stack, the raw events.
  t.keys('End', 'Enter');
  screen = await t.waitFor(/Esc closes/);
  assert.match(screen, /\(udev-worker\)\[978\] of systemd-udevd/);
  assert.match(screen, /systemd-udevd\[412\] < systemd\[1\]/);
  assert.match(screen, /do_setlink\+2286/);
  assert.match(screen, /#1 probe dev_set_mac_address entry/);
  t.keys('Escape', '/');
  for (const ch of 'comm:ifen') t.keys(ch);
  t.keys('Enter');
  screen = await t.waitFor(/\| \/comm:ifen \|/);
  assert.match(screen, /changes, newest first \d\/2/);
  assert.doesNotMatch(screen, /systemd-udev/);
  // Back to the start: the view is cleared and fills again.
  t.keys('Escape', 'g');
  screen = await t.waitFor(/changes, newest first \d\/3 /);
  assert.doesNotMatch(screen, /\/6/, 'not six: the first pass was cleared');
  t.keys('q');
  await assertRestored(t, 0);
});

test('a replayed storm at 50,000 events per second: keys answered at once, every event shown in the counters', { skip: noTmux, timeout: 90_000 }, async () => {
  const file = join(dir, 'storm.trace');
  const t0 = Date.now() * 1000;
  const lines = [JSON.stringify(header())];
  for (let i = 0; i < 100_000; i++) {
    // 20 µs apart: 50,000 events per recorded second, one change in ten.
    lines.push(JSON.stringify(i % 10 === 0 ? change({ seq: i, ts: t0 + i * 20, iface: `if${i % 50}` }) : probe({ seq: i, ts: t0 + i * 20 })));
  }
  writeFileSync(file, lines.join('\n') + '\n');
  const t = terminal();
  t.type(`${NODE} ${BIN} replay ${file} --speed 1; echo EXIT=$?`);
  await t.waitFor(/^ REPLAY x1 .*ev [1-9]\d{3,} /m);
  await new Promise((r) => setTimeout(r, 1100));
  const pressed = Date.now();
  t.keys('?');
  let screen = await t.waitFor(/help \(Esc closes\)/, 5000);
  const answeredMs = Date.now() - pressed;
  assert.ok(answeredMs < 1000, `help shown ${answeredMs} ms after the key, mid-storm`);
  assert.match(screen, /^ REPLAY x1 /m, 'still replaying when the key was answered');
  t.keys('Escape');
  screen = await t.waitFor(/│probe +\S+ +\d+k\/s│/, 5000);
  screen = await t.waitFor(/REPLAY END .*ev 100000 /, 30_000);
  assert.match(screen, /changes, newest first 1\/5000 /, 'the view keeps a bounded window');
  t.keys('q');
  await assertRestored(t, 0);
});

test('80x24 and resize: the layout follows the terminal', { skip: noTmux, timeout: 60_000 }, async () => {
  const file = join(dir, 'resize.trace');
  writeRecording(file);
  const t = terminal(80, 24);
  // A bare environment: no locale, a terminal blessed knows nothing about. Borders must still be lines.
  t.type(`env -u LANG -u LC_ALL -u LC_CTYPE TERM=dumb ${NODE} ${BIN} replay ${file} --speed max --format tui; echo EXIT=$?`);
  let screen = await t.waitFor(/REPLAY END/);
  let lines = screen.split('\n');
  assert.match(lines[0]!, /^┌─ interfaces/);
  assert.match(lines[22]!, /^└─+┘└─+┘$/);
  t.resize(120, 35);
  screen = await t.waitFor(/^┌─ interfaces[^\n]{100,}┐$/m);
  lines = screen.split('\n');
  assert.match(lines[33]!, /^└─+┘└─+┘$/);
  assert.match(lines[34]!, /^ REPLAY/);
  t.keys('?');
  screen = await t.waitFor(/help \(Esc closes\)/);
  assert.match(screen, /pause the view/);
  t.keys('Escape', 'q');
  await assertRestored(t, 0);
});

test('live tracing in a network namespace: a real `ip link set address` appears, attributed to ip', { skip: noLive, timeout: 120_000 }, async () => {
  let ns: Netns | undefined;
  try {
    ns = await createNetns('ifb-tui');
    const ifname = `tv${ns.name.slice(-6)}`;
    await ns.ip('link', 'add', ifname, 'type', 'veth', 'peer', 'name', `${ifname}p`);
    await ns.ip('link', 'set', ifname, 'up');
    const t = terminal();
    const trace = join(dir, 'live.trace');
    t.type(`${NODE} ${BIN} live --backend syscalls --netns ${ns.name} --record ${trace}; echo EXIT=$?`);
    let screen = await t.waitFor(/^ LIVE .*\? help/m, 90_000);
    assert.match(screen, new RegExp(`│ ${ifname} `), 'the namespace interfaces are listed');
    assert.match(screen, /^ LIVE  REC live\.trace \d/m, 'recording while watching');
    const pid = await programPid(t);
    const kids = descendantsOf(pid);
    assert.ok(kids.some((k) => commOf(k) === 'bpftrace'), `bpftrace runs under ifblame: ${kids.map(commOf)}`);
    await ns.ip('link', 'set', 'dev', ifname, 'address', '02:1f:b1:a3:e0:01');
    screen = await t.waitFor(new RegExp(`mac +${ifname} +[*+?]ip `), 20_000);
    assert.match(screen, new RegExp(`│ ${ifname} +02:1f:b1:a3:e0:01 `), 'the table shows the new MAC');
    assert.match(screen, /after +02:1f:b1:a3:e0:01/);
    assert.match(screen, /by +ip\[\d+\]/);
    t.keys('r');
    await t.waitFor(/recording stopped: .*live\.trace/);
    t.keys('q');
    await assertRestored(t, 0);
    for (const k of kids) assert.ok(!alive(k), `child ${k} is gone`);
    const recorded = readFileSync(trace, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(recorded[0]!.format, 'ifblame-trace');
    const c = recorded.find((e) => e.type === 'change' && e.iface === ifname && e.kind === 'mac');
    assert.ok(c, 'the change is in the trace file');
    assert.equal((c.actor as { comm: string }).comm, 'ip');
  } finally {
    await ns?.remove();
  }
});

test('SIGTERM: the terminal is restored, bpftrace and ip are stopped, exit 143', { skip: noLive, timeout: 120_000 }, async () => {
  const t = terminal();
  t.type(`${NODE} ${BIN} live --backend syscalls; echo EXIT=$?`);
  await t.waitFor(/^ LIVE .*\? help/m, 90_000);
  const pid = await programPid(t);
  const kids = descendantsOf(pid);
  assert.ok(kids.length >= 2, `bpftrace and ip monitor run: ${kids.map(commOf)}`);
  process.kill(pid, 'SIGTERM');
  await assertRestored(t, 143);
  for (const k of kids) assert.ok(!alive(k), `child ${k} (${commOf(k)}) is gone`);
});

test('q while the probes are still attaching: bpftrace is stopped, exit 0', { skip: noLive, timeout: 120_000 }, async () => {
  const t = terminal();
  t.type(`${NODE} ${BIN} live --backend syscalls; echo EXIT=$?`);
  await t.waitFor(/attaching probes/, 60_000);
  const pid = await programPid(t);
  let kids: number[] = [];
  for (let i = 0; i < 50 && !kids.some((k) => commOf(k) === 'bpftrace'); i++) {
    kids = descendantsOf(pid);
    await new Promise((r) => setTimeout(r, 20));
  }
  t.keys('q');
  await assertRestored(t, 0);
  for (const k of kids) assert.ok(!alive(k), `child ${k} is gone`);
});

test('SIGTERM during a replay restores the terminal too', { skip: noTmux, timeout: 60_000 }, async () => {
  const file = join(dir, 'term.trace');
  writeRecording(file);
  const t = terminal();
  t.type(`${NODE} ${BIN} replay ${file} --speed 1; echo EXIT=$?`);
  await t.waitFor(/REPLAY/);
  process.kill(await programPid(t), 'SIGTERM');
  await assertRestored(t, 143);
});

test('SIGHUP (the terminal closes): no child left behind, no crash', { skip: noLive, timeout: 120_000 }, async () => {
  const t = terminal();
  const errFile = join(dir, 'hup.err');
  t.type(`${NODE} ${BIN} live --backend syscalls 2>${errFile}; echo EXIT=$?`);
  await t.waitFor(/^ LIVE .*\? help/m, 90_000);
  const pid = await programPid(t);
  const kids = descendantsOf(pid);
  t.kill();
  for (let i = 0; i < 100 && [pid, ...kids].some(alive); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(!alive(pid), 'ifblame exited');
  for (const k of kids) assert.ok(!alive(k), `child ${k} is gone`);
  assert.doesNotMatch(readFileSync(errFile, 'utf8'), /Assertion|at .*\.js:\d+/);
});

test('an uncaught error: terminal restored, one line on stderr, exit 2', { skip: noTmux, timeout: 60_000 }, async () => {
  const file = join(dir, 'crash.trace');
  writeRecording(file);
  const t = terminal(80, 24);
  t.type(`NODE_OPTIONS="--import ${CRASH}" ${NODE} ${BIN} replay ${file} --speed 1; echo EXIT=$?`);
  await t.waitFor(/REPLAY/);
  process.kill(await programPid(t), 'SIGUSR2');
  await assertRestored(t, 2);
  assert.match(t.screen(), /ifblame: internal error: boom from the crash fixture/);
});

test('no bpftrace: a clear screen with the message and the fix, not a stack dump; exit 3', { skip: noTmux, timeout: 60_000 }, async () => {
  const empty = join(dir, 'empty-bin');
  execFileSync('mkdir', ['-p', empty]);
  const t = terminal();
  t.type(`PATH=${empty} ${NODE} ${BIN}; echo EXIT=$?`);
  const screen = await t.waitFor(/ifblame cannot trace here/);
  assert.match(screen, /fix: install bpftrace: `apt install bpftrace`/);
  assert.match(screen, /Press q to quit/);
  assert.doesNotMatch(screen, /\n\s+at .*\.js:\d+/);
  assert.doesNotMatch(screen, /┌─ changes/, 'nothing but the message');
  t.keys('q');
  await assertRestored(t, 3);
  assert.match(t.screen(), /^ifblame: no tracing backend works here[\s\S]*\(hint: /m, 'the message stays in the scrollback after the screen closes');
});
