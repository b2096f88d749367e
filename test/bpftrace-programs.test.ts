// The real bpftrace loads every syscalls program (attach + clean exit) and checks kprobe/kfunc ones as far as it can;
// what detection says about the kernel running the tests is checked against what really attaches, whatever the kernel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import split2 from 'split2';
import { generate } from '../src/probes/generate.js';
import { decodeLine } from '../src/parse/bpftrace-json.js';
import { detect, meaningfulStderr } from '../src/probes/detect.js';
import { planProgram } from '../src/probes/plan.js';
import { ROOT } from './golden.js';

const dir = mkdtempSync(join(tmpdir(), 'ifb-progs-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

/** Run a program until BEGIN printed its #clock line, then SIGINT: it must have attached and exit 0. */
async function loadAndStop(
  file: string,
): Promise<{ exitCode: number | undefined; attached: number; stderr: string[]; cols: string[]; readyMs: number; exitMs: number }> {
  // Attaching can stall for tens of seconds while the kernel finishes detaching the previous program's
  // tracepoints (RCU grace periods on a busy machine): generous bound, timings reported on failure.
  const t0 = Date.now();
  let readyMs = -1;
  const child = execa('bpftrace', ['-f', 'json', '-B', 'line', file], {
    reject: false,
    buffer: { stdout: false, stderr: true },
    stdin: 'ignore',
    timeout: 60_000,
    killSignal: 'SIGKILL',
  });
  let attached = 0;
  const cols: string[] = [];
  await new Promise<void>((resolve) => {
    child.stdout!.pipe(split2()).on('data', (line: string) => {
      const d = decodeLine(line, { backend: 'syscalls', monoToWallUs: 0 });
      if (d.kind === 'attached') attached = d.probes;
      if (d.kind === 'cols') cols.push(d.mismatch ?? 'ok');
      if (d.kind === 'clock') {
        readyMs = Date.now() - t0;
        // As ifblame's stop() does: SIGINT, and once more if the first was lost in bpftrace's start-up.
        setTimeout(() => child.kill('SIGINT'), 300);
        setTimeout(() => child.kill('SIGINT'), 3000).unref();
        resolve();
      }
    });
    void child.then(() => resolve());
  });
  const r = await child;
  return { exitCode: r.exitCode, attached, stderr: meaningfulStderr(String(r.stderr)), cols, readyMs, exitMs: Date.now() - t0 };
}

const syscallsPrograms: [string, Parameters<typeof generate>[0]][] = [
  ['golden', { backend: 'syscalls', filters: { iface: [], comm: [] } }],
  ['filters', { backend: 'syscalls', filters: { iface: ['eth0'], comm: ['ip', '(udev-worker)'] } }],
  ['one probe dropped', { backend: 'syscalls', filters: { iface: [], comm: [] }, dropped: [{ probe: 'sysfs_write', reason: 'test' }] }],
];

for (const [name, opts] of syscallsPrograms) {
  test(`syscalls program (${name}) attaches on this kernel and exits cleanly on SIGINT`, { timeout: 90_000 }, async () => {
    const p = generate(opts);
    const r = await loadAndStop(write(`sys-${name.replace(/\W/g, '_')}.bt`, p.text));
    assert.equal(r.exitCode, 0, `ready after ${r.readyMs} ms, gone after ${r.exitMs} ms\n${r.stderr.join('\n')}`);
    assert.ok(r.attached >= (name === 'one probe dropped' ? 8 : 15), `attached ${r.attached}`);
    assert.deepEqual(
      r.stderr.filter((l) => /ERROR/.test(l)),
      [],
    );
    // a warning would reach the user at every start (issue 12: Addrspace mismatch, deprecated loops, casts)
    assert.deepEqual(
      r.stderr.filter((l) => /WARN/.test(l)),
      [],
    );
    assert.deepEqual(
      r.cols,
      p.probes.map(() => 'ok'),
      'each #cols line matches the parser',
    );
  });
}

// What detection (and `ifblame doctor`) says about this machine, asked once: the tests below hold whatever the kernel
// is — they check that detection agrees with what really attaches, not what this build machine happens to lack.
let doctorOnce: Promise<{ out: string; code: number | undefined; status: Map<string, { ok: boolean; detail: string }>; auto: string | null }> | null = null;
function doctor() {
  doctorOnce ??= execa('node', [`${ROOT}bin/ifblame.js`, 'doctor'], { reject: false, timeout: 180_000 }).then((r) => {
    const out = String(r.stdout);
    const status = new Map<string, { ok: boolean; detail: string }>();
    for (const m of out.matchAll(/^backend (\w+)\s+(ok|MISSING)\s+(.*)$/gm)) status.set(m[1]!, { ok: m[2] === 'ok', detail: m[3]!.trim() });
    return { out, code: r.exitCode, status, auto: /^live tracing: ready, backend (\w+) \(auto\)$/m.exec(out)?.[1] ?? null };
  });
  return doctorOnce;
}

test('kprobe program: bpftrace -d (parse, semantic analysis against this kernel BTF, codegen) passes', async () => {
  // Modules that are not loaded have no BTF types: detection drops their probes in real runs, and so does this.
  const dropped = existsSync('/sys/module/team') ? [] : ['team_port_add', 'team_port_del'].map((probe) => ({ probe, reason: 'module team is not loaded' }));
  const p = generate({ backend: 'kprobe', filters: { iface: ['bond0'], comm: ['ip'] }, dropped });
  const r = await execa('bpftrace', ['-d', write('kprobe.bt', p.text)], { reject: false, timeout: 120_000 });
  const errors = meaningfulStderr(String(r.stderr)).filter((l) => /ERROR/.test(l));
  assert.deepEqual(errors, []);
  assert.equal(r.exitCode, 0);
  // The generated IR reads the fields we print: one perf output call per printf.
  assert.match(String(r.stdout), /define .*kprobe:bond_enslave/);
  assert.match(String(r.stdout), /define .*kretprobe:dev_set_mac_address/);
});

test('kfunc program: bpftrace parses it; errors only where detection says kfunc does not work here, and only about kfunc itself', async () => {
  const d = await doctor();
  const kfunc = d.status.get('kfunc');
  assert.ok(kfunc, d.out);
  const p = generate({ backend: 'kfunc', filters: { iface: [], comm: [] } });
  const r = await execa('bpftrace', ['-d', write('kfunc.bt', p.text)], { reject: false, timeout: 120_000 });
  const errors = meaningfulStderr(String(r.stderr)).filter((l) => /ERROR/.test(l));
  assert.doesNotMatch(String(r.stderr), /syntax error|Unknown identifier|Unknown struct/);
  if (kfunc.ok) {
    // Functions of modules that are not loaded are the only thing that may be missing.
    for (const e of errors) assert.match(e, /no BTF data for|could not read traceable functions/, e);
  } else {
    assert.ok(errors.length > 0, `detection says kfunc does not work here (${kfunc.detail}): bpftrace must say so too`);
    for (const e of errors) assert.match(e, /could not read traceable functions|kfunc\/kretfunc not available|no BTF data for/, e);
  }
});

for (const backend of ['kfunc', 'kprobe'] as const) {
  test(`${backend}: what detection says matches what the program it plans really does here`, { timeout: 180_000 }, async () => {
    const d = await doctor();
    const said = d.status.get(backend);
    assert.ok(said, d.out);
    const caps = await detect();
    assert.equal(caps.backends.find((b) => b.backend === backend)?.ok, said.ok, 'doctor prints what detection found');
    const { program } = await planProgram({ backend, filters: { iface: [], comm: [] } }, caps);
    const r = await loadAndStop(write(`planned-${backend}.bt`, program.text));
    if (said.ok) {
      assert.equal(r.exitCode, 0, `detection says ${backend} works, but the planned program did not run: ${r.stderr.join('\n')}`);
      assert.ok(r.attached > 0);
      assert.deepEqual(
        r.cols,
        program.probes.map(() => 'ok'),
        'each #cols line matches the parser',
      );
    } else {
      assert.ok(r.exitCode !== 0 && r.readyMs < 0, `detection says ${backend} is missing (${said.detail}), but the program attached`);
      // The same kind of failure: both name the probe type that does not attach.
      assert.match(said.detail, new RegExp(backend === 'kfunc' ? 'kfunc|fentry|BTF' : 'kprobe'), said.detail);
    }
  });
}

test('`ifblame doctor`: every backend reported with a reason (and a fix when missing); auto is the first that works', async () => {
  const d = await doctor();
  for (const b of ['kfunc', 'kprobe', 'syscalls']) {
    const st = d.status.get(b);
    assert.ok(st && st.detail.length > 0, `backend ${b}: ${d.out}`);
    if (!st.ok) assert.match(d.out, new RegExp(`^backend ${b}\\s+MISSING\\s+\\S.*\\s{2}\\S+`, 'm'), 'a fix after the reason');
  }
  const first = ['kfunc', 'kprobe', 'syscalls'].find((b) => d.status.get(b)!.ok) ?? null;
  assert.equal(d.auto, first, d.out);
  assert.equal(d.code, first ? 0 : 3);
  if (!first) assert.match(d.out, /^live tracing: NOT possible here/m);
});

test('`ifblame script` prints the program auto picks here, and the full kprobe/kfunc programs, with a note where they do not attach', async () => {
  const d = await doctor();
  const auto = await execa('node', [`${ROOT}bin/ifblame.js`, 'script'], { reject: false, timeout: 120_000 });
  if (!d.auto) {
    assert.equal(auto.exitCode, 3);
  } else {
    assert.equal(auto.exitCode, 0);
    const first = {
      syscalls: /^tracepoint:syscalls:sys_enter_sendmsg$/m,
      kprobe: /^kprobe:dev_set_mac_address$/m,
      kfunc: /^kfunc:(vmlinux:)?dev_set_mac_address$/m,
    }[d.auto];
    assert.match(String(auto.stdout), first!);
  }
  for (const b of ['kprobe', 'kfunc']) {
    const r = await execa('node', [`${ROOT}bin/ifblame.js`, 'script', '--backend', b], { reject: false, timeout: 120_000 });
    assert.equal(r.exitCode, 0);
    assert.match(String(r.stdout), new RegExp(`^${b}:(bonding:)?(bond_enslave|dev_set_mac_address)$`, 'm'));
    assert.match(String(r.stdout), new RegExp(`^${b}:(vmlinux:)?dev_set_promiscuity$`, 'm'));
    const note = new RegExp(`note: the ${b} backend does not attach here`);
    if (d.status.get(b)?.ok) assert.doesNotMatch(String(r.stderr), note);
    else assert.match(String(r.stderr), note);
  }
});

test('--help and --version', async () => {
  const h = await execa('node', [`${ROOT}bin/ifblame.js`, '--help']);
  assert.match(String(h.stdout), /^Usage:/m);
  assert.match(String(h.stdout), /ifblame capture/);
  const v = await execa('node', [`${ROOT}bin/ifblame.js`, '--version']);
  assert.match(String(v.stdout), /^ifblame \d+\.\d+\.\d+$/);
});

test('no bpftrace in PATH: live tracing refuses with one line and a hint, exit 3', async () => {
  const r = await execa('node', [`${ROOT}bin/ifblame.js`, 'capture', '--duration', '1s'], {
    reject: false,
    env: { IFBLAME_BPFTRACE: '/nonexistent/bpftrace' },
    timeout: 60_000,
  });
  assert.equal(r.exitCode, 3);
  const lines = String(r.stderr).trim().split('\n');
  assert.equal(lines.length, 1, String(r.stderr));
  assert.match(lines[0]!, /^ifblame: no tracing backend works here .*bpftrace is not installed.*\(hint: run `ifblame doctor`/);
});

test('not root: `ifblame doctor` says so with the fix and exits 3; capture refuses in one line', async () => {
  const asNobody = ['--reuid=nobody', '--regid=nogroup', '--clear-groups', '--'];
  const d = await execa('setpriv', [...asNobody, 'node', `${ROOT}bin/ifblame.js`, 'doctor'], { reject: false, timeout: 60_000, cwd: '/tmp' });
  assert.equal(d.exitCode, 3, String(d.stderr));
  assert.match(String(d.stdout), /^root\s+MISSING\s+running as uid 65534\s+run with sudo/m);
  assert.match(String(d.stdout), /^live tracing: NOT possible here/m);
  const c = await execa('setpriv', [...asNobody, 'node', `${ROOT}bin/ifblame.js`, 'capture', '--duration', '1s'], {
    reject: false,
    timeout: 60_000,
    cwd: '/tmp',
  });
  assert.equal(c.exitCode, 3);
  assert.match(String(c.stderr).trim(), /^ifblame: no tracing backend works here \(.*not running as root.*\) \(hint: run `ifblame doctor`[^\n]*$/);
});
