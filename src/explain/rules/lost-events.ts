// What the trace cannot show: events the sources lost and lines the reader could not use.
import type { Fix } from '../types.js';
import { finding, plural, type TraceRule } from '../rule.js';

const LOST_FIX: Fix = {
  summary: 'record again with fewer events or a larger buffer (bpftrace BPFTRACE_PERF_RB_PAGES, ip monitor socket buffer): conclusions about the missing time are not safe',
  commands: [],
};

export const lostEvents: TraceRule = {
  scope: 'trace',
  id: 'lost-events',
  severity: 'warning',
  about: 'events lost by bpftrace or netlink, or unreadable lines: the picture is incomplete',
  // each file lost its own events: told per file
  subject: (_f, facts) => facts.file,
  find(facts) {
    if (facts.lostCount === 0 && facts.skipped === 0) return [];
    const parts = [...facts.lostBySource].map(([src, n]) => `${n} from ${src}`);
    if (facts.skipped) parts.push(`${plural(facts.skipped, 'unreadable line')} in the file`);
    const first = facts.lost.items[0]?.ts;
    return [
      finding(facts, {
        id: 'lost-events',
        severity: 'warning',
        title: `the picture is incomplete: ${parts.join(', ')}`,
        detail: `Events were lost (${parts.join(', ')}). A change missing from this trace may still have happened; findings about the time of the loss are not final.`,
        ifaces: [],
        ...(first !== undefined ? { ts: first } : {}),
        evidence: facts.lost.items,
        moreEvidence: facts.lost.more,
        fix: LOST_FIX,
      }),
    ];
  },
};
