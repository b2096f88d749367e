// A bond that started the trace with a MAC someone set (addr_assign_type 3), and no udev event seen: it will not take its first slave's.
import { udevBondFix } from '../fixes.js';
import { finding, type TraceRule } from '../rule.js';

export const bondMacPreset: TraceRule = {
  scope: 'trace',
  id: 'bond-mac-preset',
  severity: 'warning',
  about: 'a bond whose MAC was already set explicitly (addr_assign_type 3) when the trace started',
  find(facts, claims) {
    const out = [];
    for (const l of facts.header.snapshot) {
      if (l.addrAssignType !== 3 || claims.claimed(`bond:${l.ifname}`) || facts.kindOf(l.ifname).kind !== 'bond') continue;
      out.push(
        finding(facts, {
          id: 'bond-mac-preset',
          severity: 'warning',
          title: `${l.ifname}: MAC already set explicitly when the trace started (addr_assign_type 3)`,
          detail:
            `${l.ifname} had ${l.addr ?? '?'} with addr_assign_type 3 (SET) before the trace started, so it will not take its first slave's MAC. ` +
            `If nobody configured that address, udev's MACAddressPolicy=persistent did it when the bond was created; record from before the bond is created to see who.`,
          ifaces: [l.ifname],
          evidence: [facts.evidence.fact(`initial snapshot: ${l.ifname} ${l.addr ?? '?'} addr_assign_type 3 (SET)`)],
          fix: udevBondFix(l.ifname),
        }),
      );
    }
    return out;
  },
};
