// A recorder that never fills the disk: self-contained trace files in one directory, a new one when the current is too
// big or too old, the oldest deleted (earlier boots first, never the current file) to keep the total under a cap.
// Rotation happens inside write(), between two events: an event goes into the old file or the new one, never nowhere.
import { mkdirSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT, IfblameError } from '../errors.js';
import type { TraceEvent } from '../events.js';
import type { TraceHeader } from './format.js';
import { listRecordFiles, recordFileName } from './record-dir.js';
import { createRecorder, recordingFailure, type Recorder, type RecordingFailure } from './writer.js';

export interface RotateLimits {
  /** Start a new file once the current one holds this many bytes. */
  maxFileBytes: number;
  /** Start a new file once the current one is this old (checked when an event comes). */
  maxAgeMs: number;
  /** Delete the oldest files to keep every recording file of the directory under this (within one event line). */
  maxTotalBytes: number;
}

export const DEFAULT_LIMITS: RotateLimits = { maxFileBytes: 16 * 1024 ** 2, maxAgeMs: 86_400_000, maxTotalBytes: 100 * 1024 ** 2 };

export interface RotatingOptions {
  dir: string;
  /** This boot's id: every file name carries it (`explain --boot`). */
  boot: string;
  limits: RotateLimits;
  /** The header of a new file: the state of every interface now. */
  headerNow: () => TraceHeader;
  /** Events written at the end of a file before it is closed (its late count). */
  closing?: () => TraceEvent[];
  /** Called once when writing fails: recording stops, tracing does not. */
  onError: (f: RecordingFailure) => void;
  /** A new file was started (after the first). */
  onRotate?: (path: string) => void;
  now?: () => number;
}

export interface RotatingRecorder extends Recorder {
  /** Files this recorder started. */
  readonly files: number;
}

/** Opens the first file at once (a directory that cannot be written is an error before tracing starts). */
export function createRotatingRecorder(o: RotatingOptions): RotatingRecorder {
  const now = o.now ?? Date.now;
  try {
    mkdirSync(o.dir, { recursive: true, mode: 0o750 });
  } catch (e) {
    throw new IfblameError(`cannot create the recording directory ${o.dir}: ${(e as Error).message.split('\n')[0]}`, 'choose another --dir', EXIT.recording);
  }
  let failed: RecordingFailure | null = null;
  let files = 0;
  const fail = (f: RecordingFailure) => {
    if (failed) return;
    failed = f;
    o.onError(f);
  };
  const open = (): { rec: Recorder; openedAt: number } => {
    const t = now();
    let name = recordFileName(o.boot, t);
    for (let n = 1; listRecordFiles(o.dir).some((f) => f.name === name); n++) name = recordFileName(o.boot, t, n);
    const path = join(o.dir, name);
    try {
      const rec = createRecorder(path, o.headerNow(), { onError: fail });
      files++;
      return { rec, openedAt: t };
    } catch (e) {
      // A file without its header is no trace file: do not leave it behind (a full disk).
      rmSync(path, { force: true });
      throw e;
    }
  };
  let cur = open();
  prune(o, cur.rec.path);
  let closed = false;

  const rotate = (): boolean => {
    for (const ev of o.closing?.() ?? []) cur.rec.write(ev);
    cur.rec.close();
    if (failed) return false;
    // Room for the new file first: on a full disk, deleting old files is what lets it be created.
    prune(o, null);
    const old = cur.rec;
    try {
      cur = open();
    } catch (e) {
      fail(recordingFailure(old.path, 'OPEN', old.written, old.events, (e as Error).message));
      return false;
    }
    o.onRotate?.(cur.rec.path);
    return true;
  };

  return {
    get path() {
      return cur.rec.path;
    },
    get bytes() {
      return cur.rec.bytes;
    },
    get written() {
      return cur.rec.written;
    },
    get events() {
      return cur.rec.events;
    },
    get failed() {
      return failed;
    },
    get files() {
      return files;
    },
    write(ev) {
      if (closed || failed) return false;
      // A file holds at least one event whatever its header's size: no rotation storm with a small --max-file.
      const due = cur.rec.events > 0 && (cur.rec.written >= o.limits.maxFileBytes || now() - cur.openedAt >= o.limits.maxAgeMs);
      if (due && !rotate()) return false;
      return cur.rec.write(ev);
    },
    close() {
      if (closed) return;
      closed = true;
      if (!failed) for (const ev of o.closing?.() ?? []) cur.rec.write(ev);
      cur.rec.close();
    },
  };
}

/**
 * Deletes the oldest recording files until the closed ones fit in the total minus one file (room for the current):
 * files of other boots first, then this boot's; never `keep` (the current file) nor this boot's newest closed file.
 */
function prune(o: RotatingOptions, keep: string | null): void {
  const all = listRecordFiles(o.dir).filter((f) => f.path !== keep);
  const budget = o.limits.maxTotalBytes - o.limits.maxFileBytes;
  let total = all.reduce((n, f) => n + f.size, 0);
  const mine = all.filter((f) => f.boot === o.boot);
  const newest = mine[mine.length - 1]?.path;
  const order = [...all.filter((f) => f.boot !== o.boot), ...mine.filter((f) => f.path !== newest)];
  for (const f of order) {
    if (total <= budget) return;
    try {
      unlinkSync(f.path);
      total -= f.size;
    } catch {
      // gone already, or not ours to delete: the next rotation tries again
    }
  }
}
