// Who did it: the probe's task, its parent chain up to a named service, and its systemd unit or container.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import type { Actor, ProbeEvent, ProcRef } from '../events.js';

/** Helper processes whose real author is an ancestor: systemd's `(udev-worker)`, `(sd-...)` workers, shells. */
const HELPER = /^\(.*\)$/;

/** Kernel threads: no user process behind the change. */
export function isKernelTask(comm: string, pcomm?: string, ppid?: number): boolean {
  return /^(kworker|ksoftirqd|kthreadd|migration|rcu_)/.test(comm) || pcomm === 'kthreadd' || ppid === 2;
}

/** `/system.slice/systemd-udevd.service/udev` -> unit; docker/containerd/podman/kubepods scopes -> container. */
export function describeCgroup(path: string): { unit?: string; container?: string } {
  const out: { unit?: string; container?: string } = {};
  const container = /(?:docker-|libpod-|cri-containerd-|crio-)([0-9a-f]{12,64})\.scope/.exec(path) ?? /\/docker\/([0-9a-f]{12,64})/.exec(path);
  if (container) out.container = container[1]!.slice(0, 12);
  const units = path.split('/').filter((p) => /\.(service|scope)$/.test(p));
  const unit = units.filter((u) => !/^(docker|libpod|cri-containerd|crio)-/.test(u)).pop();
  if (unit) out.unit = unit;
  return out;
}

/** The process tree and cgroups as /proc shows them now; reads are cached per pid for the life of the session. */
export class ProcessInfo {
  private readonly chains = new Map<number, ProcRef[]>();
  private readonly cgroups = new Map<number, string | undefined>();
  private cgroupIds: Map<string, string> | null = null;

  constructor(
    private readonly proc = '/proc',
    private readonly cgroupRoot = '/sys/fs/cgroup',
  ) {}

  private stat(pid: number): { comm: string; ppid: number } | undefined {
    try {
      const s = readFileSync(`${this.proc}/${pid}/stat`, 'utf8');
      const open = s.indexOf('(');
      const close = s.lastIndexOf(')');
      const ppid = Number(s.slice(close + 2).split(' ')[1]);
      return { comm: s.slice(open + 1, close), ppid };
    } catch {
      return undefined;
    }
  }

  /** Parents of pid, nearest first, up to init. */
  chain(pid: number): ProcRef[] {
    const hit = this.chains.get(pid);
    if (hit) return hit;
    const out: ProcRef[] = [];
    let cur = this.stat(pid)?.ppid;
    for (let i = 0; cur && cur > 0 && i < 32; i++) {
      const st = this.stat(cur);
      if (!st) break;
      out.push({ pid: cur, comm: st.comm });
      cur = st.ppid;
    }
    if (out.length) this.chains.set(pid, out);
    return out;
  }

  cgroupOf(pid: number): string | undefined {
    if (this.cgroups.has(pid)) return this.cgroups.get(pid);
    let path: string | undefined;
    try {
      const text = readFileSync(`${this.proc}/${pid}/cgroup`, 'utf8');
      path = /^0::(.*)$/m.exec(text)?.[1];
    } catch {
      path = undefined;
    }
    this.cgroups.set(pid, path);
    return path;
  }

  /** cgroup v2 id == inode of its directory: for processes already gone. */
  cgroupById(id: string): string | undefined {
    if (!this.cgroupIds) {
      this.cgroupIds = new Map();
      const walk = (dir: string, rel: string, depth: number) => {
        if (depth > 6) return;
        try {
          this.cgroupIds!.set(String(statSync(dir).ino), rel || '/');
          for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) walk(`${dir}/${e.name}`, `${rel}/${e.name}`, depth + 1);
        } catch {
          /* a cgroup vanished while we walked: skip it */
        }
      };
      walk(this.cgroupRoot, '', 0);
    }
    return this.cgroupIds.get(id);
  }
}

/** Build the actor of a probe event: from the event alone, enriched by /proc when the process still exists. */
export function actorOf(ev: ProbeEvent, info?: ProcessInfo): Actor {
  const kernel = isKernelTask(ev.comm, ev.pcomm, ev.ppid);
  const chain: ProcRef[] = info && !kernel ? info.chain(ev.pid) : [];
  if (!chain.length && ev.ppid !== undefined && ev.pcomm !== undefined) chain.push({ pid: ev.ppid, comm: ev.pcomm });
  const cgroup = info && !kernel ? (info.cgroupOf(ev.pid) ?? (ev.cgroupId ? info.cgroupById(ev.cgroupId) : undefined)) : undefined;
  const actor: Actor = {
    pid: ev.pid,
    tid: ev.tid,
    comm: ev.comm,
    chain,
    kernel,
    ...(ev.ppid !== undefined ? { ppid: ev.ppid } : {}),
    ...(ev.pcomm !== undefined ? { pcomm: ev.pcomm } : {}),
    ...(ev.cgroupId ? { cgroupId: ev.cgroupId } : {}),
    ...(cgroup ? { cgroup, ...describeCgroup(cgroup) } : {}),
  };
  actor.service = serviceOf(actor);
  return actor;
}

/** The named program behind the task: `(udev-worker)` -> `systemd-udevd`; a kworker -> `kernel`. */
export function serviceOf(a: Pick<Actor, 'comm' | 'chain' | 'kernel' | 'unit'>): string {
  if (a.kernel) return 'kernel';
  if (!HELPER.test(a.comm)) return a.comm;
  const named = a.chain.find((p) => !HELPER.test(p.comm));
  if (named) return named.comm;
  if (a.unit) return a.unit.replace(/\.(service|scope)$/, '');
  return a.comm;
}

/** `ip[4711]`, `(udev-worker)[978] of systemd-udevd`, `kworker/u4:2 (kernel)`. */
export function labelActor(a: Actor | null | undefined): string {
  if (!a) return '?';
  if (a.kernel) return `${a.comm} (kernel)`;
  const base = `${a.comm}[${a.pid}]`;
  return a.service && a.service !== a.comm ? `${base} of ${a.service}` : base;
}
