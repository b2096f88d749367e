// The one rule for untrusted text (src/format/escape.ts): no sink output ever carries a raw control, ESC, bidi
// control or invalid byte, whatever the input string; blessed tags in names are escaped; JSON keeps exact values;
// columns count the escaped form; bytes that are not UTF-8 stay representable and show as `\xNN`.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Actor, Change, LinkEvent, Lost, Note, ProbeEvent, TraceEvent } from '../src/events.js';
import type { IfaceState } from '../src/correlate/state.js';
import { byteLength, decodeBytes, displayPadded, displayText, terminalSafeJson, textBytes } from '../src/format/escape.js';
import { decodeString } from '../src/probes/fields.js';
import { createJsonSink } from '../src/sinks/json.js';
import type { Summary } from '../src/sinks/summary.js';
import { formatEvent, formatSummary } from '../src/sinks/text.js';
import { detailLines, idleLines, rawText } from '../src/sinks/tui/detail.js';
import { changeSegs } from '../src/sinks/tui/format.js';
import { ifaceCells, ifaceColumns, ifaceRowText, lastChangeText } from '../src/sinks/tui/render.js';
import { statusSegs, type StatusInput } from '../src/sinks/tui/status.js';
import { plainSegs, renderSegs, safeTagged } from '../src/sinks/tui/text.js';
import { header } from './fixtures/replay/helpers.js';

const RUNS = { numRuns: 400 };

/** What must never reach a terminal raw (a newline is checked separately: it is structure in multi-line output). */
const RAW_UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function assertSafe(out: string, what: string): void {
  const m = RAW_UNSAFE.exec(out);
  assert.equal(m, null, `${what}: raw U+${m?.[0].codePointAt(0)!.toString(16).padStart(4, '0')} in ${JSON.stringify(out)}`);
}

/** Blessed tags the TUI itself writes; after removing them no brace may remain (data braces are `{open}`/`{close}`). */
const OUR_TAGS = /\{(?:open|close|bold|\/bold|inverse|\/inverse|\/|\/?(?:black|red|green|yellow|blue|magenta|cyan|white|gray|grey)-(?:fg|bg))\}/g;
function assertNoDataTags(out: string, what: string): void {
  const rest = out.replace(OUR_TAGS, '');
  assert.ok(!/[{}]/.test(rest), `${what}: a blessed tag from data in ${JSON.stringify(out)}`);
}

/** Hostile pieces: terminal sequences, bidi, braces and tags, invalid bytes, backslashes. */
const HOSTILE = [
  '\x1b]0;PWN\x07', '\x1b[31m', '\x1b[2J', '\x1bP', '\x9b31m', '\x9d0;x\x9c', '\x07', '\x08', '\r', '\n', '\t', '\x7f', '\0',
  '\u202e', '\u2066', '\u2069', '\u200f', '\u061c', '\u2028', '{red-fg}', '{/}', '{bold}', '}', '{', '\\', '\\x1b', '\udcff', '\ud800', '\udc80', 'é', '日本', '😀',
];
const hostile = fc.oneof(
  { weight: 3, arbitrary: fc.array(fc.oneof(fc.constantFrom(...HOSTILE), fc.string({ maxLength: 4 })), { maxLength: 6 }).map((a) => a.join('')) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 20 }).map((b) => decodeBytes(b)) },
);

function actorOf(comm: string, pcomm: string, other: string): Actor {
  return { pid: 77, tid: 77, comm, ppid: 1, pcomm, chain: [{ pid: 1, comm: pcomm }, { pid: 0, comm: other }], service: other, unit: other, container: other, cgroup: other, kernel: false };
}

const events = fc.record({ a: hostile, b: hostile, c: hostile, d: hostile, kernel: fc.boolean() }).map(({ a, b, c, d, kernel }): TraceEvent[] => {
  const act = { ...actorOf(b, c, d), kernel };
  const change: Change = { type: 'change', seq: 5, ts: 1_795_260_056_887_063, iface: a, ifindex: 3, kind: 'enslave', before: c, after: d, actor: act, via: { probe: b, kstack: [c, d], path: [a, b], note: d }, evidence: 'inferred', refs: [1, 2, 99] };
  const probe: ProbeEvent = { type: 'probe', seq: 1, ts: 1_795_260_056_887_063, backend: 'syscalls', probe: d, phase: 'entry', pid: 77, tid: 77, comm: b, pcomm: c, fields: { dev: a, [c]: d, n: 3, z: null }, kstack: [d], actor: act };
  const link: LinkEvent = { type: 'link', seq: 2, ts: 1_795_260_056_887_063, action: 'new', ifindex: 3, ifname: a, family: 'link', flags: [b], master: c, event: d, raw: a };
  const lost: Lost = { type: 'lost', seq: 3, ts: 1_795_260_056_887_063, source: 'parser', count: 2, detail: b };
  const note: Note = { type: 'note', seq: 4, ts: 1_795_260_056_887_063, level: 'warn', source: c, message: d };
  return [probe, link, lost, note, change];
});

function collect(): { out: Writable; text: () => string } {
  let s = '';
  const out = new Writable({ write(chunk, _enc, cb) { s += String(chunk); cb(); } });
  return { out, text: () => s };
}

function summaryOf(s: string): Summary {
  return { backend: 'syscalls', changes: { mac: 1 }, total: 1, lost: 0, badLines: 0, dropped: [{ probe: s, reason: s }], durationMs: 10, command: { argv: [s, s], exitCode: 0 }, recording: { path: s, failure: s || '-' }, error: s || '-' };
}

describe('displayText: the one rule', () => {
  it('shows terminal sequences, controls, bidi and invalid bytes as escapes', () => {
    assert.equal(displayText('\x1b]0;PWN\x07\x1b[31mEV'), '\\x1b]0;PWN\\x07\\x1b[31mEV');
    assert.equal(displayText('a\x7fb\0c\r\n\t'), 'a\\x7fb\\x00c\\x0d\\x0a\\x09');
    assert.equal(displayText('\x9b2J'), '\\u{9b}2J', 'a C1 CSI is a code point: \\u{}');
    assert.equal(displayText('abc\u202edef\u2066'), 'abc\\u{202e}def\\u{2066}');
    assert.equal(displayText('\udcff\udc80'), '\\xff\\x80', 'bytes that were not UTF-8 show as the byte');
    assert.equal(displayText('\ud800'), '\\u{d800}');
    assert.equal(displayText('C:\\x1b'), 'C:\\\\x1b', 'a literal backslash is doubled: an escape is never ambiguous');
    for (const ok of ['eth0', 'veth-0.1@x', 'bond{0}', 'systemd-udevd', '(udev-worker)', 'é日本😀', 'kworker/0:1']) assert.equal(displayText(ok), ok);
  });

  it('property: no raw control, bidi or lone surrogate survives, and plain text is unchanged', () => {
    fc.assert(fc.property(hostile, (s) => {
      const d = displayText(s);
      assertSafe(d, 'displayText');
      assert.ok(!d.includes('\n'));
      if (!RAW_UNSAFE.test(s) && !/[\\\n]/.test(s)) assert.equal(d, s);
    }), RUNS);
  });

  it('property: bytes that are not UTF-8 stay representable (decodeBytes/textBytes round trip) and show as \\xNN', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
      const s = decodeBytes(b);
      assert.deepEqual([...textBytes(s)], [...b]);
      assert.equal(byteLength(s), b.length);
      assertSafe(displayText(s), 'displayText(decodeBytes)');
      // valid UTF-8 decodes exactly as TextDecoder does
      const strict = (() => { try { return new TextDecoder('utf-8', { fatal: true }).decode(b); } catch { return null; } })();
      if (strict !== null) assert.equal(s, strict);
    }), RUNS);
    assert.equal(displayText(decodeBytes(Buffer.from([0x65, 0x74, 0x68, 0xff, 0xc3, 0xa9, 0xc3]))), 'eth\\xffé\\xc3');
  });

  it("bpftrace's %r escapes decode to the comm's own bytes: ESC stays ESC for JSON, shows as \\x1b on a terminal", () => {
    const comm = decodeString('\\x1b]0;PWN\\x07\\x1b[31mEV\\x00\\x00');
    assert.equal(comm, '\x1b]0;PWN\x07\x1b[31mEV');
    assert.equal(displayText(comm), '\\x1b]0;PWN\\x07\\x1b[31mEV');
    const latin = decodeString('ab\\xe9\\xff\\x00');
    assert.equal(displayText(latin), 'ab\\xe9\\xff', 'not UTF-8: the bytes, not a latin1 guess');
  });

  it('terminalSafeJson: the same value for a parser, no DEL/C1/bidi raw in the text', () => {
    fc.assert(fc.property(hostile, (s) => {
      const j = terminalSafeJson(JSON.stringify({ s }));
      assertSafe(j, 'json');
      assert.equal((JSON.parse(j) as { s: string }).s, s);
    }), RUNS);
  });
});

describe('sinks never print untrusted text raw', () => {
  it('property: text output (every event type, raw and stacks on, the summary) is escaped, one line per event', () => {
    fc.assert(fc.property(events, hostile, (evs, s) => {
      for (const ev of evs) {
        const line = formatEvent(ev, { raw: true, stacks: false });
        if (line === null) continue;
        assertSafe(line, `text ${ev.type}`);
        assert.ok(!line.includes('\n'), `text ${ev.type}: one line`);
        const stacked = formatEvent(ev, { raw: true, stacks: true })!;
        assertSafe(stacked, `text ${ev.type} with stacks`);
        if (ev.type === 'change') assert.equal(stacked.split('\n').length, 1 + ev.via.kstack.length);
      }
      const sum = formatSummary(summaryOf(s));
      assertSafe(sum, 'summary');
      assert.equal(sum.split('\n').length, formatSummary(summaryOf('x')).split('\n').length, 'no line forged in the summary');
    }), RUNS);
  });

  it('text columns count the escaped form: the kind column starts at the same place for any name of 15 cells or less', () => {
    const base = { type: 'change', ts: 1_795_260_056_887_063, ifindex: 3, kind: 'mac', before: '02:00:00:00:00:01', after: '02:00:00:00:00:02', actor: null, via: { kstack: [], path: [] }, evidence: 'inferred', refs: [] } as const;
    const col = (iface: string) => formatEvent({ ...base, iface, via: { kstack: [], path: [] }, refs: [] } as Change)!.indexOf(' mac ');
    const at = col('eth0');
    for (const name of ['a\x1bb', '\x1b[2J', '{red-fg}x', 'é\u202e', '\udcffab', 'exactly15chars_']) {
      const shown = displayText(name);
      if ([...shown].length <= 15) assert.equal(col(name), at, `${JSON.stringify(name)} -> ${shown}`);
    }
    assert.equal(displayPadded('\x1b', 6), '\\x1b  ');
  });

  it('property: JSON and NDJSON keep exact values and are terminal-safe', () => {
    fc.assert(fc.property(events, hostile, (evs, s) => {
      for (const format of ['ndjson', 'json'] as const) {
        const c = collect();
        const sink = createJsonSink(c.out, format, { raw: true });
        for (const ev of evs) sink.write(ev);
        sink.end(summaryOf(s));
        assertSafe(c.text().replace(/\n/g, ''), format);
        const parsed = format === 'ndjson' ? c.text().trim().split('\n').map((l) => JSON.parse(l) as unknown) : (JSON.parse(c.text()) as { events: unknown[] }).events;
        assert.deepEqual(format === 'ndjson' ? parsed.slice(0, evs.length) : parsed, JSON.parse(JSON.stringify(evs)));
      }
    }), { numRuns: 150 });
  });

  it('property: TUI timeline, detail, raw events, interface table and status line: escaped, no tag from data, widths hold', () => {
    fc.assert(fc.property(events, hostile, (evs, s) => {
      const change = evs.find((e): e is Change => e.type === 'change')!;
      const byseq = new Map(evs.map((e) => [e.seq!, e]));
      const out: [string, string][] = [];
      const segs = changeSegs(change);
      for (const w of [20, 60, 200]) {
        const line = renderSegs(segs, w);
        out.push([`timeline@${w}`, line]);
        const visible = line.replace(OUR_TAGS, (t) => (t === '{open}' ? '{' : t === '{close}' ? '}' : ''));
        assert.ok([...visible].length <= w, `timeline fits ${w}: ${visible}`);
      }
      assert.equal(plainSegs(segs), segs.map((g) => displayText(g.text)).join(''));
      for (const l of detailLines(change, (q) => byseq.get(q))) out.push(['detail', l]);
      for (const ev of evs) out.push(['raw', safeTagged(rawText(ev))]);
      const h = header({ host: s, kernel: s, probes: { used: [s], dropped: [{ probe: s, reason: s }] }, filters: { iface: [s], comm: [s] } });
      const notes = evs.filter((e): e is Note => e.type === 'note');
      for (const l of idleLines(h, notes, 3)) out.push(['idle', l]);
      const state: IfaceState = { ifindex: 3, name: change.iface, addr: '02:00:00:00:00:01', master: s, flags: [], kind: s, lastChange: { ts: change.ts, kind: 'mac', by: s } };
      for (const width of [80, 120]) {
        const widths = ifaceColumns(width);
        const cells = ifaceCells({ state, highlight: { kinds: ['shared'], reasons: [s] } }, widths);
        cells.forEach((c, i) => assert.ok([...c.replace(/\x1b\[[0-9;]*m/g, '')].length <= widths[i]!, `cell ${i} fits ${widths[i]}: ${c}`));
        const row = ifaceRowText(cells, widths);
        out.push(['iface row', row.replace(/\x1b\[[0-9;]*m/g, '')]);
        const visible = row.replace(/\x1b\[[0-9;]*m/g, '').replace(/\{open\}/g, '{').replace(/\{close\}/g, '}');
        assert.equal([...visible].length, widths.reduce((a, b) => a + b + 1, 0), 'the row is exactly as wide as its columns');
        // Displayable text, its tags escaped with the row (ifaceRowText).
        assertSafe(lastChangeText(state.lastChange!, widths[6]!), 'last change');
      }
      const status: StatusInput = { mode: 'live', backend: 'syscalls', probesUsed: 3, probesDropped: 1, lost: 0, events: 9, recording: { path: null, bytes: 0 }, viewPaused: false, pending: 0, filter: s, flash: null, recordingFailure: `recording stopped: ${s} after 1 KiB (file ${s} is valid up to its last complete line)` };
      out.push(['status', renderSegs(statusSegs(status), 200)]);
      out.push(['status flash', renderSegs(statusSegs({ ...status, flash: s }), 200)]);
      for (const [what, text] of out) {
        assertSafe(text, what);
        assert.ok(!text.includes('\n'), `${what}: one line`);
        assertNoDataTags(text, what);
      }
    }), { numRuns: 200 });
  });

  it('the status line keeps a recording failure in view until a new recording starts', () => {
    const base: StatusInput = { mode: 'live', backend: 'syscalls', probesUsed: 3, probesDropped: 0, lost: 0, events: 9, recording: { path: null, bytes: 0 }, viewPaused: false, pending: 0, filter: null, flash: null };
    const msg = 'recording stopped: no space left on device after 1.2 MiB (file /mnt/x.trace is valid up to its last complete line)';
    assert.match(plainSegs(statusSegs({ ...base, recordingFailure: msg })), /REC STOPPED: no space left on device after 1\.2 MiB /);
    assert.match(plainSegs(statusSegs({ ...base, recordingFailure: msg, flash: 'recording to y' })), /REC STOPPED/, 'a flash message does not hide it');
    assert.doesNotMatch(plainSegs(statusSegs({ ...base, recordingFailure: msg, recording: { path: '/tmp/y.trace', bytes: 10 } })), /REC STOPPED/);
  });
});
