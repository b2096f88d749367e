// The registry of findings, in the order they run: a rule that explains a cause comes before the more general one that would also see it. A new finding: one file, one line here.
import type { HostsRule, TraceRule } from '../rule.js';
import { bondMacForeign } from './bond-mac-foreign.js';
import { bondMacPreset } from './bond-mac-preset.js';
import { bondMacSet } from './bond-mac-set.js';
import { bridgeMacMoved } from './bridge-mac-moved.js';
import { bridgedLowerNotPromisc } from './bridged-lower-not-promisc.js';
import { duplicateMacHosts } from './duplicate-mac-hosts.js';
import { duplicateMac } from './duplicate-mac.js';
import { hardcodedMacHosts } from './hardcoded-mac-hosts.js';
import { inferredOnly } from './inferred-only.js';
import { lostEvents } from './lost-events.js';
import { macFlapping } from './mac-flapping.js';
import { probesDropped } from './probes-dropped.js';
import { releasedSlaveMac } from './released-slave-mac.js';
import { udevBondMac } from './udev-bond-mac.js';

/** Rules over the facts of one trace: udev before the other bond-MAC rules, a released slave before a foreign bond MAC and any duplicate MAC. */
export const TRACE_RULES: readonly TraceRule[] = [
  udevBondMac,
  bondMacSet,
  bondMacPreset,
  releasedSlaveMac,
  bondMacForeign,
  duplicateMac,
  bridgeMacMoved,
  bridgedLowerNotPromisc,
  macFlapping,
  lostEvents,
  probesDropped,
  inferredOnly,
];

/** Rules over the facts of every trace given (several hosts): a hard-coded MAC before any MAC on several hosts. */
export const HOSTS_RULES: readonly HostsRule[] = [hardcodedMacHosts, duplicateMacHosts];
