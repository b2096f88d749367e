// What a rule is (id, severity, what it looks for, the check over one trace's facts or every trace's) and the claims that make one cause give one finding.
import type { TraceFacts } from './facts.js';
import type { FleetFacts } from './fleet.js';
import type { Finding, FindingId, Severity } from './types.js';

/** What the rules explained so far: subjects such as `pair:eth0 bond0 02:..`, `bond:bond0`, `mac:02:..`. */
export class Claims {
  private readonly keys = new Set<string>();
  claim(key: string): void {
    this.keys.add(key);
  }
  claimed(key: string): boolean {
    return this.keys.has(key);
  }
}

interface RuleInfo {
  id: FindingId;
  /** The most severe level it reports (some findings of the rule may be milder). */
  severity: Severity;
  /** What it looks for, in one line. */
  about: string;
}

export interface TraceRule extends RuleInfo {
  scope: 'trace';
  find(facts: TraceFacts, claims: Claims): Finding[];
  /** What a finding is about: the same subject in several files of one host and time span is one finding (default: its interfaces). */
  subject?(f: Finding, facts: TraceFacts): string;
  /** The title of a finding merged from several files, from its evidence (when the title counts something). */
  retitle?(f: Finding): string;
}

export interface HostsRule extends RuleInfo {
  scope: 'hosts';
  find(fleet: FleetFacts, claims: Claims): Finding[];
}


/** A finding of one trace: its host, no hidden evidence unless said. */
export function finding(facts: TraceFacts, f: Omit<Finding, 'hosts' | 'moreEvidence'> & { moreEvidence?: number }): Finding {
  return { moreEvidence: 0, hosts: [facts.host], ...f };
}

/** `n thing` / `n things`. */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
