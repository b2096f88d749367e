// What the second boot of the boot-record test must show (guest/boot-record.sh wrote it): the unit was ready before
// networking started, its journal lines, `explain --boot` naming udev's worker on bond0 before the enslave and the
// slave overwritten, and after `systemctl restart networking` the bond holding its slave's MAC.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** `systemctl show` blocks (`== unit` then key=value lines) -> unit -> key -> value. */
function unitProps(text: string): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  let cur: Map<string, string> | undefined;
  for (const line of text.split('\n')) {
    const m = /^== (\S+)/.exec(line);
    if (m) out.set(m[1]!, (cur = new Map()));
    else if (cur && line.includes('=')) cur.set(line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1));
  }
  return out;
}

/** `bond0 3 aa:bb:.. master=` lines -> name -> { aat, mac, master }. */
function links(text: string): Map<string, { aat: number; mac: string; master: string }> {
  const out = new Map<string, { aat: number; mac: string; master: string }>();
  for (const line of text.trim().split('\n')) {
    const [name, aat, mac, master] = line.split(' ');
    if (name && mac) out.set(name, { aat: Number(aat), mac, master: (master ?? '').replace('master=', '') });
  }
  return out;
}

export function checkBootRecord(dir: string, log: (line: string) => void): void {
  const read = (f: string) => readFileSync(join(dir, f), 'utf8');
  for (const f of ['wait.txt', 'timing-2.txt', 'links-boot.txt', 'links-restart.txt']) log(`${f}: ${read(f).trim().replace(/\n/g, ' | ')}`);
  const units = unitProps(read('units.txt'));
  const ifb = units.get('ifblame')!;
  const net = units.get('networking')!;
  assert.equal(ifb.get('ActiveState'), 'active', read('units.txt'));
  assert.equal(ifb.get('NRestarts'), '0', 'the recorder never had to be restarted');
  // Ready (bpftrace attached, READY=1) before networking.service was started at all.
  const ready = Number(ifb.get('ActiveEnterTimestampMonotonic'));
  const netStart = Number(net.get('InactiveExitTimestampMonotonic'));
  assert.ok(ready > 0 && netStart > 0 && ready < netStart, `ifblame ready at ${ready} µs, networking started at ${netStart} µs`);
  log(`ifblame ready ${(ready / 1e6).toFixed(1)} s after boot, networking started ${((netStart - ready) / 1e6).toFixed(1)} s later`);

  // One journal line per change: bond0's MAC changes are there as the text sink prints them.
  const journal = read('journal.txt');
  assert.match(journal, /ifblame\[\d+\]: \S+ +bond0 +mac +\S+ -> \S+ +by /);
  assert.match(journal, /recording to \/var\/log\/ifblame\/ifblame-[0-9a-f-]{36}-\d{8}T\d{9}Z\.ifblame/);

  // explain --boot: udev's worker gave bond0 its name-derived MAC before the enslave, and the bond overwrote the slave.
  const explain = read('explain-boot.txt');
  assert.match(explain, /ERROR +bond0: MAC set by systemd-udevd \(MACAddressPolicy=persistent\) before its slaves were enslaved/, explain);
  assert.match(explain, /bond0 mac \S+ -> \S+ by \(udev-worker\)\[\d+\] of systemd-udevd/);
  assert.match(explain, /dum0 mac \S+ -> \S+ by \S+ .*bond_enslave.*\(bond bond0 overwrote its slave's MAC with its own/);
  assert.match(explain, /addr_assign_type 3 \(SET\)/);
  const boot = links(read('links-boot.txt'));
  assert.equal(boot.get('bond0')?.aat, 3, 'at boot bond0 ends with a SET address');
  assert.equal(boot.get('dum0')?.mac, boot.get('bond0')?.mac, 'the slave holds the bond MAC');

  // After `systemctl restart networking`: recreated, the bond takes its slave's MAC.
  const after = links(read('links-restart.txt'));
  const changes = read('restart.ndjson')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; iface?: string; kind?: string; after?: string; via?: { note?: string } });
  const inherit = changes.find(
    (c) => c.type === 'change' && c.iface === 'bond0' && c.kind === 'mac' && /inherited the MAC of its slave/.test(c.via?.note ?? ''),
  );
  assert.ok(inherit, `bond0 inherited its slave's MAC after the restart:\n${read('restart.ndjson').slice(0, 4000)}`);
  assert.equal(after.get('bond0')?.mac, after.get('dum0')?.mac);
  const explainRestart = read('explain-restart.txt');
  assert.doesNotMatch(explainRestart, /MAC set by systemd-udevd/, explainRestart);
}
