// Name the causal path from a kernel stack: the few frames that say *why* (bond_enslave, br_add_if, packet_setsockopt...).
const MEANINGFUL = [
  'rtnl_newlink',
  'rtnl_setlink',
  'dev_ifsioc',
  'bonding_sysfs_store_option',
  'bond_option_slaves_set',
  'bond_enslave',
  '__bond_release_one',
  'bond_set_dev_addr',
  'bond_change_rx_flags',
  'bond_mii_monitor',
  'bond_alb_handle_active_change',
  'alb_swap_mac_addr',
  'alb_set_slave_mac_addr',
  'bond_alb_set_mac_address',
  'br_add_if',
  'br_del_if',
  'br_stp_recalculate_bridge_id',
  'br_stp_change_bridge_id',
  'team_port_add',
  'team_port_del',
  'packet_setsockopt',
  'packet_release',
  'dev_change_flags',
  'do_setlink',
  'rtnl_create_link',
  'unregister_netdevice_many',
] as const;

const KNOWN = new Set<string>(MEANINGFUL);

/** `bond_enslave+1234` -> `bond_enslave`. */
export function frameName(frame: string): string {
  return frame.replace(/\+0x[0-9a-f]+|\+\d+/, '').replace(/\s.*$/, '');
}

/** Known frames of a kernel stack, outermost first, without repeats. */
export function pathOf(kstack: string[]): string[] {
  const out: string[] = [];
  for (let i = kstack.length - 1; i >= 0; i--) {
    const f = frameName(kstack[i]!);
    if (KNOWN.has(f) && !out.includes(f)) out.push(f);
  }
  return out;
}

export function stackHas(kstack: string[], fn: string): boolean {
  return kstack.some((f) => frameName(f) === fn);
}
