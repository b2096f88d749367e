// The committed recordings (recordings/: made by ifblame itself, live on this machine's kernel or on Debian's stock
// kernel under QEMU) replayed as a user would: `ifblame replay` gives back exactly what was recorded, through every
// format, and `ifblame explain` tells each one's story.  A recording a story needs that is missing fails its test.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Report } from '../src/explain/index.js';
import { ReplayFeed } from '../src/feed/replay.js';
import type { TraceEvent } from '../src/events.js';
import { readTraceLines, REPO, runCli } from './fixtures/replay/helpers.js';

const DIR = join(REPO, 'recordings');
const files = existsSync(DIR)
  ? readdirSync(DIR)
      .filter((f) => /\.(ifblame|ndjson|trace)$/.test(f))
      .sort()
  : [];

type Ev = Record<string, unknown> & { type: string };
const ndjson = (s: string) =>
  s
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Ev);

async function explain(file: string): Promise<{ code: number | null; report: Report }> {
  const r = await runCli(['explain', join(DIR, file), '--format', 'json']);
  assert.equal(r.stderr, '', `explain ${file}: no problem lines`);
  return { code: r.code, report: JSON.parse(r.stdout) as Report };
}
const ids = (r: Report) => r.findings.map((f) => `${f.severity} ${f.id}`).sort();

describe('every recording replays exactly as recorded', () => {
  it('there are recordings', () => assert.ok(files.length > 0, 'no recordings/*.ifblame'));
  for (const f of files) {
    it(`${f}: replay --format ndjson --raw gives back every recorded event, in order, and the feed is the file`, async () => {
      const recorded = readTraceLines(join(DIR, f)).events;
      const r = await runCli(['replay', join(DIR, f), '--format', 'ndjson', '--raw']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '', 'a recording has no bad lines');
      const out = ndjson(r.stdout);
      assert.deepEqual(out.slice(0, -1), recorded);
      assert.equal(out.at(-1)!.type, 'summary');
      const feed = await ReplayFeed.open(join(DIR, f), { speed: Infinity });
      const got: TraceEvent[] = [];
      feed.onEvent((e) => got.push(e));
      await feed.start();
      await feed.done;
      assert.deepEqual(JSON.parse(JSON.stringify(got)), recorded);
      const text = await runCli(['replay', join(DIR, f), '--format', 'text']);
      assert.equal(text.code, 0);
      assert.equal(
        text.stdout.split('\n').filter((l) => /^\d\d:\d\d:\d\d\.\d{3} +\S+ +(mac|promisc|enslave|release|master|created|deleted|moved) /.test(l)).length,
        recorded.filter((e) => e.type === 'change').length,
        'one text line per change',
      );
    });
  }
});

describe('the stories, told by explain', () => {
  const has = (f: string) => files.includes(f);

  it('local-bridge-mac-follows-port: the bridge moved with its ports three times; setting it by hand is not a move', async () => {
    assert.ok(has('local-bridge-mac-follows-port.ifblame'), 'recordings/local-bridge-mac-follows-port.ifblame is missing');
    const { code, report } = await explain('local-bridge-mac-follows-port.ifblame');
    assert.equal(code, 0);
    assert.deepEqual(ids(report), ['info inferred-only', 'warning bridge-mac-moved']);
    const f = report.findings.find((x) => x.id === 'bridge-mac-moved')!;
    assert.equal(f.title, 'brauto0: bridge MAC moved with its ports (3 times)');
    assert.deepEqual(
      f.evidence.map((e) => (e.event as { after: string }).after),
      ['02:00:00:00:00:20', '02:00:00:00:00:05', '02:00:00:00:00:20'],
    );
    assert.ok(f.evidence.every((e) => e.line !== undefined && (e.event as { actor: { comm: string } }).actor.comm === 'ip'));
  });

  it('local-bridge-tcpdump-promisc: promiscuity by bridge, tcpdump and ip is told, nothing is wrong', async () => {
    assert.ok(has('local-bridge-tcpdump-promisc.ifblame'), 'recordings/local-bridge-tcpdump-promisc.ifblame is missing');
    const { code, report } = await explain('local-bridge-tcpdump-promisc.ifblame');
    assert.equal(code, 0);
    assert.equal(report.summary.errors, 0);
    assert.equal(report.summary.warnings, 0);
    const r = await runCli(['replay', join(DIR, 'local-bridge-tcpdump-promisc.ifblame'), '--comm', 'tcpdump', '--format', 'ndjson']);
    const cs = ndjson(r.stdout).filter((e) => e.type === 'change');
    assert.deepEqual(
      cs.map((c) => `${String(c.iface)} ${String(c.before)}->${String(c.after)}`),
      ['vb0p 0->1', 'vb0p 1->0'],
    );
  });

  it('local-hand-set-mac: two MAC changes by ip, nothing wrong', async () => {
    assert.ok(has('local-hand-set-mac.ifblame'), 'recordings/local-hand-set-mac.ifblame is missing');
    const { code, report } = await explain('local-hand-set-mac.ifblame');
    assert.equal(code, 0);
    assert.deepEqual(ids(report), ['info inferred-only']);
  });

  const kernel = files.filter((f) => /^kernel-/.test(f));
  it('kernel recordings (QEMU, Debian stock kernel): incident 1 is found with its fix, the stock bond is clean', async () => {
    for (const s of ['a-bond-udev', 'b-bond-stock', 'c-bridge', 'e-alb'])
      assert.ok(
        kernel.some((f) => f.startsWith(`kernel-${s}-`)),
        `no recordings/kernel-${s}-*.ndjson (IFBLAME_KERNEL_RECORD=recordings npm run test:kernel)`,
      );
    for (const f of kernel) {
      const { code, report } = await explain(f);
      if (/a-bond-udev/.test(f)) {
        assert.equal(code, 1, `${f}: an error finding`);
        const u = report.findings.find((x) => x.id === 'udev-bond-mac');
        assert.ok(u, `${f}: ${ids(report).join(', ')}`);
        assert.equal(u.severity, 'error');
        assert.match(u.title, /^bond0: MAC set by systemd-udevd/);
        assert.equal(u.fix?.file?.path, '/etc/systemd/network/98-net-bonding.link');
      }
      if (/b-bond-stock/.test(f))
        assert.ok(!report.findings.some((x) => x.id === 'udev-bond-mac' || x.id === 'bond-mac-foreign'), `${f}: ${ids(report).join(', ')}`);
      if (/c-bridge/.test(f))
        assert.ok(
          report.findings.some((x) => x.id === 'bridge-mac-moved' && x.title.startsWith('brauto0')),
          `${f}: ${ids(report).join(', ')}`,
        );
      if (/e-alb/.test(f))
        assert.ok(!report.findings.some((x) => x.severity === 'error'), `${f}: balance-alb failover is not an error: ${ids(report).join(', ')}`);
    }
  });
});
