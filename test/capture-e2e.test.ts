// End to end on the real kernel: real bpftrace (syscalls backend), real ip, in a namespace each test creates and removes.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { BIN, captureNdjson } from './capture.js';
import { createNetns } from './netns.js';
import { Change, TraceEvent } from '../src/events.js';
import { TraceHeader } from '../src/trace/format.js';

const dir = mkdtempSync(join(tmpdir(), 'ifb-e2e-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function find(changes: Change[], iface: string, kind: string): Change[] {
  return changes.filter((c) => c.iface === iface && c.kind === kind);
}

test('`ip link set dev X address` is attributed to ip, with its pid and the before/after MACs', async () => {
  const ns = await createNetns('ifb-e2e');
  try {
    await ns.ip('link', 'add', 'va0', 'type', 'veth', 'peer', 'name', 'va1');
    const before = JSON.parse((await ns.ip('-j', 'link', 'show', 'va0')).stdout)[0].address as string;
    const pidFile = join(dir, 'ip.pid');
    const r = await captureNdjson(ns.name, `ip -n ${ns.name} link set dev va0 address 02:aa:bb:cc:dd:01 & echo $! > ${pidFile}; wait`);
    assert.equal(r.exitCode, 0, r.stderr);
    const [c, ...more] = find(r.changes, 'va0', 'mac');
    assert.ok(c, JSON.stringify(r.changes));
    assert.equal(more.length, 0);
    assert.equal(c.before, before);
    assert.equal(c.after, '02:aa:bb:cc:dd:01');
    assert.equal(c.actor?.comm, 'ip');
    assert.equal(c.actor?.pid, Number(readFileSync(pidFile, 'utf8')));
    assert.equal(c.evidence, 'requested');
    assert.equal(c.via.probe, 'nl_link');
    assert.ok(
      c.actor?.chain.some((p) => p.comm === 'sh'),
      'parent chain reaches the shell',
    );
    assert.equal(r.summary?.lost, 0);
  } finally {
    await ns.remove();
  }
});

test('promiscuity: `ip link set promisc on` and a bridge port add, with counts; bridge MAC following a lower port is inferred', async () => {
  const ns = await createNetns('ifb-e2e');
  try {
    await ns.ip('link', 'add', 'vp0', 'address', '02:00:00:00:00:50', 'type', 'veth', 'peer', 'name', 'vp1');
    await ns.ip('link', 'add', 'brx', 'type', 'bridge');
    const script = [`ip -n ${ns.name} link set vp1 promisc on`, `ip -n ${ns.name} link set vp0 master brx`, `ip -n ${ns.name} link set vp0 promisc on`].join(
      '; ',
    );
    const r = await captureNdjson(ns.name, script);
    assert.equal(r.exitCode, 0, r.stderr);
    const p1 = find(r.changes, 'vp1', 'promisc');
    assert.equal(p1.length, 1, JSON.stringify(r.changes));
    assert.deepEqual([p1[0]!.before, p1[0]!.after, p1[0]!.actor?.comm], [0, 1, 'ip']);
    const p0 = find(r.changes, 'vp0', 'promisc');
    assert.deepEqual(
      p0.map((c) => [c.before, c.after]),
      [
        [0, 1],
        [1, 2],
      ],
      JSON.stringify(p0),
    );
    assert.equal(p0[0]!.evidence, 'inferred', 'the bridge takes promiscuity inside the kernel');
    assert.match(p0[0]!.via.note ?? '', /enslave brx/);
    assert.equal(p0[0]!.actor?.comm, 'ip');
    assert.equal(p0[1]!.evidence, 'requested');
    const enslave = find(r.changes, 'vp0', 'enslave');
    assert.equal(enslave.length, 1);
    assert.equal(enslave[0]!.after, 'brx');
    const brmac = find(r.changes, 'brx', 'mac');
    assert.equal(brmac.length, 1, JSON.stringify(r.changes));
    assert.equal(brmac[0]!.after, '02:00:00:00:00:50');
    assert.equal(brmac[0]!.evidence, 'inferred');
    assert.match(brmac[0]!.via.note ?? '', /port vp0/);
  } finally {
    await ns.remove();
  }
});

test('creating and deleting links is seen and attributed to the ip that asked', async () => {
  const ns = await createNetns('ifb-e2e');
  try {
    const r = await captureNdjson(ns.name, `ip -n ${ns.name} link add vd0 type veth peer name vd1; ip -n ${ns.name} link del vd0`);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(find(r.changes, 'vd0', 'created').length, 1, JSON.stringify(r.changes));
    assert.equal(find(r.changes, 'vd0', 'created')[0]!.actor?.comm, 'ip');
    const del = find(r.changes, 'vd0', 'deleted');
    assert.equal(del.length, 1);
    assert.equal(del[0]!.actor?.comm, 'ip');
    assert.equal(find(r.changes, 'vd1', 'deleted').length, 1, 'the peer goes too');
  } finally {
    await ns.remove();
  }
});

test('exit codes: command failure 4, --fail-on hit 1, nothing 0, tracing impossible 3', async () => {
  const ns = await createNetns('ifb-e2e');
  try {
    await ns.ip('link', 'add', 've0', 'type', 'veth', 'peer', 'name', 've1');
    const failed = await captureNdjson(ns.name, 'exit 7');
    assert.equal(failed.exitCode, 4);
    assert.equal(failed.summary?.command?.exitCode, 7);
    const hit = await captureNdjson(ns.name, `ip -n ${ns.name} link set dev ve0 address 02:aa:bb:cc:dd:02`, ['--fail-on', 'mac,promisc']);
    assert.equal(hit.exitCode, 1);
    const quiet = await captureNdjson(ns.name, 'true', ['--fail-on', 'mac']);
    assert.equal(quiet.exitCode, 0);
    const missing = await execa('node', [BIN, 'capture', '--netns', ns.name, '--backend', 'syscalls', '--format', 'ndjson', '--', '/nonexistent/cmd'], {
      reject: false,
      timeout: 120_000,
    });
    assert.equal(missing.exitCode, 4);
    assert.match(String(missing.stderr), /^ifblame: cannot run \/nonexistent\/cmd: ENOENT \(hint: /m);
    assert.match(String(missing.stdout), /"command":\{"argv":\["\/nonexistent\/cmd"\],"exitCode":127\}/);
    const noBackend = await execa('node', [BIN, 'capture', '--backend', 'kprobe', '--duration', '1s'], { reject: false, timeout: 120_000 });
    assert.equal(noBackend.exitCode, 3);
    assert.equal(String(noBackend.stderr).trim().split('\n').length, 1, String(noBackend.stderr));
    assert.match(String(noBackend.stderr), /^ifblame: the kprobe backend cannot attach here: .*\(hint: /);
  } finally {
    await ns.remove();
  }
});

/** bpftrace processes whose parent is `pid` (through the setpriv wrapper, which execs). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(e));
    } catch {
      /* gone */
    }
  }
  return out;
}

test('a SIGKILLed capture leaves a trace file readable to its last complete line, and no bpftrace or ip behind', async () => {
  const ns = await createNetns('ifb-e2e');
  const file = join(dir, 'killed.ifblame');
  try {
    await ns.ip('link', 'add', 'vk0', 'type', 'veth', 'peer', 'name', 'vk1');
    const child = execa('node', [BIN, 'capture', '--netns', ns.name, '--backend', 'syscalls', '--duration', '120s', '--record', file], {
      reject: false,
      timeout: 180_000,
    });
    // Wait for tracing to be ready (it says so on stderr), then make a change and let it be recorded.
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('capture did not start')), 90_000);
      child.stderr!.on('data', (b: Buffer) => {
        if (/tracing with the syscalls backend/.test(String(b))) {
          clearTimeout(t);
          resolve();
        }
      });
    });
    const kids = childrenOf(child.pid!);
    assert.ok(kids.length >= 2, `bpftrace and ip run under ifblame: ${kids}`);
    await ns.ip('link', 'set', 'dev', 'vk0', 'address', '02:aa:bb:cc:dd:03');
    // Both sources deliver asynchronously: wait until the raw request and the netlink message are both on disk.
    const recorded = () => (existsSync(file) ? readFileSync(file, 'utf8') : '').split('\n').filter((l) => l.includes('02:aa:bb:cc:dd:03'));
    for (let i = 0; i < 100 && !(recorded().some((l) => l.includes('"nl_link"')) && recorded().some((l) => l.includes('"type":"link"'))); i++)
      await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGKILL');
    await child;
    // The kernel sends them SIGKILL when ifblame dies (PR_SET_PDEATHSIG); bpftrace needs a moment to detach its probes.
    const alive = (k: number) => existsSync(`/proc/${k}`) && !/\) Z /.test(readFileSync(`/proc/${k}/stat`, 'utf8'));
    for (let i = 0; i < 150 && kids.some(alive); i++) await new Promise((r) => setTimeout(r, 100));
    for (const k of kids) assert.ok(!alive(k), `child ${k} outlived ifblame by 15 s`);
    const lines = readFileSync(file, 'utf8').split('\n');
    const complete = lines.slice(0, -1); // a torn last line, if any, is all a SIGKILL may cost
    const header = TraceHeader.parse(JSON.parse(complete[0]!));
    assert.equal(header.backend, 'syscalls');
    assert.match(header.program, /tracepoint:syscalls:sys_enter_sendmsg/);
    const events = complete.slice(1).map((l) => TraceEvent.parse(JSON.parse(l)));
    const probe = events.find((e) => e.type === 'probe' && e.probe === 'nl_link' && e.fields.addr === '02:aa:bb:cc:dd:03');
    assert.ok(probe, 'the raw request was recorded before the kill');
    assert.ok(
      events.some((e) => e.type === 'link' && e.ifname === 'vk0' && e.addr === '02:aa:bb:cc:dd:03'),
      'the netlink event too',
    );
  } finally {
    await ns.remove();
  }
});

test('text output: one readable line per change with time, interface, before -> after, actor and evidence', async () => {
  const ns = await createNetns('ifb-e2e');
  try {
    await ns.ip('link', 'add', 'vt0', 'type', 'veth', 'peer', 'name', 'vt1');
    const r = await execa(
      'node',
      [BIN, 'capture', '--netns', ns.name, '--backend', 'syscalls', '--', 'ip', '-n', ns.name, 'link', 'set', 'dev', 'vt0', 'address', '02:aa:bb:cc:dd:04'],
      { reject: false, timeout: 120_000 },
    );
    assert.equal(r.exitCode, 0, String(r.stderr));
    assert.match(String(r.stdout), /^\d\d:\d\d:\d\d\.\d{3}  vt0\s+mac\s+[0-9a-f:]{17} -> 02:aa:bb:cc:dd:04  by ip\[\d+\]  \[requested\] via nl_link$/m);
    assert.match(String(r.stdout), /^-- 1 change \(mac 1\) in [\d.]+ s, backend syscalls$/m);
    assert.match(String(r.stdout), /^-- lost events: 0$/m);
  } finally {
    await ns.remove();
  }
});
