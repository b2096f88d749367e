// The golden programs: the whole catalog per backend, no filters — what probes/*.bt holds.
import { fileURLToPath } from 'node:url';
import type { Backend } from '../src/events.js';
import { generate } from '../src/probes/generate.js';
import { VERSION } from '../src/version.js';

export const GOLDEN_BACKENDS: Backend[] = ['kfunc', 'kprobe', 'syscalls'];
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The syscalls program as bpftrace 0.24+ gets it (for-range loop, deletes whose result is used). */
export const GOLDEN_MODERN_BPFTRACE = '0.24.0';

export function goldenPath(b: Backend, bpftrace?: string): string {
  return `${ROOT}probes/ifblame-${b}${bpftrace ? `-bpftrace${bpftrace}` : ''}.bt`;
}

export function goldenProgram(b: Backend, bpftrace?: string): string {
  return generate({ backend: b, filters: { iface: [], comm: [] }, version: VERSION, ...(bpftrace ? { bpftrace } : {}) }).text;
}

/** Every golden file: each backend for any bpftrace, and the syscalls one for 0.24+. */
export const GOLDEN: [Backend, string | undefined][] = [
  ...GOLDEN_BACKENDS.map((b): [Backend, undefined] => [b, undefined]),
  ['syscalls', GOLDEN_MODERN_BPFTRACE],
];
