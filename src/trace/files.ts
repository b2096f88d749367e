// Trace files named on a command line: a file is itself, a directory every trace file under it (recursively, sorted).
import { closeSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Names that are trace files whatever they hold (a bad one is reported by the reader, not skipped here). */
const TRACE_NAME = /\.(ifblame|trace|ndjson)$/;
const HEADER_START = '{"format":"ifblame-trace"';

/**
 * A directory stands for every trace file under it (recursively, sorted; dot-files and other files skipped):
 * those with a trace file's name, and any other file that starts like a trace header (fetched files keep any name).
 * A file is itself.
 */
export function traceFilesUnder(path: string): string[] {
  let st;
  try {
    st = statSync(path);
  } catch {
    return [path]; // the reader reports it
  }
  if (!st.isDirectory()) return [path];
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.name.startsWith('.')) continue;
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && (TRACE_NAME.test(e.name) || startsLikeTrace(p))) out.push(p);
    }
  };
  walk(path);
  return out;
}

function startsLikeTrace(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const buf = Buffer.alloc(HEADER_START.length);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return buf.toString('utf8', 0, n) === HEADER_START;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
