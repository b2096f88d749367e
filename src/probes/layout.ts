// What the parser reads: the field layout of every line a backend's program prints, by tag (`id`, `id/ret`).
import type { Backend } from '../events.js';
import { KERNEL_PROBES, SYSCALL_PROBES, type KernelProbe } from './catalog.js';
import { COMMON_FIELDS, COMMON_RET_FIELDS, type Field } from './fields.js';

/** How the probe attaches: fentry/fexit (kfunc) or kprobe/kretprobe. */
export type Attach = 'kfunc' | 'kprobe';

export const RET_SUFFIX = '/ret';

/** The field layout of every line a backend's program can print, by tag (`id` and `id/ret`): what the parser reads. */
export function layoutsFor(backend: Backend): Map<string, readonly Field[]> {
  const out = new Map<string, readonly Field[]>();
  if (backend === 'syscalls') {
    for (const p of SYSCALL_PROBES) {
      out.set(p.id, commonAndOwn(p.fields));
      if (p.exit) out.set(p.id + RET_SUFFIX, [...COMMON_RET_FIELDS, SYSCALL_RET]);
    }
    return out;
  }
  for (const p of KERNEL_PROBES) {
    const attach = attachOf(p, backend);
    out.set(p.id, commonAndOwn(p.fields));
    if (p.ret) out.set(p.id + RET_SUFFIX, [...COMMON_RET_FIELDS, ...p.ret.filter((f) => !f.only || f.only === attach)]);
  }
  return out;
}

export const SYSCALL_RET: Field = { name: 'ret', type: 'int', expr: 'args->ret' };

export function attachOf(p: KernelProbe, backend: Backend): Attach {
  return backend === 'kfunc' && !p.kfuncAsKprobe ? 'kfunc' : 'kprobe';
}

/** Every line starts with the common fields, then the probe's own. */
export function commonAndOwn(fields: readonly Field[]): readonly Field[] {
  return [...COMMON_FIELDS, ...fields];
}
