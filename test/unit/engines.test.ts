/**
 * Each real INFO capture (Redis 2.8–7.4, Valkey 8.0.1, KeyDB 6.3.4; see test/fixtures/info/README.md),
 * as go.d's collectors test theirs: the whole parse and the whole chart-values map against a golden
 * file (`npm run golden` rewrites them), the parse against the raw fields independently, and every
 * dimension of every chart given a value, with a named, reasoned skip list per engine.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fixture } from '../helpers/fixtures.ts';
import { REAL_CAPTURES, engineSnapshot } from '../helpers/engine-snapshot.ts';
import { instanceValues } from '../../src/analysis/metrics.ts';
import { parseInfoFields } from '../../src/redis/info.ts';
import { INSTANCE_CHARTS, chartApplies } from '../../charts/catalog.ts';
import { inPidsCgroup } from '../../src/host/facts.ts';

/** Dimensions a capture cannot fill, and why (the fields appeared in the version named). */
const PRE_6_2 = {
  'forks.forks': 'total_forks is new in Redis 6.2',
  'fork_in_progress.module': 'module_fork_in_progress is new in Redis 6.0',
  'cow_size.module': 'module_fork_last_cow_size is new in Redis 6.0',
  'cow_size.current': 'current_cow_size is new in Redis 6.2',
};
const PRE_4_0 = {
  ...PRE_6_2,
  'cow_size.rdb': 'rdb_last_cow_size is new in Redis 4.0 (3.2 logs it only)',
  'cow_size.aof_rewrite': 'aof_last_cow_size is new in Redis 4.0',
  'cow_ratio.rdb': 'needs rdb_last_cow_size (Redis 4.0)',
  'cow_ratio.aof_rewrite': 'needs aof_last_cow_size (Redis 4.0)',
  'cow_ratio.max': 'needs a COW size (Redis 4.0)',
  'save_fit.needed': 'no COW figure to add to RSS before Redis 4.0 (the doctor states the RSS × 2 worst case)',
};
const SKIPS: Record<string, Record<string, string>> = {
  'redis-2.8.24-info-all.txt': PRE_4_0,
  'redis-3.2.13-info-all.txt': PRE_4_0,
  'redis-4.0.14-info-all.txt': PRE_6_2,
  'redis-5.0.14-info-all.txt': PRE_6_2,
};

/** RedisInfo numbers and the INFO field each comes from: checked without the golden files. */
const NUMERIC_FIELDS: Record<string, string> = {
  processId: 'process_id', uptimeSeconds: 'uptime_in_seconds', tcpPort: 'tcp_port', usedMemory: 'used_memory',
  usedMemoryRss: 'used_memory_rss', totalSystemMemory: 'total_system_memory', rdbLastCowSize: 'rdb_last_cow_size',
  aofLastCowSize: 'aof_last_cow_size', moduleForkLastCowSize: 'module_fork_last_cow_size', currentCowSize: 'current_cow_size',
  currentCowPeak: 'current_cow_peak', latestForkUsec: 'latest_fork_usec', totalForks: 'total_forks',
};

const json = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

describe('real INFO captures, engine by engine', () => {
  it('has the captures the issue names', () => {
    for (const name of ['redis-2.8.24', 'redis-3.2.13', 'redis-4.0.14', 'redis-5.0.14', 'redis-6.2.16', 'redis-7.2.6', 'redis-7.4.1', 'valkey-8.0.1', 'keydb-6.3.4']) {
      assert.ok(REAL_CAPTURES.includes(`${name}-info-all.txt`), name);
    }
  });

  for (const file of REAL_CAPTURES) {
    describe(file, () => {
      const snapshot = engineSnapshot(file);
      const values = instanceValues(snapshot);
      const golden = JSON.parse(fixture(`info/golden/${file.replace(/\.txt$/, '.json')}`)) as { info: unknown; charts: unknown };

      it('parses to the golden facts, and every number agrees with its raw field', () => {
        assert.deepEqual(json(snapshot.info), golden.info);
        const fields = parseInfoFields(fixture(`info/${file}`));
        for (const [key, field] of Object.entries(NUMERIC_FIELDS)) {
          const raw = fields.get(field);
          assert.equal((snapshot.info as unknown as Record<string, unknown>)[key], raw === undefined ? undefined : Number(raw), `${key} from ${field}`);
        }
        assert.equal(snapshot.info?.engine, file.split('-')[0]);
        assert.equal(snapshot.info?.version, file.split('-')[1]);
        assert.equal(snapshot.info?.rdbLastBgsaveOk, true, 'captured after a successful BGSAVE');
      });

      it('gives the golden chart values', () => {
        assert.deepEqual(json(Object.fromEntries(values)), golden.charts);
      });

      it('gives every dimension of every chart a value, but for the reasoned skips', () => {
        const skips = SKIPS[file] ?? {};
        // The captured Redis is in the root pids cgroup (no pids files): the tasks chart does not apply
        // (test/unit/tasks-limit.test.ts reads a capture where it does).
        const known = { hasInfo: true, engineForks: true, local: true, hasProcess: true, inPidsCgroup: inPidsCgroup(snapshot.process?.tasks) };
        const missing: string[] = [];
        for (const chart of INSTANCE_CHARTS.filter((c) => chartApplies(c, known))) {
          for (const dim of chart.dimensions) {
            const key = `${chart.id}.${dim.id}`;
            const value = values.get(chart.id)?.[dim.id];
            if (value === undefined && !(key in skips)) missing.push(key);
            if (value !== undefined && key in skips) missing.push(`${key} has a value: drop its skip`);
          }
        }
        assert.deepEqual(missing, []);
      });
    });
  }
});
