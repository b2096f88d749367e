// The status line: backend, probes attached/dropped, lost events, recording and its size, live/paused/replay and speed.
import { basename } from 'node:path';
import { humanBytes } from '../../format/values.js';
import type { Seg } from './text.js';

export interface StatusInput {
  mode: 'live' | 'replay';
  backend: string;
  probesUsed: number;
  /** Probes attached later, when their module loaded: `bonding 12:00:01` (from when they cover). */
  probesAdded?: string[];
  probesDropped: number;
  lost: number;
  events: number;
  /** null: recording not possible here (replay); path null: not recording now. */
  recording: { path: string | null; bytes: number } | null;
  viewPaused: boolean;
  pending: number;
  replay?: { paused: boolean; speed: number };
  filter: string | null;
  flash: string | null;
  /** The feed ended: the replay reached the end of the file, or live tracing stopped. */
  ended?: boolean;
  /** Recording stopped on its own (`recording stopped: no space left on device after 1.2 MiB (...)`); tracing goes on. */
  recordingFailure?: string | null;
}

/** `recording stopped: no space left on device after 1.2 MiB (file F is ...)` -> `no space left on device after 1.2 MiB`. */
export function recordingFailureShort(message: string): string {
  return message.replace(/^recording stopped:\s*/, '').replace(/\s*\(file .*\)$/s, '');
}

export function speedText(speed: number): string {
  return Number.isFinite(speed) ? `x${speed}` : 'max';
}

/** Badges, then what must stay visible (recording, lost), then the rest; a flash message takes the rest's place. */
export function statusSegs(s: StatusInput): Seg[] {
  const segs: Seg[] = [];
  const sep = { text: ' | ' };
  if (s.mode === 'live')
    segs.push(s.ended ? { text: ' STOPPED ', style: ['white-fg', 'red-bg', 'bold'] } : { text: ' LIVE ', style: ['black-fg', 'green-bg', 'bold'] });
  else if (s.ended) segs.push({ text: ' REPLAY END ', style: ['black-fg', 'white-bg', 'bold'] });
  else {
    const paused = s.replay?.paused ?? false;
    segs.push({ text: ` REPLAY ${paused ? 'PAUSED' : speedText(s.replay?.speed ?? 1)} `, style: ['black-fg', paused ? 'yellow-bg' : 'cyan-bg', 'bold'] });
  }
  if (s.viewPaused) segs.push({ text: ` VIEW PAUSED${s.pending ? ` +${s.pending}` : ''} `, style: ['black-fg', 'yellow-bg', 'bold'] });
  segs.push({ text: ' ' });
  if (s.recording?.path) segs.push({ text: `REC ${basename(s.recording.path)} ${humanBytes(s.recording.bytes)}`, style: ['red-fg', 'bold'] }, sep);
  // Stays until a new recording starts: the trace file is incomplete, and the person watching must know.
  else if (s.recordingFailure) segs.push({ text: ` REC STOPPED: ${recordingFailureShort(s.recordingFailure)} `, style: ['white-fg', 'red-bg', 'bold'] }, sep);
  if (s.flash) {
    segs.push({ text: s.flash, style: ['bold'] }, sep, { text: `lost ${s.lost}`, style: s.lost ? ['red-fg', 'bold'] : [] });
    return segs;
  }
  segs.push({ text: s.backend }, sep, { text: `probes ${s.probesUsed}` });
  if (s.probesAdded?.length) segs.push({ text: ` +${s.probesAdded.join(' +')}`, style: ['green-fg'] });
  if (s.probesDropped) segs.push({ text: ` (${s.probesDropped} dropped)`, style: ['yellow-fg'] });
  segs.push(sep, { text: `lost ${s.lost}`, style: s.lost ? ['red-fg', 'bold'] : [] });
  segs.push(sep, { text: `ev ${s.events}` });
  if (s.filter) segs.push(sep, { text: `/${s.filter}`, style: ['cyan-fg'] });
  segs.push(sep, { text: '? help' });
  return segs;
}
