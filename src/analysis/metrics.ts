/**
 * Turns one collection (INFO, CONFIG, host and process facts) into chart values, keyed by the
 * chart ids of `charts/catalog.ts`. Pure. A value left undefined is a gap on the chart.
 */
import type { ChartValues } from '../model/chart-values.ts';
import { HOST_CHARTS, type HostChartId, type HostChartValues, type InstanceChartValues } from '../../charts/catalog.ts';
import type { InstanceSnapshot } from '../model/instance.ts';
import { anonymousThp, inPidsCgroup, type KernelFacts } from '../host/facts.ts';
import { forkModelInput, predictFork } from './kernel-model.ts';
import { failureMasked, writesRefused } from './persistence.ts';
import { thpReachesProcess } from './thp.ts';
import { saveNeeds } from './save-fit.ts';


const GIB = 1024 ** 3;

const bool = (value: boolean | undefined): number | undefined => (value === undefined ? undefined : value ? 1 : 0);
const okFailed = (ok: boolean | undefined): { ok?: number; failed?: number } =>
  ok === undefined ? {} : { ok: ok ? 1 : 0, failed: ok ? 0 : 1 };

/** `put('chart', { dim: value })`, checked against the catalog: a wrong chart or dimension id does not compile. */
function valueSetter<Values>(values: Map<string, ChartValues>) {
  return <K extends keyof Values & string>(id: K, chartValues: Values[K]): void => {
    values.set(id, chartValues as ChartValues);
  };
}
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
  const put = valueSetter<InstanceChartValues>(values);
  const { state, info, config, kernel, process: proc } = snapshot;
  put('state', {
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
  put('fork_duration', { latest_fork: fork === undefined ? undefined : fork / 1000 });
  put('fork_time_per_gb', { per_gb: perGb });
  put('forks', { forks: info.totalForks });
  put('fork_in_progress', {
    rdb_bgsave: bool(info.rdbBgsaveInProgress),
    aof_rewrite: bool(info.aofRewriteInProgress),
    module: bool(info.moduleForkInProgress),
  });
  put('cow_size', {
    rdb: info.rdbLastCowSize,
    aof_rewrite: info.aofLastCowSize,
    module: info.moduleForkLastCowSize,
    current: info.currentCowSize,
  });
  const rdbRatio = percent(info.rdbLastCowSize, info.usedMemory);
  const aofRatio = percent(info.aofLastCowSize, info.usedMemory);
  const ratios = [rdbRatio, aofRatio].filter((r): r is number => r !== undefined);
  put('cow_ratio', { rdb: rdbRatio, aof_rewrite: aofRatio, max: ratios.length ? Math.max(...ratios) : undefined });

  const limit = applicableLimit(snapshot);
  const ram = kernel?.memTotal ?? info.totalSystemMemory;
  put('memory', { rss, used: info.usedMemory, limit: limit.bytes });
  put('rss_usage', { of_limit: percent(rss, limit.bytes), of_ram: percent(rss, ram) });
  put('save_fit', { needed: saveNeeds(rss, snapshot.cowEstimate), limit: limit.bytes });

  put('bgsave_status', okFailed(info.rdbLastBgsaveOk));
  put('aof_rewrite_status', okFailed(info.aofLastRewriteOk));
  put('aof_write_status', okFailed(info.aofLastWriteOk));
  put('writes', { refused: bool(writesRefused(info, config)), failure_masked: bool(failureMasked(config)) });

  if (kernel !== undefined) {
    put('overcommit', { overcommit_memory: kernel.overcommitMemory, rss_of_ram: percent(rss, ram) });
  }
  const tasks = proc?.tasks;
  if (inPidsCgroup(tasks)) put('tasks', { tasks: tasks.tasks, limit: tasks.limit ?? undefined, refused: snapshot.recentRefusedTasks });
  if (kernel !== undefined && proc !== undefined) {
    const input = forkModelInput(kernel, proc);
    if (input) {
      const verdict = predictFork(input);
      put('commit_charge', { needed: verdict.neededBytes, room: verdict.roomBytes ?? undefined });
      put('commit_headroom', {
        headroom: verdict.headroomPercent ?? undefined,
        refused: verdict.outcome === 'refused' ? 1 : 0,
        borderline: verdict.outcome === 'borderline' ? 1 : 0,
      });
    }
    const hostMode = anonymousThp(kernel);
    const hostAlways = hostMode === undefined ? undefined : hostMode === 'always';
    put('thp', {
      process_thp_enabled: bool(proc.thpEnabled),
      host_always: bool(hostAlways),
      reachable: bool(thpReachesProcess(kernel, proc, rss)),
    });
    put('anon_huge_pages', { anon_huge_pages: proc.anonHugePages, rss: proc.vmRss });
    put('oom_kills', { cgroup: snapshot.recentOomKills?.cgroup, host: snapshot.recentOomKills?.host });
  }
  return values;
}

export function hostValues(kernel: KernelFacts): Map<string, ChartValues> {
  const values = new Map<string, ChartValues>();
  const put = valueSetter<HostChartValues>(values);
  put('overcommit', { mode: kernel.overcommitMemory });
  put('commit', { committed_as: kernel.committedAs, commit_limit: kernel.commitLimit, mem_total: kernel.memTotal });
  put('thp_enabled', choice('thp_enabled', anonymousThp(kernel)));
  put('thp_defrag', choice('thp_defrag', kernel.thpDefrag));
  return values;
}

/** The modes each choice chart has a dimension for (the catalog's dimension names are the kernel's words), looked up once. */
const CHOICE_DIMENSIONS = new Map(HOST_CHARTS.map((chart) => [chart.id, chart.dimensions.map((d) => ({ id: d.id, word: d.name ?? d.id }))]));

/** One 0/1 dimension per mode of a sysfs choice file. */
function choice(chartId: HostChartId, current: string | undefined): ChartValues {
  const dimensions = CHOICE_DIMENSIONS.get(chartId);
  if (current === undefined || dimensions === undefined) return {};
  const values: Record<string, number> = {};
  for (const { id, word } of dimensions) values[id] = current === word ? 1 : 0;
  return values;
}
