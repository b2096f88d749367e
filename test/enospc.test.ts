// Recording failures are one line and lose nothing else: a full disk (a 64 KiB tmpfs), an I/O error, a removed
// directory stop *recording*; the trace file stays valid up to its last complete line; tracing, the text output,
// the summary and the TUI go on and say so; `capture` exits with EXIT.recording (5).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { EXIT, IfblameError } from '../src/errors.js';
import type { Change, TraceEvent } from '../src/events.js';
import { TraceReader } from '../src/trace/reader.js';
import { createRecorder, RECORDING_SOURCE, type RecordingFailure } from '../src/trace/writer.js';
import { CLI, header, lnk, tempDir } from './fixtures/replay/helpers.js';
import { haveTmux, Tmux } from './fixtures/tui/tmux.js';
import { createNetns, type Netns } from './netns.js';

const isRoot = process.getuid?.() === 0;

/** The pipeline reports writer failures as a note (src/feed/pipeline.ts passes onError): until then these are todo. */
const WIRED = readFileSync(new URL('../src/feed/pipeline.js', import.meta.url), 'utf8').includes('RECORDING_SOURCE');
const WIRING_TODO = WIRED ? false : 'the pipeline does not pass onError to the trace writer yet (see issue 11 report)';

/** A tmpfs of `size` mounted on a fresh directory; unmounted (and removed) after the test. */
function tinyFs(t: { after(fn: () => void): void }, size = '64k'): string {
  const dir = mkdtempSync(join(tmpdir(), 'ifb-full-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  t.after(() => {
    try {
      execFileSync('umount', ['-l', dir]);
    } catch {
      // already gone
    }
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

let n = 0;
function mac(i: number): TraceEvent {
  const hex = (i % 256).toString(16).padStart(2, '0');
  return { type: 'change', seq: n++, ts: 1_795_260_056_887_063 + i, iface: 'eth0', ifindex: 2, kind: 'mac', before: '02:00:00:00:00:01', after: `02:00:00:00:01:${hex}`, actor: null, via: { kstack: [], path: [], note: 'padding '.repeat(20) }, evidence: 'inferred', refs: [] };
}

async function readAll(path: string): Promise<{ events: TraceEvent[]; problems: string[] }> {
  const r = await TraceReader.open(path);
  const events: TraceEvent[] = [];
  const problems: string[] = [];
  for await (const e of r.events((p) => problems.push(`${p.line}: ${p.message}`))) events.push(e.event);
  return { events, problems };
}

describe('the trace writer: a failed write stops recording, once, and leaves a valid file', () => {
  it('ENOSPC on a real 64 KiB tmpfs: one report, the file cut back to its last complete line', { skip: !isRoot && 'needs root (mount)' }, async (t) => {
    const dir = tinyFs(t);
    const path = join(dir, 'full.trace');
    const failures: RecordingFailure[] = [];
    const rec = createRecorder(path, header({}, [lnk(2, 'eth0')]), { onError: (f) => failures.push(f) });
    let written = 0;
    let i = 0;
    for (; i < 5000; i++) {
      if (!rec.write(mac(i))) break;
      written++;
    }
    assert.ok(i < 5000, 'the tmpfs filled up');
    assert.equal(rec.write(mac(i + 1)), false, 'later writes are dropped');
    assert.equal(failures.length, 1, 'reported once');
    const f = failures[0]!;
    assert.equal(f.code, 'ENOSPC');
    assert.equal(rec.failed, f);
    assert.equal(f.events, written);
    assert.match(f.message, new RegExp(`^recording stopped: no space left on device after \\d+(\\.\\d)? KiB \\(file ${path.replace(/[.]/g, '\\.')} is valid up to its last complete line\\)$`));
    assert.equal(statSync(path).size, f.bytes, 'cut back to the last complete line');
    rec.close();
    const back = await readAll(path);
    assert.deepEqual(back.problems, [], 'no torn line');
    assert.equal(back.events.length, written);
  });

  it('EIO (injected): reported in words; without onError it is an IfblameError with exit code 5', (t) => {
    const dir = tempDir(t);
    let fail = false;
    const io = {
      write: (_fd: number, buf: Buffer, off: number) => {
        if (fail) throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
        return buf.length - off;
      },
      fstat: () => ({ size: 0, nlink: 1 }),
    };
    const got: RecordingFailure[] = [];
    const rec = createRecorder(join(dir, 'a.trace'), header(), { io, onError: (f) => got.push(f) });
    assert.equal(rec.write(mac(1)), true);
    fail = true;
    assert.equal(rec.write(mac(2)), false);
    assert.match(got[0]!.message, /^recording stopped: input\/output error after \d+ B \(file .*a\.trace is valid up to its last complete line\)$/);
    fail = false;
    const plain = createRecorder(join(dir, 'b.trace'), header(), { io });
    fail = true;
    assert.throws(() => plain.write(mac(3)), (e: unknown) => e instanceof IfblameError && e.exitCode === EXIT.recording && /^recording stopped: input\/output error/.test(e.message));
    assert.equal(EXIT.recording, 5);
  });

  it('a removed directory: recording stops with one report (writes to an unlinked file would vanish silently)', (t) => {
    const dir = tempDir(t);
    const sub = join(dir, 'sub');
    mkdirSync(sub);
    const got: RecordingFailure[] = [];
    const rec = createRecorder(join(sub, 'x.trace'), header(), { checkEveryMs: 0, onError: (f) => got.push(f) });
    assert.equal(rec.write(mac(1)), true);
    rmSync(sub, { recursive: true });
    assert.equal(rec.write(mac(2)), false);
    assert.equal(got.length, 1);
    assert.equal(got[0]!.code, 'REMOVED');
    assert.match(got[0]!.message, /^recording stopped: the trace file \(or its directory\) was removed after \d+ B \(file .* is no longer reachable\)$/);
  });
});

describe('capture --record onto a tiny tmpfs that fills up mid-run (real bpftrace, syscalls backend)', { skip: !isRoot && 'needs root' }, () => {
  let ns: Netns;
  before(async () => {
    ns = await createNetns('ifb-full');
    await ns.ip('link', 'add', 'vf0', 'type', 'veth', 'peer', 'name', 'vf1');
  });
  after(async () => {
    await ns?.remove();
  });

  const CHANGES = 40;
  /** `rounds` x 40 MAC changes (02:00:00:00:RR:10 .. 02:00:00:00:RR:49), each its own `ip` process. */
  const script = (rounds = 1) => `for r in $(seq 10 ${9 + rounds}); do for i in $(seq 10 ${9 + CHANGES}); do ip -n ${ns.name} link set vf0 address 02:00:00:00:$r:$i; done; done`;

  it('a disk already full when recording starts: one line, exit 5, nothing traced', { timeout: 120_000 }, async (t) => {
    const dir = tinyFs(t);
    // dd fails (ENOSPC) once the tmpfs is full: that is the point
    spawnSync('dd', ['if=/dev/zero', `of=${join(dir, 'fill')}`, 'bs=4k', 'count=100'], { stdio: 'ignore' });
    const path = join(dir, 'x.trace');
    const r = await execa(process.execPath, [CLI, 'capture', '--netns', ns.name, '--backend', 'syscalls', '--duration', '1s', '--record', path], { reject: false, timeout: 100_000 });
    assert.equal(r.exitCode, EXIT.recording, String(r.stderr));
    assert.deepEqual(String(r.stderr).split('\n').filter(Boolean), [`ifblame: cannot write the trace file ${path}: no space left on device (hint: choose another path (or free some space))`]);
  });

  it('a trace file that cannot be created (its directory does not exist): one line, exit 5', { timeout: 120_000 }, async (t) => {
    const path = join(tempDir(t), 'gone', 'x.trace');
    const r = await execa(process.execPath, [CLI, 'capture', '--netns', ns.name, '--backend', 'syscalls', '--duration', '1s', '--record', path], { reject: false, timeout: 100_000 });
    assert.equal(r.exitCode, EXIT.recording, String(r.stderr));
    assert.deepEqual(String(r.stderr).split('\n').filter(Boolean), [`ifblame: cannot write the trace file ${path}: no such directory (hint: choose a writable path)`]);
  });

  it('one line, exit 5, the text output complete, the file valid up to its last complete line', { todo: WIRING_TODO, timeout: 180_000 }, async (t) => {
    const dir = tinyFs(t);
    const path = join(dir, 'run.trace');
    const r = await execa(process.execPath, [CLI, 'capture', '--netns', ns.name, '--backend', 'syscalls', '--record', path, '--', 'sh', '-c', script()], { reject: false, timeout: 150_000 });
    const stderr = String(r.stderr).split('\n').filter(Boolean);
    const failLines = stderr.filter((l) => /recording stopped/.test(l));
    assert.equal(failLines.length, 1, String(r.stderr));
    assert.match(failLines[0]!, new RegExp(`^ifblame: recording stopped: no space left on device after \\d+(\\.\\d)? KiB \\(file ${path.replace(/[.]/g, '\\.')} is valid up to its last complete line\\)$`));
    assert.ok(!/\n\s+at /.test(String(r.stderr)), 'no stack dump');
    assert.equal(r.exitCode, EXIT.recording, String(r.stderr));
    const out = String(r.stdout);
    const macs = out.split('\n').filter((l) => / vf0 +mac /.test(l));
    assert.equal(macs.length, CHANGES, `every change printed after the disk filled:\n${out}`);
    assert.match(out, /^-- command sh -c .* exited 0$/m, 'the command ran to its end');
    assert.match(out, /^-- !!! recording stopped: no space left on device after /m, 'the summary says so');
    const back = await readAll(path);
    assert.deepEqual(back.problems, [], 'the file is valid: no torn line');
    const recorded = back.events.filter((e): e is Change => e.type === 'change').length;
    assert.ok(recorded < CHANGES, `the file holds what fitted (${recorded})`);
    assert.ok(!back.events.some((e) => e.type === 'note' && e.source === RECORDING_SOURCE));
  });

  it('ndjson: the summary carries the failure, stdout stays JSON', { todo: WIRING_TODO, timeout: 180_000 }, async (t) => {
    const dir = tinyFs(t);
    const path = join(dir, 'run.trace');
    const r = await execa(process.execPath, [CLI, 'capture', '--netns', ns.name, '--backend', 'syscalls', '--format', 'ndjson', '--record', path, '--', 'sh', '-c', script()], { reject: false, timeout: 150_000 });
    assert.equal(r.exitCode, EXIT.recording, String(r.stderr));
    const lines = String(r.stdout).trim().split('\n').map((l) => JSON.parse(l) as { type: string; recording?: { path: string; failure?: string }; source?: string });
    const summary = lines.at(-1)!;
    assert.equal(summary.type, 'summary');
    assert.equal(summary.recording?.path, path);
    assert.match(summary.recording?.failure ?? '', /^recording stopped: no space left on device/);
    assert.equal(lines.filter((l) => l.type === 'note' && l.source === RECORDING_SOURCE).length, 1, 'in-band once');
    assert.equal(lines.filter((l) => l.type === 'change').length, CHANGES);
  });

  it('the live TUI shows it in the status line and goes on', { todo: WIRING_TODO, skip: !haveTmux() && 'tmux not installed', timeout: 180_000 }, async (t) => {
    const dir = tinyFs(t);
    const path = join(dir, 'live.trace');
    const term = new Tmux(tempDir(t), 120, 30);
    t.after(() => term.kill());
    term.type(`${process.execPath} ${CLI} --backend syscalls --netns ${ns.name} --record ${path} 2>/tmp/ifb-enospc-tui.err; echo EXIT=$?`);
    await term.waitFor(/LIVE .*REC /, 120_000);
    await execa('sh', ['-c', script(3)], { timeout: 90_000 });
    const screen = await term.waitFor(/REC STOPPED: no space left on device after/, 20_000);
    assert.match(screen, / LIVE /, 'tracing goes on');
    // the changes after the failure are still shown
    await term.waitFor(new RegExp(`02:00:00:00:12:${9 + CHANGES}`), 20_000);
    term.keys('q');
    await term.waitFor(/EXIT=\d+/, 20_000);
    assert.ok(existsSync(path));
  });
});
