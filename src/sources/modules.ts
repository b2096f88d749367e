// Kernel modules loaded or unloaded while tracing, seen by polling /sys/module: the probes of a module loaded later
// (bonding by the first `ip link add type bond`, team, bridge) are attached then.
import { readFileSync } from 'node:fs';

export interface ModuleWatchOptions {
  /** Modules to watch (the ones the catalog has probes for that were not loaded at start). */
  modules: string[];
  /** Where the kernel lists its modules; a test gives a directory of its own. */
  root?: string;
  /** Polling period (ms): small beside the seconds an attach takes. */
  intervalMs?: number;
  /** The module is live (its init finished): `at` is when it was seen (wall µs). */
  onLoad: (module: string, at: number) => void;
  /** The module is gone. */
  onUnload: (module: string, at: number) => void;
}

/**
 * `/sys/module/NAME/initstate` is `coming` while the module's init runs and `live` after: probes are attached only
 * to a live module (its functions are all there, and a bond or team can exist).  Built-in code has no initstate:
 * its probes were in the program from the start.
 */
export function moduleLive(root: string, module: string): boolean {
  try {
    return readFileSync(`${root}/${module}/initstate`, 'utf8').trim() === 'live';
  } catch {
    return false;
  }
}

export class ModuleWatcher {
  private readonly loaded = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private readonly root: string;

  constructor(private readonly opts: ModuleWatchOptions) {
    this.root = opts.root ?? '/sys/module';
  }

  /** Starts polling; a module already live now is reported at once. */
  start(): void {
    if (this.timer || !this.opts.modules.length) return;
    this.poll();
    this.timer = setInterval(() => this.poll(), this.opts.intervalMs ?? 200);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One look at every watched module: report what appeared and what went since the last look. */
  poll(): void {
    const at = Date.now() * 1000;
    for (const m of this.opts.modules) {
      const live = moduleLive(this.root, m);
      if (live && !this.loaded.has(m)) {
        this.loaded.add(m);
        this.opts.onLoad(m, at);
      } else if (!live && this.loaded.has(m)) {
        this.loaded.delete(m);
        this.opts.onUnload(m, at);
      }
    }
  }
}
