// Live tracing: snapshot -> ip monitor + bpftrace -> decode -> correlate -> every listener and the recorder, as a Feed.
import { statSync } from 'node:fs';
import { hostname } from 'node:os';
import { EXIT, IfblameError } from '../errors.js';
import { FORMAT_NAME, SCHEMA_VERSION, type TraceHeader } from '../trace/format.js';
import type { LinkEvent, LinkState, ProbeEvent, TraceEvent } from '../events.js';
import type { BackendChoice, Filters } from '../options.js';
import { planProgram } from '../probes/plan.js';
import { actorOf, ProcessInfo } from '../correlate/actor.js';
import { Correlator } from '../correlate/correlator.js';
import type { Decoded } from '../parse/bpftrace-json.js';
import { BpftraceSource } from '../sources/bpftrace.js';
import { guardPrefix } from '../sources/guard.js';
import { liveMonoToWallUs } from '../sources/bpftrace.js';
import { startIpMonitor, type IpMonitorSource } from '../sources/ip-monitor.js';
import { takeSnapshot } from '../sources/snapshot.js';
import { createRecorder, type Recorder } from '../trace/writer.js';
import { VERSION } from '../version.js';
import type { Feed, FeedStats, IfaceState } from './feed.js';
import { matchesFilters } from '../correlate/filter.js';

export interface LiveOptions {
  backend: BackendChoice;
  filters: Filters;
  record?: string;
  /** Watch the links of this network namespace (ip monitor and snapshot run there; bpftrace sees every namespace). */
  netns?: string;
}

export interface RecordControls {
  start(path: string): Promise<void>;
  stop(): Promise<void>;
  readonly path: string | null;
  readonly bytes: number;
}

export interface LiveFeed extends Feed {
  readonly record: RecordControls;
  /** Why tracing ended on its own (bpftrace died), when it did. */
  readonly failure: string | null;
  readonly attachedProbes: number;
}

/** Reorder window: netlink and bpftrace arrive on different pipes; process both in time order. */
const WINDOW_US = 300_000;

export async function createLiveFeed(opts: LiveOptions): Promise<LiveFeed> {
  const { program, caps, notes } = await planProgram({ backend: opts.backend, filters: opts.filters });
  if (caps && !caps.backends.find((b) => b.backend === program.backend)?.ok) {
    const why = caps.backends.find((b) => b.backend === program.backend)?.reason ?? 'unavailable';
    throw new IfblameError(`the ${program.backend} backend cannot attach here: ${why}`, 'run `ifblame doctor`, or use --backend auto', EXIT.tracing);
  }
  const snap = await takeSnapshot({ ...(opts.netns ? { netns: opts.netns } : {}) }).catch((e: Error) => {
    throw new IfblameError(`cannot read the interfaces: ${e.message.split('\n')[0]}`, 'is iproute2 installed (`ip`)?', EXIT.tracing);
  });
  const header: TraceHeader = {
    format: FORMAT_NAME,
    version: SCHEMA_VERSION,
    createdAt: new Date().toISOString(),
    host: hostname(),
    kernel: caps?.kernel ?? 'unknown',
    bpftraceVersion: caps?.bpftrace?.version ?? null,
    backend: program.backend,
    program: program.text,
    probes: { used: program.probes, dropped: program.dropped },
    filters: opts.filters,
    snapshot: snap.links,
    tool: `ifblame ${VERSION}`,
    clock: { monoToWallUs: liveMonoToWallUs() },
    netns: netnsInode(opts.netns),
  };
  return new LiveFeedImpl(opts, header, program.text, notes);
}

/** The inode that names a network namespace, as bpftrace's `net_ns->ns.inum` reports it. */
function netnsInode(name?: string): number {
  try {
    return statSync(name ? `/run/netns/${name}` : '/proc/self/ns/net').ino;
  } catch {
    throw new IfblameError(`network namespace ${name} not found`, 'see `ip netns list`', EXIT.usage);
  }
}

class LiveFeedImpl implements LiveFeed {
  readonly mode = 'live' as const;
  private readonly listeners: ((ev: TraceEvent) => void)[] = [];
  private readonly resetListeners: (() => void)[] = [];
  private readonly correlator: Correlator;
  private readonly procInfo = new ProcessInfo();
  private bpftrace: BpftraceSource | null = null;
  private ipmon: IpMonitorSource | null = null;
  private recorder: Recorder | null = null;
  private timer: NodeJS.Timeout | null = null;
  private seq = 0;
  private counts: FeedStats = { events: 0, lost: 0, badLines: 0 };
  private stopped = false;
  private resolveDone!: () => void;
  readonly done: Promise<void>;
  failure: string | null = null;

  constructor(
    private readonly opts: LiveOptions,
    readonly header: TraceHeader,
    private readonly program: string,
    private readonly notes: string[],
  ) {
    this.correlator = new Correlator(header.snapshot, { windowUs: WINDOW_US, procInfo: this.procInfo, ...(header.netns !== undefined ? { netns: header.netns } : {}) });
    this.done = new Promise((r) => (this.resolveDone = r));
  }

  get attachedProbes(): number {
    return this.bpftrace?.attached ?? 0;
  }

  onEvent(l: (ev: TraceEvent) => void): void {
    this.listeners.push(l);
  }

  onReset(l: () => void): void {
    this.resetListeners.push(l);
  }

  state(): IfaceState[] {
    return this.correlator.state();
  }

  stats(): FeedStats {
    return { ...this.counts };
  }

  readonly record: RecordControls = this.recordControls();

  private recordControls(): RecordControls {
    const feed = this;
    return {
    start: async (path: string) => {
      feed.recorder?.close();
      const snapshot: LinkState[] = feed.correlator.state().filter((s) => !s.deleted).map((s) => ({
        ifindex: s.ifindex,
        ifname: s.name,
        flags: s.flags,
        master: s.master ?? null,
        ...(s.addr !== undefined ? { addr: s.addr } : {}),
        ...(s.permAddr !== undefined ? { permAddr: s.permAddr } : {}),
        ...(s.aat !== undefined ? { addrAssignType: s.aat } : {}),
        ...(s.promiscuity !== undefined ? { promiscuity: s.promiscuity } : {}),
        ...(s.kind !== undefined ? { kind: s.kind } : {}),
      }));
      feed.recorder = createRecorder(path, { ...feed.header, createdAt: new Date().toISOString(), snapshot });
    },
    stop: async () => {
      feed.recorder?.close();
      feed.recorder = null;
    },
    get path(): string | null {
      return feed.recorder?.path ?? null;
    },
    get bytes(): number {
      return feed.recorder?.bytes ?? 0;
    },
    };
  }

  /** Assign a sequence number, record, then hand to every listener. */
  private emit(ev: TraceEvent): void {
    ev.seq = this.seq++;
    this.counts.events++;
    this.recorder?.write(ev);
    for (const l of this.listeners) l(ev);
  }

  private emitDerived(evs: TraceEvent[]): void {
    for (const ev of evs) {
      if (ev.type === 'change' && !matchesFilters(ev, this.opts.filters)) continue;
      this.emit(ev);
    }
  }

  private note(level: 'info' | 'warn' | 'error', source: string, message: string): void {
    this.emit({ type: 'note', ts: Date.now() * 1000, level, source, message });
  }

  private raw(ev: ProbeEvent | LinkEvent): void {
    this.emit(ev);
    this.emitDerived(this.correlator.push(ev));
  }

  private onDecoded(d: Decoded, line: number): void {
    switch (d.kind) {
      case 'event':
        // Enrich while the process still exists: short-lived `ip` is gone a moment later.
        d.event.actor = actorOf(d.event, this.procInfo);
        this.raw(d.event);
        return;
      case 'lost':
        this.counts.lost += d.count;
        this.emit({ type: 'lost', ts: Date.now() * 1000, source: 'bpftrace', count: d.count, detail: 'bpftrace perf buffer overflow' });
        return;
      case 'error':
        this.counts.badLines++;
        this.emit({ type: 'lost', ts: Date.now() * 1000, source: 'parser', count: 1, detail: `bpftrace output line ${line}: ${d.message}` });
        return;
      case 'cols':
        if (d.mismatch) this.note('warn', 'bpftrace', `program output differs from this ifblame: ${d.mismatch}`);
        return;
      default:
        return;
    }
  }

  async start(): Promise<void> {
    if (this.opts.record) await this.record.start(this.opts.record);
    for (const n of this.notes) this.note(n.includes('dropped') ? 'warn' : 'info', 'probes', n);
    this.ipmon = startIpMonitor({
      ...(this.opts.netns ? { netns: this.opts.netns } : {}),
      wrap: guardPrefix(),
      onEvent: (ev) => this.raw(ev),
      onBadLine: (err) => {
        this.counts.badLines++;
        this.emit({ type: 'lost', ts: Date.now() * 1000, source: 'parser', count: 1, detail: `ip monitor line ${err.line}: ${err.error}` });
      },
      onLost: (detail) => {
        this.counts.lost++;
        this.emit({ type: 'lost', ts: Date.now() * 1000, source: 'netlink', count: 1, detail });
      },
    });
    const how = await this.ipmon.ready;
    // stop() may have been called while we waited: start nothing more, and make sure ip goes.
    if (this.stopped) {
      await this.ipmon.stop();
      return;
    }
    if (how.how === 'exited') {
      const exit = await this.ipmon.done;
      throw new IfblameError(`ip monitor exited at once: ${exit.stderr.trim().split('\n').pop() ?? ''}`, 'is iproute2 installed, and the namespace there?', EXIT.tracing);
    }
    this.bpftrace = new BpftraceSource({
      program: this.program,
      backend: this.header.backend,
      onDecoded: (d, line) => this.onDecoded(d, line),
      onStderr: (line) => {
        if (/WARNING/.test(line)) this.note('warn', 'bpftrace', line.replace(/^.*WARNING:\s*/, ''));
      },
      readyTimeoutMs: Number(process.env.IFBLAME_READY_TIMEOUT ?? 0) * 1000 || 120_000,
    });
    try {
      await this.bpftrace.start();
    } catch (e) {
      await this.ipmon.stop();
      if (this.stopped) return; // stopped while attaching: not a failure
      throw e;
    }
    if (this.stopped) {
      await Promise.all([this.bpftrace.stop(), this.ipmon.stop()]);
      return;
    }
    this.timer = setInterval(() => this.emitDerived(this.correlator.advance(Date.now() * 1000 - WINDOW_US)), 100);
    void this.bpftrace.exited.then((why) => {
      if (why && !this.stopped) {
        this.failure = why;
        this.note('error', 'bpftrace', why);
        void this.stop();
      }
    });
    void this.ipmon.done.then((exit) => {
      if (!exit.stopped && !this.stopped) this.note('error', 'netlink', `ip monitor exited (${exit.exitCode ?? exit.signal}): ${exit.stderr.trim().split('\n').pop() ?? ''}`);
    });
  }

  async stop(): Promise<void> {
    if (this.stopped) return this.done;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await Promise.all([this.bpftrace?.stop(), this.ipmon?.stop()]);
    this.emitDerived(this.correlator.flush());
    this.recorder?.close();
    this.resolveDone();
  }
}
