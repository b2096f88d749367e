// `ifblame record` and `ifblame service`: rotation loses no change, the total cap holds (earlier boots deleted first,
// never the current file), a SIGKILLed recorder started again continues in a new file and explain/replay read across
// the files, stdout is one line per change (text or JSON); the unit installs into a temporary root and verifies.
// Real bpftrace (syscalls backend) and real ip, in a throw-away network namespace.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TraceEvent } from '../src/events.js';
import { currentBootId, filesOfBoot, listRecordFiles, recordFileName } from '../src/trace/record-dir.js';
import { createRotatingRecorder } from '../src/trace/rotate.js';
import { TraceReader } from '../src/trace/reader.js';
import { CLI, header, lnk, runCli, tempDir } from './fixtures/replay/helpers.js';
import { createNetns, type Netns } from './netns.js';

const OTHER_BOOT = '00000000-1111-2222-3333-444444444444';

function mac(i: number): TraceEvent {
  const hex = (n: number) => n.toString(16).padStart(2, '0');
  return {
    type: 'change',
    ts: 1_795_260_056_887_063 + i,
    iface: 'eth0',
    ifindex: 2,
    kind: 'mac',
    before: null,
    after: `02:00:00:00:${hex(i >> 8)}:${hex(i & 255)}`,
    actor: null,
    via: { kstack: [], path: [], note: 'x'.repeat(200) },
    evidence: 'inferred',
    refs: [],
  };
}

async function eventsOf(path: string): Promise<TraceEvent[]> {
  const r = await TraceReader.open(path);
  const out: TraceEvent[] = [];
  for await (const e of r.events()) out.push(e.event);
  return out;
}

const totalOf = (dir: string) => listRecordFiles(dir).reduce((n, f) => n + f.size, 0);

describe('the rotating recorder', () => {
  it('keeps every event across files, each file self-contained, under the cap; earlier boots go first', async (t) => {
    const dir = tempDir(t);
    // An earlier boot's file, older than anything of this boot, and a file that is not ours (never touched).
    const old = join(dir, recordFileName(OTHER_BOOT, Date.now() - 3_600_000));
    writeFileSync(old, JSON.stringify(header({}, [lnk(2, 'eth0')])) + '\n');
    writeFileSync(join(dir, 'notes.txt'), 'mine\n');
    const boot = currentBootId();
    const limits = { maxFileBytes: 4096, maxAgeMs: 86_400_000, maxTotalBytes: 20_000 };
    const errors: string[] = [];
    let clock = Date.now();
    const rec = createRotatingRecorder({
      dir,
      boot,
      limits,
      headerNow: () => header({}, [lnk(2, 'eth0')]),
      closing: () => [{ type: 'note', ts: 1, level: 'warn', source: 'merge', message: '0 events were correlated out of time order' }],
      onError: (f) => errors.push(f.message),
      now: () => (clock += 1),
    });
    const seen = new Set<string>();
    let maxTotal = 0;
    // First pass: no cap reached yet for the first files; every event must be in exactly one file.
    for (let i = 0; i < 40; i++) assert.equal(rec.write(mac(i)), true);
    const firstFiles = listRecordFiles(dir);
    assert.ok(firstFiles.filter((f) => f.boot === boot).length >= 3, `rotated into several files: ${firstFiles.map((f) => f.name).join(' ')}`);
    for (const f of firstFiles.filter((f) => f.boot === boot)) {
      const evs = await eventsOf(f.path);
      for (const e of evs) if (e.type === 'change') seen.add(String(e.after));
    }
    assert.equal(seen.size, 40, 'every event of the first pass is in one of the files');
    for (let i = 40; i < 400; i++) {
      assert.equal(rec.write(mac(i)), true);
      maxTotal = Math.max(maxTotal, totalOf(dir));
    }
    rec.close();
    assert.deepEqual(errors, []);
    assert.equal(existsSync(old), false, "the earlier boot's file was deleted");
    assert.ok(maxTotal <= limits.maxTotalBytes + 1024, `the total stayed under the cap (within a line): ${maxTotal}`);
    assert.ok(existsSync(rec.path), 'the current file is kept');
    assert.equal(readFileSync(join(dir, 'notes.txt'), 'utf8'), 'mine\n', 'files that are not recordings are left alone');
    // What is left is the newest events, contiguous up to the last one: nothing in the middle went missing.
    const kept = listRecordFiles(dir);
    const afters: string[] = [];
    for (const f of kept) {
      const evs = await eventsOf(f.path);
      assert.equal(evs.filter((e) => e.type === 'note').length, 1, `${f.name} ends with its late count`);
      for (const e of evs) if (e.type === 'change') afters.push(String(e.after));
    }
    const all = Array.from({ length: 400 }, (_, i) => String((mac(i) as { after: string }).after));
    assert.deepEqual(afters, all.slice(400 - afters.length));
  });
});

describe('recording directories: boots in order', () => {
  it('--boot is this boot, --boot -1 the one before (by their first file), further back is one line', async (t) => {
    const dir = tempDir(t);
    const boot = currentBootId();
    const older = '11111111-2222-3333-4444-555555555555';
    const t0 = Date.now() - 7_200_000;
    const write = (b: string, ms: number) => writeFileSync(join(dir, recordFileName(b, ms)), JSON.stringify(header({}, [lnk(2, 'eth0')])) + '\n');
    // The older boot's files, named in an order that sorts after this boot's ids: time decides, not the name.
    write(OTHER_BOOT, t0 - 60_000);
    write(older, t0 - 3_600_000);
    write(older, t0 - 3_000_000);
    write(boot, t0);
    write(boot, t0 + 1000);
    const names = (paths: string[]) => paths.map((p) => p.slice(dir.length + 1));
    assert.deepEqual(names(filesOfBoot(dir, 0)), [recordFileName(boot, t0), recordFileName(boot, t0 + 1000)]);
    assert.deepEqual(names(filesOfBoot(dir, -1)), [recordFileName(OTHER_BOOT, t0 - 60_000)]);
    assert.deepEqual(names(filesOfBoot(dir, -2)), [recordFileName(older, t0 - 3_600_000), recordFileName(older, t0 - 3_000_000)]);
    assert.throws(() => filesOfBoot(dir, -3), /no recording of boot -3 in .* \(3 boots recorded\)/);
    const r = await runCli(['explain', '--boot', '-2', '--dir', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((r.stdout.match(new RegExp(older, 'g')) ?? []).length, 2, r.stdout);
    const bad = await runCli(['explain', '--boot', '-4', '--dir', dir]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^ifblame: no recording of boot -4 in .* \(hint: /);
    const none = await runCli(['replay', '--boot', '--dir', join(dir, 'missing')]);
    assert.match(none.stderr, /^ifblame: cannot read the recording directory .*: it does not exist \(hint: /);
  });
});

/** `ip netns exec NS node ifblame record ...`, resolved once it says it is recording (bpftrace attached). */
async function startRecord(ns: Netns, args: string[]): Promise<{ child: ChildProcess; out: () => string; err: () => string; exit: Promise<number | null> }> {
  const child = spawn('ip', ['netns', 'exec', ns.name, process.execPath, CLI, 'record', '--backend', 'syscalls', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`record did not start: ${err}`)), 120_000);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (/recording to /.test(err)) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exit.then(() => reject(new Error(`record exited: ${err}`)));
  });
  return { child, out: () => out, err: () => err, exit };
}

/** `n` MAC changes of va0 from one `ip -batch`, as fast as netlink takes them. */
async function burst(ns: Netns, dir: string, tag: number, n: number): Promise<string[]> {
  const macs = Array.from(
    { length: n },
    (_, i) => `02:00:00:${tag.toString(16).padStart(2, '0')}:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`,
  );
  const batch = join(dir, `batch-${tag}`);
  writeFileSync(batch, macs.map((m) => `link set dev va0 address ${m}\n`).join(''));
  await ns.exec(['ip', '-batch', batch]);
  // Let netlink and the correlator pass the last change before anything stops.
  await new Promise((r) => setTimeout(r, 2500));
  return macs;
}

const isRoot = process.getuid?.() === 0;

describe('ifblame record (real bpftrace, syscalls backend, in a network namespace)', { skip: !isRoot && 'needs root' }, () => {
  let ns: Netns;
  before(async () => {
    ns = await createNetns('ifbrec');
    await ns.ip('link', 'add', 'va0', 'type', 'veth', 'peer', 'name', 'vb0');
  });
  after(async () => {
    await ns?.remove();
  });

  it('rotation keeps every change; SIGKILLed and started again, it continues in a new file; explain and replay read across', async (t) => {
    const work = tempDir(t);
    const dir = join(work, 'rec');
    const args = ['--dir', dir, '--max-file', '16K', '--max-total', '10M'];
    // First run: text lines on stdout, killed without warning.
    const a = await startRecord(ns, args);
    const first = await burst(ns, work, 1, 60);
    a.child.kill('SIGKILL');
    await a.exit;
    const textLines = a
      .out()
      .split('\n')
      .filter((l) => / va0 +mac /.test(l));
    assert.deepEqual(
      textLines.map((l) => / -> (\S+)/.exec(l)?.[1]),
      first,
      'one text line per change, in order',
    );
    const afterKill = listRecordFiles(dir);
    assert.ok(afterKill.length >= 3, `forced rotation during the burst: ${afterKill.length} files`);
    // Second run, the same command (what Restart=on-failure does): JSON lines on stdout.
    const b = await startRecord(ns, [...args, '--format', 'json']);
    const second = await burst(ns, work, 2, 40);
    b.child.kill('SIGTERM');
    assert.equal(await b.exit, 0, b.err());
    const json = b
      .out()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { type: string; iface?: string; after?: string; netns?: unknown });
    assert.deepEqual(
      json.filter((e) => e.type === 'change' && e.iface === 'va0' && !e.netns).map((e) => e.after),
      second,
      'one JSON object per line, one per change',
    );
    assert.equal(json.at(-1)?.type, 'summary');
    const files = listRecordFiles(dir);
    assert.ok(
      files.some((f) => afterKill.every((k) => k.name !== f.name)),
      'the second run started a new file',
    );
    assert.ok(
      afterKill.every((k) => files.some((f) => f.name === k.name)),
      `the first run's files are still there: ${afterKill.map((f) => f.name).join(' ')} / ${files.map((f) => f.name).join(' ')}`,
    );
    // Every file stands alone: its header and its snapshot.
    for (const f of files) {
      const r = await TraceReader.open(f.path);
      assert.ok(
        r.header.snapshot.some((l) => l.ifname === 'va0'),
        `${f.name} has va0 in its snapshot`,
      );
      r.close();
    }
    // replay DIR: both runs' changes, in time order, each once.
    const replay = await runCli(['replay', dir, '--format', 'ndjson']);
    assert.equal(replay.code, 0, replay.stderr);
    const replayed = replay.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { type: string; iface?: string; after?: string; ts: number; netns?: unknown });
    const changes = replayed.filter((e) => e.type === 'change' && e.iface === 'va0' && !e.netns);
    assert.deepEqual(
      changes.map((e) => e.after),
      [...first, ...second],
    );
    assert.deepEqual(
      changes.map((e) => e.ts),
      changes.map((e) => e.ts).sort((x, y) => x - y),
    );
    // explain --boot reads every file of this boot (the directory holds only this boot).
    assert.deepEqual(
      filesOfBoot(dir, 0),
      files.map((f) => f.path),
    );
    const explain = await runCli(['explain', '--boot', '--dir', dir]);
    assert.ok(explain.code === 0 || explain.code === 1, explain.stderr);
    for (const f of files) assert.ok(explain.stdout.includes(f.name), `explain read ${f.name}`);
    // status: every file with its size and lost/late counts.
    const status = await runCli(['service', 'status', '--dir', dir]);
    for (const f of files) assert.match(status.stdout, new RegExp(`${f.name} .* events  lost 0  late \\d+  \\(this boot\\)`));
  });

  it('the total cap holds during a burst: earlier boots deleted first, never the current file', async (t) => {
    const work = tempDir(t);
    const dir = join(work, 'rec');
    const limit = 64 * 1024;
    const old = join(dir, recordFileName(OTHER_BOOT, Date.now() - 86_400_000));
    spawnSync('mkdir', ['-p', dir]);
    writeFileSync(old, JSON.stringify(header({}, [lnk(2, 'eth0')])) + '\n');
    const r = await startRecord(ns, ['--dir', dir, '--max-file', '16K', '--max-total', '64K', '--format', 'json']);
    let peak = 0;
    const watch = setInterval(() => (peak = Math.max(peak, totalOf(dir))), 20);
    const macs = await burst(ns, work, 3, 200);
    clearInterval(watch);
    r.child.kill('SIGTERM');
    assert.equal(await r.exit, 0, r.err());
    const json = r
      .out()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { type: string; after?: string; iface?: string; netns?: unknown });
    assert.deepEqual(
      json.filter((e) => e.type === 'change' && e.iface === 'va0' && !e.netns).map((e) => e.after),
      macs,
      'stdout has every change even when the files had to go',
    );
    assert.equal(existsSync(old), false, "the earlier boot's file went first");
    const files = readdirSync(dir);
    assert.ok(files.length >= 2, files.join(' '));
    const total = files.reduce((n, f) => n + statSync(join(dir, f)).size, 0);
    assert.ok(total <= limit + 2048 && peak <= limit + 2048, `total ${total}, peak ${peak}, cap ${limit}`);
  });
});

describe('ifblame record on a full disk', { skip: !isRoot && 'needs root' }, () => {
  it('one line, the output goes on with every change, exit 5', async (t) => {
    const ns = await createNetns('ifbfull');
    t.after(() => ns.remove());
    await ns.ip('link', 'add', 'va0', 'type', 'veth', 'peer', 'name', 'vb0');
    const work = tempDir(t);
    const dir = join(work, 'full');
    spawnSync('mkdir', ['-p', dir]);
    assert.equal(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]).status, 0);
    try {
      const r = await startRecord(ns, ['--dir', dir, '--max-file', '16K', '--max-total', '1G', '--format', 'json']);
      const macs = await burst(ns, work, 4, 150);
      r.child.kill('SIGTERM');
      assert.equal(await r.exit, 5, r.err());
      const stopped = r
        .err()
        .split('\n')
        .filter((l) => /recording stopped/.test(l));
      assert.equal(stopped.length, 1, r.err());
      assert.match(stopped[0]!, /^ifblame: recording stopped: .*no space left on device/);
      const json = r
        .out()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { type: string; after?: string; iface?: string; netns?: unknown; recording?: { failure?: string } });
      assert.deepEqual(
        json.filter((e) => e.type === 'change' && e.iface === 'va0' && !e.netns).map((e) => e.after),
        macs,
      );
      assert.match(json.at(-1)?.recording?.failure ?? '', /no space left on device/);
      // What was written is readable up to its last complete line.
      for (const f of listRecordFiles(dir)) await eventsOf(f.path);
    } finally {
      spawnSync('umount', ['-l', dir]);
    }
  });
});

describe('ifblame service', () => {
  it('install into a temporary root: a unit systemd-analyze verifies, enabled for sysinit.target; status; uninstall removes it', async (t) => {
    const root = tempDir(t);
    const inst = await runCli(['service', 'install', '--root', root, '--dir', '/var/log/ifb-test', '--max-file', '8M', '--max-age', '12h']);
    assert.equal(inst.code, 0, inst.stderr);
    const unit = join(root, 'etc/systemd/system/ifblame.service');
    const text = readFileSync(unit, 'utf8');
    assert.match(
      text,
      new RegExp(`^ExecStart=${process.execPath} \\S+/bin/ifblame\\.js record --dir /var/log/ifb-test --max-file 8388608 --max-age 43200000ms$`, 'm'),
    );
    for (const line of [
      'Type=notify',
      'NotifyAccess=all',
      'DefaultDependencies=no',
      'Before=network-pre.target shutdown.target',
      'Wants=network-pre.target',
      'ReadWritePaths=/var/log/ifb-test',
      'Restart=on-failure',
    ])
      assert.ok(text.split('\n').includes(line), line);
    assert.doesNotMatch(text, /@[A-Z]+@/, 'every placeholder filled');
    assert.doesNotMatch(text, /^After=.*network/m, 'it waits for no network');
    const wants = join(root, 'etc/systemd/system/sysinit.target.wants/ifblame.service');
    assert.equal(readlinkSync(wants), '/etc/systemd/system/ifblame.service', 'enabled (a link inside the root)');
    const verify = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
    assert.equal(verify.status, 0, verify.stderr);
    assert.equal(verify.stderr.trim(), '', 'systemd-analyze has nothing to say about it');
    const status = await runCli(['service', 'status', '--root', root]);
    assert.equal(status.code, 0);
    assert.match(status.stdout, /state +no running systemd, enabled/);
    assert.match(status.stdout, /dir +\/var\/log\/ifb-test: 0 files/);
    const un = await runCli(['service', 'uninstall', '--root', root]);
    assert.equal(un.code, 0, un.stderr);
    assert.equal(existsSync(unit), false);
    assert.throws(() => readlinkSync(wants), /ENOENT/, 'disabled');
    assert.equal((await runCli(['service', 'status', '--root', root])).code, 1, 'not installed');
  });

  it('refuses a path that would inject into the unit, writing nothing', async (t) => {
    const root = tempDir(t);
    for (const dir of ['/var/log/a\nExecStartPre=/bin/sh -c id', 'relative/dir', '/var/log/%h', '/var/log/a b', '/var/log/../../etc']) {
      const r = await runCli(['service', 'install', '--root', root, '--dir', dir]);
      assert.equal(r.code, 2, dir);
      assert.match(r.stderr, /^ifblame: --dir .* cannot go into a systemd unit \(hint: /);
      assert.equal(r.stderr.trim().split('\n').length, 1);
    }
    assert.equal(existsSync(join(root, 'etc')), false);
  });
});
