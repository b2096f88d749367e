// Generator: golden programs, one field list per probe driving printf and parser, filters validated before they reach root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { execa } from 'execa';
import { GOLDEN, goldenPath, goldenProgram, ROOT } from './golden.js';
import { generate } from '../src/probes/generate.js';
import { layoutsFor } from '../src/probes/layout.js';
import { KERNEL_PROBES, SYSCALL_PROBES } from '../src/probes/catalog.js';
import { decodePrintf } from '../src/parse/bpftrace-json.js';
import { parseFilters } from '../src/options.js';
import { IfblameError } from '../src/errors.js';

const none = { iface: [], comm: [] };

for (const [b, bpftrace] of GOLDEN) {
  test(`golden: ${goldenPath(b, bpftrace).replace(ROOT, '')} is what the generator writes (npm run golden to update)`, () => {
    assert.equal(goldenProgram(b, bpftrace), readFileSync(goldenPath(b, bpftrace), 'utf8'));
  });
}

test('kprobe and kfunc programs probe every catalog function the incidents need', () => {
  for (const backend of ['kprobe', 'kfunc'] as const) {
    const text = generate({ backend, filters: none }).text;
    for (const fn of [
      'dev_set_mac_address',
      'dev_set_mac_address_user',
      'bond_enslave',
      '__bond_release_one',
      'dev_set_promiscuity',
      '__dev_set_promiscuity',
      'br_add_if',
      'br_del_if',
      'dev_addr_mod',
      'team_port_add',
    ]) {
      assert.match(text, new RegExp(`^(kprobe|kfunc):(\\w+:)?${fn}$`, 'm'), `${backend} lacks ${fn}`);
    }
  }
});

test('kfunc program: module functions carry the module, dev_addr_mod is a kprobe (fentry refused by the verifier)', () => {
  const text = generate({ backend: 'kfunc', filters: none }).text;
  assert.match(text, /^kfunc:bonding:bond_enslave$/m);
  assert.match(text, /^kretfunc:bonding:bond_enslave$/m);
  assert.match(text, /^kfunc:bridge:br_add_if$/m);
  assert.match(text, /^kprobe:dev_addr_mod$/m);
  assert.doesNotMatch(text, /^kfunc:dev_addr_mod$/m);
  assert.match(text, /args->dev->name/);
});

test('kfunc program reads the parameter names this kernel BTF reports (sockaddr_storage *ss on newer kernels)', () => {
  const text = generate({ backend: 'kfunc', filters: none, paramNames: { dev_set_mac_address: ['dev', 'ss', 'extack'] } }).text;
  const block = text.slice(text.indexOf('kfunc:dev_set_mac_address\n'));
  assert.match(block.slice(0, 800), /\(uint64\)args->ss \+ 2/);
});

test('a probe whose function is inlined attaches at its alternative: same id and fields, the net_device read directly', () => {
  const at = { team_port_add: 'team_add_slave', team_port_del: 'team_del_slave' };
  const kf = generate({ backend: 'kfunc', filters: parseFilters(['tm0'], []), attachAt: at, paramNames: { team_add_slave: ['dev', 'port_dev', 'extack'] } });
  assert.deepEqual(kf.points, at);
  assert.ok(kf.probes.includes('team_port_add') && kf.probes.includes('team_port_del'));
  const add = kf.text.slice(kf.text.indexOf('kfunc:team:team_add_slave\n'));
  assert.match(
    add,
    /^kfunc:team:team_add_slave\n\/ \(args->dev->name == "tm0" \|\| args->port_dev->name == "tm0"\) \/$/m,
    'the --iface filter reads the team device too',
  );
  assert.match(add.slice(0, 600), /printf\("team_port_add\\t/, 'events keep the probe id the correlator knows');
  assert.match(add.slice(0, 600), /buf\(args->dev->name, 16\), buf\(args->port_dev->name, 16\), buf\(args->dev->dev_addr, args->dev->addr_len\)/);
  assert.match(kf.text, /^kretfunc:team:team_add_slave$/m);
  assert.doesNotMatch(kf.text, /team_port_add\n|->team|struct team/, 'no read of the private struct team');
  assert.match(kf.text, /team_port_add\s+a port joins a team .*\[at team_add_slave: the team driver's ndo_add_slave\]/, 'the header says where it attaches');
  const kp = generate({ backend: 'kprobe', filters: none, attachAt: at });
  assert.match(
    kp.text,
    /^kprobe:team_del_slave\n\{\n  @ifb_last\[cpu\] = nsecs; printf\("team_port_del\\t[^]*?buf\(\(\(struct net_device \*\)arg0\)->name, 16\), buf\(\(\(struct net_device \*\)arg1\)->name, 16\)/m,
  );
  const own = generate({ backend: 'kprobe', filters: none });
  assert.deepEqual(own.points, {}, 'where the function exists, no alternative');
  assert.match(own.text, /^kprobe:team_port_add$/m);
  assert.match(own.text, /buf\(\(\*\(struct net_device \*\*\)arg0\)->name, 16\)/, 'the team device read through struct team as before');
  assert.throws(() => generate({ backend: 'kprobe', filters: none, attachAt: { team_port_add: 'nope' } }), /no attach point nope/);
});

test('dropping dev_addr_mod brings in the NETDEV_CHANGEADDR notifier fallback; module probes drop with their reason in the header', () => {
  const p = generate({
    backend: 'kprobe',
    filters: none,
    dropped: [
      { probe: 'dev_addr_mod', reason: 'absent' },
      { probe: 'bond_enslave', reason: 'module bonding is not loaded' },
    ],
  });
  assert.ok(p.probes.includes('netdev_changeaddr'));
  assert.ok(!p.probes.includes('bond_enslave'));
  assert.match(p.text, /^kprobe:call_netdevice_notifiers\n\/ arg0 == 8 \/$/m);
  assert.match(p.text, /Dropped:\n \*   dev_addr_mod\s+absent\n \*   bond_enslave\s+module bonding is not loaded/);
  const full = generate({ backend: 'kprobe', filters: none });
  assert.ok(!full.probes.includes('netdev_changeaddr'), 'the fallback is not used when dev_addr_mod is there');
});

test('every printf has as many conversions as arguments, and its tag has a parser layout with the same fields', () => {
  for (const [backend, bpftrace] of GOLDEN) {
    const text = goldenProgram(backend, bpftrace);
    const layouts = layoutsFor(backend);
    const calls = [...text.matchAll(/printf\("([^"]*)",\s*\n?\s*([^;]*)\);/g)];
    assert.ok(calls.length > 5);
    for (const [, fmt, args] of calls) {
      const convs = (fmt!.match(/%(llu|d|x|r|rx|s|u)/g) ?? []).length;
      const argc = splitArgs(args!).length;
      assert.equal(convs, argc, `${backend}: ${fmt}`);
      const tag = fmt!.split('\\t')[0]!;
      if (tag.startsWith('#')) continue;
      const layout = layouts.get(tag);
      assert.ok(layout, `${backend}: no layout for ${tag}`);
      const withStack = fmt!.endsWith('%s') && args!.trim().endsWith('kstack');
      assert.equal(layout.length, argc - (withStack ? 1 : 0), `${backend}: ${tag} layout vs printf`);
    }
  }
});

/** Top-level commas of a printf argument list. */
function splitArgs(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(' || ch === '[') depth++;
    if (ch === ')' || ch === ']') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur);
  return out;
}

test('the parser decodes a line by the same field list: escaped names, 6- and 20-byte addresses, a forged tab stays inside', () => {
  const ib = Array.from({ length: 20 }, (_, i) => `\\x${(0x80 + i).toString(16)}`).join('');
  const line = [
    'dev_set_mac_address',
    '5000000',
    '42',
    '43',
    'ip\\x09evil\\x00\\x00',
    '1',
    'bash\\x00',
    '7',
    '4026531840',
    'ib0',
    '9',
    '3',
    ib,
    '\\x02\\x11\\x22\\x33\\x44\\x55' + ib.slice(24),
  ].join('\t');
  const d = decodePrintf(`${line}\n\n        dev_set_mac_address+1\n        bpf_trampoline_6442508470+190\n        do_setlink+589\n`, {
    backend: 'kprobe',
    monoToWallUs: 1_000_000,
  });
  assert.equal(d.kind, 'event');
  if (d.kind !== 'event') return;
  assert.equal(d.event.comm, 'ip\tevil');
  assert.equal(d.event.fields.old, Array.from({ length: 20 }, (_, i) => (0x80 + i).toString(16)).join(':'));
  assert.equal(String(d.event.fields.new).split(':').length, 20);
  assert.deepEqual(d.event.kstack, ['dev_set_mac_address+1', 'do_setlink+589']);
  assert.equal(d.event.ts, 1_005_000);
  assert.equal(d.event.netns, 4026531840);
});

test('a line with a missing field or an unknown probe is an error value, never a throw', () => {
  const ctx = { backend: 'kprobe' as const, monoToWallUs: 0 };
  assert.equal(decodePrintf('dev_set_mac_address\t1\t2', ctx).kind, 'error');
  assert.equal(decodePrintf('nope\t1', ctx).kind, 'error');
  assert.equal(decodePrintf('dev_set_promiscuity\t1\t2\t3\tip\t1\tsh\t1\t1\teth0\t2\t0\tX\t0\t0x0\n', ctx).kind, 'error');
});

const HOSTILE = ['', 'a"b', "x'y", 'br{0}', 'eth0\nkprobe:x', 'eth/0', 'a'.repeat(200), 'a b', 'eth0;', '..', 'e\\x41', '$(id)'];

test('hostile --iface values are refused with one clear line (unit)', () => {
  for (const v of HOSTILE) {
    assert.throws(
      () => parseFilters([v], []),
      (e: unknown) => e instanceof IfblameError && !e.message.includes('\n') && e.message.startsWith('--iface'),
      JSON.stringify(v),
    );
  }
  assert.deepEqual(parseFilters(['eth0,bond0.100', 'br-lan'], ['(udev-worker)', 'ip']), {
    iface: ['eth0', 'bond0.100', 'br-lan'],
    comm: ['(udev-worker)', 'ip'],
  });
});

test('hostile --iface and --comm values: `ifblame script` exits 2 with one line on stderr and prints no program', async () => {
  for (const [flag, v] of [
    ...HOSTILE.map((h) => ['--iface', h]),
    ['--comm', 'a"b'],
    ['--comm', 'x{y}'],
    ['--comm', 'a\nb'],
    ['--comm', 'c'.repeat(16)],
    ['--comm', ''],
  ] as const) {
    const r = await execa('node', [`${ROOT}bin/ifblame.js`, 'script', '--all', '--backend', 'kprobe', flag, v], { reject: false });
    assert.equal(r.exitCode, 2, `${flag} ${JSON.stringify(v)}`);
    assert.equal(r.stdout, '');
    const lines = String(r.stderr).trim().split('\n');
    assert.equal(lines.length, 1, String(r.stderr));
    assert.match(lines[0]!, /^ifblame: --(iface|comm) .* \(hint: /);
  }
});

test('filters land in the program as predicates on the device name and comm', () => {
  const text = generate({ backend: 'kprobe', filters: { iface: ['bond0'], comm: ['ip'] } }).text;
  assert.match(
    text,
    /kprobe:bond_enslave\n\/ \(comm == "ip"\) && \(\(\(struct net_device \*\)arg0\)->name == "bond0" \|\| \(\(struct net_device \*\)arg1\)->name == "bond0"\) \//,
  );
  const sys = generate({ backend: 'syscalls', filters: { iface: ['bond0'], comm: ['ip'] } }).text;
  assert.match(sys, /tracepoint:syscalls:sys_enter_sendmsg\n\/ \(comm == "ip"\) \//);
  assert.match(sys, /--iface is applied by ifblame/);
});

test('catalog: every probe documents why it exists; syscall probes cover netlink, ioctl, packet socket, sysfs', () => {
  for (const p of [...KERNEL_PROBES, ...SYSCALL_PROBES]) assert.ok(p.why.length > 10, p.id);
  assert.deepEqual(
    SYSCALL_PROBES.map((p) => p.id),
    ['nl_link', 'ioctl_link', 'packet_membership', 'sysfs_write'],
  );
});
