// A crafted hostile trace file through `replay` (text, ndjson), `explain` and the TUI under tmux: names carrying
// ESC/OSC/CSI sequences, C1 and bidi controls, blessed tags and bytes that are not UTF-8 show escaped, never raw;
// JSON keeps the exact values; strings over the limits (an interface name over IFNAMSIZ, a comm over
// TASK_COMM_LEN, a 100 KB message, a 1 MB program in the header) are reported with FILE:LINE, bounded, never a crash.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Change, ProbeEvent } from '../src/events.js';
import { boundHeader, eventLimitProblem, MAX_PROGRAM_BYTES } from '../src/trace/limits.js';
import { actor, change, header, link, lnk, resetSeq, runCli, tempDir, writeTrace } from './fixtures/replay/helpers.js';
import { haveTmux, Tmux } from './fixtures/tui/tmux.js';
import { CLI } from './fixtures/replay/helpers.js';

/** Anything a terminal would act on (a newline is structure here, checked per line). */
const RAW_UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufffd]|[\ud800-\udfff]/;

function assertSafe(out: string, what: string): void {
  const m = RAW_UNSAFE.exec(out);
  assert.equal(m, null, `${what}: raw U+${m?.[0].codePointAt(0)!.toString(16).padStart(4, '0')} at ${m?.index} in:\n${out}`);
}

/** The comm of issue 11: sets the window title, turns the text red. 15 bytes, as the kernel allows. */
export const PWN = '\x1b]0;PWN\x07\x1b[31mEV';
/** An interface name the kernel accepts (no '/', ':' or whitespace): a CSI clear-screen, a blessed tag. 15 cells escaped. */
export const EVIL_IF = '\x1b[2J{red-fg}';
const BIDI_PCOMM = '\u202esh\u2066';
const C1_NOTE = 'bridge \x9b2J follows \x1b]8;;http://x\x07link';
const BAD_BYTES = 'ip\udcff\udcfe';

function hostileTrace(dir: string): { path: string; lines: Record<string, number> } {
  resetSeq();
  const snapshot = [lnk(2, 'eth0', { addr: '02:00:00:00:00:01' }), lnk(3, EVIL_IF, { addr: '02:00:00:00:00:02', kind: 'veth' })];
  const h = header(
    {
      host: 'host\x1b[5m',
      kernel: '6.1\u202e',
      program: 'BEGIN { }\n// ' + 'x'.repeat(1024 * 1024),
      probes: { used: ['nl_link'], dropped: [{ probe: 'x\x1b[2J', reason: 'gone\x07' }] },
    },
    snapshot,
  );
  const a = actor(PWN, 1421, { ppid: 1, pcomm: BIDI_PCOMM, chain: [{ pid: 1, comm: BIDI_PCOMM }], service: PWN, unit: 'u\x1b[8m.service' });
  const events: (object | string)[] = [];
  const lines: Record<string, number> = {};
  const add = (name: string, ev: object | string) => {
    events.push(ev);
    lines[name] = events.length + 1;
  };
  add('link', link(0, 3, EVIL_IF, { addr: '02:00:00:00:00:03' }));
  add(
    'mac',
    change(
      1000,
      EVIL_IF,
      'mac',
      '02:00:00:00:00:02',
      '02:00:00:00:00:03',
      a,
      { probe: 'sioc\x1b[2J', kstack: ['dev_set_mac_address+0\x1b[31m', 'x\u202e'], path: ['ioctl\x07'], note: C1_NOTE },
      { ifindex: 3, evidence: 'requested' },
    ),
  );
  add('enslave', change(2000, 'eth0', 'enslave', null, EVIL_IF, actor(BAD_BYTES, 7, { pcomm: 'b\x1b[0m' }), {}, { ifindex: 2 }));
  add('note', { type: 'note', ts: 1_795_260_056_890_000, level: 'warn', source: 'bpftrace\x1b[2J', message: 'WARNING \x1b]0;title\x07 \u202eevil' });
  add('lost', { type: 'lost', ts: 1_795_260_056_890_001, source: 'bpftrace', count: 3, detail: 'perf \x1b[2J' });
  // Over the limits: not something a kernel produced.
  add('longIf', link(3000, 4, 'y'.repeat(40)));
  add('longComm', change(4000, 'eth0', 'mac', '02:00:00:00:00:01', '02:00:00:00:00:09', actor('c'.repeat(17), 8), {}, { ifindex: 2 }));
  add('hugeNote', { type: 'note', ts: 1_795_260_056_890_002, level: 'info', source: 'x', message: 'z'.repeat(100_000) });
  add('last', change(5000, 'eth0', 'mac', '02:00:00:00:00:01', '02:00:00:00:00:0a', a, {}, { ifindex: 2 }));
  return { path: writeTrace(join(dir, 'hostile.trace'), h, events as never[]), lines };
}

describe('hostile trace file: escaped on every terminal path, exact in JSON, limits with FILE:LINE', () => {
  it('replay --format text: names escaped, columns aligned, over-limit lines reported and skipped', async (t) => {
    const dir = tempDir(t);
    const { path, lines } = hostileTrace(dir);
    const r = await runCli(['replay', path, '--format', 'text', '--raw', '--stacks']);
    assertSafe(r.stdout, 'stdout');
    assertSafe(r.stderr, 'stderr');
    assert.equal(r.code, 2, 'bad lines: exit 2, as documented');
    // the example, escaped
    assert.match(r.stdout, /by \\x1b\]0;PWN\\x07\\x1b\[31mEV\[1421\]/);
    assert.ok(r.stdout.includes('\\x1b[2J{red-fg}'), r.stdout);
    assert.ok(r.stdout.includes('\\u{9b}2J follows \\x1b]8;;http://x\\x07link'), 'C1 and OSC 8 hyperlink escaped');
    assert.ok(r.stdout.includes('ip\\xff\\xfe[7]'), 'bytes that are not UTF-8 show as \\xNN');
    assert.ok(r.stdout.includes('dev_set_mac_address+0\\x1b[31m'), 'kernel stack frames escaped');
    assert.ok(r.stdout.includes('!!! LOST 3 bpftrace events: perf \\x1b[2J'));
    // columns: the kind column is where it is for a plain name
    const changeLines = r.stdout.split('\n').filter((l) => / (mac|enslave) +/.test(l) && !l.startsWith('--'));
    const cols = new Set(changeLines.map((l) => l.search(/ (mac|enslave) /)));
    assert.equal(cols.size, 1, `kind column aligned:\n${changeLines.join('\n')}`);
    // the limits: one line each, FILE:LINE, the value never echoed
    const problems = r.stderr.split('\n').filter(Boolean);
    assert.deepEqual(problems, [
      `ifblame: ${path}:1: warning: header program is ${1024 * 1024 + 13} bytes, longer than the ${256 * 1024}-byte limit: cut`,
      `ifblame: ${path}:${lines.longIf}: bad link event: ifname is 40 bytes, longer than IFNAMSIZ allows (15): not from a kernel: skipped`,
      `ifblame: ${path}:${lines.longComm}: bad change event: actor.comm is 17 bytes, longer than TASK_COMM_LEN allows (15): not from a kernel: skipped`,
      `ifblame: ${path}:${lines.hugeNote}: bad note event: message is 100000 bytes, longer than the 4096-byte limit: skipped`,
    ]);
    for (const p of problems) assert.ok(p.length < 300, 'a problem is one short line');
    // the events around them are all there
    assert.equal(changeLines.length, 3, r.stdout);
  });

  it('replay --format ndjson keeps the exact values (and its text is terminal-safe)', async (t) => {
    const dir = tempDir(t);
    const { path } = hostileTrace(dir);
    const r = await runCli(['replay', path, '--format', 'ndjson']);
    assertSafe(r.stdout.replace(/\n/g, ''), 'ndjson');
    const evs = r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { type: string });
    const changes = evs.filter((e): e is Change => e.type === 'change');
    assert.equal(changes[0]!.actor!.comm, PWN);
    assert.equal(changes[0]!.iface, EVIL_IF);
    assert.equal(changes[0]!.actor!.pcomm, BIDI_PCOMM);
    assert.equal(changes[0]!.via.note, C1_NOTE);
    assert.equal(changes[1]!.actor!.comm, BAD_BYTES, 'invalid bytes kept as they were recorded');
    assert.equal(changes[1]!.after, EVIL_IF);
  });

  it('explain text: every name escaped', async (t) => {
    const dir = tempDir(t);
    const { path } = hostileTrace(dir);
    const r = await runCli(['explain', path]);
    assertSafe(r.stdout, 'explain stdout');
    assertSafe(r.stderr, 'explain stderr');
    assert.ok(r.code === 0 || r.code === 1, `explain ran (${r.code}): ${r.stderr}`);
    assert.ok(r.stdout.includes('host\\x1b[5m'), `the host name shown escaped:\n${r.stdout}`);
  });

  // JSON.stringify leaves DEL, C1 and bidi controls raw: every JSON writer passes its text through terminalSafeJson
  // (the same values for a parser).
  it('explain --format json: exact values, terminal-safe text', async (t) => {
    const dir = tempDir(t);
    const { path } = hostileTrace(dir);
    const j = await runCli(['explain', path, '--format', 'json']);
    JSON.parse(j.stdout);
    assertSafe(j.stdout.replace(/\n/g, ''), 'explain json');
  });

  it(
    'the TUI (replay under tmux): names escaped on screen, blessed tags shown as text, the screen intact',
    { skip: !haveTmux() && 'tmux not installed' },
    async (t) => {
      const dir = tempDir(t);
      const { path } = hostileTrace(dir);
      const term = new Tmux(dir, 120, 40);
      t.after(() => term.kill());
      term.type(`${process.execPath} ${CLI} replay ${path} --speed max 2>/dev/null; echo EXIT=$?`);
      const screen = await term.waitFor(/REPLAY END/, 30_000);
      assertSafe(screen.replace(/\n/g, ''), 'screen');
      // the raw ESC [2J would have cleared the screen, OSC 0 set the title: the names are there as text instead
      assert.ok(screen.includes('\\x1b[2J{red-fg}'), screen);
      assert.match(screen, /\\x1b\]0;PWN|EV \(|\\x1b\[31mEV/, screen);
      term.keys('Down', 'Down', 'Enter');
      const detail = await term.waitFor(/Esc closes/, 10_000);
      assertSafe(detail.replace(/\n/g, ''), 'detail');
      assert.ok(detail.includes('\\x1b]0;PWN\\x07\\x1b[31mEV[1421]') || detail.includes('\\x1b[31mEV[1421]'), detail);
      term.keys('Escape', 'q');
      await term.waitFor(/EXIT=\d+/, 15_000);
    },
  );
});

describe('trace-file limits (unit)', () => {
  const probe = (over: Partial<ProbeEvent> = {}): ProbeEvent => ({
    type: 'probe',
    ts: 1,
    backend: 'syscalls',
    probe: 'nl_link',
    phase: 'entry',
    pid: 1,
    tid: 1,
    comm: 'ip',
    fields: { dev: 'eth0' },
    kstack: [],
    ...over,
  });
  it('names are held to the kernel sizes in bytes: a byte that was not UTF-8 is one byte, a multi-byte character its UTF-8 length', () => {
    assert.equal(eventLimitProblem(probe({ comm: '\udcff'.repeat(15) })), null, '15 invalid bytes are 15 bytes');
    assert.match(eventLimitProblem(probe({ comm: '\udcff'.repeat(16) })) ?? '', /^comm is 16 bytes, longer than TASK_COMM_LEN allows \(15\)/);
    assert.equal(eventLimitProblem(probe({ comm: 'ééééééé' })), null, '14 bytes');
    assert.match(eventLimitProblem(probe({ comm: 'éééééééé' })) ?? '', /^comm is 16 bytes/);
    assert.equal(eventLimitProblem(probe({ comm: '\ufffd'.repeat(15) })), null, 'U+FFFD stands for the one byte ip could not decode');
    assert.match(eventLimitProblem(probe({ pcomm: 'p'.repeat(16) })) ?? '', /^pcomm is 16 bytes/);
  });
  it('other strings, lists and keys are bounded; the message names the place, never the value', () => {
    assert.match(eventLimitProblem(probe({ kstack: Array(300).fill('f') })) ?? '', /^kstack has 300 entries, more than the 256 limit$/);
    assert.match(eventLimitProblem(probe({ kstack: ['ok', 'x'.repeat(5000)] })) ?? '', /^kstack\[1\] is 5000 bytes, longer than the 4096-byte limit$/);
    assert.match(eventLimitProblem(probe({ fields: { dev: 'eth0', addr: 'y'.repeat(5000) } })) ?? '', /^fields\.addr is 5000 bytes/);
    assert.match(
      eventLimitProblem(probe({ fields: { ['\x1b[2J' + 'k'.repeat(100)]: 1 } })) ?? '',
      /^fields has a key of 104 bytes, longer than the 64-byte limit$/,
    );
    assert.match(
      eventLimitProblem(probe({ fields: { ['\x1b[2J']: 'v'.repeat(5000) } })) ?? '',
      /^fields\.\(key\) is 5000 bytes/,
      'a key with controls is not echoed',
    );
    const c: Change = {
      type: 'change',
      ts: 1,
      iface: 'eth0',
      kind: 'mac',
      before: null,
      after: null,
      actor: { pid: 1, comm: 'ip', chain: [{ pid: 2, comm: 'c'.repeat(20) }], kernel: false },
      via: { kstack: [], path: [] },
      evidence: 'observed',
      refs: [],
    };
    assert.match(eventLimitProblem(c) ?? '', /^actor\.chain\[0\]\.comm is 20 bytes, longer than TASK_COMM_LEN/);
  });
  it('the fast path (line size given) decides exactly as the full walk, for strings and keys of any size and encoding', () => {
    // Sizes around every limit; units from the whole of UTF-16 (lone surrogates included) and JSON's escapes.
    const text = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 20 }),
      fc.integer({ min: 0, max: 1500 }).chain((n) => fc.constantFrom('a', 'é', '€', '\udcff', '\u0001', '😀').map((u) => u.repeat(n))),
    );
    fc.assert(
      fc.property(text, text, text, text, (comm, key, value, frame) => {
        const ev = probe({ comm, fields: { [key]: value }, kstack: [frame] });
        const line = JSON.stringify(ev);
        assert.equal(eventLimitProblem(ev, Buffer.byteLength(line)), eventLimitProblem(ev));
      }),
      { numRuns: 2000 },
    );
  });
  it('a header over the limits is cut, never rejected, with one warning per cut (then a count)', () => {
    const h = header(
      { program: 'p'.repeat(MAX_PROGRAM_BYTES + 10), host: 'h'.repeat(300) },
      Array.from({ length: 20 }, (_, i) => lnk(i + 1, `n${i}`.padEnd(30, 'x'))),
    );
    const { header: b, warnings } = boundHeader(h);
    assert.equal(b.program.length, MAX_PROGRAM_BYTES);
    assert.equal(b.host.length, 255);
    assert.ok(b.snapshot.every((l) => l.ifname.length === 15));
    assert.equal(warnings.length, 11);
    assert.match(warnings[0]!, /^header host is 300 bytes, longer than a host name \(255\): cut$/);
    assert.equal(warnings.at(-1), 'header: 12 more strings cut');
  });
});
