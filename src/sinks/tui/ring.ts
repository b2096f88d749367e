// A fixed-size circular buffer: the TUI keeps a bounded window however fast events arrive (the trace file keeps everything).
export class Ring<T> {
  private readonly items: (T | undefined)[];
  private head = 0;
  private count = 0;
  /** How many items were pushed out to make room. */
  evicted = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`ring capacity ${capacity}`);
    this.items = new Array<T | undefined>(capacity);
  }

  get size(): number {
    return this.count;
  }

  /** Adds an item; returns the one it pushed out, if any. */
  push(item: T): T | undefined {
    const slot = (this.head + this.count) % this.capacity;
    let out: T | undefined;
    if (this.count === this.capacity) {
      out = this.items[this.head];
      this.head = (this.head + 1) % this.capacity;
      this.evicted++;
    } else {
      this.count++;
    }
    this.items[slot] = item;
    return out;
  }

  /** i-th item, 0 = oldest. */
  at(i: number): T | undefined {
    if (i < 0 || i >= this.count) return undefined;
    return this.items[(this.head + i) % this.capacity];
  }

  /** Newest first, keeping only items that pass `keep`. */
  newestFirst(keep: (item: T) => boolean = () => true): T[] {
    const out: T[] = [];
    for (let i = this.count - 1; i >= 0; i--) {
      const item = this.items[(this.head + i) % this.capacity] as T;
      if (keep(item)) out.push(item);
    }
    return out;
  }

  clear(): void {
    this.items.fill(undefined);
    this.head = 0;
    this.count = 0;
    this.evicted = 0;
  }
}
