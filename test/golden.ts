// The golden programs: the whole catalog per backend, no filters — what probes/*.bt holds.
import { fileURLToPath } from 'node:url';
import type { Backend } from '../src/events.js';
import { generate } from '../src/probes/generate.js';
import { VERSION } from '../src/version.js';

export const GOLDEN_BACKENDS: Backend[] = ['kfunc', 'kprobe', 'syscalls'];
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export function goldenPath(b: Backend): string {
  return `${ROOT}probes/ifblame-${b}.bt`;
}

export function goldenProgram(b: Backend): string {
  return generate({ backend: b, filters: { iface: [], comm: [] }, version: VERSION }).text;
}
