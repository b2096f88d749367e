// Real-kernel end-to-end test (issue 6): Debian 12's stock kernel, the real bonding and bridge drivers
// and systemd-udevd, under QEMU (TCG).  One boot runs every scenario with the kprobe, kfunc and syscalls
// programs that `ifblame script` generates, attached at once; the raw outputs (bpftrace JSON, `ip monitor`,
// link snapshot) come back to the host, where `ifblame import` builds the trace files and the stories in
// stories.ts are asserted on them.
//
//   npm run test:kernel                        (root; needs qemu-system-x86, debootstrap, e2fsprogs)
//   IFBLAME_KERNEL_RUN=test/kernel/cache/runs/<stamp> npm run test:kernel   re-import a previous boot
//   IFBLAME_KERNEL_RECORD=recordings npm run test:kernel   also copy passing traces to recordings/
//   IFBLAME_KERNEL_SAVE_RAW=1 npm run test:kernel   keep the raw guest outputs in test/kernel/captures/<run>/
//   IFBLAME_KERNEL_SCENARIOS="d-ip e-alb"  IFBLAME_KERNEL_BACKENDS="kprobe"   run a subset
//   IFBLAME_KERNEL_SKIP=1                      skip (says so) instead of failing where qemu cannot run
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { before, test } from 'node:test';
import {
  BACKENDS,
  SCENARIOS,
  bootGuest,
  buildImage,
  generatePrograms,
  importScenario,
  newRunDir,
  prepareInput,
  readAatLog,
  readSteps,
  readTrace,
  recordTrace,
  saveRawCapture,
  splitSession,
  KERNEL_DIR,
  REPO,
  type Generated,
  type KBackend,
  type RunResult,
} from './harness.js';
import { STORIES, type StoryBackend } from './stories.js';

const SKIP = process.env.IFBLAME_KERNEL_SKIP ? 'IFBLAME_KERNEL_SKIP is set' : false;
const pick = <T extends string>(env: string | undefined, all: readonly T[]): T[] => {
  if (!env) return [...all];
  const want = env.split(/[\s,]+/).filter(Boolean);
  for (const w of want) assert.ok((all as readonly string[]).includes(w), `unknown name ${w}; known: ${all.join(' ')}`);
  return all.filter((a) => want.includes(a));
};
const scenarios = pick(process.env.IFBLAME_KERNEL_SCENARIOS, SCENARIOS);
const backends = pick(process.env.IFBLAME_KERNEL_BACKENDS, BACKENDS);
/** Steps whose non-zero exit is part of the scenario. */
const RC_OK: Record<string, number[]> = { c05_tcpdump: [0, 124] };

interface Ctx {
  runDir: string;
  outDir: string;
  traceDir: string;
  generated: Generated[];
  boot?: RunResult;
  timings: string[];
}
let ctx: Ctx | undefined;
let setupError: Error | undefined;

function log(line: string): void {
  ctx?.timings.push(line);
  process.stderr.write(`[kernel] ${line}\n`);
}

before(
  async () => {
    if (SKIP) return;
    try {
      const reuse = process.env.IFBLAME_KERNEL_RUN;
      if (reuse) {
        const runDir = resolve(REPO, reuse);
        assert.ok(existsSync(join(runDir, 'out')), `IFBLAME_KERNEL_RUN: no ${runDir}/out`);
        ctx = { runDir, outDir: join(runDir, 'out'), traceDir: join(runDir, 'traces'), generated: [], timings: [] };
        const g = join(runDir, 'in', 'programs');
        ctx.generated = backends.map((b) =>
          existsSync(join(g, `${b}.bt`))
            ? { backend: b, ok: true, program: readFileSync(join(g, `${b}.bt`), 'utf8') }
            : { backend: b, ok: false, error: 'not in the reused run' },
        );
        log(`reusing ${runDir}`);
      } else {
        assert.equal(process.getuid?.(), 0, 'the kernel tests need root (debootstrap, chroot); set IFBLAME_KERNEL_SKIP=1 to skip');
        const runDir = newRunDir();
        ctx = { runDir, outDir: join(runDir, 'out'), traceDir: join(runDir, 'traces'), generated: [], timings: [] };
        log(`run directory ${runDir}`);
        const [image, generated] = await Promise.all([buildImage(), generatePrograms(backends)]);
        ctx.generated = generated;
        log(`image ${image.dir} ready in ${(image.ms / 1000).toFixed(1)} s${/reusing/.test(image.log) ? ' (cached)' : ' (built)'}`);
        for (const g of generated) if (!g.ok) log(`program for ${g.backend} NOT generated: ${g.error}`);
        for (const g of generated) if (g.dropped?.length) log(`${g.backend}: dropped for the target kernel (IFBLAME_KERNEL_DROP): ${g.dropped.join(', ')}`);
        const inDir = join(runDir, 'in');
        // Measured: programs attached after <= ~100 s, scenario windows 7-26 s, whole boot ~4 min.  The limits
        // are generous but keep a hung guest well inside CI's budget.
        const readyS = Number(process.env.IFBLAME_KERNEL_READY_TIMEOUT ?? 240);
        const scenS = Number(process.env.IFBLAME_KERNEL_SCEN_TIMEOUT ?? 150);
        const env: Record<string, string> = { SCEN_TIMEOUT: String(scenS), READY_TIMEOUT: String(readyS) };
        if (process.env.IFBLAME_KERNEL_PROBE_LIST) env.PROBE_LIST = '1';
        prepareInput(inDir, generated, scenarios, env);
        const timeoutS = Number(process.env.IFBLAME_KERNEL_BOOT_TIMEOUT ?? 60 + readyS + scenarios.length * scenS + 60);
        ctx.boot = await bootGuest(image.dir, inDir, ctx.outDir, timeoutS);
        log(`boot: ${(ctx.boot.ms / 1000).toFixed(1)} s, exit ${ctx.boot.code}${ctx.boot.signal ? ` (${ctx.boot.signal})` : ''}`);
      }
      mkdirSync(ctx.traceDir, { recursive: true });
      const st = join(ctx.outDir, 'session', 'timing.txt');
      if (existsSync(st)) log(`session: ${readFileSync(st, 'utf8').trim().replace(/\n/g, '; ')}`);
      for (const s of scenarios) {
        const t = join(ctx.outDir, s, 'timing.txt');
        if (existsSync(t)) log(`${s}: ${readFileSync(t, 'utf8').trim().replace(/\n/g, '; ')}`);
        if (existsSync(join(ctx.outDir, s, 'window.txt'))) {
          const { counts } = splitSession(ctx.outDir, s, backends);
          log(
            `${s}: lines in window: ${Object.entries(counts)
              .map(([k, v]) => `${k} ${v}`)
              .join(', ')}`,
          );
        }
      }
      if (process.env.IFBLAME_KERNEL_SAVE_RAW) {
        const dest = join(KERNEL_DIR, 'captures', ctx.runDir.split('/').pop()!);
        saveRawCapture(ctx.runDir, dest, scenarios, backends);
        log(`raw capture saved in ${dest}`);
      }
    } catch (e) {
      setupError = e as Error;
    } finally {
      if (ctx) writeFileSync(join(ctx.runDir, 'summary.txt'), ctx.timings.join('\n') + '\n');
    }
  },
  { timeout: 60 * 60_000 },
);

function need(): Ctx {
  if (setupError) throw setupError;
  assert.ok(ctx, 'harness did not set up');
  return ctx;
}

test('the guest booted, ran every scenario and powered off', { skip: SKIP }, () => {
  const c = need();
  if (c.boot) {
    assert.equal(c.boot.code, 0, `qemu/boot.sh exit ${c.boot.code}: ${c.boot.stderr.split('\n').slice(-15).join('\n')}`);
  }
  const kernel = readFileSync(join(c.outDir, 'uname.txt'), 'utf8');
  assert.match(kernel, / 6\.\d+\.\d+-\d+-amd64 .*Debian/, 'Debian stock kernel');
  for (const s of scenarios) {
    const dir = join(c.outDir, s);
    assert.ok(existsSync(join(dir, 'scenario.rc')), `${s}: did not finish (see ${dir}/scenario.log)`);
    assert.equal(readFileSync(join(dir, 'scenario.rc'), 'utf8').trim(), '0', `${s}: scenario script failed or timed out (see ${dir}/scenario.log)`);
    for (const st of readSteps(dir)) assert.ok((RC_OK[st.name] ?? [0]).includes(st.rc), `${s}: step ${st.name} (${st.cmd}) exit ${st.rc}`);
  }
});

// What the guest's sysfs says happened, independent of ifblame: if these fail the scenario is wrong, not the product.
test('the scenarios did on the guest what they are meant to (sysfs ground truth)', { skip: SKIP }, () => {
  const c = need();
  const at = (s: string) => readAatLog(join(c.outDir, s));
  const get = (s: string, step: string, ifc: string) => {
    const v = at(s).get(step)?.get(ifc);
    assert.ok(v, `${s}: no state of ${ifc} after ${step}`);
    return v;
  };
  if (scenarios.includes('a-bond-udev')) {
    assert.equal(get('a-bond-udev', 'a02_add_bond', 'bond0').aat, 3, 'a: udev set bond0 MAC (aat 3 SET)');
    const udevMac = get('a-bond-udev', 'a02_add_bond', 'bond0').mac;
    assert.equal(get('a-bond-udev', 'a03_enslave_ip', 'duma0').mac, udevMac, "a: slave took the bond's MAC");
    assert.equal(get('a-bond-udev', 'a04_release', 'bond0').aat, 1, 'a: release of the last slave -> RANDOM');
    assert.equal(get('a-bond-udev', 'a05_enslave_sysfs', 'bond0').mac, get('a-bond-udev', 'a01_add_dummy', 'duma0').mac, "a: bond inherited the slave's MAC");
  }
  if (scenarios.includes('b-bond-stock')) {
    assert.equal(get('b-bond-stock', 'b02_add_bond', 'bond0').aat, 1, 'b: stock: bond0 keeps a RANDOM MAC');
    assert.equal(get('b-bond-stock', 'b04_enslave', 'bond0').mac, get('b-bond-stock', 'b01_add_dummy', 'dumb0').mac, "b: bond inherited the slave's MAC");
  }
  if (scenarios.includes('c-bridge')) {
    assert.equal(get('c-bridge', 'c03_port_vb0', 'vb0').promisc, 1, 'c: port promiscuous');
    assert.equal(get('c-bridge', 'c10_port_da2_lower', 'brauto0').mac, '02:00:00:00:00:05', 'c: bridge follows lowest port');
    assert.equal(get('c-bridge', 'c11_da2_nomaster', 'brauto0').mac, '02:00:00:00:00:20', 'c: and back');
  }
  if (scenarios.includes('d-ip')) {
    assert.equal(get('d-ip', 'd02_set_mac', 'dd0').mac, '02:11:22:33:44:55');
    assert.equal(get('d-ip', 'd03_promisc_on', 'dd0').promisc, 1);
  }
  if (scenarios.includes('e-alb')) {
    const b1 = get('e-alb', 'e05_enslave_de2', 'de1').mac;
    const b2 = get('e-alb', 'e05_enslave_de2', 'de2').mac;
    assert.equal(get('e-alb', 'e08_wait', 'de1').mac, b2, 'e: failover swapped de1 <- de2 MAC');
    assert.equal(get('e-alb', 'e08_wait', 'de2').mac, b1, 'e: failover swapped de2 <- de1 MAC');
  }
});

for (const s of scenarios) {
  for (const b of backends) {
    test(`${s} / ${b}: program attaches, import builds the trace, the story holds`, { skip: SKIP }, async () => {
      const c = need();
      const g = c.generated.find((x) => x.backend === b);
      assert.ok(g?.ok, `no ${b} program: ${g?.error ?? 'not generated'}`);
      const dir = join(c.outDir, s);
      const bdir = join(dir, b);
      const stderr = existsSync(join(bdir, 'bt.stderr')) ? readFileSync(join(bdir, 'bt.stderr'), 'utf8') : '(no bt.stderr)';
      const ready = existsSync(join(bdir, 'ready.txt')) ? readFileSync(join(bdir, 'ready.txt'), 'utf8').trim() : 'never';
      assert.ok(!/FAILED|never/.test(ready), `bpftrace did not attach the ${b} program on ${s} (${ready}):\n${stderr}`);
      const errors = stderr.split('\n').filter((l) => /ERROR|error:|lost/i.test(l));
      assert.deepEqual(errors, [], `bpftrace ${b} stderr`);
      const tracePath = join(c.traceDir, `${s}-${b}.ndjson`);
      const programPath = join(c.runDir, 'in', 'programs', `${b}.bt`);
      const r = await importScenario(dir, b as KBackend, tracePath, programPath);
      assert.equal(r.code, 0, `ifblame import failed (${r.code}):\n${r.stderr}`);
      const trace = readTrace(tracePath);
      const kernel = readFileSync(join(dir, 'kernel.txt'), 'utf8').trim();
      STORIES[s]!({ trace, backend: b as StoryBackend, steps: readSteps(dir), kernel, program: readFileSync(programPath, 'utf8') });
      const dest = process.env.IFBLAME_KERNEL_RECORD;
      if (dest) log(`recorded ${recordTrace(tracePath, resolve(REPO, dest), `${s}-${b}`)}`);
    });
  }
}
