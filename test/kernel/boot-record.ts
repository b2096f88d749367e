// What the second boot of the boot-record test must show (guest/boot-record.sh wrote it): the unit was ready before
// networking started, its journal lines, `explain --boot` naming udev's worker on bond0 before the enslave and the
// slave overwritten, after `systemctl restart networking` who gave the recreated bond its MAC, then the other outcome
// (released and enslaved again, the bond takes its slave's MAC) and explain saying why the two differ.
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

interface JsonChange {
  type: string;
  iface?: string;
  kind?: string;
  after?: string;
  actor?: { comm?: string } | null;
  via?: { note?: string; path?: string[] };
}

function ndjson(text: string): JsonChange[] {
  return text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as JsonChange);
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
  // ...each change once: udev's one set of bond0's MAC is one line (nested probes of a slow first call into bonding are not a second change)
  assert.equal(journal.match(/ bond0 +mac +\S+ -> \S+ +by \(udev-worker\)/g)?.length, 1, journal);

  // explain --boot: udev's worker gave bond0 its name-derived MAC before the enslavement (SET, so the bond kept it).
  const explain = read('explain-boot.txt');
  assert.match(explain, /ERROR +bond0: MAC set by systemd-udevd \(MACAddressPolicy=persistent\) before its slaves were enslaved/, explain);
  assert.match(explain, /bond0 mac \S+ -> (\S+) by \(udev-worker\)\[\d+\] of systemd-udevd/);
  assert.match(explain, /addr_assign_type\s+3\s+\(SET\)/);
  const udevMac = /bond0 mac \S+ -> (\S+) by \(udev-worker\)/.exec(explain)![1]!;
  // ...and the slave overwritten with it by ifenslave's write to bonding/slaves, seen in the journal as it happened.
  assert.match(journal, new RegExp(`dum0 +mac +\\S+ -> ${udevMac} +by ifenslave\\[\\d+\\] +\\[observed\\]`));
  const boot = links(read('links-boot.txt'));
  assert.deepEqual(
    [boot.get('bond0')?.aat, boot.get('bond0')?.mac, boot.get('dum0')?.mac],
    [3, udevMac, udevMac],
    "at boot bond0 and its slave hold udev's MAC",
  );

  // `systemctl restart networking` recreates the bond: ifblame shows who gave it which MAC, whichever way the race
  // between udev's worker and ifenslave's enslavement went, and explain says so.
  const after = links(read('links-restart.txt'));
  const changes = ndjson(read('restart.ndjson'));
  const of = (iface: string, kind: string) => changes.filter((c) => c.type === 'change' && c.iface === iface && c.kind === kind);
  assert.ok(of('bond0', 'deleted').length && of('bond0', 'created').length, 'bond0 deleted and created again');
  assert.ok(
    of('dum0', 'enslave').some((c) => c.actor?.comm === 'ifenslave' && c.via?.path?.includes('bond_enslave')),
    'ifenslave enslaved dum0 (bond_enslave observed: bonding is loaded now)',
  );
  const explainRestart = read('explain-restart.txt');
  if (after.get('bond0')?.aat === 3) {
    // udev won again: the same finding, now with the enslavement observed in bond_enslave.
    assert.match(explainRestart, /ERROR +bond0: MAC set by systemd-udevd/, explainRestart);
    assert.match(explainRestart, /dum0 mac \S+ -> \S+ by ifenslave\[\d+\] via .*bond_enslave.*\(bond bond0 overwrote its slave's MAC with its own/);
    log(`restart: udev's worker set bond0's MAC before ifenslave enslaved dum0 again (SET, ${after.get('bond0')?.mac})`);
  } else {
    // ifenslave won: the bond inherited its slave's MAC (RANDOM until then), and explain has no udev finding.
    assert.ok(
      of('bond0', 'mac').some((c) => /inherited the MAC of its slave/.test(c.via?.note ?? '')),
      read('restart.ndjson'),
    );
    assert.equal(after.get('bond0')?.mac, after.get('dum0')?.mac);
    assert.doesNotMatch(explainRestart, /MAC set by systemd-udevd/, explainRestart);
    log(`restart: bond0 inherited dum0's MAC (${after.get('bond0')?.mac}, addr_assign_type ${after.get('bond0')?.aat})`);
  }

  // The other outcome, made deterministic: dum0 released (the bond's address RANDOM again) and enslaved again by hand.
  assert.equal(read('reenslave.rc').trim(), '0', read('reenslave.stderr'));
  const re = ndjson(read('reenslave.ndjson')).filter((c) => c.type === 'change');
  const bondMac = re.filter((c) => c.iface === 'bond0' && c.kind === 'mac');
  assert.ok(
    bondMac.some((c) => c.actor?.comm === 'ip' && /took a new random MAC after its slave dum0 was released/.test(c.via?.note ?? '')),
    `the release gave bond0 a random MAC: ${read('reenslave.ndjson')}`,
  );
  const inherit = bondMac.find((c) => /inherited the MAC of its slave dum0/.test(c.via?.note ?? ''));
  assert.ok(inherit && inherit.actor?.comm === 'ip' && inherit.via?.path?.includes('bond_enslave'), `bond0 inherited dum0's MAC: ${read('reenslave.ndjson')}`);
  const end = links(read('links-reenslave.txt'));
  assert.deepEqual([end.get('bond0')?.aat, end.get('bond0')?.mac], [2, end.get('dum0')?.mac], "bond0 holds dum0's MAC, addr_assign_type 2 (STOLEN)");
  assert.equal(inherit.after, end.get('dum0')?.mac);
  assert.notEqual(end.get('bond0')?.mac, udevMac);
  log(`re-enslave: bond0 took dum0's MAC ${end.get('bond0')?.mac} (udev's at boot: ${udevMac})`);

  // explain over the whole boot's recording: one udev finding for bond0, saying why the two outcomes differ.
  const whole = read('explain-boot-end.txt');
  assert.equal(read('explain-boot-end.rc').trim(), '1', 'explain --boot exits 1: an error-level finding');
  assert.equal(whole.match(/ERROR +bond0: MAC set by systemd-udevd/g)?.length, 1, whole);
  const flat = whole.replace(/\s+/g, ' ');
  const why =
    /It did not keep it for good: at \S+ bond0 lost its last slave and the bonding driver gave it a random MAC \(addr_assign_type 1, RANDOM\); when dum0 was enslaved at \S+, bond0 took dum0's MAC (\S+)\. That is why the two differ/.exec(
      flat,
    );
  assert.ok(why, whole);
  assert.equal(why[1], end.get('dum0')?.mac);
}
