// Live rtnetlink link events: run `ip -d -ts -o monitor link`, parse each line, hand out LinkEvents, never lose the child.
import { readdir, readFile, readlink } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import { execa } from 'execa';
import split2 from 'split2';
import type { LinkEvent } from '../events.js';
import type { ParseError } from '../parse/errors.js';
import { parseIpMonitorLine } from '../parse/ip-monitor.js';
import type { UtcOffset } from '../time/local-time.js';

export interface IpMonitorSourceOptions {
  /** Run inside `ip netns exec NETNS`. */
  netns?: string;
  /** argv put in front of the command, e.g. a wrapper that kills ip when we die (PR_SET_PDEATHSIG). Must keep the environment. */
  wrap?: string[];
  /** The ip binary; default `ip`. */
  ip?: string;
  /** Pass -d (prints `promiscuity N`); default true. */
  details?: boolean;
  /**
   * Zone of ip's timestamps. Default: ip runs with TZ=UTC and lines are read as UTC (no DST ambiguity);
   * when given, TZ is left alone and this offset (or `'local'`) is used.
   */
  utcOffset?: UtcOffset;
  /** Keep each line in `LinkEvent.raw`. */
  raw?: boolean;
  /** Callback API: every event goes here and nothing is buffered for async iteration. */
  onEvent?: (ev: LinkEvent) => void;
  /** Each line that did not parse (also counted in stats and kept in badLines()). */
  onBadLine?: (err: ParseError) => void;
  /** ip reported a netlink receive overrun (ENOBUFS): the kernel dropped link messages. */
  onLost?: (detail: string) => void;
  /** How long to look for ip's listening socket before resolving `ready` with how='timeout'; default 3000. */
  readyTimeoutMs?: number;
  /** SIGTERM -> SIGKILL grace on stop; default 2000. */
  stopTimeoutMs?: number;
  /** Aborting stops the monitor. */
  signal?: AbortSignal;
}

/**
 * How readiness was established. `listening`: ip sleeps in recvmsg on its RTNLGRP_LINK socket (its initial link
 * dump, during which notifications would be skipped, is over); `subscribed`: socket bound but recvmsg not
 * observable (/proc/PID/syscall unreadable), plus a short delay; `timeout`: neither seen in time; `exited`: ip died first.
 */
export interface Readiness { how: 'listening' | 'subscribed' | 'timeout' | 'exited'; ms: number; pid?: number }
export interface IpMonitorStats { lines: number; events: number; badLines: number; overruns: number }
export interface IpMonitorExit {
  /** True when stop() (or the abort signal) ended it; false means ip died on its own. */
  stopped: boolean;
  exitCode?: number;
  signal?: string;
  /** Last lines ip wrote to stderr. */
  stderr: string;
}

/**
 * A running monitor. Async-iterate it for events (single consumer; buffered from the start unless `onEvent`
 * is set): iteration ends after stop(), and throws if ip exits on its own. `stats()` counts bad lines and overruns.
 */
export interface IpMonitorSource extends AsyncIterable<LinkEvent> {
  readonly pid: number | undefined;
  readonly argv: readonly string[];
  /** Never rejects. */
  readonly ready: Promise<Readiness>;
  /** Resolves when ip is gone (never rejects). */
  readonly done: Promise<IpMonitorExit>;
  stats(): IpMonitorStats;
  /** The last bad lines (up to 100). */
  badLines(): ParseError[];
  /** Kills ip (and anything a wrapper forked) and waits for it. Idempotent. */
  stop(): Promise<IpMonitorExit>;
}

const MAX_BAD_KEPT = 100;
const MAX_STDERR = 4096;
const OVERRUN = /No buffer space available|ENOBUFS|\(105\)/;

/** Netlink receive buffer for ip monitor (default 1 MiB; the kernel caps it at net.core.rmem_max): storms fit. */
const RCVBUF = 32 * 1024 * 1024;

/** Builds the argv: [...wrap, (ip netns exec NS), ip, (-d), -ts, -o, monitor, link]. */
export function ipMonitorArgv(opts: Pick<IpMonitorSourceOptions, 'wrap' | 'netns' | 'ip' | 'details'> = {}): string[] {
  const ip = opts.ip ?? 'ip';
  return [
    ...(opts.wrap ?? []),
    ...(opts.netns ? [ip, 'netns', 'exec', opts.netns] : []),
    ip, ...(opts.details === false ? [] : ['-d']), '-ts', '-o', '-rcvbuf', String(RCVBUF), 'monitor', 'link',
  ];
}

/** Starts `ip monitor link` and returns the running source (see IpMonitorSource). */
export function startIpMonitor(opts: IpMonitorSourceOptions = {}): IpMonitorSource {
  const argv = ipMonitorArgv(opts);
  const [file = 'ip', ...args] = argv;
  const forceUtc = opts.utcOffset === undefined;
  const utcOffset: UtcOffset = opts.utcOffset ?? 0;
  const stopTimeoutMs = opts.stopTimeoutMs ?? 2000;
  const child = execa(file, args, {
    buffer: false, reject: false, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe',
    cleanup: true, detached: false, forceKillAfterDelay: stopTimeoutMs,
    env: forceUtc ? { TZ: 'UTC' } : {},
  });

  const stats: IpMonitorStats = { lines: 0, events: 0, badLines: 0, overruns: 0 };
  const bad: ParseError[] = [];
  const queue = new EventQueue<LinkEvent>();
  let stderrTail = '';
  let stopping = false;

  const lines = child.stdout.pipe(split2());
  lines.on('data', (line: string) => {
    stats.lines++;
    const r = parseIpMonitorLine(line, stats.lines, { utcOffset, raw: opts.raw ?? false });
    if ('error' in r) {
      stats.badLines++;
      bad.push(r);
      if (bad.length > MAX_BAD_KEPT) bad.shift();
      opts.onBadLine?.(r);
      return;
    }
    stats.events++;
    if (opts.onEvent) opts.onEvent(r);
    else queue.push(r);
  });
  const errLines = child.stderr.pipe(split2());
  errLines.on('data', (line: string) => {
    stderrTail = (stderrTail + line + '\n').slice(-MAX_STDERR);
    if (OVERRUN.test(line)) {
      stats.overruns++;
      opts.onLost?.(line);
    }
  });

  const started = Date.now();
  // Close the queue only after the last line went through split2, not merely when ip exited.
  const linesDone = Promise.all([finished(lines), finished(errLines)]).catch(() => undefined);
  const done: Promise<IpMonitorExit> = Promise.all([child, linesDone]).then(([r]) => {
    const exit: IpMonitorExit = { stopped: stopping, stderr: stderrTail.trim() };
    if (r.exitCode !== undefined) exit.exitCode = r.exitCode;
    if (r.signal !== undefined) exit.signal = r.signal;
    if (!stopping && r.failed && r.exitCode === undefined && r.signal === undefined) exit.stderr = `${r.shortMessage}\n${exit.stderr}`.trim();
    if (stopping) queue.end();
    else queue.fail(new Error(`ip monitor exited unexpectedly (${describeExit(exit)})${exit.stderr ? `: ${exit.stderr}` : ''}`));
    return exit;
  });

  const exited = done.then((): Readiness => ({ how: 'exited', ms: Date.now() - started }));
  const ready = child.pid === undefined
    ? exited
    : Promise.race([waitListening(child.pid, opts.readyTimeoutMs ?? 3000, () => stopping), exited])
      .then((r): Readiness => ({ ...r, ms: Date.now() - started }));

  let stopPromise: Promise<IpMonitorExit> | undefined;
  const stop = (): Promise<IpMonitorExit> => {
    stopPromise ??= (async () => {
      stopping = true;
      if (child.pid !== undefined) {
        const kids = await descendants(child.pid);
        child.kill('SIGTERM');
        for (const pid of kids) killQuietly(pid, 'SIGTERM');
        const timer = setTimeout(() => { for (const pid of kids) killQuietly(pid, 'SIGKILL'); }, stopTimeoutMs);
        const exit = await done;
        if (!(await waitGone(kids, stopTimeoutMs))) {
          for (const pid of kids) killQuietly(pid, 'SIGKILL');
          await waitGone(kids, 1000);
        }
        clearTimeout(timer);
        return exit;
      }
      return done;
    })();
    return stopPromise;
  };
  if (opts.signal) {
    if (opts.signal.aborted) void stop();
    else opts.signal.addEventListener('abort', () => void stop(), { once: true });
  }

  return {
    pid: child.pid,
    argv,
    ready,
    done,
    stats: () => ({ ...stats }),
    badLines: () => [...bad],
    stop,
    [Symbol.asyncIterator]: () => queue.iterator(),
  };
}

function describeExit(e: IpMonitorExit): string {
  if (e.signal) return `signal ${e.signal}`;
  if (e.exitCode !== undefined) return `exit code ${e.exitCode}`;
  return 'could not start';
}

function killQuietly(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** Push queue behind the async iterator: buffers until read; pending next() calls are served in order. */
class EventQueue<T> {
  private items: T[] = [];
  private waiters: { resolve: (r: IteratorResult<T>) => void; reject: (e: Error) => void }[] = [];
  private closed: { error?: Error } | undefined;

  push(item: T): void {
    if (this.closed) return;
    const w = this.waiters.shift();
    if (w) w.resolve({ value: item, done: false });
    else this.items.push(item);
  }

  end(): void { this.close({}); }
  fail(error: Error): void { this.close({ error }); }

  private close(c: { error?: Error }): void {
    if (this.closed) return;
    this.closed = c;
    const waiters = this.waiters.splice(0);
    waiters.forEach((w, i) => {
      // A failure is reported once (to the first waiter), then iteration just ends.
      if (c.error && i === 0) w.reject(c.error);
      else w.resolve({ value: undefined, done: true });
    });
    if (c.error && waiters.length > 0) this.closed = {};
  }

  iterator(): AsyncIterator<T> {
    return {
      next: () => {
        if (this.items.length > 0) return Promise.resolve({ value: this.items.shift() as T, done: false });
        if (this.closed) {
          const e = this.closed.error;
          if (e) {
            this.closed = {};
            return Promise.reject(e);
          }
          return Promise.resolve({ value: undefined, done: true });
        }
        return new Promise((resolve, reject) => { this.waiters.push({ resolve, reject }); });
      },
      return: () => {
        this.items = [];
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}

// --- readiness: ip prints nothing when it is ready, so look at its netlink socket in /proc ---

/** RTNLGRP_LINK's bit in the bind() group mask (RTMGRP_LINK). */
const RTMGRP_LINK = 1;
const POLL_MS = 10;
const SUBSCRIBED_GRACE_MS = 100;

/**
 * Resolves once ip (the child or one of its descendants, if a wrapper forks) blocks in recvmsg on a
 * NETLINK_ROUTE socket bound to RTMGRP_LINK, seen on two polls in a row. Before that point ip is still doing its
 * initial link dump on the same socket and would skip notifications (iproute2 rtnl_dump_filter).
 */
async function waitListening(rootPid: number, timeoutMs: number, cancelled: () => boolean): Promise<Omit<Readiness, 'ms'>> {
  const deadline = Date.now() + timeoutMs;
  let streak = 0;
  let subscribedSince: number | undefined;
  while (Date.now() < deadline && !cancelled()) {
    const pids = [rootPid, ...(await descendants(rootPid))];
    let best: 'listening' | 'subscribed' | undefined;
    let bestPid: number | undefined;
    for (const pid of pids) {
      const s = await probeListening(pid);
      if (s === 'listening' || (s === 'subscribed' && best === undefined)) { best = s; bestPid = pid; }
      if (s === 'listening') break;
    }
    if (best === 'listening') {
      if (++streak >= 2) return { how: 'listening', pid: bestPid };
    } else {
      streak = 0;
    }
    if (best === 'subscribed') {
      subscribedSince ??= Date.now();
      if (Date.now() - subscribedSince >= SUBSCRIBED_GRACE_MS) return { how: 'subscribed', pid: bestPid };
    } else if (best === undefined) {
      subscribedSince = undefined;
    }
    await sleep(POLL_MS);
  }
  return { how: 'timeout' };
}

/** 'listening' | 'subscribed' (socket bound, syscall unknown or busy) | undefined (no such socket). */
async function probeListening(pid: number): Promise<'listening' | 'subscribed' | undefined> {
  const fd = await linkGroupSocketFd(pid);
  if (fd === undefined) return undefined;
  const syscall = await readFile(`/proc/${pid}/syscall`, 'utf8').catch(() => undefined);
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  if (syscall === undefined) return 'subscribed';
  const [nr, arg0] = syscall.trim().split(/\s+/);
  // Blocked in a syscall on that very fd: the only blocking call ip makes on it is recvmsg in rtnl_listen.
  const blockedOnFd = nr !== undefined && /^\d+$/.test(nr) && arg0 === `0x${fd.toString(16)}` && state === 'S';
  return blockedOnFd ? 'listening' : 'subscribed';
}

/** The fd number of pid's NETLINK_ROUTE socket subscribed to RTMGRP_LINK, if any. */
async function linkGroupSocketFd(pid: number): Promise<number | undefined> {
  const table = await readFile(`/proc/${pid}/net/netlink`, 'utf8').catch(() => '');
  const inodes = new Set<string>();
  for (const row of table.split('\n').slice(1)) {
    const c = row.trim().split(/\s+/);
    // sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode
    if (c.length < 10 || c[1] !== '0') continue;
    if ((parseInt(c[3] ?? '0', 16) & RTMGRP_LINK) !== 0 && c[9] !== undefined) inodes.add(c[9]);
  }
  if (inodes.size === 0) return undefined;
  const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
  for (const fd of fds) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m?.[1] !== undefined && inodes.has(m[1])) return Number(fd);
  }
  return undefined;
}

/** All descendants of pid (via /proc/PID/task/TID/children), nearest first. */
async function descendants(pid: number): Promise<number[]> {
  const out: number[] = [];
  const todo = [pid];
  while (todo.length > 0 && out.length < 1000) {
    const p = todo.shift() as number;
    const tids = await readdir(`/proc/${p}/task`).catch(() => [] as string[]);
    for (const tid of tids) {
      const text = await readFile(`/proc/${p}/task/${tid}/children`, 'utf8').catch(() => '');
      for (const c of text.split(/\s+/)) {
        if (/^\d+$/.test(c)) { out.push(Number(c)); todo.push(Number(c)); }
      }
    }
  }
  return out;
}

/** True once every pid has exited (a zombie counts: it only waits for its new parent to reap it). */
async function waitGone(pids: number[], ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    const states = await Promise.all(pids.map((p) => readFile(`/proc/${p}/stat`, 'utf8').catch(() => '')));
    if (states.every((st) => st === '' || st.slice(st.lastIndexOf(')') + 2, st.lastIndexOf(')') + 3) === 'Z')) return true;
    if (Date.now() >= deadline) return false;
    await sleep(POLL_MS);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
