// Read the lab's real-kernel captures (copied into test/fixtures/lab-captures, the lab's own `EV ... k=v` format) as ifblame events.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { LinkEvent, LinkState, ProbeEvent } from '../src/events.js';
import { parseIpMonitorText } from '../src/parse/ip-monitor.js';
import { parseIpLinkJson } from '../src/parse/ip-link-json.js';
import { mergeAssignTypes, parseAssignTypes } from '../src/parse/sysfs.js';

/** test/fixtures/lab-captures/ in the source tree (this file runs from dist/test/). */
export const LAB = fileURLToPath(new URL('../../test/fixtures/lab-captures/', import.meta.url));

const NUMERIC = new Set(['pid', 'tid', 'ppid', 'ifindex', 'aat', 'inc', 'notify', 'promiscuity', 'all', 'unregister', 'bond_aat', 'slave_aat', 'ret']);

/** One lab printf (`EV 12:40:59.476712 kprobe:dev_addr_mod comm=ip pid=976 ... \n<kstack>`) as a ProbeEvent. */
export function labEvent(data: string, day: string, backend: 'kprobe' | 'kfunc', seq: number): ProbeEvent | null {
  const [first = '', ...rest] = data.split('\n');
  const tokens = first.split(' ');
  const [tag, time, probe] = tokens;
  if (tag !== 'EV' && tag !== 'RET') return null;
  const fields: Record<string, string | number> = {};
  for (const t of tokens.slice(3)) {
    const i = t.indexOf('=');
    if (i < 0) continue;
    const k = t.slice(0, i);
    const v = t.slice(i + 1);
    fields[k] = NUMERIC.has(k) ? Number(v) : /^([0-9A-Fa-f]{2}:)+[0-9A-Fa-f]{2}$/.test(v) ? v.toLowerCase() : v.startsWith('0x') ? parseInt(v, 16) : v;
  }
  const { comm, pid, tid, ppid, pcomm, ...own } = fields;
  if (probe === 'kprobe:dev_addr_mod' || probe === 'kfunc:dev_addr_mod') own.offset = 0;
  const ts = Date.parse(`${day}T${time!.slice(0, 8)}Z`) * 1000 + Number(time!.slice(9, 15));
  return {
    type: 'probe',
    seq,
    ts,
    backend,
    probe: probe!.replace(/^(kret|k)(probe|func):(\w+:)?/, ''),
    phase: tag === 'RET' ? 'return' : 'entry',
    pid: Number(pid),
    tid: Number(tid),
    comm: String(comm),
    ...(ppid !== undefined ? { ppid: Number(ppid) } : {}),
    ...(pcomm !== undefined ? { pcomm: String(pcomm) } : {}),
    fields: own,
    kstack: rest.map((s) => s.trim()).filter((s) => s && !/^(bpf_prog_|bpf_trampoline_)/.test(s)),
  };
}

export interface LabScenario {
  snapshot: LinkState[];
  probes: ProbeEvent[];
  links: LinkEvent[];
}

/** A scenario's snapshot, probe events (from bt-<backend>.json) and netlink events (ipmon-d.txt), all on the guest clock (UTC). */
export function loadLab(scen: string, backend: 'kprobe' | 'kfunc'): LabScenario {
  const base = `${LAB}${scen}/`;
  const { events: links } = parseIpMonitorText(readFileSync(`${base}ipmon-d.txt`, 'utf8'), { utcOffset: 0 });
  const day = new Date(links[0]!.ts / 1000).toISOString().slice(0, 10);
  const { links: snap } = parseIpLinkJson(readFileSync(`${base}link-before.json`, 'utf8'));
  const snapshot = mergeAssignTypes(snap, parseAssignTypes(readFileSync(`${base}addr_assign_type-before.txt`, 'utf8')).rows);
  const probes: ProbeEvent[] = [];
  let seq = 100_000;
  for (const line of readFileSync(`${base}bt-${backend}.json`, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const msg = JSON.parse(line) as { type: string; data: unknown };
    if (msg.type !== 'printf') continue;
    const ev = labEvent(String(msg.data), day, backend, seq++);
    if (ev) probes.push(ev);
  }
  links.forEach((l, i) => (l.seq = i));
  return { snapshot, probes, links };
}
