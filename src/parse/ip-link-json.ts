// The initial link snapshot comes from `ip -d -j link show`: validate each entry and keep what the correlator tracks.
import { z } from 'zod';
import type { HwAddr, LinkState } from '../events.js';
import { type ParseError, parseError } from './errors.js';
import { normalizeHwAddr } from '../format/hwaddr.js';


/** One element of the array ip prints; unknown keys pass (they vary by kernel, driver and iproute2 release). */
const IpLinkEntry = z.looseObject({
  ifindex: z.number().int().positive(),
  ifname: z.string().min(1),
  flags: z.array(z.string()).default([]),
  mtu: z.number().int().nonnegative().optional(),
  master: z.string().optional(),
  link_type: z.string().optional(),
  address: z.string().optional(),
  permaddr: z.string().optional(),
  promiscuity: z.number().int().nonnegative().optional(),
  linkinfo: z.looseObject({
    info_kind: z.string().optional(),
    info_slave_kind: z.string().optional(),
    info_data: z.looseObject({ mode: z.unknown().optional() }).optional(),
  }).optional(),
});

export interface IpLinkJsonResult { links: LinkState[]; errors: ParseError[] }

/**
 * Turns `ip -d -j link show` output (text or already-parsed JSON) into LinkState[]. Never throws:
 * text that is not a JSON array is one error at line 1; a bad entry is an error whose `line` is its 1-based index.
 * `addrAssignType` is not in ip's JSON: the snapshot source adds it from sysfs.
 */
export function parseIpLinkJson(input: string | unknown): IpLinkJsonResult {
  let data: unknown = input;
  if (typeof input === 'string') {
    try {
      data = JSON.parse(input);
    } catch (e) {
      return { links: [], errors: [parseError(`not JSON: ${(e as Error).message}`, 1, input)] };
    }
  }
  if (!Array.isArray(data)) return { links: [], errors: [parseError('expected a JSON array of links', 1)] };
  const links: LinkState[] = [];
  const errors: ParseError[] = [];
  data.forEach((item: unknown, i: number) => {
    const r = IpLinkEntry.safeParse(item);
    if (!r.success) {
      errors.push(parseError(`bad link entry: ${describe(r.error)}`, i + 1, safeExcerpt(item)));
      return;
    }
    links.push(toLinkState(r.data));
  });
  return { links, errors };
}

function toLinkState(e: z.infer<typeof IpLinkEntry>): LinkState {
  const s: LinkState = { ifindex: e.ifindex, ifname: e.ifname, flags: e.flags, master: e.master ?? null };
  const addr = hexAddr(e.address);
  if (addr !== undefined) s.addr = addr;
  const perm = hexAddr(e.permaddr);
  if (perm !== undefined) s.permAddr = perm;
  if (e.link_type !== undefined) s.linkType = e.link_type;
  if (e.linkinfo?.info_kind !== undefined) s.kind = e.linkinfo.info_kind;
  if (e.linkinfo?.info_slave_kind !== undefined) s.slaveKind = e.linkinfo.info_slave_kind;
  const mode = e.linkinfo?.info_data?.mode;
  if (e.linkinfo?.info_kind === 'bond' && (typeof mode === 'string' || typeof mode === 'number')) s.bondMode = String(mode);
  if (e.promiscuity !== undefined) s.promiscuity = e.promiscuity;
  if (e.mtu !== undefined) s.mtu = e.mtu;
  return s;
}

/** Lowercase hex bytes; undefined for absent or non-hex addresses (tunnels print IPs there). */
function hexAddr(text: string | undefined): HwAddr | undefined {
  return text === undefined ? undefined : normalizeHwAddr(text);
}

function describe(err: z.ZodError): string {
  return err.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(entry)'}: ${i.message}`).join('; ');
}

function safeExcerpt(item: unknown): string | undefined {
  try {
    return JSON.stringify(item);
  } catch {
    return undefined;
  }
}
