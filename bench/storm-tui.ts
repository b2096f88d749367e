// The TUI under the live storm (`npm run bench`): `ifblame live` in a tmux terminal traces N MAC changes made with
// `ip -batch` in a throw-away namespace while keys are pressed; each key's latency is the time from `tmux send-keys`
// until the screen shows its effect (the help overlay opening or closing). Baseline: the same keys with no storm,
// measured first in the same run. Target: every key answered in under 200 ms during the storm.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tmux } from '../test/fixtures/tui/tmux.js';
import { countTrace, stormBatch } from './storm.js';

export interface TuiStormResult {
  /** Key latencies (ms) with the TUI idle, then during the storm. */
  idleMs: number[];
  stormMs: number[];
  /** Changes the TUI's own recording holds for the storm's interface (every one made is expected). */
  inTrace: number;
  lost: number;
}

const HELP = /help \(Esc closes\)/;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Presses `?` and waits until the help overlay is shown (open) or gone (close): the key's latency in ms. */
async function toggleHelp(t: Tmux, open: boolean, timeoutMs = 5_000): Promise<number> {
  const t0 = performance.now();
  t.keys('?');
  while (performance.now() - t0 < timeoutMs) {
    if (HELP.test(t.screen()) === open) return performance.now() - t0;
    await sleep(2);
  }
  return timeoutMs;
}

/** Runs `ifblame live` through the storm; the namespace, the terminal and the files are removed whatever happens. */
export async function runTuiStorm(cli: string, n: number): Promise<TuiStormResult> {
  const ns = `ifb-tstorm-${process.pid}`;
  const dir = mkdtempSync(join(tmpdir(), 'ifblame-tui-storm-'));
  const trace = join(dir, 'tui.trace');
  let t: Tmux | undefined;
  try {
    spawnSync('ip', ['netns', 'add', ns]);
    spawnSync('ip', ['-n', ns, 'link', 'add', 'st0', 'type', 'veth', 'peer', 'name', 'st1']);
    const batch = join(dir, 'batch');
    writeFileSync(batch, stormBatch(n));
    t = new Tmux(dir, 160, 48, { TERM: 'xterm-256color' });
    t.type(`${process.execPath} ${cli} live --backend syscalls --netns ${ns} --record ${trace}; echo EXIT=$?`);
    await t.waitFor(/syscalls \| probes \d+/, 120_000);
    const idleMs: number[] = [];
    for (let i = 0; i < 5; i++) {
      idleMs.push(await toggleHelp(t, true), await toggleHelp(t, false));
      await sleep(100);
    }
    const storm = spawn('ip', ['-n', ns, '-batch', batch], { stdio: 'ignore' });
    let running = true;
    storm.on('close', () => (running = false));
    const stormMs: number[] = [];
    while (running) {
      stormMs.push(await toggleHelp(t, true), await toggleHelp(t, false));
      await sleep(50);
    }
    await sleep(2_000); // let the TUI drain what the storm left in the pipes
    t.keys('q');
    await t.waitFor(/EXIT=\d+/, 60_000);
    return { idleMs, stormMs, ...countTrace(trace) };
  } finally {
    t?.kill();
    spawnSync('ip', ['netns', 'del', ns]);
    rmSync(dir, { recursive: true, force: true });
  }
}
