/**
 * Rewrites test/fixtures/info/golden/*.json: the full parse and chart values of each real INFO
 * capture. Run after a deliberate change to the parser or the charts (`npm run golden`), then
 * read the diff: the golden test asserts exactly these.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { FIXTURES } from '../test/helpers/fixtures.ts';
import { REAL_CAPTURES, engineSnapshot } from '../test/helpers/engine-snapshot.ts';
import { instanceValues } from '../src/analysis/metrics.ts';

mkdirSync(`${FIXTURES}info/golden`, { recursive: true });
for (const file of REAL_CAPTURES) {
  const snapshot = engineSnapshot(file);
  const golden = { info: snapshot.info, charts: Object.fromEntries(instanceValues(snapshot)) };
  writeFileSync(`${FIXTURES}info/golden/${file.replace(/\.txt$/, '.json')}`, `${JSON.stringify(golden, null, 2)}\n`);
  console.log(`golden/${file.replace(/\.txt$/, '.json')}`);
}
