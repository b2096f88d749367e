// deploy/kubernetes/ifblame-daemonset.yaml: it parses (PyYAML, which ansible-core brings), it is a DaemonSet that
// can trace (privileged, hostNetwork, hostPID), it mounts what the recorder reads on the node (the same paths the
// detection code uses), and its recorder script is valid sh that snapshots, records, and stops cleanly on SIGTERM.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { execa } from 'execa';
import { REPO } from './fixtures/replay/helpers.js';

const MANIFEST = join(REPO, 'deploy/kubernetes/ifblame-daemonset.yaml');

interface Mount { name: string; mountPath: string; readOnly?: boolean; mountPropagation?: string }
interface Volume { name: string; hostPath?: { path: string; type?: string } }
interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  securityContext?: { privileged?: boolean };
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  volumeMounts?: Mount[];
}
interface Doc {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: {
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string> }; spec: { hostNetwork?: boolean; hostPID?: boolean; tolerations?: unknown[]; containers: Container[]; volumes: Volume[] } };
  };
}

async function load(): Promise<Doc[]> {
  const r = await execa('python3', ['-c', 'import json, sys, yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))', MANIFEST], { reject: false });
  assert.equal(r.exitCode, 0, `PyYAML could not read the manifest (apt-get install python3-yaml): ${String(r.stderr)}`);
  return JSON.parse(String(r.stdout)) as Doc[];
}

describe('Kubernetes DaemonSet manifest', () => {
  it('parses: a privileged namespace, a service account without API token, a DaemonSet whose selector matches its pods', async () => {
    const docs = await load();
    assert.deepEqual(docs.map((d) => `${d.apiVersion} ${d.kind}`), ['v1 Namespace', 'v1 ServiceAccount', 'apps/v1 DaemonSet']);
    const ns = docs[0]!;
    assert.equal(ns.metadata.labels?.['pod-security.kubernetes.io/enforce'], 'privileged');
    for (const d of docs.slice(1)) assert.equal(d.metadata.namespace, ns.metadata.name);
    const ds = docs[2]!;
    for (const [k, v] of Object.entries(ds.spec!.selector.matchLabels)) assert.equal(ds.spec!.template.metadata.labels[k], v, `selector ${k}`);
    assert.deepEqual(ds.spec!.template.spec.tolerations, [{ operator: 'Exists' }], 'every node');
  });

  it('can trace: privileged, hostNetwork, hostPID; mounts BTF, tracefs, debugfs, /run/netns and the recordings directory from the node', async () => {
    const ds = (await load()).find((d) => d.kind === 'DaemonSet')!;
    const pod = ds.spec!.template.spec;
    assert.equal(pod.hostNetwork, true);
    assert.equal(pod.hostPID, true);
    const [c] = pod.containers;
    assert.equal(c!.securityContext?.privileged, true);
    const volumes = new Map(pod.volumes.map((v) => [v.name, v]));
    const mounted = new Map((c!.volumeMounts ?? []).map((m) => [m.mountPath, m]));
    for (const m of c!.volumeMounts ?? []) assert.ok(volumes.has(m.name), `volume ${m.name} is defined`);
    // Every node path the recorder reads is mounted at the same path from the host.
    for (const path of ['/sys/kernel/btf', '/sys/kernel/tracing', '/sys/kernel/debug', '/run/netns', '/var/lib/ifblame']) {
      const m = mounted.get(path);
      assert.ok(m, `${path} is mounted`);
      assert.equal(volumes.get(m.name)?.hostPath?.path, path, `${path} comes from the node`);
    }
    assert.equal(mounted.get('/sys/kernel/btf')?.readOnly, true);
    assert.equal(mounted.get('/run/netns')?.mountPropagation, 'HostToContainer', 'namespaces created after the pod started are seen');
    // The paths are the ones the code looks at: detection (BTF, tracefs) and ip netns (/run/netns).
    const detect = readFileSync(join(REPO, 'src/probes/detect.ts'), 'utf8');
    for (const p of ['/sys/kernel/btf/vmlinux', '/sys/kernel/tracing', '/sys/kernel/debug/tracing']) assert.ok(detect.includes(p), `detect.ts still reads ${p}`);
  });

  it('the recorder script is valid sh; with a stand-in ifblame it snapshots, records into the directory, and exits 0 on SIGTERM', async (t) => {
    const ds = (await load()).find((d) => d.kind === 'DaemonSet')!;
    const c = ds.spec!.template.spec.containers[0]!;
    assert.deepEqual(c.command, ['/bin/sh', '-c']);
    const script = c.args![0]!;
    const syntax = await execa('sh', ['-n', '-c', script], { reject: false });
    assert.equal(syntax.exitCode, 0, String(syntax.stderr));
    assert.match(script, /ifblame capture --duration "\$\{RECORD_HOURS\}h" --format text \\\n\s+--record "\$RECORD_DIR\//);
    assert.match(script, /ifblame snapshot -o "\$RECORD_DIR\//);
    const env = Object.fromEntries((c.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));
    assert.equal(env.RECORD_DIR, '/var/lib/ifblame');

    const dir = mkdtempSync(join(tmpdir(), 'ifb-k8s-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const bin = join(dir, 'bin');
    const rec = join(dir, 'rec');
    const calls = join(dir, 'calls.txt');
    await execa('mkdir', ['-p', bin]);
    // The stand-in writes the file it is asked for and, for capture, runs until it is told to stop.
    writeFileSync(join(bin, 'ifblame'), [
      '#!/bin/sh',
      `echo "$*" >> ${calls}`,
      'case "$1" in',
      '  snapshot) echo snapshot > "$3" ;;',
      '  capture) f=; while [ $# -gt 0 ]; do [ "$1" = --record ] && f=$2; shift; done; echo rec > "$f"; trap \'echo stopped >> "$f"; exit 0\' TERM; while :; do sleep 0.1; done ;;',
      'esac',
      '',
    ].join('\n'));
    chmodSync(join(bin, 'ifblame'), 0o755);
    const child = spawn('/bin/sh', ['-c', script], { env: { PATH: `${bin}:${process.env.PATH}`, NODE_NAME: 'node-7', RECORD_DIR: rec, RECORD_HOURS: '24', RETAIN_DAYS: '14' }, stdio: 'ignore' });
    const done = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    const until = Date.now() + 10_000;
    while (!readdirSync(dir).includes('rec') || readdirSync(rec).length < 2) {
      assert.ok(Date.now() < until, 'the script did not start recording');
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGTERM');
    const code = await Promise.race([done, new Promise<string>((r) => setTimeout(() => r('timeout'), 10_000).unref())]);
    assert.equal(code, 0);
    const files = readdirSync(rec).sort();
    assert.equal(files.length, 2, files.join(' '));
    assert.match(files[0]!, /^node-7-\d{8}T\d{6}Z-snapshot\.ifblame$/);
    assert.match(files[1]!, /^node-7-\d{8}T\d{6}Z\.ifblame$/);
    assert.equal(readFileSync(join(rec, files[1]!), 'utf8'), 'rec\nstopped\n', 'capture was stopped with SIGTERM, not killed');
    assert.deepEqual(readFileSync(calls, 'utf8').trim().split('\n').map((l) => l.split(' ')[0]), ['doctor', 'snapshot', 'capture']);
  });
});
