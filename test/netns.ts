// Tests that touch the network do it in a throwaway network namespace, so nothing leaves the machine or lingers.
//
// Usage (node:test):
//   let ns: Netns;
//   before(async () => { ns = await createNetns('ifb'); });
//   after(async () => { await ns?.remove(); });
//   await ns.ip('link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v0p');   // = ip -n NAME link add ...
//   const { stdout } = await ns.exec(['cat', '/sys/class/net/v0/address']);   // = ip netns exec NAME cat ...
// Needs root and iproute2. Namespaces still present at process exit are deleted by an exit hook.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';

export interface Netns {
  /** `<prefix>-<8 hex>`, e.g. `ifb-1a2b3c4d`. */
  readonly name: string;
  /** Runs argv inside the namespace (`ip netns exec NAME ...argv`); rejects with stderr on non-zero exit or timeout. */
  exec(argv: string[], opts?: { timeoutMs?: number }): Promise<{ stdout: string; stderr: string }>;
  /** `ip -n NAME ...args`; rejects like exec. */
  ip(...args: string[]): Promise<{ stdout: string; stderr: string }>;
  /** pids of processes still running inside the namespace (`ip netns pids NAME`). */
  pids(): Promise<number[]>;
  /** Deletes the namespace; safe to call twice; never rejects. */
  remove(): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const live = new Set<string>();
let hooked = false;

/** Creates `ip netns add <prefix>-<random>` (prefix: letters, digits, '-', '_'; default `ifb`). */
export async function createNetns(prefix = 'ifb'): Promise<Netns> {
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(prefix)) throw new Error(`bad netns prefix ${JSON.stringify(prefix)}`);
  const name = `${prefix}-${randomBytes(4).toString('hex')}`;
  await run(['ip', 'netns', 'add', name], DEFAULT_TIMEOUT_MS);
  live.add(name);
  hookExit();
  return {
    name,
    exec: (argv, opts) => run(['ip', 'netns', 'exec', name, ...argv], opts?.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    ip: (...args) => run(['ip', '-n', name, ...args], DEFAULT_TIMEOUT_MS),
    pids: async () => {
      const r = await execa('ip', ['netns', 'pids', name], { reject: false, timeout: DEFAULT_TIMEOUT_MS });
      return String(r.stdout ?? '')
        .split(/\s+/)
        .filter((p) => /^\d+$/.test(p))
        .map(Number);
    },
    remove: async () => {
      if (!live.delete(name)) return;
      await execa('ip', ['netns', 'del', name], { reject: false, timeout: DEFAULT_TIMEOUT_MS });
    },
  };
}

async function run(argv: string[], timeout: number): Promise<{ stdout: string; stderr: string }> {
  const [file = 'ip', ...args] = argv;
  const r = await execa(file, args, { reject: false, timeout, stdin: 'ignore' });
  const stdout = String(r.stdout ?? '');
  const stderr = String(r.stderr ?? '');
  if (r.failed) throw new Error(`${argv.join(' ')}: ${r.shortMessage}${stderr ? `\n${stderr}` : ''}`);
  return { stdout, stderr };
}

/** Last resort when a test forgot remove() or crashed: delete what is left, synchronously. */
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const name of live) {
      try {
        execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore', timeout: 5000 });
      } catch {
        // nothing more we can do at exit
      }
    }
  });
}
