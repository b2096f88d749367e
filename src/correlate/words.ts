// Well-known kernel paths in plain words: what a stack means for promiscuity (the MAC cases need state: correlator).
import { stackHas, stackMatches } from './paths.js';

/** Why a device's promiscuity count moved, told from the stack of the call that moved it. */
export function promiscCause(kstack: string[], up: boolean, iface: string): string | undefined {
  const s = (fn: string) => stackHas(kstack, fn);
  if (s('dev_uc_sync') || s('dev_uc_sync_multiple') || (s('__dev_set_rx_mode') && !s('dev_change_flags'))) {
    const upper = stackMatches(kstack, /^(macvlan_|vlan_dev_|ipvlan_)/) ? ' (a macvlan/vlan on top added its address)' : '';
    return `${iface} cannot filter unicast addresses: it ${up ? 'became' : 'stopped being'} promiscuous when an upper device's address list was synced to it${upper}`;
  }
  if (s('br_add_if')) return `a bridge makes its port promiscuous (br_add_if)`;
  if (s('br_del_if') || s('del_nbp')) return `leaving the bridge gives the port's promiscuity back`;
  if (s('packet_setsockopt')) return `a packet socket asked for PACKET_MR_PROMISC (libpcap: tcpdump and friends)`;
  if (s('packet_release') || s('packet_dev_mc')) return `a packet socket closed: its promiscuity given back`;
  if (s('bond_change_rx_flags') || s('bond_set_promiscuity')) return `bond propagates its promiscuity to its slave`;
  if (s('team_change_rx_flags')) return `team propagates its promiscuity to its port`;
  if (stackMatches(kstack, /^(macvlan_|vlan_dev_|ipvlan_)/)) return `an upper device (macvlan/vlan) changed the lower device's promiscuity`;
  if (s('dev_change_flags') || s('__dev_change_flags')) return `ip link set promisc ${up ? 'on' : 'off'} (IFF_PROMISC)`;
  return undefined;
}
