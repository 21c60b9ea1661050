/** The chart catalog as a Markdown table (README.md). */
import { HOST_CHARTS, HOST_CHART_TYPE, INSTANCE_CHARTS } from './catalog.ts';

export function chartTable(): string {
  const rows = [
    ...INSTANCE_CHARTS.map((c) => ({ c, type: 'redis_fork_<job>' })),
    ...HOST_CHARTS.map((c) => ({ c, type: HOST_CHART_TYPE })),
  ];
  const lines = ['| chart | context | units | dimensions | title |', '| --- | --- | --- | --- | --- |'];
  for (const { c, type } of rows) {
    const dims = c.dimensions.map((d) => d.name ?? d.id).join(', ');
    const local = c.needs === 'host' || c.needs === 'process' || c.needs === 'pids';
    const notes = [local && type !== HOST_CHART_TYPE ? 'local Redis only' : '', c.needs === 'pids' ? 'in a pids cgroup below the root' : '', c.forkData ? 'not for Dragonfly' : ''].filter(Boolean).join('; ');
    lines.push(`| \`${type}.${c.id}\` | \`${c.context}\` | ${c.units} | ${dims} | ${c.title}${notes ? ` (${notes})` : ''} |`);
  }
  return `${lines.join('\n')}\n`;
}
