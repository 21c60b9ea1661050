/**
 * Each numeric threshold of the alert pack, driven across its warn and crit boundary in the real
 * Netdata 1.37 health engine. A small replay plugin emits the plugin's own charts (from charts/,
 * through the plugin's own protocol writer) for four jobs whose values sit just below, between and
 * just above the boundaries.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INSTANCE_CHARTS, instanceChartType } from '../../charts/catalog.ts';
import { chartData, chartDefinition } from '../../src/protocol/writer.ts';
import type { ChartValues } from '../../src/model/chart-values.ts';
import { THRESHOLDS } from '../../src/analysis/thresholds.ts';
import { alarms, startNetdata, type NetdataInstance, type Alarm } from '../helpers/netdata.ts';
import { waitFor } from '../helpers/redis-server.ts';

const HEALTH = readFileSync(new URL('../../health.d/redisfork.conf', import.meta.url), 'utf8');
const T = THRESHOLDS;

type JobValues = Record<string, ChartValues>;

const below: JobValues = {
  fork_duration: { latest_fork: T.forkLatencyWarnMs - 1 },
  fork_time_per_gb: { per_gb: T.forkMsPerGbWarn - 1 },
  cow_ratio: { rdb: 10, aof_rewrite: 0, max: T.cowRatioWarnPercent - 0.1 },
  overcommit: { overcommit_memory: 0, rss_of_ram: T.overcommitRiskRssPercent - 1 },
  commit_headroom: { headroom: T.commitHeadroomWarnPercent + 1, refused: 0, borderline: 0 },
  rss_usage: { of_limit: T.memoryHeadroomWarnPercent - 1, of_ram: 10 },
  save_fit: { needed: (T.saveFitWarnPercent - 1) * 1e7, limit: 100e7 },
  oom_kills: { cgroup: 0, host: 0 },
  bgsave_status: { ok: 1, failed: 0 },
  aof_rewrite_status: { ok: 1, failed: 0 },
  writes: { refused: 0, failure_masked: 0 },
  thp: { process_thp_enabled: 1, host_always: 0, reachable: 0 },
  tasks: { tasks: 100 - T.tasksRoomWarnPercent, limit: 100, refused: 0 },
};
const warn: JobValues = {
  ...below,
  fork_duration: { latest_fork: T.forkLatencyWarnMs + 1 },
  fork_time_per_gb: { per_gb: T.forkMsPerGbWarn + 1 },
  cow_ratio: { rdb: 10, aof_rewrite: 0, max: T.cowRatioWarnPercent + 0.1 },
  overcommit: { overcommit_memory: 0, rss_of_ram: T.overcommitRiskRssPercent + 1 },
  commit_headroom: { headroom: T.commitHeadroomWarnPercent - 1, refused: 0, borderline: 0 },
  rss_usage: { of_limit: T.memoryHeadroomWarnPercent + 1, of_ram: 10 },
  save_fit: { needed: (T.saveFitWarnPercent + 1) * 1e7, limit: 100e7 },
  aof_rewrite_status: { ok: 0, failed: 1 },
  writes: { refused: 0, failure_masked: 1 },
  thp: { process_thp_enabled: 1, host_always: 1, reachable: 1 },
  tasks: { tasks: 100 - T.tasksRoomWarnPercent + 1, limit: 100, refused: 0 },
};
const crit: JobValues = {
  ...warn,
  fork_duration: { latest_fork: T.forkLatencyCritMs + 1 },
  commit_headroom: { headroom: -50, refused: 1, borderline: 0 },
  rss_usage: { of_limit: T.memoryHeadroomCritPercent + 1, of_ram: 10 },
  save_fit: { needed: (T.saveFitCritPercent + 1) * 1e7, limit: 100e7 },
  oom_kills: { cgroup: 1, host: 0 },
  bgsave_status: { ok: 0, failed: 1 },
  writes: { refused: 1, failure_masked: 1 },
  tasks: { tasks: 100, limit: 100, refused: 1 },
};
/** Overcommit 1 makes a big RSS safe. */
const mode1: JobValues = { ...below, overcommit: { overcommit_memory: 1, rss_of_ram: 90 } };

/** Within the commit counter's slack: plenty of headroom by meminfo, still a warning. */
const borderline: JobValues = { ...below, commit_headroom: { headroom: 40, refused: 0, borderline: 1 } };

/** Room again now, but the limit refused a task in the last 10 minutes (a burst of threads or processes). */
const spike: JobValues = { ...below, tasks: { tasks: 50, limit: 100, refused: 1 } };

const JOBS: Record<string, JobValues> = { below, warn, crit, mode1, borderline, spike };

const EXPECTED: Record<string, Record<string, string>> = {
  below: {},
  warn: {
    redis_fork_latency: 'WARNING', redis_fork_latency_per_gb: 'WARNING', redis_fork_cow_ratio: 'WARNING',
    redis_fork_overcommit_risk: 'WARNING', redis_fork_commit_refused: 'WARNING', redis_fork_memory_headroom: 'WARNING',
    redis_fork_save_fit: 'WARNING', redis_fork_aof_rewrite_failed: 'WARNING', redis_fork_save_masked: 'WARNING', redis_fork_thp: 'WARNING',
    redis_fork_tasks_limit: 'WARNING',
  },
  crit: {
    redis_fork_latency: 'CRITICAL', redis_fork_latency_per_gb: 'WARNING', redis_fork_cow_ratio: 'WARNING',
    redis_fork_overcommit_risk: 'WARNING', redis_fork_commit_refused: 'CRITICAL', redis_fork_memory_headroom: 'CRITICAL',
    redis_fork_save_fit: 'CRITICAL',
    redis_fork_oom_kill: 'CRITICAL', redis_fork_bgsave_failed: 'CRITICAL', redis_fork_writes_refused: 'CRITICAL',
    redis_fork_aof_rewrite_failed: 'WARNING', redis_fork_save_masked: 'WARNING', redis_fork_thp: 'WARNING',
    redis_fork_tasks_limit: 'CRITICAL',
  },
  mode1: {},
  borderline: { redis_fork_commit_refused: 'WARNING' },
  spike: { redis_fork_tasks_limit: 'CRITICAL' },
};

describe('alert thresholds in the real Netdata health engine', () => {
  let dir: string;
  let netdata: NetdataInstance;
  let seen: Record<string, Alarm>;
  const templates = [...HEALTH.matchAll(/^\s*template:\s*(\S+)/gm)].map((m) => m[1]!);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'redisfork-replay-'));
    let definitions = '';
    let data = '';
    for (const [job, values] of Object.entries(JOBS)) {
      const type = instanceChartType(job);
      for (const chart of INSTANCE_CHARTS.filter((c) => values[c.id] !== undefined)) {
        definitions += chartDefinition(type, chart, 1, 'replay', [{ name: 'job', value: job }]);
        data += chartData(type, chart, values[chart.id]!);
      }
    }
    writeFileSync(join(dir, 'definitions.txt'), definitions);
    writeFileSync(join(dir, 'data.txt'), data);
    const plugin = join(dir, 'replay.plugin');
    writeFileSync(plugin, `#!/bin/bash\ncat "${dir}/definitions.txt"\nwhile :; do cat "${dir}/data.txt" || exit 1; sleep 1; done\n`, { mode: 0o755 });
    netdata = await startNetdata({ plugins: { 'redisforkreplay.plugin': plugin }, healthFiles: { 'redisfork.conf': HEALTH } });
    const expectedCount = Object.keys(JOBS).length * templates.length;
    await waitFor(async () => {
      seen = await alarms(netdata);
      const ours = Object.values(seen).filter((a) => a.chart.startsWith('redis_fork_'));
      const settled = ours.filter((a) => a.status !== 'UNINITIALIZED' && a.status !== 'UNDEFINED');
      const expectedRaised = Object.entries(EXPECTED).flatMap(([job, e]) => Object.entries(e).map(([name, status]) => ({ job, name, status })));
      const allRaised = expectedRaised.every(({ job, name, status }) => ours.some((a) => a.name === name && a.chart.startsWith(`redis_fork_${job}.`) && a.status === status));
      return ours.length === expectedCount && settled.length === expectedCount && allRaised;
    }, 60_000, 'every alert on every replay job to be evaluated').catch(() => undefined);
  });
  after(async () => {
    await netdata?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const [job, expected] of Object.entries(EXPECTED)) {
    it(`${job}: ${Object.keys(expected).length ? Object.entries(expected).map(([n, s]) => `${n.replace('redis_fork_', '')}=${s}`).join(', ') : 'every alert clear'}`, () => {
      const ours = Object.values(seen).filter((a) => a.chart.startsWith(`redis_fork_${job}.`));
      assert.deepEqual([...new Set(ours.map((a) => a.name))].sort(), [...templates].sort(), 'every template attached');
      for (const alarm of ours) {
        assert.equal(alarm.status, expected[alarm.name] ?? 'CLEAR', `${alarm.name} on ${alarm.chart}: value ${alarm.value}`);
      }
    });
  }
});
