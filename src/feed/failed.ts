// A Feed that only fails: tracing could not even be planned (no bpftrace, no root), and the TUI still shows a clear screen.
import { hostname, release } from 'node:os';
import type { Backend } from '../events.js';
import { buildHeader } from '../trace/format.js';
import type { Feed, FeedStats, IfaceState } from './feed.js';

export function failedFeed(error: unknown, backend: Backend = 'syscalls'): Feed {
  const header = buildHeader({ host: hostname(), kernel: release(), bpftraceVersion: null, backend, program: '', probes: { used: [], dropped: [] }, snapshot: [] });
  return {
    mode: 'live',
    header,
    failure: null,
    attachedProbes: 0,
    onEvent: () => undefined,
    onReset: () => undefined,
    start: () => Promise.reject(error),
    stop: () => Promise.resolve(),
    done: new Promise<void>(() => undefined),
    state: (): IfaceState[] => [],
    stats: (): FeedStats => ({ events: 0, lost: 0, badLines: 0 }),
  };
}
