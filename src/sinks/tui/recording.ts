// `r`: start or stop recording through the live feed's record controls, never overwriting a file already used.
import { existsSync } from 'node:fs';
import { formatError } from '../../errors.js';
import type { RecordControls } from '../../feed/feed.js';
import type { TuiModel } from './model.js';
import { humanBytes } from '../../format/values.js';

/** `ifblame-20261121-134705.trace` in the current directory. */
export function stampedName(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `ifblame-${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}.trace`;
}

/** The first `r` records to `wanted` (if it is free), later ones to fresh timestamped names; results go to the status line. */
export function recordingToggle(rec: RecordControls | undefined, model: TuiModel, wanted: string | null | undefined): () => void {
  const used = new Set<string>();
  const nextPath = () => (wanted && !used.has(wanted) && !existsSync(wanted) ? wanted : stampedName());
  return () => {
    if (!rec) return model.say('no recording in replay: the file already is one');
    const was = rec.path;
    let op: Promise<string>;
    if (was) op = rec.stop().then(() => `recording stopped: ${was} (${humanBytes(rec.bytes)})`);
    else {
      const path = nextPath();
      used.add(path);
      op = rec.start(path).then(() => `recording to ${path}`);
    }
    op.then(
      (msg) => model.say(msg),
      (e: unknown) => model.say(formatError(e), 6000),
    );
  };
}
