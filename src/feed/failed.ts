// A Feed that only fails: tracing could not even be planned (no bpftrace, no root), and the TUI still shows a clear screen.
import { hostname, release } from 'node:os';
import { FORMAT_NAME, SCHEMA_VERSION, type TraceHeader } from '../trace/format.js';
import type { Backend, TraceEvent } from '../events.js';
import type { Feed, FeedStats, IfaceState } from './feed.js';

export function failedFeed(error: unknown, backend: Backend = 'syscalls'): Feed {
  const header: TraceHeader = {
    format: FORMAT_NAME,
    version: SCHEMA_VERSION,
    createdAt: new Date().toISOString(),
    host: hostname(),
    kernel: release(),
    bpftraceVersion: null,
    backend,
    program: '',
    probes: { used: [], dropped: [] },
    filters: { iface: [], comm: [] },
    snapshot: [],
  };
  return {
    mode: 'live',
    header,
    onEvent: (_l: (ev: TraceEvent) => void) => undefined,
    onReset: () => undefined,
    start: () => Promise.reject(error),
    stop: () => Promise.resolve(),
    done: new Promise<void>(() => undefined),
    state: (): IfaceState[] => [],
    stats: (): FeedStats => ({ events: 0, lost: 0, badLines: 0 }),
  };
}
