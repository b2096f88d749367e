// JSON for scripts: ndjson streams events as they come; json prints one document at the end. Both use the event model.
// Values are kept exactly (a comm with ESC stays ESC once parsed); the text is terminal-safe all the same: JSON escapes
// C0 controls, and terminalSafeJson writes DEL, C1 and bidi controls as \uXXXX too (the same value for a parser).
import type { Writable } from 'node:stream';
import type { TraceEvent } from '../events.js';
import { terminalSafeJson } from '../format/escape.js';
import { sourceLineOf, type TraceHeader } from '../trace/format.js';
import type { EventSink } from './text.js';
import type { Summary } from './summary.js';

export interface JsonSinkOptions {
  /** Include raw probe and netlink events, not only changes, notes and lost counts. */
  raw?: boolean;
  header?: TraceHeader;
}

const DERIVED = new Set(['change', 'note', 'lost']);

export function createJsonSink(out: Writable, format: 'json' | 'ndjson', o: JsonSinkOptions = {}): EventSink {
  const kept: TraceEvent[] = [];
  const wanted = (ev: TraceEvent) => o.raw || DERIVED.has(ev.type);
  if (format === 'ndjson') {
    return {
      write(ev) {
        // A replayed event is written as the exact line it was read from (made terminal-safe by the reader): the same
        // value, no second serialization.
        if (wanted(ev)) out.write((sourceLineOf(ev) ?? terminalSafeJson(JSON.stringify(ev))) + '\n');
      },
      end(summary) {
        out.write(terminalSafeJson(JSON.stringify({ type: 'summary', ...summary })) + '\n');
      },
    };
  }
  return {
    write(ev) {
      if (wanted(ev)) kept.push(ev);
    },
    end(summary) {
      const { program: _program, snapshot: _snapshot, ...header } = o.header ?? ({} as Partial<TraceHeader>);
      out.write(terminalSafeJson(JSON.stringify({ header, events: kept, summary }, null, 2)) + '\n');
    },
  };
}
