// What the helpers of the one pass (shared MACs, bond MACs, MAC history) may see of it: an interface, so they need not import it.
import type { StateTable } from '../correlate/state.js';
import type { IfKind } from './classify.js';
import type { EvidenceMaker, Ref } from './evidence.js';

export interface FactsView {
  readonly table: StateTable;
  readonly evidence: EvidenceMaker;
  readonly firstTs: number | undefined;
  /** veth and VLAN peers (netlink's `link@peer`). */
  readonly peers: ReadonlyMap<string, string>;
  /** The MAC an interface had of its own: permanent address, else the first one seen. */
  readonly ownMac: ReadonlyMap<string, string>;
  /** The MAC udev's policy gave an interface when it appeared: its own as much as the one it was created with. */
  readonly udevGiven: ReadonlyMap<string, string>;
  /** The last MAC change of each interface. */
  readonly lastMacRef: ReadonlyMap<string, Ref>;
  /** Slaves overwritten with their bond's MAC. */
  readonly overwrites: readonly Ref[];
  kindOf(name: string): { kind: IfKind | undefined; guessed: boolean };
  /** Runs `run` once the trace has gone GRACE_US past `ts` (or at its end). */
  defer(ts: number, run: () => void): void;
}
