// Import: raw outputs people already have (bpftrace's JSON output of ifblame's own program, `ip -ts monitor link`)
// become a trace file through the same pipeline as a live session: file sources -> decode -> merge -> correlate -> writer.
import { rmSync } from 'node:fs';
import type { LinkEvent, ProbeEvent, TraceEvent } from '../events.js';
import { decodeLine, parseClockWall, type Decoded } from '../parse/bpftrace-json.js';
import { parseIpMonitorLine } from '../parse/ip-monitor.js';
import type { TraceHeader } from '../trace/format.js';
import { DEFAULT_MAX_LINE_BYTES, fileLines } from '../trace/lines.js';
import { TraceFileError, type TraceProblem } from '../trace/problems.js';
import { createRecorder } from '../trace/writer.js';
import type { UtcOffset } from '../time/local-time.js';
import { importHeader, type ImportOptions } from './import-facts.js';
import { Pipeline } from './pipeline.js';

export type { ImportOptions };

/** What an import was told; everything optional is found or detected. */
export interface ImportResult {
  header: TraceHeader;
  events: number;
  changes: number;
  lost: number;
  badLines: number;
  /** Where the facts came from: `--kernel`, `kernel.txt`, `detected`... */
  origin: Record<string, string>;
}

/** Both raw outputs are in time order but for small jitter (per-CPU buffers): each source's watermark trails it this much. */
const MERGE_WINDOW_US = 2_000_000;

/** The merge's sources: bpftrace first (a probe fires before netlink reports what it did). */
const BPFTRACE = 0;
const NETLINK = 1;

/** One item of a raw file: an event (raw: into the correlator too), or a lost/bad-line marker placed at its time. */
type Item = { ts: number; ev: TraceEvent };

/** Builds the trace file. Bad input lines go to `onProblem` (and into the trace as lost events); strict stops at the first. */
export async function importTrace(opts: ImportOptions, onProblem: (p: TraceProblem) => void = () => undefined): Promise<ImportResult> {
  let strictError: TraceFileError | undefined;
  function report(p: TraceProblem): void {
    if (opts.strict && !strictError) strictError = new TraceFileError(p.file, p.line, p.message, 'without --strict bad lines are reported, recorded as lost events, and the rest is imported');
    onProblem(p);
  }
  const { header, pre, origin, utcOffset } = await importHeader(opts, report);
  const pipeline = new Pipeline(header, { correlate: true, sources: 2 });
  const recorder = createRecorder(opts.out, header);
  pipeline.writeTo(recorder);
  const counts = { events: 0, changes: 0, lost: 0, badLines: 0 };
  pipeline.onEvent((ev) => {
    counts.events++;
    if (ev.type === 'change') counts.changes++;
    if (ev.type === 'lost') counts.lost += ev.count;
  });

  // Source 0: bpftrace output -> probe events (+ lost / notes / bad lines in place).
  async function* bpftraceItems(): AsyncGenerator<Item> {
    let lastTs = pre.monoToWallUs + pre.mono / 1000;
    let monoToWallUs = pre.monoToWallUs;
    const file = opts.bpftrace;
    for await (const batch of fileLines(file)) {
      for (const l of batch) {
        const bad = (message: string, level: 'error' | 'warning' = 'error'): Item => {
          counts.badLines++;
          report({ file, line: l.no, level, message: `${message}: skipped`, skipped: true });
          return { ts: lastTs, ev: { type: 'lost', ts: Math.round(lastTs), source: 'parser', count: 1, detail: `${file}:${l.no}: ${message}` } };
        };
        if (l.text === null) {
          yield bad(`line is ${l.bytes} bytes, longer than the ${DEFAULT_MAX_LINE_BYTES / 1024 / 1024} MiB limit`);
          continue;
        }
        if (l.text.trim() === '') continue;
        const d: Decoded = decodeLine(l.text, { backend: pre.backend, monoToWallUs });
        switch (d.kind) {
          case 'event':
            lastTs = d.event.ts;
            yield { ts: d.event.ts, ev: d.event };
            break;
          case 'clock': {
            const w = parseClockWall(d.wall);
            if (w !== undefined) monoToWallUs = w - d.mono / 1000;
            break;
          }
          case 'lost':
            yield { ts: lastTs, ev: { type: 'lost', ts: Math.round(lastTs), source: 'bpftrace', count: d.count, detail: 'bpftrace perf buffer overflow' } };
            break;
          case 'attached':
            yield { ts: lastTs, ev: { type: 'note', ts: Math.round(lastTs), level: 'info', source: 'bpftrace', message: `bpftrace attached ${d.probes} probes` } };
            break;
          case 'cols':
            if (d.mismatch) yield { ts: lastTs, ev: { type: 'note', ts: Math.round(lastTs), level: 'warn', source: 'bpftrace', message: `program output differs from this ifblame: ${d.mismatch}` } };
            break;
          case 'error':
            yield bad(l.terminated ? d.message : `torn last line (${d.message})`, l.terminated ? 'error' : 'warning');
            break;
          default:
            break;
        }
        if (strictError) return;
      }
    }
  }

  // Source 1: ip monitor lines -> link events.
  async function* netlinkItems(): AsyncGenerator<Item> {
    let lastTs = pre.monoToWallUs + pre.mono / 1000;
    const file = opts.netlink;
    for await (const batch of fileLines(file)) {
      for (const l of batch) {
        if (l.text !== null && l.text.trim() === '') continue;
        const r = l.text === null ? { error: `line is ${l.bytes} bytes, longer than the limit`, line: l.no } : parseIpMonitorLine(l.text, l.no, { utcOffset });
        if ('error' in r) {
          counts.badLines++;
          const message = l.terminated ? r.error : `torn last line (${r.error})`;
          report({ file, line: l.no, level: l.terminated ? 'error' : 'warning', message: `${message}: skipped`, skipped: true });
          yield { ts: lastTs, ev: { type: 'lost', ts: Math.round(lastTs), source: 'parser', count: 1, detail: `${file}:${l.no}: ${message}` } };
        } else {
          lastTs = r.ts;
          yield { ts: r.ts, ev: r };
        }
        if (strictError) return;
      }
    }
  }

  try {
    // Read whichever source is behind, so both advance together and the merge holds only a window of each.
    const sources = [bpftraceItems(), netlinkItems()];
    const heads = await Promise.all(sources.map((s) => s.next()));
    for (;;) {
      if (strictError) break;
      const open = [BPFTRACE, NETLINK].filter((i) => !heads[i]!.done);
      if (!open.length) break;
      const i = open.length === 1 ? open[0]! : (heads[BPFTRACE]!.value as Item).ts <= (heads[NETLINK]!.value as Item).ts ? BPFTRACE : NETLINK;
      const item = heads[i]!.value as Item;
      pipeline.push(i, item.ev, false);
      heads[i] = await sources[i]!.next();
      if (heads[i]!.done) pipeline.end(i);
      else pipeline.advance(i, item.ts - MERGE_WINDOW_US);
    }
    if (strictError) throw strictError;
    pipeline.flush();
  } catch (e) {
    // no half-made trace left behind to be mistaken for a whole one
    recorder.close();
    rmSync(opts.out, { force: true });
    throw e;
  } finally {
    recorder.close();
  }
  return { header, ...counts, origin };
}
