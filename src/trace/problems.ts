// Problems in input files: one line each (`ifblame: FILE:LINE: message`), counted, never a stack dump.
import { EXIT, IfblameError } from '../errors.js';

/** One thing wrong with one line of a trace file. `warning`: the line is still used (or harmless); `error`: skipped. */
export interface TraceProblem {
  file: string;
  line: number;
  level: 'error' | 'warning';
  message: string;
  /** The line was not used (garbage, invalid, too long, torn); false for warnings about lines still used. */
  skipped: boolean;
}

/** The one line a user sees for a problem: `ifblame: FILE:LINE: message`. */
export function formatProblem(p: TraceProblem): string {
  return `ifblame: ${p.file}:${p.line}: ${p.level === 'warning' ? 'warning: ' : ''}${p.message}`;
}

/** A trace file that cannot be read at all (no header, wrong format or version), or a problem under `--strict`. */
export class TraceFileError extends IfblameError {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly problem: string,
    hint?: string,
  ) {
    super(`${file}:${line}: ${problem}`, hint, EXIT.usage);
    this.name = 'TraceFileError';
  }
}

/** The error a consumer throws for a problem in strict mode. */
export function strictError(p: TraceProblem): TraceFileError {
  return new TraceFileError(p.file, p.line, p.message, 'without --strict bad lines are reported and skipped, and the rest is read');
}

/** An I/O error in words a user acts on. */
export function ioReason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  switch (err?.code) {
    case 'ENOENT': return 'no such file';
    case 'EACCES': return 'permission denied';
    case 'EISDIR': return 'is a directory, not a trace file';
    default: return err?.message ?? String(e);
  }
}
