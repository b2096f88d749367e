// rtnetlink link events reach us as `ip [-d] -ts -o monitor link` text (iproute2 ignores -j there): one line -> one LinkEvent.
import type { HwAddr, LinkEvent } from '../events.js';
import { type ParseError, parseError } from './errors.js';
import { localToEpochUs, parseIsoLocal, type UtcOffset } from '../time/local-time.js';
import { normalizeHwAddr } from '../format/hwaddr.js';

export interface IpMonitorParseOptions {
  /** Zone of the `[...]` timestamps (ip prints local time): minutes east of UTC or `'local'` (default). */
  utcOffset?: UtcOffset;
  /** Time (µs since the epoch) for lines without a `-ts` prefix; without it such lines are errors. */
  now?: () => number;
  /** Keep the whole line in `LinkEvent.raw`. */
  raw?: boolean;
}

export type IpMonitorLineResult = LinkEvent | ParseError;

/** Longer than any line ip prints for one link (about 2 KB with -d); beyond this we do not even look. */
const MAX_LINE = 256 * 1024;
const TS_PREFIX = /^\[([^\]]{0,40})\]\s*/;
const LABEL_PREFIX = /^\[LINK\]\s*/;
const DELETED_PREFIX = /^Deleted\s+/;
/** `3: veth0@veth0p: <BROADCAST,MULTICAST,UP> rest` — names hold no ':' or blanks (kernel rule). */
const HEAD = /^(\d{1,10}):\s+([^\s:]+):\s+<([^<>]*)>(.*)$/;
/** ip -o replaces each line break with `\` and the next line keeps its 4-space indent. */
const SEGMENT_BREAK = /\s*\\ {4}/;
const FLAG = /^[A-Za-z0-9_-]+$/;
const UINT = /^\d{1,10}$/;

/** Link types whose address ip prints as hex bytes of a fixed length (others: tunnels print IPs, unknown types vary). */
const ADDR_LEN: Record<string, number> = { ether: 6, loopback: 6, infiniband: 20, ieee802: 6, fddi: 6, 'ieee802.11': 6 };
/** Every name iproute2's ll_type_n2a prints (lib/ll_types.c, unchanged 6.1..6.19); anything else is `[N]`. */
const LINK_TYPES = new Set([
  'netrom', 'ether', 'eether', 'ax25', 'pronet', 'chaos', 'ieee802', 'arcnet', 'atalk', 'dlci', 'atm', 'metricom',
  'ieee1394', 'infiniband', 'slip', 'cslip', 'slip6', 'cslip6', 'rsrvd', 'adapt', 'rose', 'x25', 'hwx25', 'can', 'ppp',
  'hdlc', 'lapb', 'ddcmp', 'rawhdlc', 'ipip', 'tunnel6', 'frad', 'skip', 'loopback', 'ltalk', 'fddi', 'bif', 'sit',
  'ip/ddp', 'gre', 'pimreg', 'hippi', 'ash', 'econet', 'irda', 'fcpp', 'fcal', 'fcpl', 'fcfb0', 'tr', 'ieee802.11',
  'ieee802.11/prism', 'ieee802.11/radiotap', 'ieee802.15.4', 'ieee802.15.4/monitor', 'phonet', 'phonet_pipe', 'caif',
  'gre6', 'netlink', '6lowpan', 'none', 'void',
]);
const NUMERIC_LINK_TYPE = /^\[\d{1,5}\]$/;
/** Keys in the `link/...` segment that take one value. */
const LINK_KEYS_WITH_VALUE = new Set([
  'brd', 'peer', 'permaddr', 'link-netns', 'link-netnsid', 'new-netns', 'new-netnsid', 'new-ifindex',
  'protodown', 'protodown_reason', 'promiscuity', 'allmulti', 'minmtu', 'maxmtu', 'addrgenmode',
  'numtxqueues', 'numrxqueues', 'gso_max_size', 'gso_max_segs', 'tso_max_size', 'tso_max_segs',
  'gro_max_size', 'gso_ipv4_max_size', 'gro_ipv4_max_size', 'parentbus', 'parentdev',
]);

/**
 * Parses one line of `ip [-d] -ts -o monitor link`. Never throws: bad input gives a ParseError with `lineNo`.
 * AF_BRIDGE port messages (no `qdisc`/`group`, no `brd`) come out with `family: 'bridge'`;
 * `master` is null on a link message that names none (the device has no master).
 */
export function parseIpMonitorLine(line: string, lineNo: number, opts: IpMonitorParseOptions = {}): IpMonitorLineResult {
  if (typeof line !== 'string') return parseError('not a string', lineNo);
  if (line.length > MAX_LINE) return parseError(`line too long (${line.length} chars)`, lineNo, line);
  const text = line.replace(/[\r\n]+$/, '');
  if (text.trim() === '') return parseError('empty line', lineNo);

  let rest = text;
  let ts: number;
  const tsm = TS_PREFIX.exec(rest);
  if (tsm) {
    const local = parseIsoLocal(tsm[1] ?? '');
    if (!local) return parseError(`bad timestamp [${tsm[1] ?? ''}]`, lineNo, text);
    ts = localToEpochUs(local, opts.utcOffset ?? 'local');
    rest = rest.slice(tsm[0].length);
  } else if (opts.now) {
    ts = opts.now();
  } else {
    return parseError('no [timestamp] prefix (run ip with -ts)', lineNo, text);
  }
  rest = rest.replace(LABEL_PREFIX, '');

  const del = DELETED_PREFIX.exec(rest);
  if (del) rest = rest.slice(del[0].length);

  const head = HEAD.exec(rest);
  if (!head) return parseError('not a link line (expected "N: name: <FLAGS> ...")', lineNo, text);
  const [, indexText = '', nameText = '', flagText = '', tail = ''] = head;
  const ifindex = Number(indexText);
  if (!Number.isSafeInteger(ifindex) || ifindex <= 0) return parseError(`bad ifindex ${indexText}`, lineNo, text);
  const { ifname, peer } = splitName(nameText);
  if (ifname === '') return parseError('empty interface name', lineNo, text);
  const flags = flagText === '' ? [] : flagText.split(',');
  if (flags.some((f) => !FLAG.test(f))) return parseError(`bad flags <${flagText}>`, lineNo, text);

  const segments = tail.split(SEGMENT_BREAK);
  const header = readHeader(segments[0] ?? '');
  if (typeof header === 'string') return parseError(header, lineNo, text);
  const linkSeg = segments[1];
  if (linkSeg === undefined || !linkSeg.startsWith('link/')) return parseError('no link/ segment (truncated line?)', lineNo, text);
  const link = readLinkSegment(linkSeg);
  if (typeof link === 'string') return parseError(link, lineNo, text);

  const family = header.hasGroup ? 'link' : 'bridge';
  const ev: LinkEvent = {
    type: 'link',
    ts,
    action: del ? 'del' : 'new',
    ifindex,
    ifname,
    family,
    flags,
    linkType: link.linkType,
  };
  if (peer !== undefined) ev.peer = peer;
  if (header.mtu !== undefined) ev.mtu = header.mtu;
  if (header.master !== undefined) ev.master = header.master;
  else if (family === 'link') ev.master = null;
  if (header.state !== undefined) ev.state = header.state;
  if (link.addr !== undefined) ev.addr = link.addr;
  if (link.permAddr !== undefined) ev.permAddr = link.permAddr;
  if (link.newNetns !== undefined) ev.movedTo = { netns: link.newNetns, ...(link.newIfindex !== undefined ? { ifindex: link.newIfindex } : {}) };
  if (link.promiscuity !== undefined) ev.promiscuity = link.promiscuity;
  if (header.event !== undefined) ev.event = header.event;
  if (opts.raw) ev.raw = text;
  return ev;
}

/** Parses a whole capture (one line each); line numbers start at 1. */
export function parseIpMonitorText(text: string, opts: IpMonitorParseOptions = {}): { events: LinkEvent[]; errors: ParseError[] } {
  const events: LinkEvent[] = [];
  const errors: ParseError[] = [];
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((line, i) => {
    const r = parseIpMonitorLine(line, i + 1, opts);
    if ('error' in r) errors.push(r);
    else events.push(r);
  });
  return { events, errors };
}

/** `veth0@veth0p` -> name + peer as printed (`NONE`: no link; `if12`: index in another netns). Splits at the first `@`. */
function splitName(text: string): { ifname: string; peer?: string } {
  const at = text.indexOf('@');
  if (at < 0) return { ifname: text };
  return { ifname: text.slice(0, at), peer: text.slice(at + 1) };
}

interface Header { mtu?: number; master?: string; state?: string; event?: string; hasGroup: boolean }

/** Reads `mtu 1500 qdisc noop master br0 state DOWN mode DEFAULT group default qlen 1000 event FEATURE CHANGE`. */
function readHeader(seg: string): Header | string {
  const tokens = seg.trim().split(/\s+/).filter((t) => t !== '');
  const h: Header = { hasGroup: false };
  for (let i = 0; i < tokens.length; i++) {
    const key = tokens[i];
    const value = tokens[i + 1];
    switch (key) {
      case 'mtu':
        if (value === undefined || !UINT.test(value)) return `bad mtu ${value ?? '(missing)'}`;
        h.mtu = Number(value); i++; break;
      case 'master':
        if (value === undefined) return 'master without a name';
        h.master = value; i++; break;
      case 'state':
        if (value === undefined) return 'state without a value';
        h.state = value; i++; break;
      case 'group':
        if (value === undefined) return 'group without a value';
        h.hasGroup = true; i++; break;
      case 'qdisc': case 'mode': case 'qlen':
        i++; break;
      case 'event': {
        const ev = tokens.slice(i + 1).join(' ');
        if (ev === '') return 'event without a name';
        h.event = ev; i = tokens.length; break;
      }
      default: break; // xdp and future attributes: not ours
    }
  }
  return h;
}

interface LinkSeg { linkType: string; addr?: HwAddr; permAddr?: HwAddr; promiscuity?: number; newNetns?: string; newIfindex?: number }

/** Reads `link/ether 32:34:71:a6:f6:09 brd ff:ff:ff:ff:ff:ff permaddr ... promiscuity 0 ...`. */
function readLinkSegment(seg: string): LinkSeg | string {
  const tokens = seg.trim().split(/\s+/);
  const linkType = (tokens[0] ?? '').slice('link/'.length);
  if (!LINK_TYPES.has(linkType) && !NUMERIC_LINK_TYPE.test(linkType)) return `unknown link type link/${linkType} (truncated line?)`;
  const out: LinkSeg = { linkType };
  let i = 1;
  const first = tokens[1];
  if (first !== undefined && !LINK_KEYS_WITH_VALUE.has(first)) {
    const a = readAddr(first, linkType);
    if (a.error !== undefined) return a.error;
    if (a.addr !== undefined) out.addr = a.addr;
    i = 2;
  } else if (ADDR_LEN[linkType] !== undefined && first === undefined) {
    // AF_BRIDGE and plain lines both print the address right after link/TYPE; missing means truncated.
    return `link/${linkType} without an address (truncated line?)`;
  }
  for (; i < tokens.length; i++) {
    const key = tokens[i] ?? '';
    if (!LINK_KEYS_WITH_VALUE.has(key)) continue;
    const value = tokens[i + 1];
    if (value === undefined) return `${key} without a value (truncated line?)`;
    i++;
    if (key === 'permaddr') {
      const a = readAddr(value, linkType);
      if (a.error !== undefined) return a.error;
      if (a.addr !== undefined) out.permAddr = a.addr;
    } else if (key === 'promiscuity') {
      if (!UINT.test(value)) return `bad promiscuity ${value}`;
      out.promiscuity = Number(value);
    } else if (key === 'new-netnsid' || key === 'new-netns') {
      // RTM_DELLINK of a device moving to another namespace: `new-netnsid 0` (an id) or `new-netns NAME`.
      out.newNetns = key === 'new-netnsid' ? `netnsid ${value}` : value;
    } else if (key === 'new-ifindex') {
      if (!UINT.test(value)) return `bad new-ifindex ${value}`;
      out.newIfindex = Number(value);
    }
  }
  return out;
}

/** Lowercase hex bytes; no addr for non-hex addresses of tunnels (`0.0.0.0`, `::`); an error when broken. */
function readAddr(text: string, linkType: string): { addr?: HwAddr; error?: string } {
  const want = ADDR_LEN[linkType];
  const addr = normalizeHwAddr(text);
  if (addr === undefined) return want === undefined ? {} : { error: `bad ${linkType} address ${text}` };
  const len = (addr.length + 1) / 3;
  if (want !== undefined && len !== want) return { error: `bad ${linkType} address ${text}: ${len} bytes, want ${want}` };
  return { addr };
}
