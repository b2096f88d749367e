// /sys/class/net listings (the lab's `<ifname> <addr_assign_type> <address> [<ifindex>]` lines, or `grep -H` output of
// the attribute files) and their merge into a snapshot.
import type { LinkState } from '../events.js';
import { normalizeHwAddr } from '../format/hwaddr.js';
import { type ParseError, parseError } from './errors.js';

/** One line of the sysfs listing: `<ifname> <addr_assign_type> <address> [<ifindex>]` (the lab's format + ifindex). */
export interface AssignTypeRow { ifname: string; addrAssignType?: number; address?: string; ifindex?: number }

/** Reads the sysfs listing (also the lab's `addr_assign_type-*.txt`). Never throws. */
export function parseAssignTypes(text: string): { rows: AssignTypeRow[]; errors: ParseError[] } {
  const rows: AssignTypeRow[] = [];
  const errors: ParseError[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const [ifname = '', aat = '', address = '', ifindex = ''] = line.split(' ');
    if (ifname === '' || /[\s/:]/.test(ifname)) {
      errors.push(parseError('bad interface name', i + 1, line));
      return;
    }
    const row: AssignTypeRow = { ifname };
    if (aat !== '') {
      if (!/^\d{1,3}$/.test(aat)) {
        errors.push(parseError(`bad addr_assign_type ${aat}`, i + 1, line));
        return;
      }
      row.addrAssignType = Number(aat);
    }
    const addr = normalizeHwAddr(address);
    if (addr !== undefined) row.address = addr;
    if (/^\d{1,10}$/.test(ifindex)) row.ifindex = Number(ifindex);
    rows.push(row);
  });
  return { rows, errors };
}

/** Adds addr_assign_type to each link, matched by ifindex when sysfs gave one, else by name. */
export function mergeAssignTypes(links: LinkState[], rows: AssignTypeRow[]): LinkState[] {
  const byIndex = new Map<number, AssignTypeRow>();
  const byName = new Map<string, AssignTypeRow>();
  for (const r of rows) {
    if (r.ifindex !== undefined) byIndex.set(r.ifindex, r);
    else byName.set(r.ifname, r);
  }
  return links.map((l) => {
    const r = byIndex.get(l.ifindex) ?? byName.get(l.ifname);
    if (r?.addrAssignType === undefined || r.ifname !== l.ifname) return l;
    return { ...l, addrAssignType: r.addrAssignType };
  });
}

/** The sysfs attributes the snapshot reads, one `grep -H` over all interfaces. */
export const SYSFS_ATTRS = ['addr_assign_type', 'ifindex'] as const;

/**
 * Reads `grep -sH '' /sys/class/net/IF/addr_assign_type /sys/class/net/IF/ifindex` output (every IF)
 * (`/sys/class/net/IF/ATTR:VALUE` lines, any order) into rows. Never throws; unknown attributes are ignored.
 */
export function parseSysfsGrep(text: string): { rows: AssignTypeRow[]; errors: ParseError[] } {
  const byName = new Map<string, AssignTypeRow>();
  const errors: ParseError[] = [];
  text.split('\n').forEach((line, i) => {
    if (line === '') return;
    const m = /^\/sys\/class\/net\/([^/\s:]+)\/(\w+):(.*)$/.exec(line);
    if (!m) {
      errors.push(parseError('not a /sys/class/net/IF/ATTR:VALUE line', i + 1, line));
      return;
    }
    const [, ifname, attr, value] = m as unknown as [string, string, string, string];
    let row = byName.get(ifname);
    if (!row) byName.set(ifname, (row = { ifname }));
    if (attr === 'addr_assign_type' || attr === 'ifindex') {
      if (!/^\d{1,10}$/.test(value.trim())) {
        errors.push(parseError(`bad ${attr} ${JSON.stringify(value.slice(0, 20))}`, i + 1, line));
        return;
      }
      if (attr === 'addr_assign_type') row.addrAssignType = Number(value.trim());
      else row.ifindex = Number(value.trim());
    }
  });
  return { rows: [...byName.values()], errors };
}
