// Probes the trace ran without (function absent, module not loaded): changes made only through them are not observed.
import { finding, plural, type TraceRule } from '../rule.js';

export const probesDropped: TraceRule = {
  scope: 'trace',
  id: 'probes-dropped',
  severity: 'info',
  about: 'probes that were not attached when the trace was recorded',
  find(facts) {
    const dropped = facts.header.probes.dropped;
    if (!dropped.length) return [];
    return [
      finding(facts, {
        id: 'probes-dropped',
        severity: 'info',
        title: `${plural(dropped.length, 'probe')} not attached: ${dropped.map((d) => d.probe).join(', ')}`,
        detail: `Changes made only through these functions are not observed: ${dropped.map((d) => `${d.probe} (${d.reason})`).join('; ')}.`,
        ifaces: [],
        evidence: [facts.evidence.fact('trace header: probes.dropped')],
      }),
    ];
  },
};
