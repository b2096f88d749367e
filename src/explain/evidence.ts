// Evidence references (FILE:LINE and the event in plain words), made lazily and kept in bounded lists.
import { labelActor } from '../correlate/actor.js';
import type { Change, TraceEvent } from '../events.js';
import { valueText } from '../format/values.js';
import { MAX_EVIDENCE, type EvidenceRef } from './types.js';

/** One change in plain words: what, before and after, who, through which kernel path. */
export function changeText(c: Change): string {
  const by = c.actor ? labelActor(c.actor) : 'unattributed';
  const via = c.via.path.length ? ` via ${c.via.path.join(' > ')}` : c.via.probe ? ` via ${c.via.probe}` : '';
  const note = c.via.note ? ` (${c.via.note})` : '';
  return `${c.iface} ${c.kind} ${valueText(c.before)} -> ${valueText(c.after)} by ${by}${via} [${c.evidence}]${note}`;
}

/** Makes the evidence of one file: an event at a line, or a fact without a line (the header's snapshot). */
export class EvidenceMaker {
  constructor(
    readonly file: string,
    readonly host: string,
  ) {}
  event(ev: TraceEvent, line: number, text: string): EvidenceRef {
    return { file: this.file, host: this.host, line, ts: ev.ts, text, event: ev };
  }
  fact(text: string): EvidenceRef {
    return { file: this.file, host: this.host, text };
  }
}

/**
 * A change and where it is; its evidence text is made only when it is kept as evidence (few are). `change` is what
 * the rules reason about; the evidence shows the event as the file has it (`recorded`, when the two differ).
 */
export class Ref {
  private made: EvidenceRef | undefined;
  constructor(
    readonly change: Change,
    private readonly line: number,
    private readonly maker: EvidenceMaker,
    private readonly recorded: Change = change,
  ) {}
  get ref(): EvidenceRef {
    return (this.made ??= this.maker.event(this.recorded, this.line, changeText(this.recorded)));
  }
}

/** Bounded list of evidence: keeps the first ones and counts the rest. */
export class EvidenceList {
  items: EvidenceRef[] = [];
  more = 0;
  constructor(private readonly cap = MAX_EVIDENCE) {}
  add(r: EvidenceRef): void {
    if (this.items.length < this.cap) this.items.push(r);
    else this.more++;
  }
  /** Adds a change, making its evidence text only when it is kept. */
  addRef(r: Ref): void {
    if (this.items.length < this.cap) this.items.push(r.ref);
    else this.more++;
  }
  /** No room left: the next one is only counted. */
  get full(): boolean {
    return this.items.length >= this.cap;
  }
  get count(): number {
    return this.items.length + this.more;
  }
}
