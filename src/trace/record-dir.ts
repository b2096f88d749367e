// A recording directory (`ifblame record --dir`): file names by boot id and time, and the files of each boot in order.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { IfblameError } from '../errors.js';

/** The default directory of `ifblame record` and of `explain --boot`. */
export const DEFAULT_RECORD_DIR = '/var/log/ifblame';

/** One recording file: `ifblame-<boot id>-<UTC time, ms>[-n].ifblame`. */
export interface RecordFile {
  path: string;
  name: string;
  boot: string;
  /** When the file was started (ms since the epoch, from its name). */
  startedMs: number;
  size: number;
}

/** The files of one boot, oldest first. */
export interface BootFiles {
  boot: string;
  files: RecordFile[];
}

const NAME = /^ifblame-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})-(\d{8}T\d{9})Z(?:-(\d+))?\.ifblame$/;

/** This boot's id (the kernel makes a new one at every boot). */
export function currentBootId(): string {
  return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
}

/** `ifblame-<boot>-20261129T151200123Z.ifblame` (`-n` when that name is taken: two files in one millisecond). */
export function recordFileName(boot: string, ms: number, n = 0): string {
  const stamp = new Date(ms).toISOString().replace(/[-:]/g, '').replace('.', '').replace('Z', '');
  return `ifblame-${boot}-${stamp}Z${n ? `-${n}` : ''}.ifblame`;
}

function parseName(name: string): { boot: string; startedMs: number; n: number } | null {
  const m = NAME.exec(name);
  if (!m) return null;
  const s = m[2]!;
  const iso = `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}T${s.slice(9, 11)}:${s.slice(11, 13)}:${s.slice(13, 15)}.${s.slice(15, 18)}Z`;
  const startedMs = Date.parse(iso);
  return Number.isNaN(startedMs) ? null : { boot: m[1]!, startedMs, n: Number(m[3] ?? 0) };
}

/** The recording files in `dir`, oldest first (other files are not ours: never listed, counted or deleted). */
export function listRecordFiles(dir: string): RecordFile[] {
  const out: (RecordFile & { n: number })[] = [];
  for (const name of readdirSync(dir)) {
    const p = parseName(name);
    if (!p) continue;
    try {
      const st = statSync(join(dir, name));
      if (st.isFile()) out.push({ path: join(dir, name), name, boot: p.boot, startedMs: p.startedMs, n: p.n, size: st.size });
    } catch {
      // removed meanwhile (pruned by a running recorder)
    }
  }
  out.sort((a, b) => a.startedMs - b.startedMs || a.n - b.n || a.name.localeCompare(b.name));
  return out.map(({ n: _n, ...f }) => f);
}

/** Files grouped by boot, boots in the order they started (their first file). */
export function bootsOf(files: RecordFile[]): BootFiles[] {
  const boots = new Map<string, RecordFile[]>();
  for (const f of files) boots.set(f.boot, [...(boots.get(f.boot) ?? []), f]);
  return [...boots].map(([boot, fs]) => ({ boot, files: fs })).sort((a, b) => a.files[0]!.startedMs - b.files[0]!.startedMs);
}

/**
 * The boot `offset` away from `current` (0: that boot, -1: the one before, journalctl's `-b -1`); when `current` has no
 * files, -1 is the last boot recorded. Null when there is no such boot.
 */
export function bootAt(boots: BootFiles[], current: string, offset: number): BootFiles | null {
  const at = boots.findIndex((b) => b.boot === current);
  const i = (at < 0 ? boots.length : at) + offset;
  return boots[i] ?? null;
}

/** The files of the boot `offset` away from this one (0: this boot) in `dir`, oldest first; one line when there are none. */
export function filesOfBoot(dir: string, offset: number): string[] {
  let files: RecordFile[];
  try {
    files = listRecordFiles(dir);
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'it does not exist' : (e as Error).message.split('\n')[0];
    throw new IfblameError(
      `cannot read the recording directory ${dir}: ${why}`,
      'is the ifblame service installed? see `ifblame service status`, or give --dir',
    );
  }
  const boots = bootsOf(files);
  const b = bootAt(boots, currentBootId(), offset);
  if (!b)
    throw new IfblameError(
      `no recording of ${offset === 0 ? 'this boot' : `boot ${offset}`} in ${dir} (${boots.length} boot${boots.length === 1 ? '' : 's'} recorded)`,
      offset === 0 ? 'is the ifblame service running? see `ifblame service status`' : '`ifblame service status` lists the files',
    );
  return b.files.map((f) => f.path);
}
