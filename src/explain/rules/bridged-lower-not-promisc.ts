// Incident 3: a bond or team that is a bridge port, with a lower device not promiscuous of its own (tcpdump hides it); traces and snapshots alike (the final count).
import type { IfaceState } from '../../correlate/state.js';
import type { Fix } from '../types.js';
import { EvidenceList } from '../evidence.js';
import type { TraceFacts } from '../facts.js';
import { finding, type TraceRule } from '../rule.js';

function lowerPromiscFix(lower: string, master: string, bridge: string): Fix {
  return {
    summary:
      `make the lower devices of ${master} promiscuous while ${master} is a port of ${bridge} (frames for the bridge's other ports carry MACs ${lower} does not own): ` +
      `systemd-networkd: [Link] Promiscuous=yes in ${lower}'s .network file; ifupdown: post-up ip link set ${lower} promisc on`,
    commands: [`ip link set dev ${lower} promisc on`],
  };
}

/** Bond modes with one active slave (bond_uses_primary()): promiscuity goes to that one only. */
const PRIMARY_MODES = new Set(['active-backup', 'balance-tlb', 'balance-alb']);

/** Promiscuity a lower device holds of its own (not for a packet capture). */
function ownPromiscuity(facts: TraceFacts, s: IfaceState): number | undefined {
  return s.promiscuity === undefined ? undefined : s.promiscuity - (facts.pcapOutstanding.get(s.name) ?? 0);
}

export const bridgedLowerNotPromisc: TraceRule = {
  scope: 'trace',
  id: 'bridged-lower-not-promisc',
  severity: 'error',
  about: 'a lower device of a bond or team that is a bridge port, without promiscuity of its own',
  find(facts) {
    const out = [];
    for (const low of facts.table.all()) {
      if (low.deleted || !low.master) continue;
      const mid = facts.table.byName(low.master);
      if (!mid || mid.deleted || !mid.master) continue;
      const midKind = facts.kindOf(mid.name).kind;
      if (midKind !== 'bond' && midKind !== 'team') continue;
      const br = mid.master;
      if (facts.kindOf(br).kind !== 'bridge') continue;
      const own = ownPromiscuity(facts, low);
      if (own === undefined || own > 0) continue;
      // active-backup, balance-tlb and balance-alb bonds make only the active slave promiscuous: a backup without it is by design
      // (mode unknown: so is any bond with one promiscuous slave); other modes and teams make every port promiscuous
      const mode = facts.bondModes.get(mid.name);
      const oneNeeded = midKind === 'bond' && (mode === undefined || PRIMARY_MODES.has(mode));
      if (oneNeeded && facts.table.portsOf(mid.name).some((p) => (ownPromiscuity(facts, p) ?? 0) > 0)) continue;
      const pcap = facts.pcapOutstanding.get(low.name) ?? 0;
      const ev = new EvidenceList();
      for (const e of facts.enslaves) if ((e.change.iface === mid.name && e.change.after === br) || (e.change.iface === low.name && e.change.after === mid.name)) ev.add(e.ref);
      for (const r of facts.promisc.get(low.name)?.items ?? []) ev.add(r);
      if (!ev.items.length) ev.add(facts.evidence.fact(`${low.name} (port of ${mid.name}, port of ${br}) has promiscuity ${low.promiscuity} ${facts.when}`));
      out.push(
        finding(facts, {
          id: 'bridged-lower-not-promisc',
          severity: 'error',
          title:
            pcap > 0
              ? `${low.name}: promiscuous only because of a packet capture, though ${mid.name} is a port of bridge ${br}`
              : `${low.name}: not promiscuous, though ${mid.name} is a port of bridge ${br}`,
          detail:
            `${br} receives frames for all its ports through ${mid.name}, which receives through ${low.name}; with promiscuity ${low.promiscuity}` +
            `${pcap > 0 ? ` (${pcap} of it held by tcpdump/libpcap)` : ''}, ${low.name} drops frames not addressed to its own MAC, so traffic to the bridge's other ports is lost. ` +
            `Running tcpdump "fixes" it because tcpdump makes the device promiscuous.`,
          ifaces: [low.name, mid.name, br],
          evidence: ev.items,
          moreEvidence: ev.more,
          fix: lowerPromiscFix(low.name, mid.name, br),
        }),
      );
    }
    return out;
  },
};
