// Bad input is data, not an exception: parsers return a ParseError that the caller counts and reports.

/** One input line (or entry) a parser could not use, with its 1-based position. */
export interface ParseError {
  error: string;
  line: number;
  /** The offending input, cut to a readable length. */
  input?: string;
}

const INPUT_EXCERPT = 200;

/** Builds a ParseError, keeping only an excerpt of the offending input. */
export function parseError(error: string, line: number, input?: string): ParseError {
  if (input === undefined) return { error, line };
  const excerpt = input.length > INPUT_EXCERPT ? `${input.slice(0, INPUT_EXCERPT)}…` : input;
  return { error, line, input: excerpt };
}

/** Tells a parser's error value from its result. */
export function isParseError(x: unknown): x is ParseError {
  return typeof x === 'object' && x !== null && typeof (x as { error?: unknown }).error === 'string' && typeof (x as { line?: unknown }).line === 'number';
}
