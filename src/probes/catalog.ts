// The probe catalog: one entry per kernel function (kfunc/kprobe backends) or syscall request (syscalls backend).
import type { Field } from './fields.js';

/** A kernel function parameter, in order. `aliases`: other names the parameter has on other kernels. */
export interface Param {
  name: string;
  ctype: string;
  aliases?: string[];
}

/**
 * Another function with the same meaning, attached when `func` is not traceable on the running kernel (a static
 * function inlined, a rename): the probe keeps its id and field list, so its events mean the same to the correlator.
 * Its parameters may differ: the fields' placeholders must resolve against both (see DERIVED).
 */
export interface AttachPoint {
  func: string;
  params: Param[];
  /** Placeholders of the probe's fields that are not parameters here, e.g. `team_dev` -> `{dev}`. */
  derived?: Record<string, string>;
  why: string;
}

export interface KernelProbe {
  id: string;
  func: string;
  /** Where to attach instead when `func` is missing or unusable here, in order of preference. */
  alternatives?: AttachPoint[];
  /** Set on the probe as resolved to an alternative: its own placeholder meanings. */
  derived?: Record<string, string>;
  /** Loaded module that owns the function: its probes exist only while it is loaded. */
  module?: 'bonding' | 'bridge' | 'team';
  params: Param[];
  /** Entry fields, printed after the common ones; `{param}` placeholders. */
  fields: Field[];
  /** Return fields (fexit sees params and `retval`; kretprobe only `retval`): field `only` marks kfunc-only ones. */
  ret?: (Field & { only?: 'kfunc' })[];
  /** Extra condition, e.g. the notifier value. */
  when?: string;
  /** Interface-name expressions the `--iface` filter matches against. */
  devs: string[];
  /** fentry refused by the verifier for this function on real kernels: take it as a kprobe in kfunc programs. */
  kfuncAsKprobe?: boolean;
  /** Only generated when the probe `fallbackFor` names is absent (a fallback for older kernels). */
  fallbackFor?: string;
  /** Generated only on request (`--probe-all`) or when its module is loaded. */
  why: string;
}

export interface SyscallProbe {
  id: string;
  /** Tracepoints sharing this body (sendmsg and sendto differ only in how they find the buffer). */
  attach: { point: string; prelude: string }[];
  predicate?: string;
  /** Statements run after the prelude; they set the `$vars` the fields print, and `$ok` to print. */
  body?: string;
  fields: Field[];
  /** Set `@req[tid]` so the matching sys_exit prints the result. */
  exit?: string;
  /**
   * The kernel may restart the syscall (-ERESTARTNOINTR, always restarted), each restart a new sys_enter:
   * print the first attempt only, and its result once it is not a restart.
   */
  restartable?: boolean;
  why: string;
}

const dev = (p: string): Field[] => [
  { name: 'dev', type: 'str', expr: `{${p}}->name`, len: '16' },
  { name: 'ifindex', type: 'int', expr: `{${p}}->ifindex` },
  { name: 'aat', type: 'int', expr: `{${p}}->addr_assign_type`, doc: 'addr_assign_type before the call' },
];
const hw = (name: string, p: string): Field => ({ name, type: 'hw', expr: `{${p}}->dev_addr`, len: `{${p}}->addr_len` });
const ret: Field = { name: 'ret', type: 'int', expr: '(int32)retval' };

const NETDEV = 'struct net_device *';

/** A master (bridge, team) and one of its ports: names and both MACs. `{master}` is the master's net_device. */
const portFields = (kind: 'bridge' | 'team', master: string, port: string): Field[] => [
  { name: kind, type: 'str', expr: `{${master}}->name`, len: '16' },
  { name: 'port', type: 'str', expr: `{${port}}->name`, len: '16' },
  hw(`${kind}_mac`, master),
  hw('port_mac', port),
];

export const KERNEL_PROBES: KernelProbe[] = [
  {
    id: 'dev_set_mac_address_user',
    func: 'dev_set_mac_address_user',
    params: [{ name: 'dev', ctype: NETDEV }, { name: 'sa', ctype: 'void *', aliases: ['ss'] }, { name: 'extack', ctype: 'void *' }],
    fields: [...dev('dev'), hw('old', 'dev'), { name: 'new', type: 'hw', expr: '(uint8 *)((uint64){sa} + 2)', len: '{dev}->addr_len' }],
    ret: [ret, { name: 'aat_after', type: 'int', expr: '{dev}->addr_assign_type', only: 'kfunc' }, { ...hw('now', 'dev'), only: 'kfunc' }],
    devs: ['{dev}->name'],
    why: 'user request (netlink IFLA_ADDRESS, SIOCSIFHWADDR) to set a MAC',
  },
  {
    id: 'dev_set_mac_address',
    func: 'dev_set_mac_address',
    params: [{ name: 'dev', ctype: NETDEV }, { name: 'sa', ctype: 'void *', aliases: ['ss'] }, { name: 'extack', ctype: 'void *' }],
    fields: [...dev('dev'), hw('old', 'dev'), { name: 'new', type: 'hw', expr: '(uint8 *)((uint64){sa} + 2)', len: '{dev}->addr_len' }],
    ret: [ret, { name: 'aat_after', type: 'int', expr: '{dev}->addr_assign_type', only: 'kfunc' }, { ...hw('now', 'dev'), only: 'kfunc' }],
    devs: ['{dev}->name'],
    why: 'every MAC set through the driver: user requests and a bond rewriting its slaves',
  },
  {
    id: 'dev_addr_mod',
    func: 'dev_addr_mod',
    params: [{ name: 'dev', ctype: NETDEV }, { name: 'offset', ctype: 'unsigned int' }, { name: 'addr', ctype: 'void *' }, { name: 'len', ctype: 'unsigned long' }],
    fields: [...dev('dev'), { name: 'offset', type: 'int', expr: '(int32){offset}' }, hw('old', 'dev'), { name: 'new', type: 'hw', expr: '{addr}', len: '{len}' }],
    devs: ['{dev}->name'],
    kfuncAsKprobe: true,
    why: 'every MAC write, including a bond copying its slave and a bridge following a port (5.17+)',
  },
  {
    id: 'netdev_changeaddr',
    func: 'call_netdevice_notifiers',
    params: [{ name: 'val', ctype: 'unsigned long' }, { name: 'dev', ctype: NETDEV }],
    fields: [...dev('dev'), hw('now', 'dev')],
    when: '{val} == 8',
    devs: ['{dev}->name'],
    fallbackFor: 'dev_addr_mod',
    why: 'NETDEV_CHANGEADDR (8): every MAC change is announced here, on kernels without dev_addr_mod',
  },
  {
    id: 'unregister_netdevice',
    func: 'unregister_netdevice_queue',
    params: [{ name: 'dev', ctype: NETDEV }, { name: 'head', ctype: 'void *' }],
    fields: [...dev('dev'), hw('mac', 'dev')],
    devs: ['{dev}->name'],
    why: 'a device being deleted (ip link del, a veth peer going with it, a namespace torn down)',
  },
  {
    id: 'change_net_namespace',
    func: '__dev_change_net_namespace',
    params: [{ name: 'dev', ctype: NETDEV }, { name: 'net', ctype: 'struct net *' }, { name: 'pat', ctype: 'const char *' }, { name: 'new_ifindex', ctype: 'int' }],
    fields: [...dev('dev'), { name: 'to_netns', type: 'u64', expr: '{net}->ns.inum', doc: 'inode of the namespace it moves to' }],
    devs: ['{dev}->name'],
    why: 'a device moved to another network namespace (ip link set X netns N, a container runtime)',
  },
  {
    id: 'bond_enslave',
    func: 'bond_enslave',
    module: 'bonding',
    params: [{ name: 'bond_dev', ctype: NETDEV }, { name: 'slave_dev', ctype: NETDEV }, { name: 'extack', ctype: 'void *' }],
    fields: [
      { name: 'bond', type: 'str', expr: '{bond_dev}->name', len: '16' },
      { name: 'slave', type: 'str', expr: '{slave_dev}->name', len: '16' },
      { name: 'bond_aat', type: 'int', expr: '{bond_dev}->addr_assign_type' },
      hw('bond_mac', 'bond_dev'),
      { name: 'slave_aat', type: 'int', expr: '{slave_dev}->addr_assign_type' },
      hw('slave_mac', 'slave_dev'),
    ],
    ret: [ret, { name: 'bond_aat_after', type: 'int', expr: '{bond_dev}->addr_assign_type', only: 'kfunc' }, { ...hw('bond_mac_after', 'bond_dev'), only: 'kfunc' }, { ...hw('slave_mac_after', 'slave_dev'), only: 'kfunc' }],
    devs: ['{bond_dev}->name', '{slave_dev}->name'],
    why: 'a device enslaved to a bond (netlink IFLA_MASTER, sysfs bonding/slaves, ifenslave)',
  },
  {
    id: '__bond_release_one',
    func: '__bond_release_one',
    module: 'bonding',
    params: [{ name: 'bond_dev', ctype: NETDEV }, { name: 'slave_dev', ctype: NETDEV }, { name: 'all', ctype: 'bool' }, { name: 'unregister', ctype: 'bool' }],
    fields: [
      { name: 'bond', type: 'str', expr: '{bond_dev}->name', len: '16' },
      { name: 'slave', type: 'str', expr: '{slave_dev}->name', len: '16' },
      { name: 'all', type: 'int', expr: '{all}' },
      { name: 'unregister', type: 'int', expr: '{unregister}' },
      hw('bond_mac', 'bond_dev'),
      hw('slave_mac', 'slave_dev'),
    ],
    devs: ['{bond_dev}->name', '{slave_dev}->name'],
    why: 'a slave released from its bond (also every slave when the bond is deleted: all=1)',
  },
  {
    id: 'dev_set_promiscuity',
    func: 'dev_set_promiscuity',
    params: [{ name: 'dev', ctype: NETDEV }, { name: 'inc', ctype: 'int' }],
    fields: [...dev('dev'), { name: 'inc', type: 'int', expr: '{inc}' }, { name: 'promiscuity', type: 'int', expr: '{dev}->promiscuity', doc: 'counter before' }, { name: 'flags', type: 'hex', expr: '{dev}->flags' }],
    devs: ['{dev}->name'],
    why: 'promiscuity taken or given back by a bridge port, a master for its slaves, or libpcap',
  },
  {
    id: '__dev_set_promiscuity',
    func: '__dev_set_promiscuity',
    params: [{ name: 'dev', ctype: NETDEV }, { name: 'inc', ctype: 'int' }, { name: 'notify', ctype: 'bool' }],
    fields: [...dev('dev'), { name: 'inc', type: 'int', expr: '{inc}' }, { name: 'notify', type: 'int', expr: '{notify}' }, { name: 'promiscuity', type: 'int', expr: '{dev}->promiscuity' }, { name: 'flags', type: 'hex', expr: '{dev}->flags' }],
    devs: ['{dev}->name'],
    why: 'every promiscuity change, including `ip link set X promisc on` (dev_change_flags)',
  },
  {
    id: 'br_add_if',
    func: 'br_add_if',
    module: 'bridge',
    params: [{ name: 'br', ctype: 'struct net_bridge *' }, { name: 'dev', ctype: NETDEV }, { name: 'extack', ctype: 'void *' }],
    fields: portFields('bridge', 'br_dev', 'dev'),
    ret: [ret],
    devs: ['{br_dev}->name', '{dev}->name'],
    why: 'a port joins a bridge: promiscuity +1, and the bridge MAC may follow it',
  },
  {
    id: 'br_del_if',
    func: 'br_del_if',
    module: 'bridge',
    params: [{ name: 'br', ctype: 'struct net_bridge *' }, { name: 'dev', ctype: NETDEV }],
    fields: portFields('bridge', 'br_dev', 'dev'),
    devs: ['{br_dev}->name', '{dev}->name'],
    why: 'a port leaves a bridge: promiscuity -1, and the bridge MAC may move',
  },
  {
    id: 'team_port_add',
    func: 'team_port_add',
    module: 'team',
    params: [{ name: 'team', ctype: 'struct team *' }, { name: 'port_dev', ctype: NETDEV }, { name: 'extack', ctype: 'void *' }],
    // static, inlined into team_add_slave on Debian's 6.1, 6.12 and 7.2; ip link set X master T and teamd both go through team_add_slave
    alternatives: [{ func: 'team_add_slave', params: [{ name: 'dev', ctype: NETDEV }, { name: 'port_dev', ctype: NETDEV }, { name: 'extack', ctype: 'void *' }], derived: { team_dev: '{dev}' }, why: 'the team driver\'s ndo_add_slave' }],
    fields: portFields('team', 'team_dev', 'port_dev'),
    ret: [ret],
    devs: ['{team_dev}->name', '{port_dev}->name'],
    why: 'a port joins a team (teamd, ip link set X master T)',
  },
  {
    id: 'team_port_del',
    func: 'team_port_del',
    module: 'team',
    params: [{ name: 'team', ctype: 'struct team *' }, { name: 'port_dev', ctype: NETDEV }],
    // inlined on some kernels, and on 7.x its `struct team` has no `dev`: team_del_slave takes the team's net_device
    alternatives: [{ func: 'team_del_slave', params: [{ name: 'dev', ctype: NETDEV }, { name: 'port_dev', ctype: NETDEV }], derived: { team_dev: '{dev}' }, why: 'the team driver\'s ndo_del_slave' }],
    fields: portFields('team', 'team_dev', 'port_dev'),
    devs: ['{team_dev}->name', '{port_dev}->name'],
    why: 'a port leaves a team',
  },
];

/** Placeholders that are not parameters (a parameter of that name wins): the bridge's or team's own net_device. */
export const DERIVED: Record<string, string> = { br_dev: '{br}->dev', team_dev: '{team}->dev' };

/*
 * Syscall tracepoints read user memory.  bpftrace (0.17 too) tags every integer with an address space: `args->x`
 * and values read through uptr() are "user", literals and casts of them "kernel" (0.27: every literal), and mixing
 * the two in one operation prints `Addrspace mismatch`.  Each user-side integer is taken through kptr() where it is
 * first read (it is a plain number in the program from then on), and every variable is int64 from the start, so no
 * version sees mixed spaces or signs (0.27 also warns about implicit sign changes and casts to the same type).
 */

/** Netlink request parser shared by sendmsg and sendto: nlmsghdr (16) + ifinfomsg (16) + rtattrs. */
const NL_BODY = `
  $type = kptr(*(uint16 *)uptr($base + 4));
  $nlflags = kptr(*(uint16 *)uptr($base + 6));
  $nllen = kptr((int64)*(uint32 *)uptr($base));
  if (($type == 16 || $type == 17 || $type == 19) && ($nlflags & 1) && $nllen >= 32 && $nllen <= $len) {
    $ifindex = *(int32 *)uptr($base + 20);
    $ififlags = *(uint32 *)uptr($base + 24);
    $ifichange = *(uint32 *)uptr($base + 28);
    $off = (int64)32; $addroff = (int64)0; $addrlen = (int64)0; $nameoff = (int64)0; $namelen = (int64)0; $master = (int64)-1;
    LOOP(32) {
      if ($off + 4 > $nllen) { break; }
      $rl = kptr((int64)*(uint16 *)uptr($base + $off));
      $rt = kptr(*(uint16 *)uptr($base + $off + 2) & 0x3fff);
      if ($rl < 4) { break; }
      if ($rt == 1) { $addroff = $off + 4; $addrlen = $rl - 4; }      // IFLA_ADDRESS
      if ($rt == 3) { $nameoff = $off + 4; $namelen = 16; }            // IFLA_IFNAME
      if ($rt == 10) { $master = (int64)*(uint32 *)uptr($base + $off + 4); }  // IFLA_MASTER
      $off = $off + (($rl + 3) & 0xfffc);
    }
    if ($addrlen > 32) { $addrlen = 32; }
    $ok = 1;
  }`;

/**
 * -ERESTARTNOINTR (-513, restart_syscall()): the kernel always runs the syscall again, it did not happen yet.  The
 * other -ERESTART* codes may reach the process as -EINTR: they are results (a failed write), never held back.
 */
export const RESTARTED = '($ret == -513)';

export const SYSCALL_PROBES: SyscallProbe[] = [
  {
    id: 'nl_link',
    attach: [
      // the message is the first iovec (iproute2, libnl, systemd-networkd and NetworkManager send one per request)
      { point: 'tracepoint:syscalls:sys_enter_sendmsg', prelude: '$iov = args->msg->msg_iov; $base = kptr((int64)$iov->iov_base); $len = kptr((int64)$iov->iov_len);' },
      { point: 'tracepoint:syscalls:sys_enter_sendto', prelude: '$base = kptr((int64)args->buff); $len = kptr((int64)args->len);' },
    ],
    body: NL_BODY,
    fields: [
      { name: 'nl_type', type: 'int', expr: '$type', doc: '16 RTM_NEWLINK, 17 RTM_DELLINK, 19 RTM_SETLINK' },
      { name: 'nl_flags', type: 'hex', expr: '$nlflags' },
      { name: 'ifindex', type: 'int', expr: '$ifindex' },
      { name: 'ifi_flags', type: 'hex', expr: '$ififlags' },
      { name: 'ifi_change', type: 'hex', expr: '$ifichange' },
      { name: 'master', type: 'int', expr: '$master', doc: 'IFLA_MASTER, -1 when absent, 0 = nomaster' },
      { name: 'addr', type: 'hw', expr: 'uptr($base + $addroff)', len: '$addrlen', doc: 'IFLA_ADDRESS' },
      { name: 'ifname', type: 'str', expr: 'uptr($base + $nameoff)', len: '$namelen', doc: 'IFLA_IFNAME' },
    ],
    why: 'RTM_NEWLINK/SETLINK/DELLINK requests: ip link add/set/del, udev, NetworkManager, networkd',
  },
  {
    id: 'ioctl_link',
    attach: [{ point: 'tracepoint:syscalls:sys_enter_ioctl', prelude: '$ifr = kptr(args->arg);' }],
    predicate: 'kptr(args->cmd) == 0x8924 || kptr(args->cmd) == 0x8914',
    fields: [
      { name: 'cmd', type: 'hex', expr: 'args->cmd', doc: '0x8924 SIOCSIFHWADDR, 0x8914 SIOCSIFFLAGS' },
      { name: 'ifname', type: 'str', expr: 'uptr($ifr)', len: '16' },
      { name: 'value', type: 'hex', expr: '*(uint16 *)uptr($ifr + 16)', doc: 'flags (SIOCSIFFLAGS) or sa_family (SIOCSIFHWADDR)' },
      { name: 'addr', type: 'hw', expr: 'uptr($ifr + 18)', len: '6' },
    ],
    exit: 'tracepoint:syscalls:sys_exit_ioctl',
    why: 'ifconfig-style requests: SIOCSIFHWADDR (MAC) and SIOCSIFFLAGS (IFF_PROMISC)',
  },
  {
    id: 'packet_membership',
    attach: [{ point: 'tracepoint:syscalls:sys_enter_setsockopt', prelude: '$mr = kptr((int64)args->optval);' }],
    predicate: 'kptr(args->level) == 263 && (kptr(args->optname) == 1 || kptr(args->optname) == 2)',
    fields: [
      { name: 'op', type: 'int', expr: 'args->optname', doc: '1 PACKET_ADD_MEMBERSHIP, 2 PACKET_DROP_MEMBERSHIP' },
      { name: 'ifindex', type: 'int', expr: '*(int32 *)uptr($mr)' },
      { name: 'mr_type', type: 'int', expr: '*(uint16 *)uptr($mr + 4)', doc: '1 PACKET_MR_PROMISC' },
    ],
    exit: 'tracepoint:syscalls:sys_exit_setsockopt',
    why: 'libpcap/tcpdump making a device promiscuous through a packet socket',
  },
  {
    id: 'sysfs_write',
    // bonding's sysfs stores restart the write while rtnl is busy (restart_syscall): thousands a second, one request
    attach: [{ point: 'tracepoint:syscalls:sys_enter_write', prelude: '' }],
    predicate: '@sysfd[pid, args->fd]',
    fields: [
      { name: 'fd', type: 'int', expr: 'args->fd' },
      { name: 'data', type: 'str', expr: 'uptr(args->buf)', len: 'kptr(args->count) < 64 ? kptr((int64)args->count) : 64' },
      { name: 'path', type: 'text', expr: '@syspath[pid, args->fd]' },
    ],
    exit: 'tracepoint:syscalls:sys_exit_write',
    restartable: true,
    why: 'writes to network sysfs files (/sys/class/net/..., /sys/devices/.../net/...: bonding/slaves, address, ...)',
  },
];

/**
 * fd tracking that feeds sysfs_write: writable opens of network sysfs files, followed through dup2/dup3/F_DUPFD
 * and forgotten on close and when dup2/dup3 put another file on the fd (a shell restoring its stdout after
 * `echo x > /sys/...`).  File descriptors are map keys as uint64 (`args->fd`; `args->ret` once known >= 0).
 */
export const SYSFS_FD_TRACKING = `tracepoint:syscalls:sys_enter_openat /(kptr(args->flags) & 3) != 0/
{
  $p = str(args->filename, 64);
  if (strncmp($p, "/sys/class/net/", 15) == 0 || strncmp($p, "/sys/devices/", 13) == 0) { @opening[tid] = $p; @isopening[tid] = 1; }
}
tracepoint:syscalls:sys_exit_openat /@isopening[tid]/
{
  if (kptr(args->ret) >= 0) { @syspath[pid, (uint64)args->ret] = @opening[tid]; @sysfd[pid, (uint64)args->ret] = 1; }
  DELETE(@opening[tid]); DELETE(@isopening[tid]);
}
tracepoint:syscalls:sys_enter_dup2
{
  $old = args->oldfd; $new = args->newfd;
  if ($old != $new && (@sysfd[pid, $old] || @sysfd[pid, $new])) {
    if (@sysfd[pid, $old]) { @syspath[pid, $new] = @syspath[pid, $old]; @sysfd[pid, $new] = 1; }
    else { DELETE(@sysfd[pid, $new]); DELETE(@syspath[pid, $new]); }
  }
}
tracepoint:syscalls:sys_enter_dup3
{
  $old = args->oldfd; $new = args->newfd;
  if ($old != $new && (@sysfd[pid, $old] || @sysfd[pid, $new])) {
    if (@sysfd[pid, $old]) { @syspath[pid, $new] = @syspath[pid, $old]; @sysfd[pid, $new] = 1; }
    else { DELETE(@sysfd[pid, $new]); DELETE(@syspath[pid, $new]); }
  }
}
tracepoint:syscalls:sys_enter_fcntl /@sysfd[pid, args->fd] && (kptr(args->cmd) == 0 || kptr(args->cmd) == 1030)/
{
  @dupfrom[tid] = args->fd; @dupping[tid] = 1;
}
tracepoint:syscalls:sys_exit_fcntl /@dupping[tid]/
{
  $from = @dupfrom[tid];
  if (kptr(args->ret) >= 0) { @syspath[pid, (uint64)args->ret] = @syspath[pid, $from]; @sysfd[pid, (uint64)args->ret] = 1; }
  DELETE(@dupfrom[tid]); DELETE(@dupping[tid]);
}
tracepoint:syscalls:sys_enter_close /@sysfd[pid, args->fd]/
{
  DELETE(@sysfd[pid, args->fd]); DELETE(@syspath[pid, args->fd]);
}`;

/** The maps the sysfs tracking fills: cleared at exit so bpftrace does not print them. */
export const SYSFS_MAPS = ['@opening', '@isopening', '@syspath', '@sysfd', '@dupfrom', '@dupping'];
