// The Ansible playbook (deploy/ansible/ifblame.yml) for real: three "hosts" on this machine, each a network namespace
// with its own UTS name and its own sshd, reachable from a controller namespace over a bridge this test creates
// (198.18.77.0/24 exists only inside these namespaces: nothing leaves the machine, the root namespace is untouched).
// Two hosts get an interface with the same locally administered MAC; the real ansible-playbook installs the package
// `npm pack` built, takes a snapshot on every host, fetches the files into collected/<host>/ and runs explain there,
// which must name the duplicate and both hosts. A second run (collecting a boot recorder's directory) installs
// nothing again. Cleaned up even on failure.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import type { Report } from '../src/explain/index.js';
import { TraceHeader } from '../src/trace/format.js';
import { REPO, readTraceLines, runCli } from './fixtures/replay/helpers.js';
import { createNetns, type Netns } from './netns.js';

const SSHD = '/usr/sbin/sshd';
const NET = '198.18.77';
const DUP_MAC = '02:1f:ab:00:00:01';
const HOSTS = [
  { alias: 'node-a', uts: 'web-1', ip: `${NET}.11`, dup: true },
  { alias: 'node-b', uts: 'web-2', ip: `${NET}.12`, dup: true },
  { alias: 'node-c', uts: 'db-1', ip: `${NET}.13`, dup: false },
];

interface Host {
  alias: string;
  uts: string;
  ip: string;
  ns: Netns;
  sshd?: ChildProcess;
}

async function sh(argv: string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {}) {
  const [file, ...args] = argv;
  const r = await execa(file!, args, { reject: false, timeout: opts.timeoutMs ?? 20_000, env: opts.env, cwd: opts.cwd, stdin: 'ignore', all: true });
  if (r.failed) throw new Error(`${argv.join(' ')}: ${r.shortMessage}\n${String(r.all ?? '').slice(-3000)}`);
  return String(r.stdout ?? '');
}

/** What each TASK reported per host in ansible's default output: `TASK [name]` then `changed: [host]` / `ok: [host]`. */
function taskResults(out: string): { task: string; host: string; status: string }[] {
  const res: { task: string; host: string; status: string }[] = [];
  let task = '';
  for (const line of out.split('\n')) {
    const t = /^TASK \[(.*)\] \*+$/.exec(line);
    if (t) task = t[1]!;
    const s = /^(ok|changed|skipping|failed|fatal): \[([^\]]+?)(?: -> [^\]]+)?\]/.exec(line);
    if (s && task) res.push({ task, host: s[2]!, status: s[1]! });
  }
  return res;
}

describe('Ansible playbook against three hosts in network namespaces', { timeout: 110_000 }, () => {
  let tmp = '';
  let ctl: Netns | undefined;
  const hosts: Host[] = [];
  let madeRunSshd = false;
  let env: NodeJS.ProcessEnv = {};
  let playbookArgs: string[] = [];

  const stopAll = async () => {
    const t0 = Date.now();
    for (const h of hosts) {
      if (h.sshd?.pid && h.sshd.exitCode === null) {
        try {
          process.kill(-h.sshd.pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
      // Sessions sshd started (ansible's) are ours too: whatever is left in the namespace goes.
      for (const pid of await h.ns.pids()) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      await h.ns.remove();
    }
    await ctl?.remove();
    const t1 = Date.now();
    if (madeRunSshd) rmSync('/run/sshd', { recursive: true, force: true });
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    process.stderr.write(`# fleet clean-up: processes and namespaces ${t1 - t0} ms, files ${Date.now() - t1} ms\n`);
  };

  before(async () => {
    const t0 = Date.now();
    for (const [bin, pkg] of [[SSHD, 'openssh-server'], ['/usr/bin/ansible-playbook', 'ansible-core'], ['/usr/bin/ssh-keygen', 'openssh-client']] as const) {
      assert.ok(existsSync(bin), `${bin} is missing: apt-get install -y ${pkg} (scripts/setup.sh installs it)`);
    }
    assert.equal(process.getuid?.(), 0, 'needs root (network namespaces, sshd)');
    // tmpfs when there is one: three installs and their archives are ~10,000 files, slow to delete on a busy disk.
    tmp = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'ifbf-'));
    try {
      // sshd's privilege separation directory (the package's service creates it; nothing runs it here).
      if (!existsSync('/run/sshd')) {
        mkdirSync('/run/sshd', { mode: 0o755 });
        madeRunSshd = true;
      }
      await sh(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'ifblame-test', '-f', join(tmp, 'id')]);
      writeFileSync(join(tmp, 'authorized_keys'), readFileSync(join(tmp, 'id.pub')));

      ctl = await createNetns('ifbf-ctl');
      await ctl.ip('link', 'set', 'lo', 'up');
      await ctl.ip('link', 'add', 'br0', 'type', 'bridge');
      await ctl.ip('addr', 'add', `${NET}.1/24`, 'dev', 'br0');
      await ctl.ip('link', 'set', 'br0', 'up');
      for (const [i, spec] of HOSTS.entries()) {
        const ns = await createNetns(`ifbf-h${i + 1}`);
        const h: Host = { ...spec, ns };
        hosts.push(h);
        // The host's eth0 is created straight inside its namespace, its peer on the controller's bridge.
        await ctl.ip('link', 'add', `c${i + 1}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.name);
        await ctl.ip('link', 'set', `c${i + 1}`, 'master', 'br0', 'up');
        await ns.ip('link', 'set', 'lo', 'up');
        await ns.ip('addr', 'add', `${spec.ip}/24`, 'dev', 'eth0');
        await ns.ip('link', 'set', 'eth0', 'up');
        // The interface the incident is about: a hard-coded locally administered MAC copied to two hosts.
        await ns.ip('link', 'add', 'data0', 'type', 'veth', 'peer', 'name', 'data0p');
        if (spec.dup) await ns.ip('link', 'set', 'dev', 'data0', 'address', DUP_MAC);

        const dir = join(tmp, spec.alias);
        mkdirSync(join(dir, 'boot'), { recursive: true });
        await sh(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'hostkey')]);
        writeFileSync(join(dir, 'sshd_config'), [
          `ListenAddress ${spec.ip}`,
          'Port 22',
          `HostKey ${join(dir, 'hostkey')}`,
          `PidFile ${join(dir, 'sshd.pid')}`,
          `AuthorizedKeysFile ${join(tmp, 'authorized_keys')}`,
          'PermitRootLogin prohibit-password',
          'PasswordAuthentication no',
          'KbdInteractiveAuthentication no',
          'UsePAM no',
          'StrictModes no',
          'Subsystem sftp internal-sftp',
          'LogLevel ERROR',
          '',
        ].join('\n'));
        // Own UTS namespace: the host's name is what `hostname` (and ifblame) say inside it.
        h.sshd = spawn('ip', ['netns', 'exec', ns.name, 'unshare', '--uts', 'sh', '-c', `hostname ${spec.uts} && exec ${SSHD} -D -e -f ${join(dir, 'sshd_config')}`], {
          detached: true,
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let err = '';
        h.sshd.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
        h.sshd.on('exit', (code) => {
          if (code) process.stderr.write(`sshd of ${spec.alias} exited ${code}: ${err}\n`);
        });
      }

      const ssh = (h: Host) => ['ip', 'netns', 'exec', ctl!.name, 'ssh', '-i', join(tmp, 'id'), '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no',
        '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'ConnectTimeout=2', `root@${h.ip}`, 'hostname'];
      for (const h of hosts) {
        const until = Date.now() + 15_000;
        for (;;) {
          try {
            assert.equal((await sh(ssh(h), { timeoutMs: 5000 })).trim(), h.uts, 'each host has its own UTS name');
            break;
          } catch (e) {
            if (Date.now() > until) throw e;
            await new Promise((r) => setTimeout(r, 200));
          }
        }
      }

      // The package as users get it: `npm pack` of this repository (dist/ is built: the tests run from it).
      const pack = await sh(['npm', 'pack', '--silent', '--pack-destination', tmp], { cwd: REPO, timeoutMs: 60_000 });
      const tarball = join(tmp, pack.trim().split('\n').pop()!);
      // The controller's npm installs the package's dependencies; with no registry in reach (the controller runs in
      // a namespace with no way out), they come from this repository's node_modules, placed where npm finds them.
      const release = createHash('sha1').update(readFileSync(tarball)).digest('hex').slice(0, 16);
      mkdirSync(join(tmp, 'build', release), { recursive: true });
      // Hard links when /tmp is on the repository's file system (npm replaces files, never writes into them; its own
      // lockfile is a real copy), else a copy.
      const stage = join(tmp, 'build', release, 'node_modules');
      await sh(['cp', '-al', join(REPO, 'node_modules'), stage], { timeoutMs: 60_000 }).catch(async () => {
        rmSync(stage, { recursive: true, force: true });
        await sh(['cp', '-r', join(REPO, 'node_modules'), stage], { timeoutMs: 60_000 });
      });
      rmSync(join(stage, '.package-lock.json'), { force: true });
      if (existsSync(join(REPO, 'node_modules', '.package-lock.json'))) writeFileSync(join(stage, '.package-lock.json'), readFileSync(join(REPO, 'node_modules', '.package-lock.json')));

      // What a recorder left on db-1 (a real recording of this project), for the collection of a boot directory.
      mkdirSync(join(tmp, 'node-c', 'boot', '2026-11'), { recursive: true });
      writeFileSync(join(tmp, 'node-c', 'boot', '2026-11', 'recorded.ifblame'), readFileSync(join(REPO, 'recordings', 'local-hand-set-mac.ifblame')));
      writeFileSync(join(tmp, 'inventory.ini'), [
        '[fleet]',
        ...HOSTS.map((s) => `${s.alias} ansible_host=${s.ip} ifblame_prefix=${join(tmp, s.alias, 'opt')} ifblame_remote_dir=${join(tmp, s.alias, 'out')} ifblame_boot_dir=${join(tmp, s.alias, 'boot')}`),
        '',
        '[fleet:vars]',
        'ansible_user=root',
        `ansible_ssh_private_key_file=${join(tmp, 'id')}`,
        "ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'",
        'ansible_python_interpreter=/usr/bin/python3',
        '',
      ].join('\n'));
      mkdirSync(join(tmp, 'ansible', 'tmp'), { recursive: true });
      env = {
        PATH: process.env.PATH,
        HOME: join(tmp, 'ansible'),
        LANG: 'C.UTF-8',
        ANSIBLE_HOME: join(tmp, 'ansible'),
        ANSIBLE_LOCAL_TEMP: join(tmp, 'ansible', 'tmp'),
        ANSIBLE_REMOTE_TEMP: join(tmp, 'ansible', 'remote'),
        ANSIBLE_SSH_CONTROL_PATH_DIR: join(tmp, 'ansible', 'cp'),
        ANSIBLE_HOST_KEY_CHECKING: 'False',
        ANSIBLE_PIPELINING: 'True',
        ANSIBLE_NOCOLOR: '1',
        ANSIBLE_RETRY_FILES_ENABLED: 'False',
        ANSIBLE_FORKS: '5',
        npm_config_offline: 'true',
        npm_config_cache: join(tmp, 'npm-cache'),
        npm_config_update_notifier: 'false',
      };
      playbookArgs = ['ip', 'netns', 'exec', ctl.name, 'ansible-playbook', '-i', join(tmp, 'inventory.ini'), join(REPO, 'deploy/ansible/ifblame.yml'),
        '-e', `ifblame_package=${tarball}`, '-e', `ifblame_build_dir=${join(tmp, 'build')}`, '-e', `ifblame_collected=${join(tmp, 'collected')}`,
        '-e', `ifblame_controller_node=${process.execPath}`];
      process.stderr.write(`# fleet set-up (namespaces, sshd, npm pack) ${Date.now() - t0} ms\n`);
    } catch (e) {
      await stopAll();
      throw e;
    }
  });

  after(async () => {
    if (process.env.IFBLAME_KEEP_FLEET) return void process.stderr.write(`kept ${tmp} (namespaces ${[ctl?.name, ...hosts.map((h) => h.ns.name)].join(' ')})\n`);
    await stopAll();
  });

  it('installs from the npm package, snapshots every host, collects into collected/<host>/, explain names the duplicate MAC and both hosts; a second run changes nothing on the hosts', async (t) => {
    const t0 = Date.now();
    const first = await execa(playbookArgs[0]!, playbookArgs.slice(1), { reject: false, env, timeout: 70_000, stdin: 'ignore', all: true });
    const out = String(first.all ?? '');
    t.diagnostic(`first run ${Date.now() - t0} ms`);
    assert.equal(first.exitCode, 0, out.slice(-4000));
    for (const h of HOSTS) assert.match(out, new RegExp(`^${h.alias}\\s+: ok=\\d+\\s+changed=\\d+\\s+unreachable=0\\s+failed=0`, 'm'), out.slice(-2000));

    // collected/<inventory host>/snapshot.ifblame, each with the host's own name and interfaces.
    const collected = join(tmp, 'collected');
    assert.deepEqual(readdirSync(collected).sort(), ['explain.txt', ...HOSTS.map((h) => h.alias)].sort());
    for (const h of HOSTS) {
      assert.ok(existsSync(join(tmp, h.alias, 'opt', 'current', 'node_modules', 'ifblame', 'package.json')), `${h.alias}: installed under its own prefix`);
      assert.ok(existsSync(join(tmp, h.alias, 'out', 'snapshot.ifblame')), `${h.alias}: snapshot in its own directory`);
      assert.deepEqual(readdirSync(join(collected, h.alias)), ['snapshot.ifblame']);
      const header = TraceHeader.parse(readTraceLines(join(collected, h.alias, 'snapshot.ifblame')).header);
      assert.equal(header.host, h.uts);
      assert.deepEqual(header.snapshot.map((l) => l.ifname).sort(), ['data0', 'data0p', 'eth0', 'lo']);
    }

    // The report the playbook made on the controller (and showed).
    const report = readFileSync(join(collected, 'explain.txt'), 'utf8');
    t.diagnostic(`explain collected/ on the controller:\n${report}`);
    assert.match(report, new RegExp(`${DUP_MAC} is used on 2 hosts: data0 on web-1, data0 on web-2`), report);
    assert.match(out, new RegExp(`${DUP_MAC} is used on 2 hosts: data0 on web-1, data0 on web-2`));
    const ex = await runCli(['explain', collected, '--format', 'json']);
    assert.equal(ex.code, 1, 'an error finding');
    const rep = JSON.parse(ex.stdout) as Report;
    const dup = rep.findings.filter((f) => f.title.includes(DUP_MAC));
    assert.equal(dup.length, 1, JSON.stringify(rep.findings.map((f) => f.title)));
    assert.equal(dup[0]!.severity, 'error');
    assert.deepEqual(dup[0]!.hosts, ['web-1', 'web-2']);
    assert.ok(!rep.findings.some((f) => f.hosts?.includes('db-1')), 'db-1 shares nothing');

    // Idempotent: the same package again installs nothing. This run collects what the boot recorder left instead
    // (ifblame_mode=boot): only db-1 has a file there, and only fetching it changes anything.
    const t1 = Date.now();
    const second = await execa(playbookArgs[0]!, [...playbookArgs.slice(1), '-e', 'ifblame_mode=boot'], { reject: false, env, timeout: 70_000, stdin: 'ignore', all: true });
    t.diagnostic(`second run (boot mode) ${Date.now() - t1} ms`);
    const out2 = String(second.all ?? '');
    assert.equal(second.exitCode, 0, out2.slice(-4000));
    const changed = taskResults(out2).filter((r) => r.status === 'changed');
    // Fetching db-1's file changes collected/, and so the report kept beside it; nothing else changes.
    assert.deepEqual(changed.map((r) => `${r.task} ${r.host}`), ['ifblame : Fetch them into collected/<host>/ node-c', 'ifblame : Keep the report beside the files node-a'], out2.slice(-4000));
    assert.ok(!taskResults(out2).some((r) => /Snapshot/.test(r.task) && r.status !== 'skipping'), 'no snapshot in boot mode');
    assert.deepEqual(readdirSync(join(collected, 'node-c')).sort(), ['recorded.ifblame', 'snapshot.ifblame']);
    for (const h of HOSTS.slice(0, 2)) assert.deepEqual(readdirSync(join(collected, h.alias)), ['snapshot.ifblame']);
    const again = JSON.parse((await runCli(['explain', collected, '--format', 'json'])).stdout) as Report;
    assert.equal(again.files.length, 4);
    assert.ok(again.findings.some((f) => f.title.includes(DUP_MAC) && f.severity === 'error'));
  });
});
