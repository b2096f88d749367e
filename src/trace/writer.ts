// Trace files: a header line, then one JSON event per line, each written straight to the kernel so SIGKILL loses nothing whole.
// A write that fails (no space left, I/O error, the file or its directory removed) stops *recording*, never tracing:
// the file is cut back to its last complete line, the failure is reported once (onError), later writes are dropped.
import { closeSync, fstatSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { EXIT, IfblameError } from '../errors.js';
import type { TraceEvent } from '../events.js';
import { terminalSafeJson } from '../format/escape.js';
import { humanBytes } from '../format/values.js';
import type { TraceHeader } from './format.js';

/** The `source` of the note a live feed emits when recording stops on its own (sinks and capture key on it). */
export const RECORDING_SOURCE = 'recording';

/** Why recording stopped early. */
export interface RecordingFailure {
  path: string;
  /** errno code (`ENOSPC`, `EIO`...), or `REMOVED` when the file was unlinked under us. */
  code: string;
  /** In words: `no space left on device`. */
  reason: string;
  /** Complete lines' bytes in the file (its valid length). */
  bytes: number;
  events: number;
  /** The one line: `recording stopped: no space left on device after 1.2 MiB (file F is valid up to its last complete line)`. */
  message: string;
}

export interface Recorder {
  readonly path: string;
  /** Bytes written so far. */
  readonly bytes: number;
  /** Bytes this recorder wrote (no system call: rotation checks it at every event). */
  readonly written: number;
  readonly events: number;
  /** Set once a write failed: recording stopped, later writes are dropped. */
  readonly failed: RecordingFailure | null;
  /** Writes one event line; false when recording has stopped (closed or failed). Throws only without `onError`. */
  write(ev: TraceEvent): boolean;
  close(): void;
}

/** File operations, replaceable by tests (an EIO cannot be made on demand). */
export interface RecorderIo {
  write(fd: number, buf: Buffer, off: number): number;
  fstat(fd: number): { size: number; nlink: number };
}

export interface RecorderOptions {
  /**
   * Called once when a write fails. With it, write() never throws: the caller reports the failure (the live feed
   * emits a note with source RECORDING_SOURCE and forgets the recorder). Without it, the failure is thrown as an
   * IfblameError with exit code EXIT.recording (import: the output file is the whole point).
   */
  onError?: (f: RecordingFailure) => void;
  /** How often (ms) to check that the file still has a name (a removed directory does not fail writes). Default 1000. */
  checkEveryMs?: number;
  io?: RecorderIo;
}

const REASONS: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large',
  EIO: 'input/output error',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOENT: 'no such directory',
  ENOTDIR: 'a part of the path is not a directory',
  ESTALE: 'stale file handle (the file was removed on the server)',
  EBADF: 'the file is no longer open',
  REMOVED: 'the trace file (or its directory) was removed',
};

/** One line of a trace file (header or event): terminal-safe JSON and a newline. Every trace line is made here. */
export function traceLine(obj: unknown): string {
  return terminalSafeJson(JSON.stringify(obj)) + '\n';
}

export function recordingFailure(path: string, code: string, bytes: number, events: number, detail?: string): RecordingFailure {
  const reason = REASONS[code] ?? (detail ? detail.split('\n')[0]!.slice(0, 200) : code.toLowerCase());
  const rest = code === 'REMOVED' ? `(file ${path} is no longer reachable)` : `(file ${path} is valid up to its last complete line)`;
  return { path, code, reason, bytes, events, message: `recording stopped: ${reason} after ${humanBytes(bytes)} ${rest}` };
}

const NODE_IO: RecorderIo = {
  write: (fd, buf, off) => writeSync(fd, buf, off),
  fstat: (fd) => fstatSync(fd),
};

/** Create (truncate) `path` and write the header; every later write is one line, appended at once. */
export function createRecorder(path: string, header: TraceHeader, opts: RecorderOptions = {}): Recorder {
  const io = opts.io ?? NODE_IO;
  const checkEvery = opts.checkEveryMs ?? 1000;
  let fd: number;
  try {
    fd = openSync(path, 'w', 0o640);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    const reason = REASONS[code] ?? (code === 'EISDIR' ? 'it is a directory' : code || (e as Error).message.split('\n')[0]!);
    throw new IfblameError(`cannot write the trace file ${path}: ${reason}`, 'choose a writable path', EXIT.recording);
  }
  let bytes = 0;
  let events = 0;
  let closed = false;
  let failed: RecordingFailure | null = null;
  let checkedAt = Date.now();
  const line = (obj: unknown) => {
    const buf = Buffer.from(traceLine(obj));
    // One write(2) per line: complete lines reach the page cache as they arrive; a crash can only tear the last.
    let off = 0;
    while (off < buf.length) off += io.write(fd, buf, off);
    bytes += buf.length;
  };
  const shut = () => {
    if (closed) return;
    closed = true;
    try {
      closeSync(fd);
    } catch {
      // an I/O error on close: the failure is already what we report
    }
  };
  const fail = (code: string, detail?: string): RecordingFailure => {
    // A partly written line would be a torn line: cut the file back to its last complete line (best effort).
    try {
      ftruncateSync(fd, bytes);
    } catch {
      // the reader tolerates a torn last line
    }
    shut();
    failed = recordingFailure(path, code, bytes, events, detail);
    return failed;
  };
  try {
    line(header);
  } catch (e) {
    const f = fail((e as NodeJS.ErrnoException).code ?? 'EIO', (e as Error).message);
    throw new IfblameError(`cannot write the trace file ${path}: ${f.reason}`, 'choose another path (or free some space)', EXIT.recording);
  }
  return {
    path,
    get bytes() {
      if (closed) return bytes;
      try {
        return Math.max(bytes, io.fstat(fd).size);
      } catch {
        return bytes;
      }
    },
    get written() {
      return bytes;
    },
    get events() {
      return events;
    },
    get failed() {
      return failed;
    },
    write(ev) {
      if (closed) return false;
      try {
        const now = Date.now();
        if (now - checkedAt >= checkEvery) {
          checkedAt = now;
          if (io.fstat(fd).nlink === 0) {
            const err = new Error('removed') as NodeJS.ErrnoException;
            err.code = 'REMOVED';
            throw err;
          }
        }
        line(ev);
        events++;
        return true;
      } catch (e) {
        const f = fail((e as NodeJS.ErrnoException).code ?? 'EIO', (e as Error).message);
        if (!opts.onError) throw new IfblameError(f.message, undefined, EXIT.recording);
        opts.onError(f);
        return false;
      }
    },
    close() {
      shut();
    },
  };
}
