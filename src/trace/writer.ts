// Trace files: a header line, then one JSON event per line, each written straight to the kernel so SIGKILL loses nothing whole.
import { closeSync, fstatSync, openSync, writeSync } from 'node:fs';
import { IfblameError } from '../errors.js';
import type { TraceEvent } from '../events.js';
import type { TraceHeader } from './format.js';

export interface Recorder {
  readonly path: string;
  /** Bytes written so far. */
  readonly bytes: number;
  readonly events: number;
  write(ev: TraceEvent): void;
  close(): void;
}

/** Create (truncate) `path` and write the header; every later write is one line, appended at once. */
export function createRecorder(path: string, header: TraceHeader): Recorder {
  let fd: number;
  try {
    fd = openSync(path, 'w', 0o640);
  } catch (e) {
    throw new IfblameError(`cannot write the trace file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 'choose a writable path with --record');
  }
  let bytes = 0;
  let events = 0;
  let closed = false;
  const line = (obj: unknown) => {
    const buf = Buffer.from(JSON.stringify(obj) + '\n');
    // One write(2) per line: complete lines reach the page cache as they arrive; a crash can only tear the last.
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off);
    bytes += buf.length;
  };
  line(header);
  return {
    path,
    get bytes() {
      return closed ? bytes : Math.max(bytes, fstatSync(fd).size);
    },
    get events() {
      return events;
    },
    write(ev) {
      if (closed) return;
      line(ev);
      events++;
    },
    close() {
      if (closed) return;
      closed = true;
      closeSync(fd);
    },
  };
}
