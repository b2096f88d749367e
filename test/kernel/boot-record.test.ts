// Boot-time recording on real Debian kernels (issue 14, item 5): a per-run writable copy of the suite's image is booted
// twice. Boot 1 installs ifblame into /opt/ifblame, `ifblame service install` (enabled), a seed-001 bond in
// /etc/network/interfaces.d and Debian's 98-net-bonding.link masked. Boot 2: the unit was ready before networking
// started, its journal has the changes, `explain --boot` names udev's worker setting bond0's MAC before the enslave
// and the slave overwritten; `ifblame capture -- systemctl restart networking` shows who gave the recreated bond its
// MAC; then dum0 released and enslaved again shows the other outcome (the bond takes its slave's MAC), and
// `explain --boot` over the whole boot says why the two differ.
//
//   IFBLAME_KERNEL_LOCK=/run/lock/ifblame-qemu.lock IFBLAME_KERNEL_SUITES=bookworm node --test dist/test/kernel/boot-record.test.js
//   IFBLAME_KERNEL_RUN=test/kernel/cache/runs/<stamp>   re-check a previous run's outputs without booting
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { execFileSync } from 'node:child_process';
import { KERNEL_DIR, REPO, buildImage, newRunDir, prepareInput, run, type Suite } from './harness.js';
import { checkBootRecord } from './boot-record.js';

const SUITES: Suite[] = (process.env.IFBLAME_KERNEL_SUITES ?? 'bookworm,trixie').split(/[\s,]+/).filter((s): s is Suite => s === 'bookworm' || s === 'trixie');
const reuse = process.env.IFBLAME_KERNEL_RUN ? resolve(REPO, process.env.IFBLAME_KERNEL_RUN) : undefined;
const runRoot = reuse ?? newRunDir();

function log(line: string): void {
  process.stderr.write(`[boot-record] ${line}\n`);
}

/** The input disk of one phase: run.sh + lib.sh + boot-record.sh, ENV with BOOT_RECORD; ifblame itself for phase 1. */
function input(dir: string, phase: 1 | 2): void {
  prepareInput(dir, [], [], { BOOT_RECORD: String(phase) }, phase === 1);
  copyFileSync(join(KERNEL_DIR, 'guest', 'boot-record.sh'), join(dir, 'boot-record.sh'));
}

/**
 * Both boots of one suite on a sparse copy of its image (removed afterwards), back to back under one hold of
 * IFBLAME_KERNEL_LOCK: another checkout's boot never runs between them.
 */
async function bootTwice(suite: Suite, base: string): Promise<void> {
  const image = await buildImage(suite);
  mkdirSync(base, { recursive: true });
  const rootfs = join(base, 'rootfs.img');
  execFileSync('cp', ['--sparse=always', join(image.dir, 'rootfs.img'), rootfs]);
  try {
    input(join(base, 'in1'), 1);
    input(join(base, 'in2'), 2);
    const boot = join(KERNEL_DIR, 'boot.sh');
    const both = `"${boot}" "$1" "$2/in1" "$2/out1" && "${boot}" "$1" "$2/in2" "$2/out2"`;
    const lock = process.env.IFBLAME_KERNEL_LOCK;
    const { IFBLAME_KERNEL_LOCK: _held, ...env } = process.env;
    const r = await run(lock ? 'flock' : 'bash', [...(lock ? [lock, 'bash'] : []), '-c', both, 'boot-twice', image.dir, base], {
      env: { ...env, BOOT_TIMEOUT: '1200', BOOT_VERBOSE: '1', BOOT_ROOTFS: rootfs },
      timeoutMs: lock ? undefined : 2 * 1260 * 1000,
      echo: !!process.env.IFBLAME_KERNEL_VERBOSE,
    });
    log(`${suite}: both boots ${(r.ms / 1000).toFixed(0)} s (with the wait for the lock); ${r.stderr.match(/wall=[\d.]+ s/g)?.join(', ') ?? ''}`);
    assert.equal(r.code, 0, `${suite} boots failed: ${r.stderr.split('\n').slice(-8).join('\n')}`);
  } finally {
    rmSync(rootfs, { force: true });
  }
}

for (const suite of SUITES) {
  describe(`boot-time recording on ${suite}`, () => {
    const base = join(runRoot, 'boot-record', suite);
    test('two boots: install and enable the unit, then what it recorded', { timeout: 60 * 60_000 }, async () => {
      if (!reuse || !existsSync(join(base, 'out2'))) await bootTwice(suite, base);
      const out1 = join(base, 'out1', 'boot-record');
      assert.equal(readFileSync(join(out1, 'install.rc'), 'utf8').trim(), '0', readFileSync(join(out1, 'install.txt'), 'utf8'));
      checkBootRecord(join(base, 'out2', 'boot-record'), log);
    });
  });
}
