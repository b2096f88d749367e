// `ifblame script`: print the exact program that would run as root, so an operator can audit it.
import type { Writable } from 'node:stream';
import { EXIT } from '../errors.js';
import { backendOf, filtersOf, parse, strings, TRACE_OPTIONS, type Flags } from '../cli/args.js';
import { bpftraceOf, planProgram, type PlanOptions } from '../probes/plan.js';

export async function runScript(opts: PlanOptions, out: Writable, err: Writable): Promise<number> {
  const { program, notes } = await planProgram(opts);
  for (const n of notes) err.write(`ifblame: note: ${n}\n`);
  out.write(program.text);
  return EXIT.ok;
}

export async function run(args: string[]): Promise<number> {
  const values = parse(args, { ...TRACE_OPTIONS, all: { type: 'boolean' }, drop: { type: 'string', multiple: true }, bpftrace: { type: 'string' } })
    .values as Flags;
  return runScript(
    {
      backend: backendOf(values),
      filters: filtersOf(values),
      all: values.all === true,
      drop: strings(values.drop),
      bpftrace: bpftraceOf(values.bpftrace as string | undefined),
    },
    process.stdout,
    process.stderr,
  );
}
