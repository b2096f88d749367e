// Nested probes of one MAC change (dev_set_mac_address_user > dev_set_mac_address > dev_addr_mod) are one change even
// when the inner one comes after the outer's hold, as in a real boot under emulation; and a real flip-flop of the
// same two addresses by one task is still every change.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Change, LinkEvent, ProbeEvent, type LinkState, type TraceEvent } from '../src/events.js';
import { correlateAll } from '../src/feed/pipeline.js';
import type { TraceHeader } from '../src/trace/format.js';
import { REPO } from './fixtures/replay/helpers.js';

const bondMacs = (evs: TraceEvent[]) => evs.filter((e): e is Change => e.type === 'change' && e.kind === 'mac' && e.iface === 'bond0');

test('a real boot: udev sets bond0 once per creation, and the inherit after re-enslaving names its cause', () => {
  const [h, ...lines] = readFileSync(join(REPO, 'test/fixtures/boot-record/bookworm-boot.ifblame'), 'utf8').split('\n').filter(Boolean);
  const header = JSON.parse(h!) as TraceHeader;
  const events = lines.map((l) => JSON.parse(l) as TraceEvent);
  const byUdev = (cs: Change[]) => cs.filter((c) => c.actor?.comm === '(udev-worker)').map((c) => `${c.before} -> ${c.after}`);
  // what the recorder of that day wrote: the boot-time set twice
  assert.deepEqual(byUdev(bondMacs(events)), [
    'b6:01:a9:59:44:8f -> 22:92:00:f7:c2:9c',
    'b6:01:a9:59:44:8f -> 22:92:00:f7:c2:9c',
    '72:c0:8d:a0:25:25 -> 22:92:00:f7:c2:9c',
  ]);
  const raw = events.filter((e): e is ProbeEvent | LinkEvent => e.type === 'probe' || e.type === 'link');
  const out = bondMacs(correlateAll(header.snapshot as LinkState[], raw));
  assert.deepEqual(byUdev(out), ['b6:01:a9:59:44:8f -> 22:92:00:f7:c2:9c', '72:c0:8d:a0:25:25 -> 22:92:00:f7:c2:9c']);
  const boot = out.find((c) => c.actor?.comm === '(udev-worker)')!;
  const nested = raw
    .filter((e) => e.type === 'probe' && e.fields.dev === 'bond0' && e.comm === '(udev-worker)' && e.ts < boot.ts + 1_000_000)
    .map((e) => e.seq);
  assert.deepEqual(nested.length, 3);
  for (const s of nested) assert.ok(boot.refs.includes(s!), `the three nested probes are its evidence: ${boot.refs}`);
  const last = out.at(-1)!;
  assert.equal(last.after, '3e:5a:b6:52:ff:7a');
  assert.equal(last.actor?.comm, 'ip');
  assert.match(last.via.note ?? '', /^bond bond0 inherited the MAC of its slave dum0/);
});

test('one task flipping one interface between two addresses: every change, none folded', () => {
  const snapshot: LinkState[] = [{ ifindex: 7, ifname: 'ff0', flags: ['BROADCAST'], addr: '02:00:00:00:00:0a', promiscuity: 0 } as LinkState];
  const A = '02:00:00:00:00:0a';
  const B = '02:00:00:00:00:0b';
  const raw: (ProbeEvent | LinkEvent)[] = [];
  let seq = 0;
  const T0 = 1_000_000_000;
  for (let i = 0; i < 6; i++) {
    const [old, now] = i % 2 ? [B, A] : [A, B];
    // 30 ms apart: each change's hold is still running when the next one's probe arrives; netlink 40 ms late
    const ts = T0 + i * 30_000;
    raw.push(
      ProbeEvent.parse({
        type: 'probe',
        seq: seq++,
        ts,
        backend: 'kfunc',
        probe: 'dev_addr_mod',
        phase: 'entry',
        pid: 9,
        tid: 9,
        comm: 'ip',
        fields: { dev: 'ff0', ifindex: 7, aat: 3, offset: 0, old, new: now },
        kstack: ['dev_addr_mod', 'dev_set_mac_address', 'do_setlink', 'rtnl_setlink'],
      }),
      LinkEvent.parse({
        type: 'link',
        seq: seq++,
        ts: ts + 40_000,
        action: 'new',
        ifindex: 7,
        ifname: 'ff0',
        flags: ['BROADCAST'],
        linkType: 'ether',
        addr: now,
        promiscuity: 0,
      }),
    );
  }
  const out = correlateAll(snapshot, raw);
  const macs = out.filter((e): e is Change => e.type === 'change' && e.kind === 'mac');
  assert.deepEqual(
    macs.map((m) => m.after),
    [B, A, B, A, B, A],
  );
  assert.ok(macs.every((m) => m.actor?.comm === 'ip' && m.evidence === 'observed'));
});
