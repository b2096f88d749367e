// Several trace files read as one, in event-time order (a recording directory's rotated files, boots one after the
// other): each file is a source of the one Merge every feed uses, its watermark the last time it delivered.
import type { TraceHeader } from '../trace/format.js';
import { TraceReader, type TraceItem, type TraceReadOptions, type TraceReadStats, type TraceSource } from '../trace/reader.js';
import { Merge } from './merge.js';

/** What a replay reads: one trace file, or several merged. */
export interface ReplayReader {
  readonly file: string;
  readonly header: TraceHeader;
  readonly size: number | undefined;
  next(): Promise<TraceItem[] | null>;
  stats(): Pick<TraceReadStats, 'bytes'>;
  close(): void;
}

/** Opens one source as itself, several as one merged reader (headers read and checked at once, the earliest first). */
export async function openReplayReader(sources: TraceSource[], opts: TraceReadOptions): Promise<ReplayReader> {
  if (sources.length === 1) return TraceReader.open(sources[0]!, opts);
  const readers: TraceReader[] = [];
  try {
    for (const s of sources) readers.push(await TraceReader.open(s, opts));
  } catch (e) {
    for (const r of readers) r.close();
    throw e;
  }
  readers.sort((a, b) => Date.parse(a.header.createdAt) - Date.parse(b.header.createdAt));
  return new MergedReader(readers);
}

class MergedReader implements ReplayReader {
  readonly file: string;
  readonly header: TraceHeader;
  readonly size: number | undefined;
  private readonly merge: Merge<TraceItem>;
  private readonly last: number[];
  private readonly ended: boolean[];

  constructor(private readonly readers: TraceReader[]) {
    this.file = readers.map((r) => r.file).join(', ');
    // The earliest file's header: its snapshot is the state the replay starts from.
    this.header = readers[0]!.header;
    this.size = readers.every((r) => r.size !== undefined) ? readers.reduce((n, r) => n + r.size!, 0) : undefined;
    this.merge = new Merge<TraceItem>(readers.length);
    this.last = readers.map(() => -Infinity);
    this.ended = readers.map(() => false);
  }

  /** The next items every file has passed, in time order; null at the end of all of them. */
  async next(): Promise<TraceItem[] | null> {
    for (;;) {
      const out = this.merge.drain();
      if (out.length) return out;
      // Read on from the file holding the others back (the lowest watermark).
      let i = -1;
      for (let k = 0; k < this.readers.length; k++) if (!this.ended[k] && (i < 0 || this.last[k]! < this.last[i]!)) i = k;
      if (i < 0) {
        const rest = this.merge.flush();
        return rest.length ? rest : null;
      }
      const batch = await this.readers[i]!.next();
      if (!batch) {
        this.ended[i] = true;
        this.merge.end(i);
        continue;
      }
      for (const item of batch) {
        // A problem keeps its place after the file's last event.
        const ts = item.event ? item.event.ts : this.last[i]!;
        if (ts > this.last[i]!) this.last[i] = ts;
        this.merge.push(i, Number.isFinite(ts) ? ts : 0, item, false);
      }
      this.merge.advance(i, this.last[i]!);
    }
  }

  stats(): Pick<TraceReadStats, 'bytes'> {
    return { bytes: this.readers.reduce((n, r) => n + r.stats().bytes, 0) };
  }

  close(): void {
    for (const r of this.readers) r.close();
  }
}
