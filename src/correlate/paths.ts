// The causal path of a change, read from its whole kernel stack: generic plumbing (syscall entry, socket and netlink
// dispatch, VFS, workqueues, BPF/ftrace frames) is folded away; every other frame stays, so unforeseen paths and
// kernels not seen before still read well.

/** Frames that say how a request travelled, not why the interface changed. */
const GENERIC: RegExp[] = [
  // syscall entry and exit
  /^(entry_SYSCALL|entry_INT80|do_syscall_|x64_sys_call|__x64_sys_|__ia32_sys_|__do_sys_|__se_sys_|_{0,4}sys_|ksys_|do_sys_|syscall_exit|do_fast_syscall|__do_fast_syscall)/,
  // sockets and netlink/rtnetlink dispatch
  /^(_{0,2}sock_(sendmsg|write_iter|ioctl|do_ioctl|sendmsg_nosec)|sock_ioctl_out|netlink_(rcv_skb|unicast|unicast_kernel|sendmsg)|rtnetlink_rcv(_msg)?|rtnl_dumpit)$/,
  // VFS and sysfs plumbing (the store function named after the file stays)
  /^(vfs_write|new_sync_write|kernfs_fop_write(_iter)?|sysfs_kf_write|dev_attr_store|class_attr_store|do_vfs_ioctl|vfs_ioctl|__vfs_write)$/,
  // BPF programs, trampolines and the tracing machinery that ran the probe itself
  /^(bpf_prog_|bpf_trampoline_|__bpf_prog_(enter|exit)|bpf_get_stack|kprobe_|__kprobe|pre_handler_kretprobe|ftrace_|arch_ftrace|trace_call_bpf|perf_trace_|__traceiter_|bpf_trace_run)/,
  // kernel threads and workqueues (the work function itself stays); returning to user space, closing a file
  /^(ret_from_fork(_asm)?|kthread|worker_thread|process_one_work|process_scheduled_works|smpboot_thread_fn)$/,
  /^(exit_to_user_mode|syscall_exit_to_user_mode|task_work_run|_{0,2}fput|____fput|do_exit|do_group_exit|get_signal|arch_do_signal_or_restart)/,
  // locking wrappers and the notifier call chain around a handler
  /^(rtnl_lock|rtnl_unlock|netdev_lock|__mutex_lock|mutex_lock|raw_notifier_call_chain|notifier_call_chain|call_netdevice_notifiers(_info|_extack|_mtu)?|call_netdevice_notifiers_info_robust)$/,
];

/**
 * `bond_enslave+1234` / `do_setlink.isra.0+0x2a/0x90` / `netif_set_mac_address [inlined]` /
 * `dev_addr_mod+5 @net/core/dev_addr_lists.c:42` / `bond_enslave [bonding]` -> the bare function name.
 */
export function frameName(frame: string): string {
  return frame
    .trim()
    .replace(/\s*@\S+$/, '')
    .replace(/\s*\[[^\]]*\]$/, '')
    .replace(/\s*\([^)]*\)$/, '')
    .replace(/\+0x[0-9a-f]+(\/0x[0-9a-f]+)?$|\+\d+$/, '')
    .replace(/(\.(isra|constprop|part|cold|llvm|lto_priv)(\.\d+)?)+$/, '');
}

export function isGeneric(name: string): boolean {
  return GENERIC.some((re) => re.test(name));
}

/** `__rtnl_newlink` next to `rtnl_newlink` is one step: the wrapper and its worker. */
function twins(a: string, b: string): boolean {
  return a.replace(/^_+/, '') === b.replace(/^_+/, '');
}

/** The frames of a kernel stack that carry meaning, outermost first, without repeats. */
export function pathOf(kstack: string[]): string[] {
  const out: string[] = [];
  for (let i = kstack.length - 1; i >= 0; i--) {
    const f = frameName(kstack[i]!);
    if (!f || isGeneric(f) || out.includes(f)) continue;
    const last = out[out.length - 1];
    if (last !== undefined && twins(last, f)) continue;
    out.push(f);
  }
  return out;
}

export function stackHas(kstack: string[], fn: string): boolean {
  return kstack.some((f) => frameName(f) === fn);
}

/** Whether any frame's name matches (suffixes such as `.isra.0` removed first). */
export function stackMatches(kstack: string[], re: RegExp): boolean {
  return kstack.some((f) => re.test(frameName(f)));
}
