// `ifblame doctor`: what works on this machine, with a fix for each missing piece.
import type { Writable } from 'node:stream';
import { parse } from '../cli/args.js';
import { EXIT } from '../errors.js';
import { chooseBackend, detect, resolveProbes, type Check } from '../probes/detect.js';
import { KERNEL_PROBES } from '../probes/catalog.js';

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return (
    rows
      .map((r) =>
        r
          .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

export async function runDoctor(out: Writable): Promise<number> {
  const caps = await detect();
  const rows: string[][] = [['CHECK', 'STATUS', 'DETAIL', 'FIX']];
  const add = (c: Check) => rows.push([c.name, c.ok ? 'ok' : 'MISSING', c.detail, c.ok ? '' : (c.fix ?? '')]);
  caps.checks.forEach(add);
  const backend = chooseBackend(caps);
  if (backend && backend !== 'syscalls') {
    const { dropped, points, pending } = await resolveProbes(backend, caps);
    for (const p of KERNEL_PROBES) {
      const d = dropped.find((x) => x.probe === p.id);
      const at = points[p.id] ? `${points[p.id]} (${p.func} is not usable here)` : p.func;
      const later = d && p.module && pending.includes(p.module) ? `live and capture attach it when ${p.module} loads` : '';
      rows.push([`probe ${p.id}`, d ? 'dropped' : 'ok', d ? d.reason : at, later]);
    }
  }
  out.write(`kernel ${caps.kernel}\n`);
  out.write(table(rows));
  out.write(
    backend ? `live tracing: ready, backend ${backend} (auto)\n` : 'live tracing: NOT possible here (see the fixes above); `ifblame replay` still works\n',
  );
  return backend ? EXIT.ok : EXIT.tracing;
}

export async function run(args: string[]): Promise<number> {
  parse(args, {});
  return runDoctor(process.stdout);
}
