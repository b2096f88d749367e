// Regenerate probes/ifblame-<backend>.bt, the audited full programs that the golden tests compare against.
import { writeFileSync } from 'node:fs';
import { goldenProgram, GOLDEN, goldenPath } from '../test/golden.js';

for (const [b, bpftrace] of GOLDEN) {
  writeFileSync(goldenPath(b, bpftrace), goldenProgram(b, bpftrace));
  console.log(`wrote ${goldenPath(b, bpftrace)}`);
}
