// Sink output gathered and written once per batch of events: one write instead of one per event on a file or pipe.
import { Writable } from 'node:stream';

/**
 * What the sinks write to: their lines are gathered and handed to the real output once per batch of events
 * (a write per event costs a syscall each on a file or pipe, where stdout writes synchronously).
 */
export class BatchedWriter extends Writable {
  private parts: string[] = [];
  private size = 0;

  constructor(private readonly target: Writable) {
    super();
  }

  override write(chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
    this.parts.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString());
    this.size += (chunk as { length: number }).length;
    if (this.size > 1 << 20) this.flush();
    const done = typeof encoding === 'function' ? encoding : cb;
    if (typeof done === 'function') process.nextTick(done as () => void);
    return true;
  }

  flush(): void {
    if (!this.parts.length) return;
    const text = this.parts.length === 1 ? this.parts[0]! : this.parts.join('');
    this.parts = [];
    this.size = 0;
    if (!this.target.destroyed) this.target.write(text);
  }
}
