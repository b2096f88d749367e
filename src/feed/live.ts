// Live tracing: snapshot -> ip monitor + bpftrace -> decode -> correlate -> every listener and the recorder, as a Feed.
import { statSync } from 'node:fs';
import { hostname } from 'node:os';
import { actorOf, ProcessInfo } from '../correlate/actor.js';
import { NetnsNames } from '../correlate/netns.js';
import { EXIT, IfblameError } from '../errors.js';
import type { BackendChoice, Filters } from '../options.js';
import type { Decoded } from '../parse/bpftrace-json.js';
import { planProgram } from '../probes/plan.js';
import { BpftraceSource, liveMonoToWallUs } from '../sources/bpftrace.js';
import { guardPrefix } from '../sources/guard.js';
import { startIpMonitor, type IpMonitorSource } from '../sources/ip-monitor.js';
import { takeSnapshot } from '../sources/snapshot.js';
import { buildHeader, type TraceHeader } from '../trace/format.js';
import { VERSION } from '../version.js';
import type { TraceEvent } from '../events.js';
import type { Capabilities } from '../probes/detect.js';
import type { Feed, FeedStats, IfaceState, LateProbes, RecordControls } from './feed.js';
import { HeartbeatGate } from './heartbeat-gate.js';
import { lateNote, MAX_WAIT_US } from './late.js';
import { LateModules } from './late-modules.js';
import { Pipeline } from './pipeline.js';
import { createRotatingRecorder, type RotateLimits } from '../trace/rotate.js';

export interface LiveOptions {
  backend: BackendChoice;
  filters: Filters;
  record?: string;
  /** Watch the links of this network namespace (ip monitor and snapshot run there; bpftrace sees every namespace). */
  netns?: string;
  /** Record into a directory of rotated files (`ifblame record`), each with its header and late count. */
  recordDir?: { dir: string; boot: string; limits: RotateLimits; onRotate?: (path: string) => void };
}

export interface LiveFeed extends Feed {
  readonly record: RecordControls;
  /**
   * Resolves once bpftrace's output has caught up with `untilUs` (its heartbeat passed it) and nothing waits in the
   * merge, or after `timeoutMs`: stopping then loses nothing still in the perf buffers after a storm.
   */
  catchUp(untilUs: number, timeoutMs: number): Promise<boolean>;
}

/** The merge's sources: bpftrace first (a probe fires before netlink reports what it did). */
const BPFTRACE = 0;
const NETLINK = 1;

/**
 * A heartbeat vouches for events older than itself by this much: an event can take its time on one CPU just before
 * the heartbeat and store it just after the heartbeat read that CPU's last (HEARTBEAT_SLACK_US), or a heartbeat
 * vouches by nothing but its order of reading (a program of an older ifblame: OLD_HEARTBEAT_SLACK_US). The bounded
 * wait: a netlink message waits at most MAX_WAIT_US for bpftrace's output to pass it, then goes on and is counted
 * as late.
 */
const HEARTBEAT_SLACK_US = 5_000;
const OLD_HEARTBEAT_SLACK_US = 50_000;
const NETLINK_SLACK_US = 50_000;
/** Caught up: bpftrace has printed no event for this long (after a storm its buffers drain for a while). */
const QUIET_MS = 300;
/** A stop waits at most this long for bpftrace to go quiet. */
const STOP_DRAIN_MS = 5_000;

export async function createLiveFeed(opts: LiveOptions): Promise<LiveFeed> {
  const { program, caps, notes, pending } = await planProgram({ backend: opts.backend, filters: opts.filters });
  if (caps && !caps.backends.find((b) => b.backend === program.backend)?.ok) {
    const why = caps.backends.find((b) => b.backend === program.backend)?.reason ?? 'unavailable';
    throw new IfblameError(`the ${program.backend} backend cannot attach here: ${why}`, 'run `ifblame doctor`, or use --backend auto', EXIT.tracing);
  }
  const snap = await takeSnapshot({ ...(opts.netns ? { netns: opts.netns } : {}) }).catch((e: Error) => {
    throw new IfblameError(`cannot read the interfaces: ${e.message.split('\n')[0]}`, 'is iproute2 installed (`ip`)?', EXIT.tracing);
  });
  const header = buildHeader({
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
  });
  return new LiveFeedImpl(opts, header, program.text, notes, caps && pending.length ? { caps, modules: pending } : null);
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
  private readonly pipeline: Pipeline;
  private readonly procInfo = new ProcessInfo();
  private bpftrace: BpftraceSource | null = null;
  private ipmon: IpMonitorSource | null = null;
  private late: LateModules | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private stopping = false;
  /** Per bpftrace program (merge source): when its heartbeats hold. */
  private readonly gates = new Map<number, HeartbeatGate>();
  /** Wall time (ms) of bpftrace's last event line: catching up waits until it has been quiet. */
  private lastEventAt = 0;
  /** Late counts already written into an earlier file. */
  private lateBase = { forced: 0, late: 0 };
  private resolveDone!: () => void;
  readonly done: Promise<void>;
  readonly record: RecordControls;
  failure: string | null = null;

  constructor(
    private readonly opts: LiveOptions,
    readonly header: TraceHeader,
    private readonly program: string,
    private readonly notes: string[],
    private readonly pending: { caps: Capabilities; modules: string[] } | null,
  ) {
    const names = new NetnsNames();
    // Paced: a storm's backlog is correlated in slices, so a TUI answers keys meanwhile.
    this.pipeline = new Pipeline(header, {
      correlate: true,
      sources: 2,
      filters: opts.filters,
      procInfo: this.procInfo,
      netnsName: (i) => names.nameOf(i),
      paced: {},
    });
    this.record = this.pipeline.record;
    this.done = new Promise((r) => (this.resolveDone = r));
  }

  get attachedProbes(): number {
    return (this.bpftrace?.attached ?? 0) + (this.late?.attached ?? 0);
  }

  lateProbes(): readonly LateProbes[] {
    return this.late?.list() ?? [];
  }

  onEvent(l: (ev: TraceEvent) => void): void {
    this.pipeline.onEvent(l);
  }

  onReset(l: () => void): void {
    this.pipeline.onReset(l);
  }

  state(): IfaceState[] {
    return this.pipeline.state();
  }

  stats(): FeedStats {
    const { events, lost, badLines, merge } = this.pipeline.stats();
    return { events, lost, badLines, late: merge.forced + merge.late };
  }

  /** A line of a bpftrace program: the main one (source BPFTRACE) or one attached when its module loaded. */
  private onDecoded(d: Decoded, line: number, src = BPFTRACE): void {
    switch (d.kind) {
      case 'event':
        this.lastEventAt = Date.now();
        // Enrich while the process still exists: short-lived `ip` is gone a moment later.
        d.event.actor = actorOf(d.event, this.procInfo);
        // Per-CPU buffers hand out events out of order: only heartbeats move bpftrace's watermark, once they hold.
        this.pipeline.push(src, d.event, false);
        if (d.event.mono !== undefined) this.advance(src, this.gate(src).event(d.event.mono), HEARTBEAT_SLACK_US);
        return;
      case 'heartbeat':
        this.advance(src, this.gate(src).heartbeat(d), d.cpus ? HEARTBEAT_SLACK_US : OLD_HEARTBEAT_SLACK_US);
        return;
      case 'lost':
        this.pipeline.lost('bpftrace', d.count, 'bpftrace perf buffer overflow');
        this.advance(src, this.gate(src).lost(), HEARTBEAT_SLACK_US);
        return;
      case 'error':
        // an unreadable event is as good as lost: a heartbeat waiting for it would never hold
        this.pipeline.lost('parser', 1, `bpftrace output line ${line}: ${d.message}`);
        this.advance(src, this.gate(src).lost(), HEARTBEAT_SLACK_US);
        return;
      case 'cols':
        if (d.mismatch) this.pipeline.note('warn', 'bpftrace', `program output differs from this ifblame: ${d.mismatch}`);
        return;
      default:
        return;
    }
  }

  private gate(src: number): HeartbeatGate {
    let g = this.gates.get(src);
    if (!g) this.gates.set(src, (g = new HeartbeatGate()));
    return g;
  }

  private advance(src: number, ts: number | null, slack: number): void {
    if (ts !== null) this.pipeline.advance(src, ts - slack);
  }

  async start(): Promise<void> {
    if (this.opts.record) await this.record.start(this.opts.record);
    const dir = this.opts.recordDir;
    if (dir)
      this.pipeline.recordWith((headerNow, onError) =>
        createRotatingRecorder({ ...dir, headerNow, onError, closing: () => [this.lateSinceLast()].filter((n) => n !== null) }),
      );
    for (const n of this.notes) this.pipeline.note(n.includes('dropped') ? 'warn' : 'info', 'probes', n);
    this.ipmon = startIpMonitor({
      ...(this.opts.netns ? { netns: this.opts.netns } : {}),
      wrap: guardPrefix(),
      onEvent: (ev) => this.pipeline.push(NETLINK, ev),
      onBadLine: (err) => this.pipeline.lost('parser', 1, `ip monitor line ${err.line}: ${err.error}`),
      onLost: (detail) => this.pipeline.lost('netlink', 1, detail),
    });
    const how = await this.ipmon.ready;
    // stop() may have been called while we waited: start nothing more, and make sure ip goes.
    if (this.stopped) {
      await this.ipmon.stop();
      return;
    }
    if (how.how === 'exited') {
      const exit = await this.ipmon.done;
      throw new IfblameError(
        `ip monitor exited at once: ${exit.stderr.trim().split('\n').pop() ?? ''}`,
        'is iproute2 installed, and the namespace there?',
        EXIT.tracing,
      );
    }
    const readyTimeoutMs = Number(process.env.IFBLAME_READY_TIMEOUT ?? 0) * 1000 || 120_000;
    this.bpftrace = new BpftraceSource({
      program: this.program,
      backend: this.header.backend,
      onDecoded: (d, line) => this.onDecoded(d, line),
      onStderr: (line) => {
        if (/WARNING/.test(line)) this.pipeline.note('warn', 'bpftrace', line.replace(/^.*WARNING:\s*/, ''));
      },
      readyTimeoutMs,
    });
    // Modules whose probes the program lacks because they were not loaded: watched from now, attached when they load.
    if (this.pending) {
      const { caps, modules } = this.pending;
      this.late = new LateModules({
        pipeline: this.pipeline,
        caps,
        backend: this.header.backend,
        filters: this.opts.filters,
        modules,
        onDecoded: (d, line, src) => this.onDecoded(d, line, src),
        readyTimeoutMs,
      });
    }
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
    // From here stop() stops the late programs too; a module that loaded while we attached is reported at once.
    this.late?.start();
    this.timer = setInterval(() => {
      const now = Date.now() * 1000;
      // ip stamps each message when it reads it and prints in order: nothing older than a moment ago can still come.
      this.pipeline.advance(NETLINK, now - NETLINK_SLACK_US);
      // The bounded wait: what is older than MAX_WAIT_US goes on even if bpftrace's watermark has not passed it.
      this.pipeline.force(now - MAX_WAIT_US);
    }, 100);
    void this.bpftrace.exited.then((why) => {
      if (why && !this.stopped) {
        this.failure = why;
        this.pipeline.note('error', 'bpftrace', why);
        void this.stop();
      }
    });
    void this.ipmon.done.then((exit) => {
      if (!exit.stopped && !this.stopped)
        this.pipeline.note('error', 'netlink', `ip monitor exited (${exit.exitCode ?? exit.signal}): ${exit.stderr.trim().split('\n').pop() ?? ''}`);
    });
  }

  /** The late note for what came late since the last one was taken (null: nothing): each file counts its own. */
  private lateSinceLast() {
    const { forced, late } = this.pipeline.stats().merge;
    const d = { forced: forced - this.lateBase.forced, late: late - this.lateBase.late };
    this.lateBase = { forced, late };
    return d.forced + d.late ? lateNote(d.forced, d.late) : null;
  }

  async catchUp(untilUs: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    const { merge } = this.pipeline;
    while (Date.now() < deadline && !this.stopped) {
      // bpftrace's per-CPU buffers are read in rounds: after a storm, the last events can trail the heartbeats.
      if (merge.low() >= untilUs && merge.stats().waiting === 0 && this.bpftraceQuiet()) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return false;
  }

  /** bpftrace has printed no event for QUIET_MS: what it had buffered has been read. */
  private bpftraceQuiet(): boolean {
    return Date.now() - this.lastEventAt >= QUIET_MS;
  }

  async stop(): Promise<void> {
    if (this.stopping) return this.done;
    this.stopping = true;
    // bpftrace exits on SIGINT without printing what is still in its perf buffers: let a storm's tail drain first.
    const quietBy = Date.now() + STOP_DRAIN_MS;
    while (Date.now() < quietBy && this.bpftrace && !this.bpftraceQuiet()) await new Promise((r) => setTimeout(r, 50));
    if (this.bpftrace && !this.bpftraceQuiet())
      this.pipeline.note(
        'warn',
        'bpftrace',
        `stopped while bpftrace was still printing (${STOP_DRAIN_MS / 1000} s after the stop): its last events may be missing`,
      );
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await Promise.all([this.bpftrace?.stop(), this.ipmon?.stop(), this.late?.stop()]);
    this.pipeline.flush();
    const late = this.lateSinceLast();
    if (late) this.pipeline.note(late.level, late.source, late.message, late.ts);
    this.pipeline.close();
    this.resolveDone();
  }
}
