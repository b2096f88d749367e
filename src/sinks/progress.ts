// Progress on stderr for long non-TUI replays: a self-erasing line on a terminal, plain lines every 5 s otherwise.
import type { Writable } from 'node:stream';
import type { Feed } from '../feed/feed.js';

/** Progress on stderr for long non-TUI replays: a self-erasing line on a terminal, plain lines otherwise. */
export class Progress {
  private timer: NodeJS.Timeout | undefined;
  private shown = false;
  private readonly t0 = Date.now();
  private lastLine = 0;

  constructor(
    private readonly err: NodeJS.WriteStream | Writable,
    private readonly tty: boolean,
    private readonly enabled: boolean,
    private readonly feed: Feed,
  ) {
    if (enabled) {
      this.timer = setInterval(() => this.tick(), 250);
      this.timer.unref();
    }
  }

  private text(): string {
    const p = this.feed.progress!();
    const secs = (Date.now() - this.t0) / 1000;
    const pct = p.size ? ` ${((100 * p.bytes) / p.size).toFixed(0).padStart(3)}%` : '';
    const rate = secs > 0 ? `${fmtCount(p.read / secs)} ev/s` : '';
    return `replay${pct}  ${fmtCount(p.read)} events read, ${fmtCount(p.emitted)} shown  ${rate}`;
  }

  private tick(): void {
    const elapsed = Date.now() - this.t0;
    if (elapsed < 1000) return; // short replays stay quiet
    if (this.tty) {
      this.err.write(`\r\x1b[K${this.text()}`);
      this.shown = true;
    } else if (this.lastLine === 0 || elapsed - this.lastLine >= 5000) {
      this.lastLine = elapsed;
      this.err.write(`ifblame: ${this.text()}\n`);
    }
  }

  /** Erase the line before something else goes to stderr. */
  clear(): void {
    if (this.shown && this.tty) this.err.write('\r\x1b[K');
    this.shown = false;
  }

  end(): void {
    if (this.timer) clearInterval(this.timer);
    this.clear();
  }
}

function fmtCount(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(0)}k`;
  return String(Math.round(n));
}
