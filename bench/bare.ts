// The baseline the benchmark compares against: the barest streaming reader, split2 + JSON.parse, nothing else.
import { createReadStream } from 'node:fs';
import split2 from 'split2';

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: node dist/bench/bare.js FILE\n');
  process.exit(2);
}
let n = 0;
createReadStream(file)
  .pipe(split2())
  .on('data', (line: string) => {
    JSON.parse(line);
    n++;
  })
  .on('end', () => process.stdout.write(`${n}\n`));
