// Property-based tests (fast-check) over every parser of input from outside: no input makes one throw anything but
// its own error type (most never throw: they return their errors), and what is valid goes through unchanged.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { IfblameError } from '../src/errors.js';
import { TraceEvent, type LinkState } from '../src/events.js';
import type { TraceHeader } from '../src/trace/format.js';
import { explainTraces } from '../src/explain/index.js';
import { Finding } from '../src/explain/types.js';
import { decodeLine, decodePrintf, parseClockWall } from '../src/parse/bpftrace-json.js';
import { parseIpLinkJson } from '../src/parse/ip-link-json.js';
import { parseIpMonitorLine } from '../src/parse/ip-monitor.js';
import { parseAssignTypes } from '../src/parse/sysfs.js';
import { ReplayFeed } from '../src/feed/replay.js';
import { LineSplitter } from '../src/trace/lines.js';
import { parseEventLine, parseHeaderLine } from '../src/trace/format.js';
import { TraceFileError, type TraceProblem } from '../src/trace/problems.js';
import { TraceReader } from '../src/trace/reader.js';
import { parseSpeed } from '../src/commands/replay.js';
import { parseTimeSpec } from '../src/time/spec.js';
import { parseUtcOffset } from '../src/commands/import.js';
import { header } from './fixtures/replay/helpers.js';

const RUNS = { numRuns: 300 };

/** Any text, including lone surrogates and control characters. */
const anyText = fc.string({ unit: 'binary', maxLength: 300 });
/** Text that looks a bit like what the parsers expect. */
const jsonish = fc.oneof(anyText, fc.json(), fc.jsonValue().map((v) => JSON.stringify(v)));

/** Only the parser's own error type may come out. */
function throwsOnly(fn: () => unknown, ...types: (abstract new (...a: never[]) => Error)[]): void {
  try {
    fn();
  } catch (e) {
    if (!types.some((t) => e instanceof t)) throw new Error(`threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
  }
}

// ---------------------------------------------------------------- valid events

const hex2 = fc.integer({ min: 0, max: 255 }).map((b) => b.toString(16).padStart(2, '0'));
const macArb = fc.oneof(fc.constantFrom('02:00:00:00:00:01', '02:00:00:00:00:02', '0a:70:07:d1:dc:2f', '00:00:00:00:00:00'), fc.array(hex2, { minLength: 6, maxLength: 6 }).map((a) => a.join(':')), fc.array(hex2, { minLength: 20, maxLength: 20 }).map((a) => a.join(':')));
const nameArb = fc.constantFrom('eth0', 'eth1', 'bond0', 'br0', 'team0', 'vb0', 'lo', 'dum0');
const tsArb = fc.integer({ min: 1_795_260_000_000_000, max: 1_795_260_100_000_000 });
const valueArb = fc.oneof(macArb, fc.integer({ min: 0, max: 5 }), nameArb, fc.constant(null));
const actorArb = fc.option(
  fc.record({
    pid: fc.integer({ min: 1, max: 99999 }),
    comm: fc.constantFrom('ip', '(udev-worker)', 'systemd-udevd', 'tcpdump', 'kworker/u4:2', 'sh', 'NetworkManager'),
    chain: fc.array(fc.record({ pid: fc.integer({ min: 1, max: 999 }), comm: fc.constantFrom('systemd-udevd', 'bash', 'systemd', '(udev-worker)') }), { maxLength: 3 }),
    kernel: fc.boolean(),
    service: fc.option(fc.constantFrom('systemd-udevd', 'ip', 'kernel', 'tcpdump'), { nil: undefined }),
  }, { requiredKeys: ['pid', 'comm', 'chain', 'kernel'] }),
  { nil: null },
);
const changeArb = fc.record({
  type: fc.constant('change' as const),
  ts: tsArb,
  iface: nameArb,
  kind: fc.constantFrom('mac', 'promisc', 'enslave', 'release', 'master', 'created', 'deleted'),
  before: valueArb,
  after: valueArb,
  actor: actorArb,
  via: fc.record({ kstack: fc.array(fc.constantFrom('dev_set_mac_address+1', 'bond_enslave+200', 'br_add_if+13', 'packet_setsockopt+9'), { maxLength: 3 }), path: fc.array(fc.constantFrom('bond_enslave', 'br_add_if', 'br_stp_recalculate_bridge_id', 'dev_set_mac_address_user', 'packet_setsockopt'), { maxLength: 3 }), note: fc.option(fc.constantFrom('bridge br0 follows the MAC of its port vb0', 'bond bond0 overwrote its slave\'s MAC with its own (bond_enslave)', 'packet socket PACKET_MR_PROMISC (libpcap)'), { nil: undefined }) }, { requiredKeys: ['kstack', 'path'] }),
  evidence: fc.constantFrom('observed', 'requested', 'inferred'),
  refs: fc.array(fc.nat(100), { maxLength: 2 }),
});
const linkArb = fc.record({
  type: fc.constant('link' as const),
  ts: tsArb,
  action: fc.constantFrom('new', 'del'),
  ifindex: fc.integer({ min: 1, max: 9 }),
  ifname: nameArb,
  family: fc.constantFrom('link', 'bridge'),
  flags: fc.array(fc.constantFrom('UP', 'BROADCAST', 'PROMISC', 'LOWER_UP'), { maxLength: 3 }),
  master: fc.option(nameArb, { nil: null }),
  addr: fc.option(macArb, { nil: undefined }),
  promiscuity: fc.option(fc.integer({ min: 0, max: 4 }), { nil: undefined }),
}, { requiredKeys: ['type', 'ts', 'action', 'ifindex', 'ifname', 'family', 'flags'] });
const probeArb = fc.record({
  type: fc.constant('probe' as const),
  ts: tsArb,
  backend: fc.constantFrom('kfunc', 'kprobe', 'syscalls'),
  probe: fc.constantFrom('dev_set_mac_address', 'bond_enslave', 'br_add_if', 'nl_link', 'dev_addr_mod'),
  phase: fc.constantFrom('entry', 'return'),
  pid: fc.integer({ min: 1, max: 9999 }),
  tid: fc.integer({ min: 1, max: 9999 }),
  comm: fc.constantFrom('ip', '(udev-worker)', 'sh'),
  fields: fc.dictionary(fc.constantFrom('dev', 'ifindex', 'aat', 'old', 'new', 'bond', 'slave', 'bridge'), valueArb, { maxKeys: 5 }),
  kstack: fc.array(fc.constantFrom('dev_set_mac_address+1', 'bond_enslave+200'), { maxLength: 2 }),
});
const lostArb = fc.record({ type: fc.constant('lost' as const), ts: tsArb, source: fc.constantFrom('bpftrace', 'netlink', 'parser', 'replay'), count: fc.integer({ min: 0, max: 50 }) });
const eventArb = fc.oneof(changeArb, linkArb, probeArb, lostArb).map((e) => TraceEvent.parse(e));
const snapArb = fc.array(
  fc.record({ ifindex: fc.integer({ min: 1, max: 9 }), ifname: nameArb, addr: fc.option(macArb, { nil: undefined }), permAddr: fc.option(macArb, { nil: undefined }), addrAssignType: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }), kind: fc.option(fc.constantFrom('bond', 'bridge', 'team', 'veth', 'vlan'), { nil: undefined }), flags: fc.constant([] as string[]), promiscuity: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }), master: fc.option(nameArb, { nil: null }) }, { requiredKeys: ['ifindex', 'ifname', 'flags'] }),
  { maxLength: 6 },
) as fc.Arbitrary<LinkState[]>;

function stream(chunks: Buffer[]): Readable {
  return Readable.from(chunks);
}

describe('fuzz: trace files', () => {
  it('parseEventLine never throws, and takes back every valid event as it was written', () => {
    fc.assert(fc.property(jsonish, (s) => void parseEventLine(s)), RUNS);
    fc.assert(
      fc.property(eventArb, (ev) => {
        const r = parseEventLine(JSON.stringify(ev));
        assert.ok(r.ok, !r.ok ? r.message : '');
        assert.deepEqual(JSON.parse(JSON.stringify(r.event)), JSON.parse(JSON.stringify(ev)));
      }),
      RUNS,
    );
  });

  it('parseHeaderLine throws only TraceFileError (with file:1)', () => {
    fc.assert(
      fc.property(fc.oneof(jsonish, fc.jsonValue().map((v) => JSON.stringify({ ...header(), snapshot: v })), fc.jsonValue().map((v) => JSON.stringify({ ...header(), version: v }))), (s) => {
        try {
          parseHeaderLine(s, 'f.trace');
        } catch (e) {
          assert.ok(e instanceof TraceFileError, String(e));
          assert.match(e.message, /^f\.trace:1: /);
        }
      }),
      RUNS,
    );
  });

  it('the line splitter gives the same lines however the bytes are chunked', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.array(fc.nat(400), { maxLength: 10 }), fc.integer({ min: 1, max: 64 }), (bytes, cuts, max) => {
        const buf = Buffer.from(bytes.map((b) => (b % 7 === 0 ? 10 : b)));
        const got: string[] = [];
        const sp = new LineSplitter(max, (b, s, e, no, term) => got.push(`${no} ${term} ${b.subarray(s, e).toString('hex')}`), (no, n, term) => got.push(`${no} ${term} long ${n}`));
        const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
        let at = 0;
        for (const p of [...points, buf.length]) {
          sp.push(buf.subarray(at, p));
          at = p;
        }
        sp.end();
        // reference: split at \n
        const parts = buf.toString('latin1').split('\n');
        const last = parts.pop()!;
        const want = parts.map((p, i) => (p.length > max ? `${i + 1} true long ${p.length}` : `${i + 1} true ${Buffer.from(p, 'latin1').toString('hex')}`));
        if (last.length) want.push(last.length > max ? `${parts.length + 1} false long ${last.length}` : `${parts.length + 1} false ${Buffer.from(last, 'latin1').toString('hex')}`);
        assert.deepEqual(got, want);
      }),
      RUNS,
    );
  });

  it('the reader, on any bytes, throws only its own errors at open and never while reading', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 5 }), fc.boolean(), async (chunks, withHeader) => {
        const bufs = chunks.map((c) => Buffer.from(c));
        if (withHeader) bufs.unshift(Buffer.from(JSON.stringify(header()) + '\n'));
        let r: TraceReader;
        try {
          r = await TraceReader.open({ name: 'fuzz', stream: stream(bufs) });
        } catch (e) {
          assert.ok(e instanceof TraceFileError || e instanceof IfblameError, String(e));
          return;
        }
        for (let b = await r.next(); b; b = await r.next()) for (const item of b) if (!item.problem) TraceEvent.parse(item.event);
      }),
      { numRuns: 200 },
    );
  });

  it('replay emits every valid event in order and one lost event per unusable line, whatever is mixed in', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(eventArb.map((e) => ({ ev: e })), anyText.filter((s) => !s.includes('\n') && !s.includes('\r')).map((s) => ({ junk: s }))), { maxLength: 25 }), async (items) => {
        const lines = items.map((it, i) => ('ev' in it ? JSON.stringify({ ...it.ev, seq: i }) : it.junk));
        const text = JSON.stringify(header()) + '\n' + lines.join('\n') + '\n';
        const problems: TraceProblem[] = [];
        const feed = await ReplayFeed.open({ name: 'fuzz', stream: stream([Buffer.from(text)]) }, { speed: Infinity, onProblem: (p) => problems.push(p) });
        const got: TraceEvent[] = [];
        feed.onEvent((e) => got.push(e));
        await feed.start();
        await feed.done;
        assert.equal(feed.error, undefined);
        const wantEvents = lines.filter((l) => parseEventLine(l).ok).length;
        const skipped = problems.filter((p) => p.skipped).length;
        assert.equal(got.filter((e) => !(e.type === 'lost' && e.source === 'parser' && e.detail?.startsWith('fuzz:'))).length, wantEvents);
        assert.equal(got.length, wantEvents + skipped);
        for (const p of problems) assert.match(`${p.file}:${p.line}`, /^fuzz:\d+$/);
      }),
      { numRuns: 150 },
    );
  });
});

describe('fuzz: explain', () => {
  it('any snapshot and any valid events: findings, never an exception, each one valid', () => {
    fc.assert(
      fc.property(snapArb, fc.array(eventArb, { maxLength: 40 }), fc.array(eventArb, { maxLength: 10 }), (snapshot, evA, evB) => {
        const h: TraceHeader = header({}, snapshot);
        const r = explainTraces([
          { file: 'a.trace', header: h, events: evA },
          { file: 'b.trace', header: { ...h, host: 'other-host' }, events: evB },
        ]);
        for (const f of r.findings) Finding.parse(f);
        assert.equal(r.summary.errors, r.findings.filter((f) => f.severity === 'error').length);
      }),
      { numRuns: 300 },
    );
  });
});

describe('fuzz: the other parsers of outside input', () => {
  it('bpftrace JSON lines and printf payloads: decodeLine / decodePrintf never throw', () => {
    const printf = fc.array(fc.oneof(anyText, fc.constantFrom('#clock', '#cols', 'nl_link', 'dev_set_mac_address', 'bond_enslave/ret', '\\x00\\xff', '0x1f', '-1', '4026532177')), { maxLength: 20 }).map((a) => a.join('\t'));
    fc.assert(
      fc.property(fc.oneof(jsonish, printf.map((d) => JSON.stringify({ type: 'printf', data: d }))), fc.constantFrom('kfunc', 'kprobe', 'syscalls'), (line, backend) => {
        decodeLine(line, { backend, monoToWallUs: 0 });
      }),
      RUNS,
    );
    fc.assert(fc.property(printf, fc.constantFrom('kfunc', 'kprobe', 'syscalls'), (d, backend) => void decodePrintf(d, { backend, monoToWallUs: 1e15 })), RUNS);
    fc.assert(fc.property(anyText, (s) => void parseClockWall(s)), RUNS);
  });

  it('ip monitor lines, ip -j link JSON and sysfs assign-type lists never throw', () => {
    const ipish = fc.array(fc.oneof(anyText, fc.constantFrom('[2026-11-21T12:40:59.506377]', '2:', 'dum0:', '<BROADCAST,NOARP>', 'mtu', '1500', 'master', 'link/ether', '32:34:71:a6:f6:09', 'brd', 'promiscuity', '\\    ', 'Deleted')), { maxLength: 16 }).map((a) => a.join(' '));
    fc.assert(fc.property(fc.oneof(anyText, ipish), fc.nat(), (l, n) => void parseIpMonitorLine(l, n + 1, { utcOffset: 0 })), RUNS);
    fc.assert(fc.property(fc.oneof(jsonish, fc.array(fc.jsonValue()).map((v) => JSON.stringify(v))), (s) => void parseIpLinkJson(s)), RUNS);
    fc.assert(fc.property(fc.jsonValue(), (v) => void parseIpLinkJson(v)), RUNS);
    fc.assert(fc.property(anyText, (s) => void parseAssignTypes(s)), RUNS);
  });

  it('command-line values throw only IfblameError', () => {
    fc.assert(
      fc.property(fc.oneof(anyText, fc.constantFrom('+10s', '12:40', '2026-11-21T12:40:59Z', 'max', '+01:00', '-0500', 'local', '10', '0')), (s) => {
        throwsOnly(() => parseTimeSpec('--from', s), IfblameError);
        throwsOnly(() => parseSpeed(s, 1), IfblameError);
        throwsOnly(() => parseUtcOffset(s), IfblameError);
      }),
      RUNS,
    );
  });
});
