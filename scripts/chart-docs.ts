// Prints the chart catalog as the Markdown table in README.md (`npx tsx scripts/chart-docs.ts`).
import { HOST_CHARTS, HOST_CHART_TYPE, INSTANCE_CHARTS } from '../charts/catalog.ts';

const rows = [
  ...INSTANCE_CHARTS.map((c) => ({ c, type: 'redis_fork_<job>' })),
  ...HOST_CHARTS.map((c) => ({ c, type: HOST_CHART_TYPE })),
];
console.log('| chart | context | units | dimensions | title |');
console.log('| --- | --- | --- | --- | --- |');
for (const { c, type } of rows) {
  const dims = c.dimensions.map((d) => d.name ?? d.id).join(', ');
  const notes = c.localOnly ? 'local Redis only' : '';
  console.log(`| \`${type}.${c.id}\` | \`${c.context}\` | ${c.units} | ${dims} | ${c.title}${notes ? ` (${notes})` : ''} |`);
}
