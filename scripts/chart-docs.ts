// Writes the chart catalog as the Markdown table in README.md, between the charts markers
// (`npm run docs`). `--check` only compares, for the tests.
import { readFileSync, writeFileSync } from 'node:fs';
import { chartTable } from '../charts/docs.ts';

const file = new URL('../README.md', import.meta.url);
const readme = readFileSync(file, 'utf8');
const updated = readme.replace(/(<!-- charts:begin[^\n]*-->\n)[\s\S]*?(<!-- charts:end -->)/, `$1${chartTable()}$2`);
if (process.argv.includes('--check')) {
  if (updated !== readme) {
    console.error('README.md chart table is out of date: run npm run docs');
    process.exit(1);
  }
} else {
  writeFileSync(file, updated);
}
