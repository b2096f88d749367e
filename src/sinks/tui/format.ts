// How a change reads in one line and which colour its kind gets: shared by the timeline, the detail pane and the tests.
import type { Change, ChangeKind } from '../../events.js';
import { labelActor } from '../../correlate/actor.js';
import { clockText, valueText } from '../../format/values.js';
import { padShown, type Seg } from './text.js';

export const KIND_COLOR: Record<ChangeKind, string> = {
  mac: 'yellow',
  promisc: 'magenta',
  enslave: 'green',
  release: 'red',
  master: 'cyan',
  created: 'blue',
  deleted: 'red',
  moved: 'blue',
};

/** `ip[4711]`, `(udev-worker)[978] of systemd-udevd`, `kworker/0:1 (kernel)`, `?` when nobody was seen. */
export function actorText(c: Change): string {
  return c.actor ? labelActor(c.actor) : c.evidence === 'inferred' ? '(inferred)' : '?';
}

/** before -> after, short: `02:00:..:01 -> 02:..:02`, `promisc 0 -> 1`, `-> bond0`. */
export function transitionText(c: Change): string {
  if (c.kind === 'enslave') return `-> ${valueText(c.after)}`;
  if (c.kind === 'release') return `<- ${valueText(c.before)}`;
  if (c.kind === 'created' || c.kind === 'deleted') return valueText(c.kind === 'created' ? c.after : c.before);
  return `${valueText(c.before)} -> ${valueText(c.after)}`;
}

/** The timeline's short actor: the named program (`systemd-udevd` for its worker), `kworker/0:1 (k)` for the kernel. */
export function actorShort(c: Change): string {
  const a = c.actor;
  if (!a) return c.evidence === 'inferred' ? '(inferred)' : '?';
  if (a.kernel) return `${a.comm} (k)`;
  return a.service && a.service !== 'kernel' ? a.service : a.comm;
}

export const EVIDENCE_MARK = { observed: '*', requested: '+', inferred: '?' } as const;

/** One timeline row: time, kind (coloured), interface, evidence mark, actor (pid in the detail), transition. */
export function changeSegs(c: Change): Seg[] {
  return [
    { text: `${clockText(c.ts)} ` },
    { text: c.kind.padEnd(8), style: [`${KIND_COLOR[c.kind]}-fg`] },
    // Data stays raw in segments (renderSegs escapes it); the padding counts the escaped form.
    { text: `${c.iface}${padShown(c.iface, 9)} ` },
    { text: EVIDENCE_MARK[c.evidence], style: c.evidence === 'observed' ? ['bold'] : [] },
    { text: `${actorShort(c)} `, style: ['bold'] },
    { text: transitionText(c) },
  ];
}
