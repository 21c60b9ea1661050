import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { instanceValues, hostValues, applicableLimit } from '../../src/analysis/metrics.ts';
import type { InstanceSnapshot } from '../../src/model/instance.ts';
import { writesRefused, failureMasked } from '../../src/analysis/persistence.ts';
import { parseRedisInfo } from '../../src/redis/info.ts';
import { HostFs, readKernelFacts, readProcessFacts } from '../../src/host/read.ts';
import { FIXTURES, fixture } from '../helpers/fixtures.ts';
import { readdirSync } from 'node:fs';

const GiB = 1024 ** 3;
const info = (text: string) => parseRedisInfo(text);

describe('persistence rules', () => {
  const failed = info('rdb_last_bgsave_status:err\naof_enabled:0\n');
  it('refuses writes only with stop-writes yes AND save points AND a failed bgsave', () => {
    assert.equal(writesRefused(failed, { save: '3600 1', 'stop-writes-on-bgsave-error': 'yes' }), true);
    assert.equal(writesRefused(failed, { save: '', 'stop-writes-on-bgsave-error': 'yes' }), false);
    assert.equal(writesRefused(failed, { save: '3600 1', 'stop-writes-on-bgsave-error': 'no' }), false);
    assert.equal(writesRefused(failed, undefined), undefined, 'unknown without CONFIG');
    assert.equal(writesRefused(info('rdb_last_bgsave_status:ok\n'), undefined), false);
  });
  it('refuses writes when AOF is on and its last write failed; an AOF rewrite failure does not', () => {
    assert.equal(writesRefused(info('rdb_last_bgsave_status:ok\naof_enabled:1\naof_last_write_status:err\n'), undefined), true);
    assert.equal(writesRefused(info('rdb_last_bgsave_status:ok\naof_enabled:1\naof_last_bgrewrite_status:err\naof_last_write_status:ok\n'), {}), false);
  });
  it('calls failures masked when save points are set but stop-writes is no', () => {
    assert.equal(failureMasked({ save: '900 1', 'stop-writes-on-bgsave-error': 'no' }), true);
    assert.equal(failureMasked({ save: '', 'stop-writes-on-bgsave-error': 'no' }), false);
    assert.equal(failureMasked({ save: '900 1', 'stop-writes-on-bgsave-error': 'yes' }), false);
    assert.equal(failureMasked(undefined), undefined);
  });
});

describe('chart values', () => {
  it('turns INFO into fork, COW and status values in display units', () => {
    const snapshot: InstanceSnapshot = {
      state: 'up',
      info: parseRedisInfo(fixture('info/hand-redis-6.2.14.txt')),
      config: { save: '900 1', 'stop-writes-on-bgsave-error': 'yes' },
      kernel: undefined,
      process: undefined,
    };
    const v = instanceValues(snapshot);
    assert.equal(v.get('fork_duration')?.latest_fork, 450.123);
    const rss = 2362232012;
    assert.ok(Math.abs((v.get('fork_time_per_gb')?.per_gb ?? 0) - 450.123 / (rss / GiB)) < 1e-9);
    assert.equal(v.get('cow_size')?.rdb, 1288490188);
    assert.ok(Math.abs((v.get('cow_ratio')?.rdb ?? 0) - (1288490188 / 2147483648) * 100) < 1e-9);
    assert.deepEqual(v.get('aof_rewrite_status'), { ok: 0, failed: 1 });
    assert.equal(v.get('fork_in_progress')?.rdb_bgsave, 1);
    assert.equal(v.get('memory')?.limit, 8589934592, 'remote: INFO total_system_memory is the limit');
    assert.equal(v.get('commit_charge'), undefined, 'no kernel facts for a remote Redis');
  });

  it('gives a down instance only its state', () => {
    const v = instanceValues({ state: 'down', info: undefined, config: undefined, kernel: undefined, process: undefined });
    assert.deepEqual([...v.keys()], ['state']);
    assert.equal(v.get('state')?.down, 1);
  });

  it('uses the kernel model and the cgroup limit for a local Redis', () => {
    const root = `${FIXTURES}host/redis-7.0-mode0`;
    const fs = new HostFs(root);
    const pid = Number(readdirSync(`${root}/proc`).find((d) => /^\d+$/.test(d)));
    const kernel = readKernelFacts(fs);
    const proc = readProcessFacts(fs, pid, undefined)!;
    const snapshot: InstanceSnapshot = { state: 'up', info: parseRedisInfo(fixture('info/redis-7.0.15-sections.txt')), config: {}, kernel, process: proc };
    const v = instanceValues(snapshot);
    assert.equal(v.get('commit_charge')?.needed, proc.charge!.largestMappingBytes, 'mode 0 compares the largest mapping');
    assert.equal(v.get('commit_charge')?.room, kernel.memTotal! + kernel.swapTotal!);
    assert.equal(v.get('commit_headroom')?.refused, 0);
    assert.equal(v.get('overcommit')?.overcommit_memory, 0);
    const limited = { ...proc, cgroup: { version: 1 as const, path: '/r', memoryLimit: 64 * 1024 * 1024, memoryUsage: 1, oomKills: 2 } };
    assert.deepEqual(applicableLimit({ ...snapshot, process: limited }), { bytes: 64 * 1024 * 1024, source: 'cgroup' });
    assert.equal(instanceValues({ ...snapshot, process: limited, recentOomKills: { cgroup: 2, host: 3 } }).get('oom_kills')?.cgroup, 2);
    const h = hostValues(kernel);
    assert.deepEqual(h.get('thp_enabled'), { always: 0, madvise: 1, never: 0 });
  });

  it('charts the THP mode anonymous memory gets: a per-size always under a top-level never is always', () => {
    const root = `${FIXTURES}host/redis-7.0-mode0`;
    const fs = new HostFs(root);
    const pid = Number(readdirSync(`${root}/proc`).find((d) => /^\d+$/.test(d)));
    const kernel = { ...readKernelFacts(fs), thpEnabled: 'never', thpSizes: [{ sizeKb: 2048, mode: 'always' }] };
    assert.deepEqual(hostValues(kernel).get('thp_enabled'), { always: 1, madvise: 0, never: 0 });
    const proc = readProcessFacts(fs, pid, undefined)!;
    const thp = instanceValues({ state: 'up', info: parseRedisInfo(fixture('info/redis-7.0.15-sections.txt')), config: {}, kernel, process: { ...proc, thpEnabled: true } }).get('thp');
    assert.deepEqual(thp, { process_thp_enabled: 1, host_always: 1, reachable: 1 });
  });
});

describe('counter window', () => {
  it('answers the growth within the window, and restarts when the counter goes down', async () => {
    const { CounterWindow } = await import('../../src/analysis/counter-window.ts');
    const w = new CounterWindow(600_000);
    assert.equal(w.push(0, 5), 0, 'the first reading is the baseline');
    assert.equal(w.push(1000, 6), 1);
    assert.equal(w.push(300_000, 6), 1);
    assert.equal(w.push(601_000, 6), 0, 'the kill at t=1s left the window');
    assert.equal(w.push(602_000, 1), 0, 'a reset starts over');
    assert.equal(w.push(603_000, 2), 1);
    assert.equal(w.push(604_000, undefined), undefined);
  });

  it('answers what a window of every reading would, keeping only the readings where the counter moved', async () => {
    const { CounterWindow } = await import('../../src/analysis/counter-window.ts');
    const windowMs = 600_000;
    // The rule with every reading kept: the baseline is the newest reading at or before the
    // window's start, else the oldest; a counter that goes down starts over.
    const everyReading = () => {
      let readings: { t: number; value: number }[] = [];
      return (t: number, value: number): number => {
        if (readings.length > 0 && value < readings.at(-1)!.value) readings = [];
        readings.push({ t, value });
        const atOrBeforeStart = readings.filter((r) => r.t <= t - windowMs);
        return value - (atOrBeforeStart.at(-1) ?? readings[0]!).value;
      };
    };
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let run = 0; run < 20; run++) {
      const w = new CounterWindow(windowMs);
      const reference = everyReading();
      let t = 0;
      let value = Math.floor(random() * 5);
      let mostKept = 0;
      for (let i = 0; i < 3000; i++) {
        t += random() < 0.05 ? 1000 + Math.floor(random() * 400_000) : 1000;
        const r = random();
        if (r < 0.01) value = Math.floor(random() * 3);
        else if (r < 0.03) value += 1 + Math.floor(random() * 3);
        assert.equal(w.push(t, value), reference(t, value), `run ${run}, reading ${i} at t=${t}`);
        mostKept = Math.max(mostKept, w.kept);
      }
      assert.ok(mostKept < 60, `run ${run}: at most ${mostKept} readings kept, not one a second`);
    }
  });

  it('keeps one reading of a counter that does not move, however long it runs', async () => {
    const { CounterWindow } = await import('../../src/analysis/counter-window.ts');
    const w = new CounterWindow(600_000);
    for (let t = 0; t < 3600_000; t += 1000) assert.equal(w.push(t, 3), 0);
    assert.equal(w.kept, 1);
  });
});
