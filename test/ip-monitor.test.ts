// The ip monitor parser against real captures and hostile input, and the live source against real ip in a netns.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { LinkEvent } from '../src/events.js';
import { isParseError, type ParseError } from '../src/parse/errors.js';
import { parseIpMonitorLine, parseIpMonitorText } from '../src/parse/ip-monitor.js';
import { startIpMonitor, type IpMonitorSource } from '../src/sources/ip-monitor.js';
import { LAB as CAPTURES } from './lab.js';
import { createNetns, type Netns } from './netns.js';

const UTC = { utcOffset: 0 } as const;

function captureLines(scenario: string, file: string): string[] {
  return readFileSync(join(CAPTURES, scenario, file), 'utf8').split('\n').filter((l) => l !== '');
}

/** Parses and insists on success. */
function ok(line: string, lineNo = 1, opts: Parameters<typeof parseIpMonitorLine>[2] = UTC): LinkEvent {
  const r = parseIpMonitorLine(line, lineNo, opts);
  if (isParseError(r)) assert.fail(`line ${lineNo} did not parse: ${r.error}`);
  return r;
}

function err(line: string, lineNo = 1): ParseError {
  const r = parseIpMonitorLine(line, lineNo, UTC);
  if (!isParseError(r)) assert.fail(`expected an error for ${JSON.stringify(line.slice(0, 80))}, got ${JSON.stringify(r)}`);
  assert.equal(r.line, lineNo);
  return r;
}

const usAt = (iso: string): number => Date.parse(`${iso.slice(0, 19)}Z`) * 1000 + Number(iso.slice(20).padEnd(6, '0'));

describe('parseIpMonitorLine: lab captures', () => {
  const scenarios = readdirSync(CAPTURES).filter((d) => existsSync(join(CAPTURES, d, 'ipmon.txt')));

  it('finds all four scenarios', () => {
    assert.deepEqual(scenarios.sort(), ['A', 'A2', 'B', 'C']);
  });

  for (const s of ['A', 'A2', 'B', 'C']) {
    for (const file of ['ipmon.txt', 'ipmon-d.txt']) {
      it(`${s}/${file}: every line parses and fits the LinkEvent schema`, () => {
        const text = readFileSync(join(CAPTURES, s, file), 'utf8');
        const { events, errors } = parseIpMonitorText(text, UTC);
        assert.deepEqual(errors, []);
        assert.equal(events.length, captureLines(s, file).length);
        for (const ev of events) {
          LinkEvent.parse(ev);
          assert.match(ev.addr ?? '', /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
          if (file === 'ipmon-d.txt' && ev.family === 'link') assert.equal(typeof ev.promiscuity, 'number');
          if (ev.family === 'link') assert.ok(ev.master === null || typeof ev.master === 'string');
        }
      });
    }
  }

  it('A line 8: bond0 takes 32:34:71:a6:f6:09 (timestamp read as the guest UTC wall clock)', () => {
    const ev = ok(captureLines('A', 'ipmon.txt')[7] ?? '', 8);
    assert.deepEqual(
      { ts: ev.ts, action: ev.action, ifindex: ev.ifindex, ifname: ev.ifname, family: ev.family, addr: ev.addr, master: ev.master, state: ev.state, mtu: ev.mtu, linkType: ev.linkType },
      { ts: usAt('2026-11-21T12:41:03.123117'), action: 'new', ifindex: 5, ifname: 'bond0', family: 'link', addr: '32:34:71:a6:f6:09', master: null, state: 'DOWN', mtu: 1500, linkType: 'ether' },
    );
    assert.deepEqual(ev.flags, ['BROADCAST', 'MULTICAST', 'MASTER']);
    assert.equal(ev.peer, undefined);
    assert.equal(ev.event, undefined);
  });

  it('A line 12: dum0 enslaved, master bond0', () => {
    const ev = ok(captureLines('A', 'ipmon.txt')[11] ?? '', 12);
    assert.equal(ev.ifname, 'dum0');
    assert.equal(ev.master, 'bond0');
    assert.ok(ev.flags.includes('SLAVE'));
    assert.equal(ev.state, 'UNKNOWN');
  });

  it('A last line: Deleted bond0 is an RTM_DELLINK of the link family', () => {
    const ev = ok(captureLines('A', 'ipmon.txt')[52] ?? '', 53);
    assert.equal(ev.action, 'del');
    assert.equal(ev.family, 'link');
    assert.equal(ev.ifname, 'bond0');
    assert.equal(ev.addr, '32:34:71:a6:f6:09');
  });

  it('B: bridge port messages (no qdisc/group/brd) are family bridge, new and deleted', () => {
    const lines = captureLines('B', 'ipmon.txt');
    const port = ok(lines[10] ?? '', 11);
    assert.deepEqual(
      { action: port.action, family: port.family, ifindex: port.ifindex, ifname: port.ifname, peer: port.peer, master: port.master, state: port.state, addr: port.addr, mtu: port.mtu },
      { action: 'new', family: 'bridge', ifindex: 8, ifname: 'vb0', peer: 'vb0p', master: 'br0', state: 'DOWN', addr: '56:fd:43:65:50:b3', mtu: 1500 },
    );
    const left = ok(lines[32] ?? '', 33);
    assert.deepEqual([left.action, left.family, left.ifname, left.master], ['del', 'bridge', 'vb0', 'br0']);
    // The link-family message right after says the port has no master any more.
    const after = ok(lines[33] ?? '', 34);
    assert.deepEqual([after.action, after.family, after.ifname, after.master], ['new', 'link', 'vb0', null]);
  });

  it('B -d: promiscuity count taken by the bridge port add; bridge lines carry none', () => {
    const evs = parseIpMonitorText(readFileSync(join(CAPTURES, 'B', 'ipmon-d.txt'), 'utf8'), UTC).events;
    const vb0 = evs.filter((e) => e.ifname === 'vb0' && e.family === 'link').map((e) => e.promiscuity);
    assert.deepEqual(vb0.slice(0, 4), [0, 0, 0, 1]);
    assert.ok(evs.filter((e) => e.family === 'bridge').every((e) => e.promiscuity === undefined));
    assert.ok(!evs.filter((e) => e.ifname === 'vb0').some((e) => e.flags.includes('PROMISC')), 'PROMISC flag is only for user-set promisc');
  });

  it('event suffixes: FEATURE CHANGE, BONDING OPTION, RESEND IGMP', () => {
    const all = ['A', 'A2', 'B', 'C'].flatMap((s) => parseIpMonitorText(readFileSync(join(CAPTURES, s, 'ipmon.txt'), 'utf8'), UTC).events);
    const events = new Set(all.map((e) => e.event).filter((e) => e !== undefined));
    assert.deepEqual([...events].sort(), ['BONDING OPTION', 'FEATURE CHANGE', 'RESEND IGMP']);
    const fc1 = all.find((e) => e.event === 'FEATURE CHANGE');
    assert.equal(fc1?.state, 'DOWN');
  });
});

describe('parseIpMonitorLine: forms seen on this machine and in iproute2 source', () => {
  const T = '[2026-11-21T13:11:05.889605] ';

  it('@if2 peer in another netns, link-netnsid, altname', () => {
    const ev = ok(`${T}3: vp@if2: <BROADCAST,MULTICAST,PROMISC> mtu 1500 qdisc noop state DOWN group default \\    link/ether 6e:c8:fe:42:d6:71 brd ff:ff:ff:ff:ff:ff link-netnsid 0\\    altname vpalt`);
    assert.deepEqual([ev.ifname, ev.peer, ev.addr, ev.family], ['vp', 'if2', '6e:c8:fe:42:d6:71', 'link']);
    assert.ok(ev.flags.includes('PROMISC'));
  });

  it('@NONE and a Deleted line for a move to another netns (new-netnsid, new-ifindex)', () => {
    const ev = ok(`${T}Deleted 2: vq@NONE: <BROADCAST,MULTICAST,M-DOWN> mtu 1500 qdisc noop state DOWN group default \\    link/ether ee:92:e3:c3:78:25 brd ff:ff:ff:ff:ff:ff new-netnsid 0 new-ifindex 2 promiscuity 0  allmulti 0 minmtu 68 maxmtu 65535 \\    veth numtxqueues 2`);
    assert.deepEqual([ev.action, ev.peer, ev.promiscuity], ['del', 'NONE', 0]);
  });

  it('a user alias cannot inject master/state/promiscuity (alias comes after the details)', () => {
    const ev = ok(`${T}3: vp@if2: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN group default \\    link/ether 6e:c8:fe:42:d6:71 brd ff:ff:ff:ff:ff:ff link-netnsid 0 promiscuity 1  allmulti 0 minmtu 68 maxmtu 65535 \\    veth numtxqueues 2 \\    alias hello \\ world: <x> master y promiscuity 9 permaddr 00:00:00:00:00:01\\    altname vpalt`);
    assert.deepEqual([ev.master, ev.state, ev.promiscuity, ev.permAddr], [null, 'DOWN', 1, undefined]);
  });

  it('link/loopback, link/none, tunnels printing IPs, unknown link types', () => {
    const lo = ok(`${T}1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default \\    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00`);
    assert.deepEqual([lo.linkType, lo.addr], ['loopback', '00:00:00:00:00:00']);
    const tun = ok(`${T}7: tun0: <POINTOPOINT,MULTICAST,NOARP> mtu 1500 qdisc noop state DOWN group default qlen 500 \\    link/none  promiscuity 0  allmulti 0 minmtu 68 maxmtu 65535 \\    tun type tun pi off vnet_hdr off persist on`);
    assert.deepEqual([tun.linkType, tun.addr, tun.promiscuity], ['none', undefined, 0]);
    const ipip = ok(`${T}8: ipip0@NONE: <POINTOPOINT,NOARP> mtu 1480 qdisc noop state DOWN group default \\    link/ipip 10.8.8.8 peer 10.9.9.9`);
    assert.deepEqual([ipip.linkType, ipip.addr], ['ipip', undefined]);
    const odd = ok(`${T}9: x0: <NOARP> mtu 1500 qdisc noop state DOWN group default \\    link/[65534] `);
    assert.equal(odd.linkType, '[65534]');
  });

  it('IPoIB: 20-byte addresses stay 20 bytes; permaddr; uppercase normalized', () => {
    const addr = '80:00:02:08:FE:80:00:00:00:00:00:00:00:02:C9:03:00:0A:BC:01';
    const perm = '80:00:02:08:fe:80:00:00:00:00:00:00:00:02:c9:03:00:0a:bc:02';
    const ev = ok(`${T}Deleted 6: bond0: <BROADCAST,MULTICAST,MASTER,UP,LOWER_UP> mtu 2044 qdisc noqueue master brx state UP mode DEFAULT group default qlen 1000 event BONDING FAILOVER \\    link/infiniband ${addr} brd 00:ff:ff:ff:ff:12:40:1b:ff:ff:00:00:00:00:00:00:ff:ff:ff:ff permaddr ${perm} promiscuity 3`);
    assert.equal(ev.addr, addr.toLowerCase());
    assert.equal(ev.addr?.split(':').length, 20);
    assert.equal(ev.permAddr, perm);
    assert.deepEqual([ev.action, ev.master, ev.event, ev.promiscuity, ev.mtu], ['del', 'brx', 'BONDING FAILOVER', 3, 2044]);
    LinkEvent.parse(ev);
  });

  it('[LINK] label prefix, CR line ends, raw kept on request', () => {
    const line = `${T}[LINK]2: d0: <BROADCAST,NOARP> mtu 1500 qdisc noop state DOWN group default \\    link/ether 02:11:22:33:44:55 brd ff:ff:ff:ff:ff:ff\r`;
    const ev = ok(line, 1, { utcOffset: 0, raw: true });
    assert.equal(ev.ifname, 'd0');
    assert.equal(ev.raw, line.slice(0, -1));
  });

  it('timestamps: UTC offset injectable, local zone honours TZ, missing -ts only with now()', () => {
    const line = '[2026-07-01T12:00:00.000001] 1: lo: <LOOPBACK> mtu 65536 qdisc noop state DOWN group default \\    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00';
    const utc = Date.UTC(2026, 6, 1, 12) * 1000 + 1;
    assert.equal(ok(line, 1, { utcOffset: 0 }).ts, utc);
    assert.equal(ok(line, 1, { utcOffset: 120 }).ts, utc - 2 * 3600e6);
    assert.equal(ok(line, 1, { utcOffset: -300 }).ts, utc + 5 * 3600e6);
    const saved = process.env.TZ;
    try {
      process.env.TZ = 'America/New_York'; // EDT in July: UTC-4
      assert.equal(ok(line, 1, {}).ts, utc + 4 * 3600e6);
      process.env.TZ = 'UTC';
      assert.equal(ok(line, 1, {}).ts, utc);
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
    const bare = line.slice(line.indexOf(']') + 2);
    err(bare, 4);
    assert.equal(ok(bare, 1, { now: () => 42 }).ts, 42);
  });
});

describe('parseIpMonitorLine: hostile input gives typed errors, never throws', () => {
  const good = captureLines('A', 'ipmon-d.txt')[7] ?? '';

  it('garbage, empty and malformed lines', () => {
    const cases = [
      '', '   ', 'garbage', '\u0000\u0001', '[', '[]', '[2026-11-21T12:40:59.506377]', '[2026-13-21T12:40:59.5] 1: lo: <UP> mtu 1 group default \\    link/loopback 00:00:00:00:00:00',
      '[2026-02-30T12:40:59.5] 1: lo: <UP> mtu 1 group default \\    link/loopback 00:00:00:00:00:00',
      '[x] 1: lo: <UP> mtu 1 group default \\    link/loopback 00:00:00:00:00:00',
      '[2026-11-21T12:40:59.506377] Deleted',
      '[2026-11-21T12:40:59.506377] 0: lo: <UP> mtu 1 group default \\    link/loopback 00:00:00:00:00:00',
      '[2026-11-21T12:40:59.506377] 99999999999: lo: <UP> mtu 1 group default \\    link/loopback 00:00:00:00:00:00',
      '[2026-11-21T12:40:59.506377] 1: lo: <UP;rm -rf> mtu 1 group default \\    link/loopback 00:00:00:00:00:00',
      '[2026-11-21T12:40:59.506377] 1: lo: <UP> mtu big group default \\    link/loopback 00:00:00:00:00:00',
      '[2026-11-21T12:40:59.506377] 1: lo: <UP> mtu 1 group default \\    link/ether 00:00:00:00:00',
      '[2026-11-21T12:40:59.506377] 1: lo: <UP> mtu 1 group default \\    link/ether zz:00:00:00:00:00',
      '[2026-11-21T12:40:59.506377] 1: ib0: <UP> mtu 1 group default \\    link/infiniband 00:11:22:33:44:55',
      '[2026-11-21T12:40:59.506377] 1: lo: <UP> mtu 1 group default \\    link/ether 00:00:00:00:00:00 promiscuity -1',
      '[2026-11-21T12:40:59.506377] 1: lo: <UP> mtu 1 group default \\    link/ether 00:00:00:00:00:00 promiscuity',
      '[2026-11-21T12:40:59.506377] 1: lo: <UP> mtu 1 group default \\    link/',
      '[2026-11-21T12:40:59.506377] 1: lo: <UP> mtu 1 group default event',
      '{"type":"printf","data":"EV 12:41:03 kprobe:dev_set_mac_address"}',
      'Timestamp: Sat Nov 21 12:40:59 2026 506377 usec',
      `${good.slice(0, 40)}`,
      'x'.repeat(300_000),
    ];
    cases.forEach((line, i) => {
      const e = err(line, i + 10);
      assert.equal(typeof e.error, 'string');
      assert.ok(e.error.length > 0);
      if (e.input !== undefined) assert.ok(e.input.length <= 201);
    });
  });

  it('every truncation of a real -d line up to the end of its MAC is an error; none throws', () => {
    const macEnd = good.indexOf('32:34:71:a6:f6:09') + '32:34:71:a6:f6:09'.length;
    for (let n = 0; n <= good.length; n++) {
      const r = parseIpMonitorLine(good.slice(0, n), n);
      if (n < macEnd) assert.ok(isParseError(r), `prefix of ${n} chars should be an error`);
    }
    assert.ok(!isParseError(parseIpMonitorLine(good, 1)));
  });

  it('non-strings and random text never throw (property)', () => {
    for (const v of [undefined, null, 42, {}, []]) assert.ok(isParseError(parseIpMonitorLine(v as unknown as string, 3)));
    fc.assert(fc.property(fc.string({ maxLength: 300 }), fc.nat(), (s, n) => {
      const r = parseIpMonitorLine(s, n);
      return isParseError(r) ? r.line === n : LinkEvent.safeParse(r).success;
    }), { numRuns: 2000 });
    const pieces = ['[2026-11-21T12:40:59.506377] ', 'Deleted ', '3: ', 'v0@v1: ', '<UP,LOWER_UP> ', 'mtu 1500 ', 'master br0 ', 'group default ', '\\    ', 'link/ether ', '02:11:22:33:44:55 ', 'promiscuity 2 ', 'event X ', 'brd ', ' '];
    fc.assert(fc.property(fc.array(fc.constantFrom(...pieces), { maxLength: 14 }), (parts) => {
      const r = parseIpMonitorLine(parts.join(''), 1, UTC);
      return isParseError(r) || LinkEvent.safeParse(r).success;
    }), { numRuns: 3000 });
  });

  it('parseIpMonitorText reports 1-based line numbers and keeps going', () => {
    const lines = captureLines('A', 'ipmon.txt').slice(0, 3);
    const text = [lines[0], 'junk', lines[1], '', lines[2]].join('\n') + '\n';
    const { events, errors } = parseIpMonitorText(text, UTC);
    assert.equal(events.length, 3);
    assert.deepEqual(errors.map((e) => [e.line, e.error]), [[2, errors[0]?.error], [4, 'empty line']]);
  });
});

describe('startIpMonitor: real ip in a network namespace', { timeout: 60_000 }, () => {
  let ns: Netns;
  before(async () => { ns = await createNetns('ifb'); });
  after(async () => { await ns?.remove(); });

  /** Collects events until `until` matches one or the deadline passes. */
  async function collect(mon: IpMonitorSource, until: (e: LinkEvent) => boolean, ms: number): Promise<LinkEvent[]> {
    const seen: LinkEvent[] = [];
    const it = mon[Symbol.asyncIterator]();
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((r) => { timer = setTimeout(() => r('timeout'), Math.max(1, deadline - Date.now())); });
      const next = await Promise.race([it.next(), timeout]);
      clearTimeout(timer);
      if (next === 'timeout' || next.done) break;
      seen.push(next.value);
      if (until(next.value)) break;
    }
    return seen;
  }

  it('sees address change, bridge port add (master, AF_BRIDGE line, promiscuity), promisc on, deletion', async () => {
    await ns.ip('link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v0p');
    const t0 = Date.now() * 1000;
    const mon = startIpMonitor({ netns: ns.name });
    try {
      const ready = await mon.ready;
      assert.equal(ready.how, 'listening', JSON.stringify(ready));
      // First change right after ready: would be lost if ready came too early.
      await ns.ip('link', 'set', 'dev', 'v0', 'address', '02:11:22:33:44:55');
      await ns.ip('link', 'add', 'br0', 'type', 'bridge');
      await ns.ip('link', 'set', 'v0', 'master', 'br0');
      await ns.ip('link', 'set', 'v0', 'promisc', 'on');
      await ns.ip('link', 'del', 'v0');
      const seen = await collect(mon, (e) => e.action === 'del' && e.family === 'link' && e.ifname === 'v0p', 10_000);
      const exit = await mon.stop();
      const t1 = Date.now() * 1000;
      assert.equal(exit.stopped, true);
      assert.equal(mon.stats().badLines, 0, JSON.stringify(mon.badLines()));
      assert.equal(mon.stats().events, seen.length);

      const v0 = seen.filter((e) => e.ifname === 'v0');
      for (const e of seen) {
        LinkEvent.parse(e);
        assert.ok(e.ts >= t0 - 1e6 && e.ts <= t1 + 1e6, `ts ${e.ts} within the run [${t0}, ${t1}]`);
      }
      const mac = v0.find((e) => e.addr === '02:11:22:33:44:55' && e.action === 'new');
      assert.ok(mac, 'address change seen');
      assert.equal(mac.master, null);
      assert.ok(v0.some((e) => e.family === 'link' && e.master === 'br0'), 'link message with master br0');
      const port = v0.find((e) => e.family === 'bridge' && e.action === 'new');
      assert.ok(port, 'AF_BRIDGE port line');
      assert.deepEqual([port.master, port.addr, port.promiscuity], ['br0', '02:11:22:33:44:55', undefined]);
      const counts = v0.filter((e) => e.family === 'link' && e.promiscuity !== undefined).map((e) => e.promiscuity);
      assert.ok(counts.includes(1), `bridge port add makes it promiscuous: ${counts.join(',')}`);
      const promisc = v0.find((e) => e.promiscuity === 2);
      assert.ok(promisc, `ip link set promisc on adds one: ${counts.join(',')}`);
      assert.ok(promisc.flags.includes('PROMISC'));
      assert.ok(v0.some((e) => e.action === 'del' && e.family === 'bridge' && e.master === 'br0'), 'port leaves the bridge (Deleted, AF_BRIDGE)');
      const gone = v0.find((e) => e.action === 'del' && e.family === 'link');
      assert.ok(gone, 'device deleted');
      const order = (p: (e: LinkEvent) => boolean): number => seen.findIndex(p);
      assert.ok(order((e) => e === mac) < order((e) => e === port));
      assert.ok(order((e) => e === port) < order((e) => e === gone));
    } finally {
      await mon.stop();
    }
    assert.ok(!alive(mon.pid), 'ip is gone after stop');
    assert.deepEqual(await ns.pids(), []);
  });

  it('a forking wrapper: readiness finds ip below it, stop kills both', async () => {
    const mon = startIpMonitor({ netns: ns.name, wrap: ['sh', '-c', '"$@"; exit 0', 'sh'] });
    let ipPid: number | undefined;
    try {
      const ready = await mon.ready;
      assert.equal(ready.how, 'listening');
      ipPid = ready.pid;
      assert.ok(ipPid !== undefined && ipPid !== mon.pid, 'ip is a child of the wrapper');
      await ns.ip('link', 'add', 'w0', 'type', 'bridge');
      const seen = await collect(mon, (e) => e.ifname === 'w0', 5000);
      assert.ok(seen.some((e) => e.ifname === 'w0'));
    } finally {
      await mon.stop();
      await ns.ip('link', 'del', 'w0').catch(() => undefined);
    }
    assert.ok(!alive(mon.pid));
    assert.ok(!alive(ipPid));
    assert.deepEqual(await ns.pids(), []);
  });

  it('callback API, local-zone timestamps (TZ left alone), stop via AbortSignal', async () => {
    const got: LinkEvent[] = [];
    const ac = new AbortController();
    const t0 = Date.now() * 1000;
    const mon = startIpMonitor({ netns: ns.name, onEvent: (e) => got.push(e), details: false, utcOffset: 'local', signal: ac.signal });
    try {
      await mon.ready;
      await ns.ip('link', 'add', 'cb0', 'type', 'bridge');
      const deadline = Date.now() + 5000;
      while (!got.some((e) => e.ifname === 'cb0') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const ev = got.find((e) => e.ifname === 'cb0');
      assert.ok(ev, 'bridge creation seen');
      assert.equal(ev.promiscuity, undefined, 'no -d: no promiscuity');
      assert.ok(ev.ts >= t0 - 1e6 && ev.ts <= Date.now() * 1000 + 1e6, 'ip local time read back in the same zone');
      ac.abort();
      const exit = await mon.done;
      assert.equal(exit.stopped, true);
    } finally {
      await mon.stop();
      await ns.ip('link', 'del', 'cb0').catch(() => undefined);
    }
    assert.ok(!alive(mon.pid));
    const rest = await collect(mon, () => false, 200);
    assert.deepEqual(rest, [], 'nothing buffered for iteration when onEvent is used');
  });

  it('ip dying on its own ends iteration with an error and ready says exited', async () => {
    const mon = startIpMonitor({ netns: 'ifb-no-such-netns-0000' });
    const ready = await mon.ready;
    assert.equal(ready.how, 'exited');
    await assert.rejects(collect(mon, () => false, 5000), /exited unexpectedly/);
    const exit = await mon.done;
    assert.equal(exit.stopped, false);
    assert.match(exit.stderr, /netns|namespace/i);
  });

  it('a missing ip binary is reported, not thrown at start', async () => {
    const mon = startIpMonitor({ ip: '/nonexistent/ip' });
    assert.equal((await mon.ready).how, 'exited');
    const exit = await mon.done;
    assert.equal(exit.stopped, false);
    assert.match(exit.stderr, /ENOENT|nonexistent/);
  });
});

/** Running (a zombie is dead: it only waits to be reaped by whoever inherited it). */
function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
