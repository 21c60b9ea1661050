/**
 * The chart catalog: the one source of chart ids, contexts, titles, units and dimensions.
 * Code (the protocol writer, the metrics builder), docs and tests all read it.
 *
 * Values are produced in the units shown (ms, bytes, percent, 0/1) as floating point; the writer
 * multiplies by `divisor` and rounds, because Netdata 1.37 accepts only integers in SET.
 *
 * No context here is one of those emitted by Netdata's go.d redis collector (redis.memory,
 * redis.bgsave_health, ...), so the stock alerts never attach to these charts.
 */

export type Algorithm = 'absolute' | 'incremental';
export type ChartType = 'line' | 'area' | 'stacked';

export interface DimensionDef {
  readonly id: string;
  readonly name?: string;
  readonly algorithm?: Algorithm;
  readonly multiplier?: number;
  /** Precision: a value v is sent as round(v * divisor / multiplier). */
  readonly divisor?: number;
  readonly hidden?: boolean;
}

export interface ChartDef {
  readonly id: string;
  readonly context: string;
  readonly title: string;
  readonly units: string;
  readonly family: string;
  readonly type: ChartType;
  readonly priority: number;
  readonly dimensions: readonly DimensionDef[];
  /** Charts that carry fork data: not defined for engines that never fork (Dragonfly). */
  readonly forkData?: boolean;
  /** What must be known before the chart applies to an instance (see `chartApplies`). */
  readonly needs: ChartNeeds;
}

/**
 * `nothing`: always (the state chart). `info`: once Redis answered INFO. `host`: a Redis on this
 * host (its kernel facts apply even when its process is unknown, e.g. a unix socket). `process`:
 * its process on this host is identified. `pids`: that process is in a pids cgroup below the root,
 * where a pids limit can apply (not a bare host's root cgroup, whose chart would stay empty).
 */
export type ChartNeeds = 'nothing' | 'info' | 'host' | 'process' | 'pids';

/** What is known of an instance when its charts are chosen. */
export interface InstanceKnowledge {
  hasInfo: boolean;
  engineForks: boolean;
  local: boolean;
  hasProcess: boolean;
  inPidsCgroup: boolean;
}

/** The rule that decides which charts an instance gets: data here, not code in the collector. */
export function chartApplies(chart: ChartDef, known: InstanceKnowledge): boolean {
  if (chart.needs === 'nothing') return true;
  if (!known.hasInfo) return false;
  if (chart.forkData && !known.engineForks) return false;
  if (chart.needs === 'host') return known.local;
  if (chart.needs === 'process') return known.local && known.hasProcess;
  if (chart.needs === 'pids') return known.local && known.hasProcess && known.inPidsCgroup;
  return true;
}

export const PLUGIN_NAME = 'redisfork.plugin';
export const INSTANCE_TYPE_PREFIX = 'redis_fork_';
export const HOST_CHART_TYPE = 'redis_fork_host';
const PRIORITY_BASE = 70_000;

const okFailed = () => [{ id: 'ok' }, { id: 'failed' }] as const;

const INSTANCE_CATALOG = [
  {
    id: 'state',
    context: 'redis.fork_instance_state',
    title: 'Redis collection state',
    units: 'state',
    family: 'state',
    type: 'line',
    priority: PRIORITY_BASE,
    dimensions: [{ id: 'up' }, { id: 'loading' }, { id: 'slow' }, { id: 'down' }, { id: 'auth_failed' }],
    needs: 'nothing',
  },
  {
    id: 'fork_duration',
    context: 'redis.latest_fork_usec',
    title: 'Duration of the latest fork',
    units: 'milliseconds',
    family: 'fork',
    type: 'line',
    priority: PRIORITY_BASE + 1,
    dimensions: [{ id: 'latest_fork', divisor: 1000 }],
    forkData: true,
    needs: 'info',
  },
  {
    id: 'fork_time_per_gb',
    context: 'redis.fork_time_per_gb',
    title: 'Latest fork duration per GiB of RSS',
    units: 'ms/GiB',
    family: 'fork',
    type: 'line',
    priority: PRIORITY_BASE + 2,
    dimensions: [{ id: 'per_gb', divisor: 1000 }],
    forkData: true,
    needs: 'info',
  },
  {
    id: 'forks',
    context: 'redis.fork_rate',
    title: 'Successful forks',
    units: 'forks/s',
    family: 'fork',
    type: 'line',
    priority: PRIORITY_BASE + 3,
    dimensions: [{ id: 'forks', algorithm: 'incremental' }],
    forkData: true,
    needs: 'info',
  },
  {
    id: 'fork_in_progress',
    context: 'redis.fork_in_progress',
    title: 'Fork child running',
    units: 'boolean',
    family: 'fork',
    type: 'line',
    priority: PRIORITY_BASE + 4,
    dimensions: [{ id: 'rdb_bgsave' }, { id: 'aof_rewrite' }, { id: 'module' }],
    forkData: true,
    needs: 'info',
  },
  {
    id: 'cow_size',
    context: 'redis.rdb_last_cow_size',
    title: 'Copy-on-write memory of fork children',
    units: 'bytes',
    family: 'cow',
    type: 'line',
    priority: PRIORITY_BASE + 10,
    dimensions: [{ id: 'rdb' }, { id: 'aof_rewrite' }, { id: 'module' }, { id: 'current' }],
    forkData: true,
    needs: 'info',
  },
  {
    id: 'cow_ratio',
    context: 'redis.fork_cow_used_memory_ratio',
    title: 'Last copy-on-write size as a share of used_memory',
    units: 'percentage',
    family: 'cow',
    type: 'line',
    priority: PRIORITY_BASE + 11,
    dimensions: [{ id: 'rdb', divisor: 100 }, { id: 'aof_rewrite', divisor: 100 }, { id: 'max', divisor: 100 }],
    forkData: true,
    needs: 'info',
  },
  {
    id: 'memory',
    context: 'redis.used_memory_rss',
    title: 'Redis memory and the limit that applies',
    units: 'bytes',
    family: 'memory',
    type: 'line',
    priority: PRIORITY_BASE + 20,
    dimensions: [{ id: 'rss' }, { id: 'used' }, { id: 'limit' }],
    needs: 'info',
  },
  {
    id: 'rss_usage',
    context: 'redis.fork_rss_usage',
    title: 'RSS as a share of the memory limit and of RAM',
    units: 'percentage',
    family: 'memory',
    type: 'line',
    priority: PRIORITY_BASE + 21,
    dimensions: [{ id: 'of_limit', divisor: 100 }, { id: 'of_ram', divisor: 100 }],
    needs: 'info',
  },
  {
    id: 'save_fit',
    context: 'redis.fork_save_fit',
    title: 'Memory the next save needs (RSS + the largest recent copy-on-write) and the limit that applies',
    units: 'bytes',
    family: 'memory',
    type: 'line',
    priority: PRIORITY_BASE + 22,
    dimensions: [{ id: 'needed' }, { id: 'limit' }],
    forkData: true,
    needs: 'info',
  },
  {
    id: 'commit_charge',
    context: 'redis.fork_commit_charge',
    title: 'Commit a fork needs and what the kernel allows now',
    units: 'bytes',
    family: 'kernel',
    type: 'line',
    priority: PRIORITY_BASE + 30,
    dimensions: [{ id: 'needed' }, { id: 'room' }],
    forkData: true,
    needs: 'process',
  },
  {
    id: 'commit_headroom',
    context: 'redis.fork_commit_headroom',
    title: 'Room the kernel leaves for the next fork, beyond what it needs',
    units: 'percentage',
    family: 'kernel',
    type: 'line',
    priority: PRIORITY_BASE + 31,
    dimensions: [{ id: 'headroom', divisor: 100 }, { id: 'refused' }, { id: 'borderline' }],
    forkData: true,
    needs: 'process',
  },
  {
    id: 'tasks',
    context: 'redis.fork_tasks',
    title: 'Tasks against the pids limit a fork must stay under (the tightest cgroup on the path), and tasks it refused in the last 10 minutes',
    units: 'tasks',
    family: 'kernel',
    type: 'line',
    priority: PRIORITY_BASE + 33,
    dimensions: [{ id: 'tasks' }, { id: 'limit' }, { id: 'refused' }],
    needs: 'pids',
  },
  {
    id: 'overcommit',
    context: 'redis.fork_overcommit',
    title: 'Overcommit mode seen by this Redis, and its RSS share of RAM',
    units: 'value',
    family: 'kernel',
    type: 'line',
    priority: PRIORITY_BASE + 32,
    dimensions: [{ id: 'overcommit_memory' }, { id: 'rss_of_ram', divisor: 100 }],
    needs: 'host',
  },
  {
    id: 'bgsave_status',
    context: 'redis.rdb_last_bgsave_status',
    title: 'Last RDB background save',
    units: 'status',
    family: 'persistence',
    type: 'line',
    priority: PRIORITY_BASE + 40,
    dimensions: okFailed(),
    forkData: true,
    needs: 'info',
  },
  {
    id: 'aof_rewrite_status',
    context: 'redis.fork_aof_rewrite_status',
    title: 'Last AOF rewrite',
    units: 'status',
    family: 'persistence',
    type: 'line',
    priority: PRIORITY_BASE + 41,
    dimensions: okFailed(),
    forkData: true,
    needs: 'info',
  },
  {
    id: 'aof_write_status',
    context: 'redis.fork_aof_write_status',
    title: 'Last AOF write',
    units: 'status',
    family: 'persistence',
    type: 'line',
    priority: PRIORITY_BASE + 42,
    dimensions: okFailed(),
    forkData: true,
    needs: 'info',
  },
  {
    id: 'writes',
    context: 'redis.fork_writes_refused',
    title: 'Writes refused after a persistence error, or failures masked',
    units: 'boolean',
    family: 'persistence',
    type: 'line',
    priority: PRIORITY_BASE + 43,
    dimensions: [{ id: 'refused' }, { id: 'failure_masked' }],
    forkData: true,
    needs: 'info',
  },
  {
    id: 'thp',
    context: 'redis.fork_thp',
    title: 'Transparent huge pages reaching the Redis process',
    units: 'boolean',
    family: 'thp',
    type: 'line',
    priority: PRIORITY_BASE + 50,
    dimensions: [{ id: 'process_thp_enabled' }, { id: 'host_always' }, { id: 'reachable' }],
    needs: 'process',
  },
  {
    id: 'anon_huge_pages',
    context: 'redis.fork_anon_huge_pages',
    title: 'Anonymous huge pages in the Redis process',
    units: 'bytes',
    family: 'thp',
    type: 'line',
    priority: PRIORITY_BASE + 51,
    dimensions: [{ id: 'anon_huge_pages' }, { id: 'rss', hidden: true }],
    needs: 'process',
  },
  {
    id: 'oom_kills',
    context: 'redis.fork_oom_kills',
    title: 'OOM kills in the last 10 minutes: in the Redis cgroup, and elsewhere on the host for a Redis without a memory limit of its own',
    units: 'kills',
    family: 'oom',
    type: 'line',
    priority: PRIORITY_BASE + 60,
    dimensions: [{ id: 'cgroup' }, { id: 'host' }],
    needs: 'process',
  },
] as const satisfies readonly ChartDef[];
export const INSTANCE_CHARTS: readonly ChartDef[] = INSTANCE_CATALOG;

const HOST_CATALOG = [
  {
    id: 'overcommit',
    context: 'redis.fork_host_overcommit_memory',
    title: 'vm.overcommit_memory (0 heuristic, 1 always, 2 strict)',
    units: 'mode',
    family: 'kernel',
    type: 'line',
    priority: PRIORITY_BASE + 100,
    dimensions: [{ id: 'mode' }],
    needs: 'host',
  },
  {
    id: 'commit',
    context: 'redis.fork_host_commit',
    title: 'Commit limit and committed memory',
    units: 'bytes',
    family: 'kernel',
    type: 'line',
    priority: PRIORITY_BASE + 101,
    dimensions: [{ id: 'committed_as' }, { id: 'commit_limit' }, { id: 'mem_total' }],
    needs: 'host',
  },
  {
    id: 'thp_enabled',
    context: 'redis.fork_host_thp_enabled',
    title: 'Transparent huge pages mode for anonymous memory',
    units: 'boolean',
    family: 'thp',
    type: 'line',
    priority: PRIORITY_BASE + 102,
    dimensions: [{ id: 'always' }, { id: 'madvise' }, { id: 'never' }],
    needs: 'host',
  },
  {
    id: 'thp_defrag',
    context: 'redis.fork_host_thp_defrag',
    title: 'Transparent huge pages defrag mode',
    units: 'boolean',
    family: 'thp',
    type: 'line',
    priority: PRIORITY_BASE + 103,
    dimensions: [{ id: 'always' }, { id: 'defer' }, { id: 'defer_madvise', name: 'defer+madvise' }, { id: 'madvise' }, { id: 'never' }],
    needs: 'host',
  },
] as const satisfies readonly ChartDef[];
export const HOST_CHARTS: readonly ChartDef[] = HOST_CATALOG;

/** A chart's dimension ids, from the catalog's own literal types. */
type DimensionIdOf<C> = C extends { readonly dimensions: readonly (infer D)[] } ? (D extends { readonly id: infer I extends string } ? I : never) : never;
type ValuesOf<Charts extends readonly ChartDef[]> = {
  [C in Charts[number] as C['id']]: Partial<Record<DimensionIdOf<C>, number | undefined>>;
};
/** Values per instance chart id: a chart id or a dimension id not in the catalog does not compile. */
export type InstanceChartValues = ValuesOf<typeof INSTANCE_CATALOG>;
export type HostChartValues = ValuesOf<typeof HOST_CATALOG>;
export type InstanceChartId = keyof InstanceChartValues;
export type HostChartId = keyof HostChartValues;

/** Contexts the SPEC fixes; tests check they exist. */
export const REQUIRED_CONTEXTS = [
  'redis.latest_fork_usec',
  'redis.rdb_last_cow_size',
  'redis.used_memory_rss',
  'redis.rdb_last_bgsave_status',
] as const;

/** Contexts of Netdata's go.d redis collector: never to be reused here. */
export const GO_D_REDIS_CONTEXTS = [
  'redis.connections', 'redis.clients', 'redis.ping_latency', 'redis.commands',
  'redis.keyspace_lookup_hit_rate', 'redis.memory', 'redis.mem_fragmentation_ratio',
  'redis.key_eviction_events', 'redis.net', 'redis.connected_replicas', 'redis.master_link_status',
  'redis.master_last_io_since_time', 'redis.master_link_down_since_time', 'redis.rdb_changes',
  'redis.bgsave_now', 'redis.bgsave_health', 'redis.bgsave_last_rdb_save_since_time',
  'redis.aof_file_size', 'redis.commands_calls', 'redis.commands_usec', 'redis.commands_usec_per_sec',
  'redis.key_expiration_events', 'redis.database_keys', 'redis.database_expires_keys', 'redis.uptime',
] as const;

/** `[a-z0-9_]` only, as Netdata chart types want. */
export function sanitizeJobName(name: string): string {
  const cleaned = name.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  return cleaned || 'job';
}

export function instanceChartType(jobName: string): string {
  return INSTANCE_TYPE_PREFIX + sanitizeJobName(jobName);
}
