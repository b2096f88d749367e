// kfunc probes whose parameter names differ across kernels (dev_set_mac_address's `sa`, `ss` on 7.x) are left out,
// and said so, when `bpftrace -lv` could not read their names (it timed out on a slow VM): a guessed name would make
// bpftrace refuse the whole program ("Can't find function parameter sa").
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { KERNEL_PROBES } from '../src/probes/catalog.js';
import type { Capabilities } from '../src/probes/detect.js';
import { planProgram } from '../src/probes/plan.js';
import { parseFilters } from '../src/options.js';
import { fakeKernel } from './fixtures/capabilities.js';

/** A kfunc-capable kernel where every catalog function exists and `names` are what `bpftrace -lv` returned. */
function kernel(names: Record<string, string[]>): Capabilities {
  const funcs = KERNEL_PROBES.filter((p) => !p.module).map((p) => p.func);
  return fakeKernel(mkdtempSync(join(tmpdir(), 'ifb-plan-')), funcs, new Set(funcs), true, names);
}

const opts = { backend: 'kfunc' as const, filters: parseFilters([], []) };

test('names read: the program uses them (ss on 7.x), nothing dropped for it', async () => {
  const ss = ['dev', 'ss', 'extack'];
  const plan = await planProgram(opts, kernel({ dev_set_mac_address: ss, dev_set_mac_address_user: ss }));
  assert.ok(!plan.program.dropped.some((d) => d.probe.startsWith('dev_set_mac_address')), JSON.stringify(plan.program.dropped));
  assert.match(plan.program.text, /args->ss\b/);
  assert.doesNotMatch(plan.program.text, /args->sa\b/);
});

test('names not read: those probes are left out with the reason, the rest of the program stands', async () => {
  const plan = await planProgram(opts, kernel({ dev_set_mac_address: ['dev', 'ss', 'extack'] }));
  const drop = plan.program.dropped.find((d) => d.probe === 'dev_set_mac_address_user');
  assert.equal(drop?.reason, 'the parameter names of dev_set_mac_address_user could not be read (bpftrace -lv failed or timed out)');
  assert.ok(!plan.program.probes.includes('dev_set_mac_address_user'));
  assert.ok(plan.program.probes.includes('dev_set_mac_address') && plan.program.probes.includes('dev_addr_mod'));
  assert.doesNotMatch(plan.program.text, /args->sa\b/);
  assert.ok(plan.notes.some((n) => n.startsWith('probe dev_set_mac_address_user dropped: the parameter names')));
});
