// Given traces from several hosts: one MAC on two hosts — the shared-bond-MAC outage of incident 1.
import { sharedMacFix } from './fixes.js';
import type { HeldMac, TraceResult } from './analyze.js';
import type { EvidenceRef, Finding } from './types.js';

interface Holder {
  host: string;
  file: string;
  m: HeldMac;
}

/**
 * MACs held on two or more different hosts (the `host` of each trace header; two traces of one host are one host).
 * Held at the end of both traces: error; at some time during the traces only: warning.
 */
export function crossHostFindings(results: TraceResult[]): Finding[] {
  const hosts = new Set(results.map((r) => r.host));
  if (hosts.size < 2) return [];
  const byMac = new Map<string, Holder[]>();
  for (const r of results) {
    for (const m of r.macs) {
      let list = byMac.get(m.mac);
      if (!list) byMac.set(m.mac, (list = []));
      list.push({ host: r.host, file: r.file, m });
    }
  }
  const out: Finding[] = [];
  for (const [mac, holders] of byMac) {
    const onHosts = new Set(holders.map((h) => h.host));
    if (onHosts.size < 2) continue;
    // Prefer the holding at the end of each trace; per host one representative.
    const perHost = new Map<string, Holder>();
    for (const h of holders) {
      const cur = perHost.get(h.host);
      if (!cur || (!cur.m.final && h.m.final)) perHost.set(h.host, h);
    }
    const reps = [...perHost.values()].sort((a, b) => a.host.localeCompare(b.host));
    const finalHosts = reps.filter((h) => h.m.final);
    const bothFinal = finalHosts.length >= 2;
    const byUdev = reps.some((h) => h.m.byUdev);
    // udev derives the MAC from the name and machine-id: on hosts that share them it comes back every time
    const udevEverywhere = reps.filter((h) => h.m.byUdev).length >= 2;
    const bonds = reps.some((h) => h.m.kind === 'bond');
    const evidence: EvidenceRef[] = reps.map((h) => h.m.ref ?? { file: h.file, host: h.host, text: `${h.m.iface} on ${h.host} has ${mac} (already at the start of the trace)` });
    const where = reps.map((h) => `${h.m.iface} on ${h.host}`).join(', ');
    const ts = reps.map((h) => h.m.ref?.ts).filter((t): t is number => t !== undefined).sort((a, b) => a - b)[0];
    out.push({
      id: 'duplicate-mac-hosts',
      severity: bothFinal || udevEverywhere ? 'error' : 'warning',
      title: `${mac} is used on ${onHosts.size} hosts: ${where}`,
      detail:
        `The same MAC on several hosts${bonds ? ' (a bond MAC)' : ''} makes the switch move the address between ports, and traffic for all of them breaks: the shared-bond-MAC outage.` +
        (byUdev ? ` systemd-udevd set it (MACAddressPolicy=persistent derives it from the interface name and /etc/machine-id, equal on hosts cloned from one image).` : '') +
        (bothFinal ? '' : udevEverywhere ? ' udev gives it again each time the interface is created.' : ' Not all of them held it at the end of their traces.'),
      hosts: [...onHosts].sort(),
      ifaces: [...new Set(reps.map((h) => h.m.iface))],
      ...(ts !== undefined ? { ts } : {}),
      evidence,
      moreEvidence: 0,
      fix: sharedMacFix(mac, byUdev),
    });
  }
  return out;
}
