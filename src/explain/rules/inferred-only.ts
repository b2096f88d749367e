// A trace of the syscalls backend: kernel-internal changes in it are inferred from netlink, never observed.
import { finding, type TraceRule } from '../rule.js';

export const inferredOnly: TraceRule = {
  scope: 'trace',
  id: 'inferred-only',
  severity: 'info',
  about: 'a trace recorded with the syscalls backend, whose kernel-internal changes are inferred',
  find(facts) {
    if (facts.header.backend !== 'syscalls' || facts.isSnapshot) return [];
    return [
      finding(facts, {
        id: 'inferred-only',
        severity: 'info',
        title: 'recorded with the syscalls backend: kernel-internal changes are inferred',
        detail: 'The syscalls backend sees user requests (netlink, ioctl, sysfs, packet sockets); a bond or bridge changing an address on its own is inferred from netlink and marked so.',
        ifaces: [],
        evidence: [facts.evidence.fact('trace header: backend syscalls')],
      }),
    ];
  },
};
