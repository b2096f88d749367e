// A MAC that keeps changing back and forth (two agents fighting over it); changes another finding explains are not counted.
import type { Fix } from '../types.js';
import { FLAP_CHANGES, FLAP_WINDOW_US } from '../facts-history.js';
import { eventCount } from '../merge.js';
import { finding, type TraceRule } from '../rule.js';

const FLAPPING_FIX: Fix = {
  summary: 'two agents are fighting over this address (network manager vs. script, udev vs. ifupdown, a bond failover loop): the evidence names both; keep one of them in charge',
  commands: [],
};

export const macFlapping: TraceRule = {
  scope: 'trace',
  id: 'mac-flapping',
  severity: 'warning',
  about: `a MAC going back to an address it just had, or changing ${FLAP_CHANGES} times, within ${FLAP_WINDOW_US / 1e6} s`,
  retitle: (f) => `${f.ifaces[0]}: MAC flapping (${eventCount(f)} changes)`,
  find(facts) {
    const out = [];
    for (const [iface, f] of facts.history.flaps) {
      if (!f.flagged) continue;
      out.push(
        finding(facts, {
          id: 'mac-flapping',
          severity: 'warning',
          title: `${iface}: MAC flapping (${f.total} changes)`,
          detail: `${iface}'s MAC changed ${f.total} times, going back to an address it had just had, or ${FLAP_CHANGES} times, within ${FLAP_WINDOW_US / 1e6} s. Neighbours and switches cannot keep up; the evidence shows who changes it.`,
          ifaces: [iface],
          ...(f.firstFlagTs !== undefined ? { ts: f.firstFlagTs } : {}),
          evidence: f.refs,
          moreEvidence: f.more,
          fix: FLAPPING_FIX,
        }),
      );
    }
    return out;
  },
};
