// The real bpftrace on this machine loads every syscalls program (attach + clean exit) and checks kprobe/kfunc ones as far as it can.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import split2 from 'split2';
import { generate } from '../src/probes/generate.js';
import { decodeLine } from '../src/parse/bpftrace-json.js';
import { meaningfulStderr } from '../src/probes/detect.js';
import { ROOT } from './golden.js';

const dir = mkdtempSync(join(tmpdir(), 'ifb-progs-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

/** Run a program until BEGIN printed its #clock line, then SIGINT: it must have attached and exit 0. */
async function loadAndStop(file: string): Promise<{ exitCode: number | undefined; attached: number; stderr: string[]; cols: string[]; readyMs: number; exitMs: number }> {
  // Attaching can stall for tens of seconds while the kernel finishes detaching the previous program's
  // tracepoints (RCU grace periods on a busy machine): generous bound, timings reported on failure.
  const t0 = Date.now();
  let readyMs = -1;
  const child = execa('bpftrace', ['-f', 'json', '-B', 'line', file], { reject: false, buffer: { stdout: false, stderr: true }, stdin: 'ignore', timeout: 60_000, killSignal: 'SIGKILL' });
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
    assert.deepEqual(r.stderr.filter((l) => /ERROR/.test(l)), []);
    assert.deepEqual(r.cols, p.probes.map(() => 'ok'), 'each #cols line matches the parser');
  });
}

test('kprobe program: bpftrace -d (parse, semantic analysis against this kernel BTF, codegen) passes', async () => {
  // The team module is not loaded here, so its BTF types are missing: detection drops those probes in real runs.
  const p = generate({ backend: 'kprobe', filters: { iface: ['bond0'], comm: ['ip'] }, dropped: [{ probe: 'team_port_add', reason: 'module team is not loaded' }, { probe: 'team_port_del', reason: 'module team is not loaded' }] });
  const r = await execa('bpftrace', ['-d', write('kprobe.bt', p.text)], { reject: false, timeout: 120_000 });
  const errors = meaningfulStderr(String(r.stderr)).filter((l) => /ERROR/.test(l));
  assert.deepEqual(errors, []);
  assert.equal(r.exitCode, 0);
  // The generated IR reads the fields we print: one perf output call per printf.
  assert.match(String(r.stdout), /define .*kprobe:bond_enslave/);
  assert.match(String(r.stdout), /define .*kretprobe:dev_set_mac_address/);
});

test('kfunc program: bpftrace 0.17 here parses it; the only errors are about kfunc/traceability, none about the program itself', async () => {
  const p = generate({ backend: 'kfunc', filters: { iface: [], comm: [] } });
  const r = await execa('bpftrace', ['-d', write('kfunc.bt', p.text)], { reject: false, timeout: 120_000 });
  const errors = meaningfulStderr(String(r.stderr)).filter((l) => /ERROR/.test(l));
  assert.ok(errors.length > 0, 'this kernel refuses fentry: bpftrace must say so');
  for (const e of errors) assert.match(e, /could not read traceable functions|kfunc\/kretfunc not available|no BTF data for/, e);
  assert.doesNotMatch(String(r.stderr), /syntax error|Unknown identifier|Unknown struct/);
});

test('`ifblame doctor` on this machine: syscalls backend available, kfunc and kprobe missing with the reason', async () => {
  const r = await execa('node', [`${ROOT}bin/ifblame.js`, 'doctor'], { reject: false, timeout: 120_000 });
  assert.equal(r.exitCode, 0, String(r.stderr));
  const out = String(r.stdout);
  assert.match(out, /^backend syscalls\s+ok\s+attached/m);
  assert.match(out, /^backend kfunc\s+MISSING\s+kfunc\/kretfunc not available.*\S+/m);
  assert.match(out, /^backend kprobe\s+MISSING\s+.*kprobe.*falls back to the syscalls backend/m);
  assert.match(out, /^live tracing: ready, backend syscalls \(auto\)$/m);
});

test('`ifblame script` prints the syscalls program auto picks here, and the full kprobe/kfunc programs with a note', async () => {
  const auto = await execa('node', [`${ROOT}bin/ifblame.js`, 'script'], { reject: false, timeout: 120_000 });
  assert.equal(auto.exitCode, 0);
  assert.match(String(auto.stdout), /^tracepoint:syscalls:sys_enter_sendmsg$/m);
  for (const b of ['kprobe', 'kfunc']) {
    const r = await execa('node', [`${ROOT}bin/ifblame.js`, 'script', '--backend', b], { reject: false, timeout: 120_000 });
    assert.equal(r.exitCode, 0);
    assert.match(String(r.stdout), new RegExp(`^${b}:(bonding:)?bond_enslave$`, 'm'));
    assert.match(String(r.stdout), new RegExp(`^${b}:dev_set_promiscuity$`, 'm'));
    assert.match(String(r.stderr), new RegExp(`note: the ${b} backend does not attach here`));
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
  const r = await execa('node', [`${ROOT}bin/ifblame.js`, 'capture', '--duration', '1s'], { reject: false, env: { IFBLAME_BPFTRACE: '/nonexistent/bpftrace' }, timeout: 60_000 });
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
  const c = await execa('setpriv', [...asNobody, 'node', `${ROOT}bin/ifblame.js`, 'capture', '--duration', '1s'], { reject: false, timeout: 60_000, cwd: '/tmp' });
  assert.equal(c.exitCode, 3);
  assert.match(String(c.stderr).trim(), /^ifblame: no tracing backend works here \(.*not running as root.*\) \(hint: run `ifblame doctor`[^\n]*$/);
});
