/**
 * Turns one collection (INFO, CONFIG, host and process facts) into chart values, keyed by the
 * chart ids of `charts/catalog.ts`. Pure. A value left undefined is a gap on the chart.
 */
import type { ChartValues } from '../model/chart-values.ts';
import type { InstanceSnapshot } from '../model/instance.ts';
import type { KernelFacts } from '../host/facts.ts';
import { forkModelInput, predictFork } from './kernel-model.ts';
import { failureMasked, writesRefused } from './persistence.ts';
import { thpReachesProcess } from './thp.ts';
import { saveNeeds } from './save-fit.ts';


const GIB = 1024 ** 3;

const bool = (value: boolean | undefined): number | undefined => (value === undefined ? undefined : value ? 1 : 0);
const okFailed = (ok: boolean | undefined): ChartValues =>
  ok === undefined ? {} : { ok: ok ? 1 : 0, failed: ok ? 0 : 1 };
const percent = (part: number | undefined, whole: number | undefined): number | undefined =>
  part === undefined || whole === undefined || whole <= 0 ? undefined : (part / whole) * 100;

/** The memory limit that really applies: the cgroup limit where lower than RAM. */
export function applicableLimit(snapshot: InstanceSnapshot): { bytes: number | undefined; source: 'cgroup' | 'ram' | undefined } {
  const ram = snapshot.kernel?.memTotal ?? snapshot.info?.totalSystemMemory;
  const cgroupLimit = snapshot.process?.cgroup?.memoryLimit ?? undefined;
  if (cgroupLimit !== undefined && cgroupLimit !== null && (ram === undefined || cgroupLimit < ram)) {
    return { bytes: cgroupLimit, source: 'cgroup' };
  }
  return { bytes: ram, source: ram === undefined ? undefined : 'ram' };
}

export function instanceValues(snapshot: InstanceSnapshot): Map<string, ChartValues> {
  const values = new Map<string, ChartValues>();
  const { state, info, config, kernel, process: proc } = snapshot;
  values.set('state', {
    up: state === 'up' ? 1 : 0,
    loading: state === 'loading' ? 1 : 0,
    slow: state === 'slow' ? 1 : 0,
    down: state === 'down' ? 1 : 0,
    auth_failed: state === 'auth_failed' ? 1 : 0,
  });
  if (info === undefined || state === 'down' || state === 'auth_failed' || state === 'slow') return values;

  const rss = info.usedMemoryRss ?? proc?.vmRss;
  const fork = info.latestForkUsec;
  // Redis reports 0 until the first fork: no fork yet is not a 0 ms fork per GiB, so it is a gap.
  const perGb = fork !== undefined && fork > 0 && rss !== undefined && rss > 0 ? fork / 1000 / (rss / GIB) : undefined;
  values.set('fork_duration', { latest_fork: fork === undefined ? undefined : fork / 1000 });
  values.set('fork_time_per_gb', { per_gb: perGb });
  values.set('forks', { forks: info.totalForks });
  values.set('fork_in_progress', {
    rdb_bgsave: bool(info.rdbBgsaveInProgress),
    aof_rewrite: bool(info.aofRewriteInProgress),
    module: bool(info.moduleForkInProgress),
  });
  values.set('cow_size', {
    rdb: info.rdbLastCowSize,
    aof_rewrite: info.aofLastCowSize,
    module: info.moduleForkLastCowSize,
    current: info.currentCowSize,
  });
  const rdbRatio = percent(info.rdbLastCowSize, info.usedMemory);
  const aofRatio = percent(info.aofLastCowSize, info.usedMemory);
  const ratios = [rdbRatio, aofRatio].filter((r): r is number => r !== undefined);
  values.set('cow_ratio', { rdb: rdbRatio, aof_rewrite: aofRatio, max: ratios.length ? Math.max(...ratios) : undefined });

  const limit = applicableLimit(snapshot);
  const ram = kernel?.memTotal ?? info.totalSystemMemory;
  values.set('memory', { rss, used: info.usedMemory, limit: limit.bytes });
  values.set('rss_usage', { of_limit: percent(rss, limit.bytes), of_ram: percent(rss, ram) });
  values.set('save_fit', { needed: saveNeeds(rss, snapshot.cowEstimate), limit: limit.bytes });

  values.set('bgsave_status', okFailed(info.rdbLastBgsaveOk));
  values.set('aof_rewrite_status', okFailed(info.aofLastRewriteOk));
  values.set('aof_write_status', okFailed(info.aofLastWriteOk));
  values.set('writes', { refused: bool(writesRefused(info, config)), failure_masked: bool(failureMasked(config)) });

  if (kernel !== undefined) {
    values.set('overcommit', { overcommit_memory: kernel.overcommitMemory, rss_of_ram: percent(rss, ram) });
  }
  if (kernel !== undefined && proc !== undefined) {
    const input = forkModelInput(kernel, proc);
    if (input) {
      const verdict = predictFork(input);
      values.set('commit_charge', { needed: verdict.neededBytes, room: verdict.roomBytes ?? undefined });
      values.set('commit_headroom', { headroom: verdict.headroomPercent ?? undefined, refused: verdict.allowed ? 0 : 1 });
    }
    const hostAlways = kernel.thpEnabled === undefined ? undefined : kernel.thpEnabled === 'always';
    values.set('thp', {
      process_thp_enabled: bool(proc.thpEnabled),
      host_always: bool(hostAlways),
      reachable: bool(thpReachesProcess(kernel, proc, rss)),
    });
    values.set('anon_huge_pages', { anon_huge_pages: proc.anonHugePages, rss: proc.vmRss });
    values.set('oom_kills', { cgroup: snapshot.recentOomKills?.cgroup, host: snapshot.recentOomKills?.host });
  }
  return values;
}

export function hostValues(kernel: KernelFacts): Map<string, ChartValues> {
  const values = new Map<string, ChartValues>();
  values.set('overcommit', { mode: kernel.overcommitMemory });
  values.set('commit', { committed_as: kernel.committedAs, commit_limit: kernel.commitLimit, mem_total: kernel.memTotal });
  const choice = (current: string | undefined, options: string[]): ChartValues =>
    current === undefined ? {} : Object.fromEntries(options.map((o) => [o.replace('+', '_'), current === o ? 1 : 0]));
  values.set('thp_enabled', choice(kernel.thpEnabled, ['always', 'madvise', 'never']));
  values.set('thp_defrag', choice(kernel.thpDefrag, ['always', 'defer', 'defer+madvise', 'madvise', 'never']));
  return values;
}
