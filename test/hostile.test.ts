// Hostile trace files through `ifblame replay` (and explain): empty, torn, wrong format or version, garbage lines,
// a 100 MB line, bytes that are not UTF-8, events out of order. Each problem is one line naming FILE:LINE; the good
// events are still replayed; --strict stops at the first problem.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CAPTURES, change, CLI, FIXTURES, header, IP, link, resetSeq, runCli, tempDir, writeTrace } from './fixtures/replay/helpers.js';

type Ev = Record<string, unknown> & { type: string };

function ndjson(stdout: string): Ev[] {
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Ev);
}

function problems(stderr: string): string[] {
  return stderr.split('\n').filter(Boolean);
}

/** Three good changes around whatever `middle` lines are put between them. */
function around(dir: string, name: string, middle: string[], tail = ''): string {
  resetSeq();
  const a = change(0, 'eth0', 'mac', '02:00:00:00:00:01', '02:00:00:00:00:02', IP);
  const b = change(1000, 'eth0', 'mac', '02:00:00:00:00:02', '02:00:00:00:00:03', IP);
  const c = change(2000, 'eth0', 'mac', '02:00:00:00:00:03', '02:00:00:00:00:04', IP);
  return writeTrace(join(dir, name), header(), [a, b, ...middle, c], tail);
}

/** Runs a command and samples its peak resident set (VmHWM) from /proc while it runs. */
export function runMeasured(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; peakKb: number }> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let peakKb = 0;
    const sample = () => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peakKb = Math.max(peakKb, Number(m[1]));
      } catch {
        /* gone */
      }
    };
    const timer = setInterval(sample, 10);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', rej);
    child.on('exit', () => sample());
    child.on('close', (code) => {
      clearInterval(timer);
      res({ code, stdout, stderr, peakKb });
    });
  });
}

describe('hostile trace files', () => {
  it('an empty file: one line, exit 2', async (t) => {
    const dir = tempDir(t);
    const p = join(dir, 'empty.trace');
    writeFileSync(p, '');
    const r = await runCli(['replay', p, '--format', 'ndjson']);
    assert.equal(r.code, 2);
    assert.deepEqual(problems(r.stderr), [`ifblame: ${p}:1: empty file: no trace header (hint: a trace file starts with the header line ifblame writes)`]);
    assert.equal(r.stdout, '');
    const e = await runCli(['explain', p]);
    assert.equal(e.code, 2);
    assert.match(e.stderr, /:1: empty file/);
  });

  it('a torn last line (SIGKILL mid-write): a warning, every whole event replayed, exit 0', async (t) => {
    const dir = tempDir(t);
    const p = around(dir, 'torn.trace', [], '{"type":"change","seq":3,"ts":17952600568');
    const r = await runCli(['replay', p, '--format', 'ndjson']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(problems(r.stderr), [`ifblame: ${p}:5: warning: torn last line (the recording stopped mid-write): skipped`]);
    const out = ndjson(r.stdout);
    assert.equal(out.filter((e) => e.type === 'change').length, 3);
    assert.deepEqual(
      out.filter((e) => e.type === 'lost').map((e) => e.detail),
      [`${p}:5: torn last line (the recording stopped mid-write): skipped`],
    );
  });

  it('wrong formats and versions: what the file is, and what to do, in one line', async (t) => {
    const dir = tempDir(t);
    const cases: [string, string | Buffer, RegExp][] = [
      [
        'bt.json',
        readFileSync(join(FIXTURES, 'local-a/bt.json')),
        /:1: this is raw bpftrace output, not an ifblame trace file \(hint: build a trace file from raw outputs with `ifblame import/,
      ],
      ['ipmon.txt', readFileSync(join(CAPTURES, 'A/ipmon.txt')), /:1: this is `ip -ts monitor` output, not an ifblame trace file \(hint: build a trace file/],
      [
        'link.json',
        readFileSync(join(CAPTURES, 'A/link-before.json')),
        /:1: this looks like `ip -j link` output, not an ifblame trace file \(hint: pass it to import as --snapshot/,
      ],
      [
        'v2.trace',
        JSON.stringify({ ...header(), version: 2 }) + '\n',
        /:1: trace format version 2 is newer than this ifblame reads \(version 1\) \(hint: replay it with a newer ifblame\)/,
      ],
      ['vx.trace', JSON.stringify({ ...header(), version: 'one' }) + '\n', /:1: unsupported trace format version "one"/],
      ['other.trace', JSON.stringify({ format: 'pcapng', version: 1 }) + '\n', /:1: not an ifblame trace file \(first line: /],
      ['headless.trace', JSON.stringify(change(0, 'eth0', 'mac', 'a', 'b', IP)) + '\n', /:1: no trace header: the file starts with an event/],
      ['badheader.trace', JSON.stringify({ ...header(), snapshot: 'none' }) + '\n', /:1: bad trace header: snapshot: /],
      ['binary.trace', Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0xff, 0xfe, 0x0a]), /:1: not an ifblame trace file \(the first line is not UTF-8 text\)/],
    ];
    for (const [name, body, re] of cases) {
      const p = join(dir, name);
      writeFileSync(p, body);
      const r = await runCli(['replay', p, '--format', 'ndjson']);
      assert.equal(r.code, 2, `${name}: ${r.stderr}`);
      assert.equal(problems(r.stderr).length, 1, `${name}: ${r.stderr}`);
      assert.match(r.stderr, re, name);
      assert.ok(r.stderr.startsWith(`ifblame: ${p}:1: `), r.stderr);
    }
    const d = join(dir, 'adir');
    mkdirSync(d);
    // A directory stands for the trace files under it (a recording directory): none is one line.
    const r = await runCli(['replay', d]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^ifblame: no trace files under \S+adir \(hint: /);
  });

  it('garbage lines: each reported with its line, the good events replayed around them, exit 2', async (t) => {
    const dir = tempDir(t);
    const p = around(dir, 'garbage.trace', [
      'garbage',
      '{"type":"link","ts":5,"action":"new","ifindex":2,"ifname":"eth0","flags":[],"addr":"zz:zz"}',
      '{"type":"teleport","ts":5}',
      '[1,2,3]',
      JSON.stringify(header()),
      '{"ts":5}',
    ]);
    const r = await runCli(['replay', p, '--format', 'ndjson']);
    assert.equal(r.code, 2);
    assert.deepEqual(problems(r.stderr), [
      `ifblame: ${p}:4: not JSON: "garbage": skipped`,
      `ifblame: ${p}:5: bad link event: addr: hardware address: hex bytes joined by ":": skipped`,
      `ifblame: ${p}:6: unknown event type "teleport": skipped`,
      `ifblame: ${p}:7: not an event object: "[1,2,3]": skipped`,
      `ifblame: ${p}:8: a second trace header in the middle of the file (two traces concatenated?): skipped`,
      `ifblame: ${p}:9: event without a "type": skipped`,
    ]);
    const out = ndjson(r.stdout);
    assert.deepEqual(
      out.filter((e) => e.type === 'change').map((e) => e.after),
      ['02:00:00:00:00:02', '02:00:00:00:00:03', '02:00:00:00:00:04'],
    );
    // the gaps are in the stream, in place, as lost events (the sinks show them)
    assert.deepEqual(
      out.map((e) => e.type),
      ['change', 'change', 'lost', 'lost', 'lost', 'lost', 'lost', 'lost', 'change', 'summary'],
    );
    assert.equal(out.at(-1)!.badLines, 6);
    // --strict: the events before the first problem, then stop
    const s = await runCli(['replay', p, '--format', 'ndjson', '--strict']);
    assert.equal(s.code, 2);
    assert.deepEqual(problems(s.stderr), [
      `ifblame: ${p}:4: not JSON: "garbage": skipped (hint: without --strict bad lines are reported and skipped, and the rest is read)`,
    ]);
    assert.deepEqual(ndjson(s.stdout).filter((e) => e.type === 'change').length, 2);
    // explain reads past them too, and says the picture is incomplete
    const e = await runCli(['explain', p, '--format', 'json']);
    assert.equal(e.code, 0);
    assert.equal(problems(e.stderr).length, 6);
    assert.match(e.stdout, /"id": "lost-events"/);
  });

  it('a 100 MB line is skipped without being held in memory, the rest replayed', async (t) => {
    const dir = tempDir(t);
    resetSeq();
    const p = join(dir, 'huge.trace');
    const fd = openSync(p, 'w');
    writeSync(fd, JSON.stringify(header()) + '\n' + JSON.stringify(change(0, 'eth0', 'mac', 'a1', 'a2', IP)) + '\n');
    writeSync(fd, '{"type":"note","ts":1,"level":"info","source":"x","message":"');
    const mb = Buffer.alloc(1024 * 1024, 'x');
    for (let i = 0; i < 100; i++) writeSync(fd, mb);
    writeSync(fd, '"}\n' + JSON.stringify(change(1000, 'eth0', 'mac', 'a2', 'a3', IP)) + '\n');
    closeSync(fd);
    const r = await runMeasured(['replay', p, '--format', 'ndjson']);
    assert.equal(r.code, 2);
    assert.deepEqual(problems(r.stderr), [`ifblame: ${p}:3: line is ${100 * 1024 * 1024 + 63} bytes, longer than the 16 MiB limit: skipped`]);
    assert.deepEqual(
      ndjson(r.stdout)
        .filter((e) => e.type === 'change')
        .map((e) => e.after),
      ['a2', 'a3'],
    );
    assert.ok(r.peakKb > 0 && r.peakKb < 120 * 1024, `peak RSS ${Math.round(r.peakKb / 1024)} MB: the line was buffered`);
  });

  it('bytes that are not UTF-8: the line is reported and skipped', async (t) => {
    const dir = tempDir(t);
    resetSeq();
    const good = JSON.stringify(change(0, 'eth0', 'mac', 'a1', 'a2', IP));
    const good2 = JSON.stringify(change(10, 'eth0', 'mac', 'a2', 'a3', IP));
    const bad = Buffer.concat([
      Buffer.from('{"type":"note","ts":1,"level":"info","source":"x","message":"'),
      Buffer.from([0xc3, 0x28, 0xff]),
      Buffer.from('"}'),
    ]);
    const p = join(dir, 'latin.trace');
    writeFileSync(p, Buffer.concat([Buffer.from(JSON.stringify(header()) + '\n' + good + '\n'), bad, Buffer.from('\n' + good2 + '\n')]));
    const r = await runCli(['replay', p, '--format', 'ndjson']);
    assert.equal(r.code, 2);
    assert.deepEqual(problems(r.stderr), [`ifblame: ${p}:3: not UTF-8 text: skipped`]);
    assert.equal(ndjson(r.stdout).filter((e) => e.type === 'change').length, 2);
  });

  it('events out of order: reported as warnings, replayed in file order (as recorded), exit 0', async (t) => {
    const dir = tempDir(t);
    resetSeq();
    const l1 = link(10_000_000, 2, 'eth0');
    const l2 = link(11_000_000, 2, 'eth0');
    const l3 = { ...link(0, 2, 'eth0'), seq: 0 }; // 11 s earlier, and a seq already seen
    const l4 = link(12_000_000, 2, 'eth0');
    const p = writeTrace(join(dir, 'order.trace'), header(), [l1, l2, l3, l4]);
    const r = await runCli(['replay', p, '--format', 'ndjson', '--raw']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(problems(r.stderr), [
      `ifblame: ${p}:4: warning: out of order: seq 0 after seq 1`,
      `ifblame: ${p}:4: warning: out of order: time goes back 11.000 s`,
    ]);
    assert.deepEqual(
      ndjson(r.stdout)
        .filter((e) => e.type === 'link')
        .map((e) => e.seq),
      [0, 1, 0, 3],
    );
    const s = await runCli(['replay', p, '--format', 'ndjson', '--strict']);
    assert.equal(s.code, 2);
    assert.match(s.stderr, /:4: out of order: seq 0 after seq 1 \(hint: /);
  });
});
