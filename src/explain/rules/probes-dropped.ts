// Probes the trace ran without (function absent, module not loaded): changes made only through them are not observed.
import { clockText } from '../../format/values.js';
import { finding, plural, type TraceRule } from '../rule.js';

export const probesDropped: TraceRule = {
  scope: 'trace',
  id: 'probes-dropped',
  severity: 'info',
  about: 'probes that were not attached when the trace was recorded',
  find(facts) {
    const dropped = facts.header.probes.dropped;
    if (!dropped.length) return [];
    // a module loaded while tracing: its probes were attached then, and cover from then on
    const why = (d: { probe: string; reason: string }) => {
      const later = facts.addedLater.get(d.probe);
      return later
        ? `${d.probe} (${d.reason}; attached at ${clockText(later.at)} when ${later.module} loaded: not observed before that)`
        : `${d.probe} (${d.reason})`;
    };
    return [
      finding(facts, {
        id: 'probes-dropped',
        severity: 'info',
        title: `${plural(dropped.length, 'probe')} not attached at start: ${dropped.map((d) => d.probe).join(', ')}`,
        detail: `Changes made only through these functions are not observed: ${dropped.map(why).join('; ')}.`,
        ifaces: [],
        evidence: [facts.evidence.fact('trace header: probes.dropped')],
      }),
    ];
  },
};
