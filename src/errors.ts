// Errors a user can act on: one line, a hint, an exit code — never a stack dump.

/** Exit codes, documented in the README. */
export const EXIT = {
  ok: 0,
  /** A --fail-on change happened (capture) or a finding of severity error (explain). */
  finding: 1,
  /** Bad usage or bad input (options, filters, trace file). */
  usage: 2,
  /** Tracing could not start or failed (no root, no bpftrace, bpftrace error). */
  tracing: 3,
  /** The command run under `capture -- CMD` exited non-zero (its code is in the summary). */
  command: 4,
  /**
   * Recording to the trace file stopped early (no space left, I/O error, file or directory removed, permission
   * denied): tracing and the output went on, the file is valid up to its last complete line. Takes precedence over
   * `command` and `finding` (the evidence is incomplete), not over `tracing`.
   */
  recording: 5,
} as const;

export class IfblameError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
    readonly exitCode: number = EXIT.usage,
  ) {
    super(message);
    this.name = 'IfblameError';
  }
}

/** The one line a user sees: `ifblame: <message> (hint: ...)`. */
export function formatError(err: unknown): string {
  if (err instanceof IfblameError) return `ifblame: ${err.message}${err.hint ? ` (hint: ${err.hint})` : ''}`;
  const msg = err instanceof Error ? err.message : String(err);
  return `ifblame: internal error: ${msg.split('\n')[0]} (hint: rerun with IFBLAME_DEBUG=1 for details and report it)`;
}
