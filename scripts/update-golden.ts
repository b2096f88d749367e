// Regenerate probes/ifblame-<backend>.bt, the audited full programs that the golden tests compare against.
import { writeFileSync } from 'node:fs';
import { goldenProgram, GOLDEN_BACKENDS, goldenPath } from '../test/golden.js';

for (const b of GOLDEN_BACKENDS) {
  writeFileSync(goldenPath(b), goldenProgram(b));
  console.log(`wrote ${goldenPath(b)}`);
}
