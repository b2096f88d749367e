// No child may outlive ifblame, even when ifblame is SIGKILLed: the kernel kills it for us (PR_SET_PDEATHSIG).
import { existsSync } from 'node:fs';

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

/** argv to put in front of a command so it dies with us; empty when setpriv is missing. */
export function guardPrefix(): string[] {
  if (!SETPRIV || process.env.IFBLAME_NO_PDEATHSIG) return [];
  return [SETPRIV, '--pdeathsig', 'KILL', '--'];
}

/** `[cmd, args]` wrapped in `setpriv --pdeathsig KILL` (util-linux) when it is there. */
export function guardChild(cmd: string, args: string[]): [string, string[]] {
  const [wrapper, ...rest] = guardPrefix();
  return wrapper ? [wrapper, [...rest, cmd, ...args]] : [cmd, args];
}
