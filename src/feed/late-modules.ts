// Probes of a module loaded after tracing started: a second bpftrace for that module's probes, started at once and
// merged into the same pipeline as a source of its own (same clock, same field lists); the module's unload stops it.
import type { Backend } from '../events.js';
import { clockText } from '../format/values.js';
import type { Filters } from '../options.js';
import type { Decoded } from '../parse/bpftrace-json.js';
import { KERNEL_PROBES } from '../probes/catalog.js';
import { redetectModule, resolveProbes, type Capabilities } from '../probes/detect.js';
import { generate } from '../probes/generate.js';
import { possibleCpus } from '../probes/plan.js';
import { BpftraceSource } from '../sources/bpftrace.js';
import { ModuleWatcher } from '../sources/modules.js';
import { VERSION } from '../version.js';
import type { LateProbes } from './feed.js';
import type { Pipeline } from './pipeline.js';

export interface LateModulesOptions {
  pipeline: Pipeline;
  caps: Capabilities;
  backend: Backend;
  filters: Filters;
  /** Modules whose probes wait for them (detection dropped them as not loaded). */
  modules: string[];
  /** How a decoded line of a bpftrace source enters the pipeline as source `src` (shared with the main program). */
  onDecoded: (d: Decoded, line: number, src: number) => void;
  readyTimeoutMs: number;
  /** Tests: another /sys/module, and how the module's program is run. */
  moduleRoot?: string;
  intervalMs?: number;
  startSource?: (program: string, onDecoded: (d: Decoded, line: number) => void, created: (s: LateSource) => void) => Promise<LateSource>;
}

/** What the feed needs of a running bpftrace. */
export interface LateSource {
  readonly attached: number;
  readonly exited: Promise<string | null>;
  stop(): Promise<void>;
}

interface Running {
  entry: LateProbes;
  source: LateSource | null;
  src: number | null;
  /** Lines that came before BEGIN's clock line (probes fire as soon as they are attached). */
  early: [Decoded, number][];
  attaching: Promise<void>;
  gone: boolean;
}

const ADDED = 'probes added for module';

/** A trace file's note saying probes were added (its time is when they cover from): module and probe ids, else null. */
export function parseProbesAdded(message: string): { module: string; probes: string[] } | null {
  const m = new RegExp(`^${ADDED} (\\S+): (.*?); they cover from `).exec(message);
  return m ? { module: m[1]!, probes: m[2]!.split(', ').map((p) => p.split(' ')[0]!) } : null;
}

/** Probes fire between attach and BEGIN: the new source's watermark starts this much before its clock line. */
const START_SLACK_US = 50_000;

export class LateModules {
  private readonly running = new Map<string, Running>();
  private readonly history: LateProbes[] = [];
  private readonly watcher: ModuleWatcher;
  private stopped = false;

  constructor(private readonly opts: LateModulesOptions) {
    this.watcher = new ModuleWatcher({
      modules: opts.modules,
      ...(opts.moduleRoot ? { root: opts.moduleRoot } : {}),
      ...(opts.intervalMs ? { intervalMs: opts.intervalMs } : {}),
      onLoad: (m, at) => this.load(m, at),
      onUnload: (m, at) => void this.unload(m, at),
    });
  }

  start(): void {
    this.note('info', `watching for modules ${this.opts.modules.join(', ')} (/sys/module): their probes are attached when they load`);
    this.watcher.start();
  }

  /** Every late attachment so far (the status line, the summary). */
  list(): readonly LateProbes[] {
    return this.history;
  }

  /** Probes attached by the late sources now running. */
  get attached(): number {
    let n = 0;
    for (const r of this.running.values()) n += r.source?.attached ?? 0;
    return n;
  }

  /** Stops watching and every late bpftrace (the feed is stopping): none outlives it. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.watcher.stop();
    // A bpftrace still attaching is stopped too (its start then fails quietly): stopping never waits for an attach.
    await Promise.all([...this.running.values()].map(async (r) => (await r.source?.stop(), await r.attaching.catch(() => undefined), r.source?.stop())));
  }

  private note(level: 'info' | 'warn', message: string, ts?: number): void {
    this.opts.pipeline.note(level, 'probes', message, ts);
  }

  private load(module: string, at: number): void {
    if (this.stopped) return;
    const entry: LateProbes = { module, probes: [], points: {}, loadedAt: at, from: null };
    this.history.push(entry);
    this.note(
      'info',
      `module ${module} loaded (seen at ${clockText(at)}): attaching its probes; until then, what only they see (its enslavements and releases) comes from netlink alone, inferred`,
      at,
    );
    const r: Running = { entry, source: null, src: null, early: [], attaching: Promise.resolve(), gone: false };
    this.running.set(module, r);
    r.attaching = this.attach(r).catch((e: Error) => {
      if (this.stopped || r.gone) return; // stopped while attaching: not a failure
      entry.failure = e.message.split('\n')[0]!;
      this.note('warn', `probes for module ${module} could not be attached: ${entry.failure}; what only they see stays inferred from netlink`);
      this.running.delete(module);
    });
  }

  private async attach(r: Running): Promise<void> {
    const { module } = r.entry;
    const caps = await redetectModule(this.opts.caps, module);
    const own = KERNEL_PROBES.filter((p) => p.module === module);
    const { dropped, points } = await resolveProbes(this.opts.backend, caps, own, this.opts.moduleRoot);
    const ids = own.filter((p) => !dropped.some((d) => d.probe === p.id)).map((p) => p.id);
    for (const d of dropped) this.note('warn', `probe ${d.probe} dropped: ${d.reason}`);
    if (!ids.length) throw new Error(`none of its probes is traceable on this kernel`);
    if (this.stopped || r.gone) return;
    const program = generate({
      backend: this.opts.backend,
      filters: this.opts.filters,
      dropped,
      paramNames: caps.paramNames,
      attachAt: points,
      only: ids,
      version: VERSION,
      cpus: possibleCpus(),
    });
    r.entry.probes = program.probes;
    r.entry.points = program.points;
    const onDecoded = (d: Decoded, line: number) => this.decoded(r, d, line);
    const start = this.opts.startSource ?? ((text, cb, created) => startBpftrace(text, this.opts.backend, cb, created, this.opts.readyTimeoutMs));
    r.source = await start(program.text, onDecoded, (s) => (r.source = s));
    if (this.stopped || r.gone) return void (await r.source.stop());
    const at = r.entry.from ?? Date.now() * 1000;
    const where = program.probes.map((id) => (program.points[id] ? `${id} (at ${program.points[id]})` : id)).join(', ');
    this.note(
      'info',
      `${ADDED} ${module}: ${where}; they cover from ${clockText(at)} (between its load at ${clockText(r.entry.loadedAt)} and then, what only they see came from netlink alone, inferred)`,
      at,
    );
    void r.source.exited.then((why) => {
      if (why && !this.stopped && !r.gone) {
        this.note('warn', `probes for module ${module} stopped: ${why}`);
        this.detach(r, Date.now() * 1000);
      }
    });
  }

  /** A line of a late bpftrace: held until its clock line gives the source its start, then into the merge as it comes. */
  private decoded(r: Running, d: Decoded, line: number): void {
    if (r.src === null && d.kind === 'clock') {
      const from = this.opts.pipeline.header.clock ? this.clockUs(d.mono) : Date.now() * 1000;
      r.entry.from = from;
      r.src = this.opts.pipeline.addSource(from - START_SLACK_US, 0);
      for (const [e, n] of r.early.splice(0)) this.opts.onDecoded(e, n, r.src);
    }
    if (r.src === null) r.early.push([d, line]);
    else this.opts.onDecoded(d, line, r.src);
  }

  /** bpftrace's nsecs (CLOCK_MONOTONIC) as wall µs, by the session's clock. */
  private clockUs(monoNs: number): number {
    return Math.round(this.opts.pipeline.header.clock!.monoToWallUs + monoNs / 1000);
  }

  /** Its source leaves the merge (what it sent stays in order); lines still in its pipe go in under no watermark. */
  private detach(r: Running, at: number): void {
    r.gone = true;
    r.entry.until = at;
    if (r.src !== null) this.opts.pipeline.removeSource(r.src);
    this.running.delete(r.entry.module);
  }

  private async unload(module: string, at: number): Promise<void> {
    const r = this.running.get(module);
    if (!r) return;
    r.gone = true;
    // bpftrace first (its END flushes what is buffered), then its source leaves the merge.
    await r.attaching.catch(() => undefined);
    await r.source?.stop();
    this.detach(r, at);
    this.note('info', `module ${module} unloaded (seen at ${clockText(at)}): its probes are detached`, at);
  }
}

/** The real runner: bpftrace under the parent-death guard, resolved once BEGIN ran. */
async function startBpftrace(
  program: string,
  backend: Backend,
  onDecoded: (d: Decoded, line: number) => void,
  created: (s: LateSource) => void,
  readyTimeoutMs: number,
): Promise<LateSource> {
  const source = new BpftraceSource({ program, backend, onDecoded, readyTimeoutMs });
  created(source);
  await source.start();
  return source;
}
