// Byte streams split into numbered lines without decoding, with a length cap: shared by the trace reader and import.
import { createReadStream } from 'node:fs';
import { IfblameError } from '../errors.js';
import { ioReason } from './problems.js';

/** Lines longer than this are skipped (and reported) without ever being held in memory whole. */
export const DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024;

/**
 * Splits a byte stream at `\n` without decoding, so a line is never held whole when it is longer than the limit:
 * it is counted, measured and skipped. Lines keep their 1-based number; a final line without `\n` comes out
 * with `terminated: false`. A trailing `\r` is left to the caller.
 */
export class LineSplitter {
  /** Lines completed so far (the number of the last line handed out). */
  lineNo = 0;
  private pending: Buffer[] = [];
  private pendingLen = 0;
  private skipping = false;
  private skipLen = 0;

  constructor(
    private readonly maxLineBytes: number,
    private readonly onLine: (buf: Buffer, start: number, end: number, lineNo: number, terminated: boolean) => void,
    private readonly onOverlong: (lineNo: number, bytes: number, terminated: boolean) => void,
  ) {}

  push(chunk: Buffer): void {
    let pos = 0;
    const n = chunk.length;
    while (pos < n) {
      const nl = chunk.indexOf(10, pos);
      if (nl < 0) {
        this.keep(chunk, pos, n);
        return;
      }
      const no = ++this.lineNo;
      const len = nl - pos;
      if (this.skipping) {
        const total = this.skipLen + len;
        this.skipping = false;
        this.skipLen = 0;
        this.onOverlong(no, total, true);
      } else if (this.pendingLen > 0) {
        const total = this.pendingLen + len;
        if (total > this.maxLineBytes) {
          this.clearPending();
          this.onOverlong(no, total, true);
        } else {
          this.pending.push(chunk.subarray(pos, nl));
          const line = Buffer.concat(this.pending, total);
          this.clearPending();
          this.onLine(line, 0, total, no, true);
        }
      } else if (len > this.maxLineBytes) {
        this.onOverlong(no, len, true);
      } else {
        this.onLine(chunk, pos, nl, no, true);
      }
      pos = nl + 1;
    }
  }

  /** End of input: hands out a last line that had no `\n`. */
  end(): void {
    if (this.skipping) {
      const total = this.skipLen;
      this.skipping = false;
      this.skipLen = 0;
      this.onOverlong(++this.lineNo, total, false);
    } else if (this.pendingLen > 0) {
      const total = this.pendingLen;
      const line = Buffer.concat(this.pending, total);
      this.clearPending();
      this.onLine(line, 0, total, ++this.lineNo, false);
    }
  }

  private keep(chunk: Buffer, start: number, end: number): void {
    const len = end - start;
    if (this.skipping) {
      this.skipLen += len;
    } else if (this.pendingLen + len > this.maxLineBytes) {
      this.skipping = true;
      this.skipLen = this.pendingLen + len;
      this.clearPending();
    } else {
      // A copy: the caller may reuse its chunk buffer.
      this.pending.push(Buffer.from(chunk.subarray(start, end)));
      this.pendingLen += len;
    }
  }

  private clearPending(): void {
    this.pending = [];
    this.pendingLen = 0;
  }
}

/** Lines of a file, streaming, in batches: `{ text, no, terminated }`; over-long lines come back as `text: null`. */
export async function* fileLines(path: string): AsyncGenerator<{ text: string | null; no: number; terminated: boolean; bytes: number }[]> {
  let batch: { text: string | null; no: number; terminated: boolean; bytes: number }[] = [];
  const splitter = new LineSplitter(
    DEFAULT_MAX_LINE_BYTES,
    (buf, s, e, no, terminated) => {
      const end = e > s && buf[e - 1] === 13 ? e - 1 : e;
      batch.push({ text: buf.toString('utf8', s, end), no, terminated, bytes: e - s });
    },
    (no, bytes, terminated) => batch.push({ text: null, no, terminated, bytes }),
  );
  let stream;
  try {
    stream = createReadStream(path, { highWaterMark: 128 * 1024 });
    for await (const chunk of stream) {
      splitter.push(chunk as Buffer);
      if (batch.length) {
        yield batch;
        batch = [];
      }
    }
  } catch (e) {
    const err = e;
    throw new IfblameError(`${path}: ${ioReason(err)}`, 'check the path given to import');
  }
  splitter.end();
  if (batch.length) yield batch;
}
