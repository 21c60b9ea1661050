import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { THRESHOLDS as T } from '../../src/analysis/thresholds.ts';
import { HOST_CHARTS, INSTANCE_CHARTS } from '../../charts/catalog.ts';

const HEALTH = readFileSync(new URL('../../health.d/redisfork.conf', import.meta.url), 'utf8');
const blocks = new Map(
  HEALTH.split(/\n\s*\n/)
    .filter((b) => /template:/.test(b))
    .map((b) => [/template:\s*(\S+)/.exec(b)![1]!, b]),
);
const line = (template: string, key: string) => new RegExp(`^\\s*${key}:\\s*(.*)$`, 'm').exec(blocks.get(template) ?? '')?.[1] ?? '';

describe('health.d/redisfork.conf', () => {
  it('states the same thresholds as the doctor', () => {
    assert.equal(line('redis_fork_latency', 'warn'), `$this > ${T.forkLatencyWarnMs}`);
    assert.equal(line('redis_fork_latency', 'crit'), `$this > ${T.forkLatencyCritMs}`);
    assert.equal(line('redis_fork_latency_per_gb', 'warn'), `$this > ${T.forkMsPerGbWarn}`);
    assert.equal(line('redis_fork_cow_ratio', 'warn'), `$this > ${T.cowRatioWarnPercent}`);
    assert.equal(line('redis_fork_overcommit_risk', 'warn'), `$this > ${T.overcommitRiskRssPercent}`);
    assert.equal(line('redis_fork_commit_refused', 'warn'), `($this != nan AND $this < ${T.commitHeadroomWarnPercent}) OR ($borderline != nan AND $borderline > 0)`);
    assert.equal(line('redis_fork_tasks_limit', 'warn'), `$this != nan AND $this < ($limit * ${T.tasksRoomWarnPercent} / 100)`);
    assert.equal(line('redis_fork_memory_headroom', 'warn'), `$this > ${T.memoryHeadroomWarnPercent}`);
    assert.equal(line('redis_fork_memory_headroom', 'crit'), `$this > ${T.memoryHeadroomCritPercent}`);
    assert.equal(line('redis_fork_save_fit', 'warn'), `$this != nan AND $this > ${T.saveFitWarnPercent}`);
    assert.equal(line('redis_fork_save_fit', 'crit'), `$this != nan AND $this > ${T.saveFitCritPercent}`);
  });

  it('puts every template on a context of the catalog, using dimensions that chart has', () => {
    const charts = [...INSTANCE_CHARTS, ...HOST_CHARTS];
    for (const [template, block] of blocks) {
      const context = line(template, 'on');
      const chart = charts.find((c) => c.context === context);
      assert.ok(chart, `${template}: no chart has context ${context}`);
      const variables = [...block.matchAll(/\$([a-z_]+)/g)].map((m) => m[1]!).filter((v) => v !== 'this');
      for (const v of variables) assert.ok(chart.dimensions.some((d) => d.id === v), `${template}: $${v} is not a dimension of ${chart.id}`);
    }
  });

  it('never uses families for logic', () => {
    assert.doesNotMatch(HEALTH, /^\s*families:/m);
  });
});
