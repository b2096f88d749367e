// Causal paths from whole kernel stacks: generic frames folded, unknown frames kept, suffixes of newer bpftrace removed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { frameName, pathOf } from '../src/correlate/paths.js';
import { promiscCause } from '../src/correlate/words.js';

test('frame names lose offsets, compiler suffixes, [inlined], @file:line and module tags', () => {
  assert.equal(frameName('bond_enslave+1234'), 'bond_enslave');
  assert.equal(frameName('do_setlink.isra.0+0x2a/0x90'), 'do_setlink');
  assert.equal(frameName('br_stp_change_bridge_id.constprop.0.cold+5'), 'br_stp_change_bridge_id');
  assert.equal(frameName('netif_set_mac_address [inlined]'), 'netif_set_mac_address');
  assert.equal(frameName('dev_addr_mod+5 @net/core/dev_addr_lists.c:42'), 'dev_addr_mod');
  assert.equal(frameName('bond_enslave+77 [bonding]'), 'bond_enslave');
});

test('a macvlan coming up on a bond: the address-list sync path is kept whole, and named', () => {
  // The real stack (innermost first) of a dummy slave made promiscuous by a macvlan opening on its bond.
  const kstack = [
    '__dev_set_promiscuity+1',
    '__dev_set_rx_mode+92',
    'dev_uc_sync+104',
    'bond_set_rx_mode+153',
    '__dev_set_rx_mode+92',
    'dev_uc_add+78',
    'macvlan_open+173',
    '__dev_open+242',
    '__dev_change_flags+497',
    'dev_change_flags+34',
    'do_setlink+1014',
    '__rtnl_newlink+1559',
    'rtnl_newlink+67',
    'rtnetlink_rcv_msg+334',
    'netlink_rcv_skb+81',
    'netlink_unicast+644',
    'netlink_sendmsg+592',
    '__sock_sendmsg+95',
    '____sys_sendmsg+639',
    '___sys_sendmsg+154',
    '__sys_sendmsg+118',
    'do_syscall_64+93',
    'entry_SYSCALL_64_after_hwframe+110',
  ];
  assert.deepEqual(pathOf(kstack), [
    'rtnl_newlink',
    'do_setlink',
    'dev_change_flags',
    '__dev_open',
    'macvlan_open',
    'dev_uc_add',
    '__dev_set_rx_mode',
    'bond_set_rx_mode',
    'dev_uc_sync',
    '__dev_set_promiscuity',
  ]);
  assert.match(promiscCause(kstack, true, 'dum0') ?? '', /cannot filter unicast addresses.*macvlan/);
});

test('kernel 7.x: a MAC set by ip reads do_setlink > netif_set_mac_address > eth_mac_addr > dev_addr_mod', () => {
  const kstack = [
    'bpf_prog_6deef7357e7b4530_kprobe_dev_addr_mod+320',
    'bpf_trampoline_6442491543+66',
    'dev_addr_mod+9 @net/core/dev_addr_lists.c:597',
    'eth_mac_addr+62',
    'netif_set_mac_address+183',
    'do_setlink.isra.0+2087',
    'rtnl_setlink+372',
    'rtnetlink_rcv_msg+368',
    'netlink_rcv_skb+88',
    'netlink_unicast+610',
    'netlink_sendmsg+530',
    '__sys_sendto+470',
    '__x64_sys_sendto+36',
    'do_syscall_64+130',
    'entry_SYSCALL_64_after_hwframe+118',
  ];
  assert.deepEqual(pathOf(kstack), ['rtnl_setlink', 'do_setlink', 'netif_set_mac_address', 'eth_mac_addr', 'dev_addr_mod']);
});

test('an unknown frame stays; wrapper and worker twins (rtnl_newlink/__rtnl_newlink) are one step', () => {
  assert.deepEqual(pathOf(['dev_addr_mod+1', 'some_new_driver_fn+3', '__rtnl_newlink+9', 'rtnl_newlink+2', 'kthread+5', 'ret_from_fork+31']), [
    'rtnl_newlink',
    'some_new_driver_fn',
    'dev_addr_mod',
  ]);
});

test('the balance-alb worker: workqueue plumbing folded, the bonding frames kept', () => {
  const kstack = ['dev_addr_mod+1', 'alb_swap_mac_addr+108', 'bond_alb_handle_active_change+353', 'bond_change_active_slave+1092', 'bond_select_active_slave+233', 'bond_mii_monitor+1321', 'process_one_work+476', 'worker_thread+80', 'kthread+218', 'ret_from_fork+41'];
  assert.deepEqual(pathOf(kstack), ['bond_mii_monitor', 'bond_select_active_slave', 'bond_change_active_slave', 'bond_alb_handle_active_change', 'alb_swap_mac_addr', 'dev_addr_mod']);
});
