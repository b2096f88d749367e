// Getting the terminal right and giving it back: locale and TERM before blessed reads terminfo, restore on every way out.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';

/** Leave the alternate screen, show the cursor, reset colours, stop mouse reporting, normal cursor keys. */
export const RESET_SEQUENCE = '\x1b[0m\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[?1l\x1b>\x1b[?25h\x1b[?1049l';

/** Does a compiled terminfo entry exist for `term` where ncurses would look? */
export function terminfoExists(term: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const dirs = [
    env.TERMINFO,
    `${env.HOME ?? homedir()}/.terminfo`,
    ...(env.TERMINFO_DIRS ?? '').split(':'),
    '/etc/terminfo',
    '/lib/terminfo',
    '/usr/share/terminfo',
    '/usr/lib/terminfo',
  ];
  const first = term[0] ?? '';
  return dirs.some((d) => !!d && (existsSync(`${d}/${first}/${term}`) || existsSync(`${d}/${first.charCodeAt(0).toString(16)}/${term}`)));
}

/** The locale that counts (LC_ALL, then LC_CTYPE, then LANG) names UTF-8. */
export function isUtf8Locale(env: NodeJS.ProcessEnv = process.env): boolean {
  return /utf-?8/i.test(env.LC_ALL || env.LC_CTYPE || env.LANG || '');
}

/**
 * Borders need a UTF-8 locale (blessed falls back to `?` otherwise) and a known TERM. Sets LANG when no locale
 * variable says anything, TERM when it is missing, `dumb` or unknown here; returns the terminal to give blessed.
 */
export function prepareTerminalEnv(env: NodeJS.ProcessEnv = process.env): string {
  if (!env.LANG && !env.LC_ALL && !env.LC_CTYPE) env.LANG = 'C.UTF-8';
  // In a UTF-8 locale draw borders as UTF-8, not with the VT100 alternate charset: terminals (and tmux's
  // capture-pane) that mishandle ACS show `lqqqk` instead of lines. Same switch as ncurses.
  if (isUtf8Locale(env) && env.NCURSES_NO_UTF8_ACS === undefined) env.NCURSES_NO_UTF8_ACS = '1';
  const term = env.TERM ?? '';
  if (!term || term === 'dumb' || term === 'unknown' || !terminfoExists(term, env)) env.TERM = 'xterm-256color';
  return env.TERM!;
}

/** Last resort when blessed could not clean up (it died, or the process is exiting): raw reset, cooked mode. */
export function forceRestore(output: NodeJS.WritableStream, input: NodeJS.ReadableStream): void {
  try {
    output.write(RESET_SEQUENCE);
  } catch {
    // the terminal is gone (SIGHUP): nothing to restore
  }
  const tty = input as NodeJS.ReadStream;
  try {
    if (tty.isTTY && tty.isRaw) tty.setRawMode(false);
  } catch {
    // same
  }
}

export interface ExitHooks {
  signal(sig: NodeJS.Signals): void;
  fatal(err: unknown): void;
}

export const SIGNALS = ['SIGTERM', 'SIGHUP', 'SIGINT', 'SIGQUIT'] as const;
const SIGNAL_NUMBER: Record<(typeof SIGNALS)[number], number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGTERM: 15 };

/** Shell convention: killed by signal N -> 128 + N. */
export function signalExitCode(sig: NodeJS.Signals): number {
  return 128 + (SIGNAL_NUMBER[sig as (typeof SIGNALS)[number]] ?? 15);
}

/** Route signals and uncaught errors to the app (our listeners also silence blessed's own exit-at-once handlers). */
export function installExitHooks(h: ExitHooks): () => void {
  const onSignal = (sig: NodeJS.Signals) => h.signal(sig);
  const onFatal = (err: unknown) => h.fatal(err);
  for (const s of SIGNALS) process.on(s, onSignal);
  process.on('uncaughtException', onFatal);
  process.on('unhandledRejection', onFatal);
  return () => {
    for (const s of SIGNALS) process.off(s, onSignal);
    process.off('uncaughtException', onFatal);
    process.off('unhandledRejection', onFatal);
  };
}
