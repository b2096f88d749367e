// Incident 3: a bridge whose MAC was not set by hand follows the lowest MAC among its ports, so a port joining or leaving moves it.
import type { Fix } from '../types.js';
import { eventCount } from '../merge.js';
import { finding, plural, type TraceRule } from '../rule.js';

function bridgeMacFix(bridge: string, mac: string | undefined): Fix {
  return {
    summary:
      `set ${bridge}'s MAC explicitly: a bridge with an address set by hand (addr_assign_type 3) keeps it whatever ports join or leave` +
      ` (ifupdown: bridge_hw / hwaddress, systemd-networkd: MACAddress= in the .netdev, NetworkManager: bridge.mac-address)`,
    commands: [`ip link set dev ${bridge} address ${mac ?? 'XX:XX:XX:XX:XX:XX'}`],
    reference: 'br_stp_recalculate_bridge_id(): the bridge follows its lowest port MAC unless set by hand',
  };
}

export const bridgeMacMoved: TraceRule = {
  scope: 'trace',
  id: 'bridge-mac-moved',
  severity: 'warning',
  about: 'a bridge whose MAC moved with its ports (a warning), or took its first port\'s MAC (a note)',
  retitle: (f) => `${f.ifaces[0]}: bridge MAC moved with its ports (${plural(eventCount(f), 'time')})`,
  find(facts) {
    const out = [];
    for (const [br, m] of facts.history.bridgeMoves) {
      out.push(
        finding(facts, {
          id: 'bridge-mac-moved',
          severity: m.warn ? 'warning' : 'info',
          title: m.warn ? `${br}: bridge MAC moved with its ports (${plural(m.list.count, 'time')})` : `${br}: bridge took its port's MAC`,
          detail:
            `A bridge whose address was not set by hand follows the lowest MAC among its ports, so a port joining or leaving (a container's veth, a VM tap) changes it. ` +
            `Neighbours' ARP caches and switch tables still point at the old MAC until they learn again${m.warn ? '' : "; this one took its first port's MAC when set up, which is usually harmless"}.`,
          ifaces: [br],
          ts: m.ts,
          evidence: m.list.items,
          moreEvidence: m.list.more,
          fix: bridgeMacFix(br, m.lastMac),
        }),
      );
    }
    return out;
  },
};
