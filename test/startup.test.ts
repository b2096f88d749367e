// The text paths (capture, replay --format text|ndjson, explain, script, doctor) never load the terminal UI:
// every module the process resolves is logged by a loader hook, and blessed must not be among them.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { execa } from 'execa';
import { ROOT } from './golden.js';

const BIN = `${ROOT}bin/ifblame.js`;
const RECORDING = `${ROOT}recordings/kernel-a-bond-udev-kfunc.ndjson`;
const dir = mkdtempSync(join(tmpdir(), 'ifblame-startup-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// A resolve hook (run in the loader thread) appends every resolved URL to $IFBLAME_LOAD_LOG.
writeFileSync(join(dir, 'hooks.mjs'), `import { appendFileSync } from 'node:fs';
export async function resolve(spec, ctx, next) { const r = await next(spec, ctx); appendFileSync(process.env.IFBLAME_LOAD_LOG, r.url + '\\n'); return r; }
`);
writeFileSync(join(dir, 'register.mjs'), `import { register } from 'node:module'; register('./hooks.mjs', import.meta.url);\n`);

/** Runs node with the hook; returns the resolved URLs and the result. */
async function loads(name: string, args: string[]): Promise<{ urls: string[]; exitCode: number | undefined }> {
  const log = join(dir, `${name}.log`);
  const r = await execa('node', ['--import', join(dir, 'register.mjs'), ...args], { reject: false, timeout: 120_000, env: { IFBLAME_LOAD_LOG: log, LANG: 'C.UTF-8' } });
  return { urls: existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : [], exitCode: r.exitCode };
}

const blessed = (urls: string[]) => urls.filter((u) => /\/node_modules\/blessed(-contrib)?\//.test(u) || /\/sinks\/tui\//.test(u));

test('the hook sees blessed when the TUI is loaded (the check can fail)', async () => {
  const r = await loads('tui', ['-e', `import(${JSON.stringify(`${ROOT}dist/src/sinks/tui/app.js`)})`]);
  assert.ok(blessed(r.urls).length > 0, 'loading the TUI must show blessed in the log');
});

for (const [name, args] of [
  ['replay-text', ['replay', RECORDING, '--format', 'text']],
  ['replay-ndjson', ['replay', RECORDING, '--format', 'ndjson']],
  ['explain', ['explain', RECORDING]],
  ['script', ['script', '--all', '--backend', 'kprobe']],
  ['doctor', ['doctor']],
  ['capture', ['capture', '--backend', 'syscalls', '--duration', '1s', '--format', 'json']],
] as const) {
  test(`\`ifblame ${name}\` runs without loading blessed or the TUI`, async () => {
    const r = await loads(name, [BIN, ...args]);
    assert.ok(r.urls.some((u) => u.includes('/dist/src/cli.js')), 'the hook logged the CLI itself');
    assert.ok(r.exitCode === 0 || r.exitCode === 1, `${name} exited ${r.exitCode}`);
    assert.deepEqual(blessed(r.urls), []);
  });
}
