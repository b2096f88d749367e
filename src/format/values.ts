// How values, times and addresses read for people: the one formatter the text output, the TUI and explain share.

/** A change's before/after: `-` when there is none. */
export function valueText(v: string | number | null | undefined): string {
  return v === null || v === undefined || v === '' ? '-' : String(v);
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** µs since the epoch -> `HH:MM:SS.mmm`, local time or UTC. */
export function clockText(tsUs: number, utc = false): string {
  const d = new Date(Math.floor(tsUs / 1000));
  const [h, m, s] = utc ? [d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()] : [d.getHours(), d.getMinutes(), d.getSeconds()];
  return `${pad(h)}:${pad(m)}:${pad(s)}.${pad(Math.floor((tsUs % 1_000_000) / 1000), 3)}`;
}

/** µs since the epoch -> `YYYY-MM-DD HH:MM:SS.uuuuuu`, local time or UTC. */
export function fullTime(tsUs: number, utc = false): string {
  const d = new Date(Math.floor(tsUs / 1000));
  const date = utc
    ? `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`
    : `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  return `${date} ${clockText(tsUs, utc).slice(0, 8)}.${pad(Math.floor(tsUs % 1_000_000), 6)}`;
}

/** `512 B`, `1.2 MiB`, `37 MiB`: file sizes in the status line and in recording messages. */
export function humanBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}
