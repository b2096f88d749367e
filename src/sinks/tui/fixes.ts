// The fix for the failures people actually hit, in plain words, next to the error's own hint on the error screen.
const FIXES: [RegExp, string][] = [
  [
    /bpftrace (is )?not (installed|found)|spawn bpftrace ENOENT|bpftrace: (command )?not found/i,
    'install bpftrace: `apt install bpftrace` (Debian, Ubuntu) or `dnf install bpftrace` (Fedora)',
  ],
  [/\b(root|EPERM|EACCES|operation not permitted|permission denied|CAP_BPF|CAP_SYS_ADMIN)\b/i, 'run it as root: `sudo ifblame`'],
  [/\b(ip monitor|iproute2)\b|spawn ip ENOENT/i, 'install iproute2 (`ip`): `apt install iproute2`'],
  [/namespace|netns/i, 'check the namespace name: `ip netns list`'],
  [/did not attach|timed? ?out/i, 'a slow or busy machine: try again, or set IFBLAME_READY_TIMEOUT=300'],
];

/** Fixes that apply to this message, most specific first (none when nothing is recognised). */
export function fixesFor(message: string): string[] {
  return FIXES.filter(([re]) => re.test(message)).map(([, fix]) => fix);
}
