// What an address, an actor or a name says by itself: the small judgements every rule and fact shares.
import type { Actor, Change } from '../events.js';

export type IfKind = 'bond' | 'bridge' | 'team' | string;

const PCAP_COMMS = new Set(['tcpdump', 'tshark', 'dumpcap', 'wireshark', 'ngrep', 'tcpflow', 'iftop']);

/** Kinds of interfaces that share their parent's MAC by design. */
export const SHARES_PARENT_MAC = new Set(['vlan', 'ipvlan', 'ipvtap']);

/** udev changed it: its own policy (the worker or udevd itself) or a RUN rule (a program with udevd as an ancestor). */
export function udevRole(a: Actor | null | undefined): 'policy' | 'rule' | null {
  if (!a) return null;
  if (a.comm === '(udev-worker)' || a.comm === 'systemd-udevd' || a.comm === 'udevd') return 'policy';
  if (/^\(.*\)$/.test(a.comm) && (a.service === 'systemd-udevd' || a.unit === 'systemd-udevd.service')) return 'policy';
  if (a.service === 'systemd-udevd' || a.chain.some((p) => p.comm === 'systemd-udevd' || p.comm === '(udev-worker)')) return 'rule';
  return null;
}

/** A packet capture (tcpdump, libpcap) took or gave back promiscuity. */
export function isPcap(c: Change): boolean {
  const a = c.actor;
  if (a && (PCAP_COMMS.has(a.comm) || (a.service !== undefined && PCAP_COMMS.has(a.service)))) return true;
  if (c.via.note && /libpcap|PACKET_MR_PROMISC/.test(c.via.note)) return true;
  return c.via.path.includes('packet_setsockopt') || c.via.kstack.some((f) => f.startsWith('packet_setsockopt'));
}

/** Frames of a bond, bridge or team acting on its own (enslaving, release, failover, following a port). */
const DRIVER_FRAME = /^(__bond_|bond_|alb_|br_|team_)/;

/** A user process asked for this address (ip, a script, a network manager): set by hand, not by a driver of its own accord. */
export function isUserRequest(c: Change): boolean {
  if (!c.actor || c.actor.kernel) return false;
  if (c.evidence === 'requested' || /SIOCSIFHWADDR|write to /.test(c.via.note ?? '')) return true;
  if (c.evidence === 'inferred') return false;
  const frames = [...c.via.path, ...c.via.kstack].map((f) => f.replace(/[+.].*$/, ''));
  if (frames.some((f) => DRIVER_FRAME.test(f))) return false;
  // 6.1: do_setlink > dev_set_mac_address_user; 7.2: do_setlink > netif_set_mac_address (dev_set_mac_address is the drivers' wrapper)
  return frames.includes('dev_set_mac_address_user') || (frames.includes('netif_set_mac_address') && !frames.includes('dev_set_mac_address'));
}

/** A usable unicast hardware address (not empty, zero, broadcast or multicast). Runs for every event: no regex unless the first byte is 0. */
export function isUnicastMac(mac: string | undefined | null): mac is string {
  if (!mac || mac.length < 2) return false;
  // the group bit is the low bit of the first byte, i.e. of its second hex digit (broadcast ff has it too)
  const d = mac.charCodeAt(1);
  if (((d <= 57 ? d - 48 : (d | 32) - 87) & 1) !== 0) return false;
  return !(mac.charCodeAt(0) === 48 && d === 48 && /^(00:)*00$/.test(mac));
}

/** Locally administered (bit 0x02 of the first byte): made up by software, not burnt in by a vendor. */
export function isLocalMac(mac: string): boolean {
  return (parseInt(mac.slice(0, 2), 16) & 2) !== 0;
}

/** A VRRP virtual router MAC (RFC 5798: 00:00:5e:00:01:VRID for IPv4, 00:00:5e:00:02:VRID for IPv6) that keepalived moves on purpose. */
export function isVrrpMac(mac: string): boolean {
  return mac.startsWith('00:00:5e:00:01:') || mac.startsWith('00:00:5e:00:02:');
}

/** A kind from the name alone, when nothing better is known (then said so). */
export function kindFromName(name: string): IfKind | undefined {
  if (/^bond/.test(name)) return 'bond';
  if (/^(br|virbr|brauto|docker\d|cni|lxcbr|vmbr)/.test(name)) return 'bridge';
  if (/^team/.test(name)) return 'team';
  if (/^[^.]+\.\d+$/.test(name)) return 'vlan';
  return undefined;
}

/** Kinds that aggregate lower devices and give them, or take from them, one MAC. */
export function isAggregate(kind: IfKind | undefined): boolean {
  return kind === 'bond' || kind === 'team' || kind === 'bridge';
}
