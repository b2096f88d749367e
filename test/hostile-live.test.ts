// Terminal injection, live (issue 11), on the real kernel with the syscalls backend: a process names itself with
// ESC/OSC/CSI sequences and a blessed tag (prctl PR_SET_NAME) and sets a MAC with SIOCSIFHWADDR, in a throw-away
// network namespace, on a veth whose own name carries ESC and braces. The text output, the recorded trace replayed,
// explain and the live TUI under tmux show every name escaped: nothing reaches the terminal raw.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import type { Change } from '../src/events.js';
import { CLI, runCli, tempDir } from './fixtures/replay/helpers.js';
import { haveTmux, Tmux } from './fixtures/tui/tmux.js';
import { createNetns, type Netns } from './netns.js';

const isRoot = process.getuid?.() === 0;

/** Anything a terminal would act on (newlines are structure and checked apart). */
const RAW_UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udfff]/;
function assertSafe(out: string, what: string): void {
  const m = RAW_UNSAFE.exec(out);
  assert.equal(m, null, `${what}: raw U+${m?.[0].codePointAt(0)!.toString(16).padStart(4, '0')} at ${m?.index} in:\n${out}`);
}

/** The comm of the issue: sets the window title (OSC 0), turns the text red (CSI). 15 bytes. */
const PWN = '\x1b]0;PWN\x07\x1b[31mEV';
/** A comm that is a blessed tag and a clear-screen. */
const TAG = '{red-fg}x\x1b[2J';
/** A veth name the kernel accepts: a clear-screen and a blessed tag. */
const EVIL_IF = '\x1b[2J{red-fg}';
const esc = (s: string) => s.replace(/\x1b/g, '\\x1b').replace(/\x07/g, '\\x07');

/** Sets its own comm, then the MAC of an interface with SIOCSIFHWADDR (0x8924): struct ifreq, sa_family ARPHRD_ETHER. */
const PY = [
  'import ctypes, fcntl, socket, struct, sys',
  'ctypes.CDLL(None).prctl(15, bytes.fromhex(sys.argv[1]), 0, 0, 0)',
  's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
  "fcntl.ioctl(s, 0x8924, struct.pack('16sH14s8x', bytes.fromhex(sys.argv[2]), 1, bytes.fromhex(sys.argv[3])))",
].join('\n');
const hex = (s: string) => Buffer.from(s, 'latin1').toString('hex');

/** The shell command that makes both hostile changes inside the namespace. */
function hostileScript(ns: string, round: number): string {
  const py = (comm: string, ifname: string, mac: string) => `ip netns exec ${ns} python3 -c "${PY.replace(/"/g, '\\"')}" ${hex(comm)} ${hex(ifname)} ${mac}`;
  return [py(PWN, 'vh1', `0200000${round}0011`), py(TAG, EVIL_IF, `0200000${round}0022`)].join(' && ');
}

describe('hostile names live: comm with ESC/OSC/CSI and {red-fg}, an interface named with ESC and braces', { skip: !isRoot && 'needs root, bpftrace, ip' }, () => {
  let ns: Netns;
  const dir = mkdtempSync(join(tmpdir(), 'ifb-hostile-'));
  before(async () => {
    ns = await createNetns('ifb-hostile');
    await execa('ip', ['-n', ns.name, 'link', 'add', 'name', EVIL_IF, 'type', 'veth', 'peer', 'name', 'vh1'], { timeout: 10_000 });
  });
  after(async () => {
    await ns?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  let trace = '';

  it('capture --format text: every name escaped, the change attributed to the hostile process', { timeout: 180_000 }, async () => {
    trace = join(dir, 'hostile-live.trace');
    const r = await execa(process.execPath, [CLI, 'capture', '--netns', ns.name, '--backend', 'syscalls', '--format', 'text', '--output-stacks', '--output-raw', '--record', trace, '--', 'sh', '-c', hostileScript(ns.name, 1)], { reject: false, timeout: 150_000 });
    const out = String(r.stdout);
    assertSafe(out, 'capture stdout');
    assertSafe(String(r.stderr), 'capture stderr');
    assert.equal(r.exitCode, 0, String(r.stderr));
    // the example, now escaped: `by ^[]0;PWN^G^[[31mEV[1421]` was printed raw
    assert.match(out, new RegExp(` vh1 +mac .*-> 02:00:00:01:00:11  by ${esc(PWN).replace(/[\\[\]]/g, '\\$&')}\\[\\d+\\]`), out);
    assert.match(out, new RegExp(`${esc(EVIL_IF).replace(/[\\[\]{}]/g, '\\$&')} +mac .*-> 02:00:00:01:00:22  by \\{red-fg\\}x\\\\x1b\\[2J\\[\\d+\\]`), out);
  });

  it('the recorded trace: replay text escapes, ndjson keeps the exact bytes', async () => {
    assert.ok(trace, 'the capture ran');
    const r = await runCli(['replay', trace, '--format', 'text', '--raw']);
    assertSafe(r.stdout, 'replay stdout');
    assertSafe(r.stderr, 'replay stderr');
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.includes(esc(PWN)), r.stdout);
    const j = await runCli(['replay', trace, '--format', 'ndjson']);
    const changes = j.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Change).filter((c) => c.type === 'change' && c.kind === 'mac');
    assert.ok(changes.some((c) => c.actor?.comm === PWN && c.iface === 'vh1'), j.stdout);
    assert.ok(changes.some((c) => c.actor?.comm === TAG && c.iface === EVIL_IF), j.stdout);
  });

  it('explain on the recorded trace: names escaped', async () => {
    assert.ok(trace, 'the capture ran');
    const r = await runCli(['explain', trace]);
    assertSafe(r.stdout, 'explain stdout');
    assertSafe(r.stderr, 'explain stderr');
    const j = await runCli(['explain', trace, '--format', 'json']);
    JSON.parse(j.stdout);
    assertSafe(j.stdout.replace(/\n/g, ''), 'explain json');
  });

  it('the live TUI under tmux: names escaped on screen, the tag shown as text, the title untouched', { skip: !haveTmux() && 'tmux not installed', timeout: 180_000 }, async (t) => {
    const dir = tempDir(t);
    const term = new Tmux(dir, 140, 40);
    t.after(() => term.kill());
    const title = () => execFileSync('tmux', ['display-message', '-p', '-t', term.name, '#{pane_title}'], { encoding: 'utf8' }).trim();
    term.type(`${process.execPath} ${CLI} --backend syscalls --netns ${ns.name} 2>${join(dir, 'err')}; echo EXIT=$?`);
    await term.waitFor(/ LIVE .*probes \d+/, 120_000);
    await execa('sh', ['-c', hostileScript(ns.name, 2)], { timeout: 60_000 });
    // the MAC requests (seen by the ioctl probe) name their processes
    await term.waitFor(/\\x1b\]0;PWN|\\x1b\[31mEV/, 30_000);
    const screen = await term.waitFor(/\{red-fg\}x\\x1b\[2J/, 30_000);
    assertSafe(screen.replace(/\n/g, ''), 'screen');
    assert.ok(screen.includes(esc(EVIL_IF)), `the interface name shown escaped, its tag as text:\n${screen}`);
    assert.ok(screen.includes('\\x1b]0;PWN') || screen.includes('\\x1b[31mEV'), `the comm shown escaped:\n${screen}`);
    assert.notEqual(title(), 'PWN', 'OSC 0 did not reach the terminal');
    // the detail of a change made by a hostile process names it in full, escaped: walk the timeline to one
    // (the detail's `by` line: the interface table's last-change column names them too)
    const named = (text: string) => /by {7}(\{red-fg\}x\\x1b\[2J|\\x1b\]0;PWN\\x07\\x1b\[31mEV)\[\d+\]/.test(text);
    for (let i = 0; i < 8 && !named(term.screen()); i++) {
      term.keys('Down');
      await new Promise((r) => setTimeout(r, 300));
    }
    term.keys('Enter');
    const detail = await term.waitFor(/Esc closes/, 10_000);
    assertSafe(detail.replace(/\n/g, ''), 'detail');
    assert.ok(named(detail), `the process named in full, escaped:\n${detail}`);
    term.keys('Escape', 'q');
    await term.waitFor(/EXIT=0/, 30_000);
  });
});
