/** What the host and the Redis process look like, in bytes. Built by `read.ts`, used by analysis. */
import type { ProcessStatus } from './parse.ts';

export interface KernelFacts {
  kernelRelease: string | undefined;
  /** Its major and minor number, parsed once with the release (the fork rule changed in 5.2). */
  kernelVersion?: [number, number] | undefined;
  overcommitMemory: number | undefined;
  overcommitRatio: number | undefined;
  overcommitKbytes: number | undefined;
  adminReserveBytes: number | undefined;
  userReserveBytes: number | undefined;
  memTotal: number | undefined;
  memFree: number | undefined;
  cached: number | undefined;
  sReclaimable: number | undefined;
  /** meminfo Buffers, SwapCached, Shmem, KReclaimable (4.20+): what the pre-5.2 guess counts as free or not. */
  buffers?: number | undefined;
  swapCached?: number | undefined;
  shmem?: number | undefined;
  kReclaimable?: number | undefined;
  /** The kernel's totalreserve_pages in bytes, from /proc/zoneinfo (read only for kernels before 5.2). */
  totalReserveBytes?: number | undefined;
  swapTotal: number | undefined;
  swapFree: number | undefined;
  commitLimit: number | undefined;
  committedAs: number | undefined;
  /** The top-level `transparent_hugepage/enabled`: always, madvise or never. */
  thpEnabled: string | undefined;
  thpDefrag: string | undefined;
  /**
   * Kernels with per-size THP controls (6.8+): each `hugepages-<size>kB/enabled` (always, inherit,
   * madvise or never). Absent on older kernels, where the top-level mode is the only one.
   */
  thpSizes?: readonly ThpSizeMode[] | undefined;
  /** CPUs present (`/sys/devices/system/cpu/present`): the commit counter's slack depends on them. */
  presentCpus?: number | undefined;
  /** `/proc/vmstat` oom_kill: OOM kills on the whole host since boot. */
  hostOomKills: number | undefined;
  /** The host's tasks against its two limits on them, read once a minute. */
  hostTasks?: HostTaskFacts | undefined;
}

/**
 * RLIMIT_NPROC of the Redis process: the kernel refuses its fork with EAGAIN when the tasks
 * (threads included) of its real user reach the soft limit, unless that user is root or the
 * process has CAP_SYS_RESOURCE or CAP_SYS_ADMIN. The count is the user's across the whole user
 * namespace: every container running as the same uid without one of its own shares it.
 */
export interface UserTaskFacts {
  uid: number;
  /** The soft `Max processes`; null: unlimited. */
  limit: number | null;
  /** Tasks of that real uid under /proc; undefined where not counted (no limit, or exempt). */
  tasks: number | undefined;
  exempt: boolean;
}

/**
 * Host-wide, a fork is refused with EAGAIN when the tasks reach `kernel.threads-max`, or when no
 * pid number below `kernel.pid_max` is free (every task, thread or process, holds one).
 */
export interface HostTaskFacts {
  /** Every task on the host (`/proc/loadavg`). */
  tasks: number | undefined;
  threadsMax: number | undefined;
  pidMax: number | undefined;
}

/** One `hugepages-<size>kB/enabled`: `inherit` takes the top-level mode. */
export interface ThpSizeMode {
  sizeKb: number;
  mode: string | undefined;
}

/**
 * The THP mode anonymous memory gets, by the kernel's rule for per-size controls: a size is on
 * `always` or `madvise` by its own word, or by the top-level word where it says `inherit`, and the
 * strongest size wins (`always` over `madvise` over `never`). So `never` at the top level with
 * `hugepages-2048kB` at `always` gives a process 2 MB huge pages, and `always` at the top level
 * with every size at `never` gives it none. Without per-size controls: the top-level mode.
 * Undefined when a mode that could decide it is unknown.
 */
export function anonymousThpMode(topLevel: string | undefined, sizes: readonly ThpSizeMode[] | undefined): string | undefined {
  if (sizes === undefined || sizes.length === 0) return topLevel;
  let madvise = false;
  let unknown = false;
  for (let i = 0; i < sizes.length; i++) {
    const own = sizes[i]!.mode;
    const mode = own === 'inherit' ? topLevel : own;
    if (mode === 'always') return 'always';
    if (mode === 'madvise') madvise = true;
    else if (mode !== 'never') unknown = true;
  }
  return unknown ? undefined : madvise ? 'madvise' : 'never';
}

/** The last answer of `anonymousThp`: asked three times an iteration, of the same per-size modes for a minute. */
let lastAnonymousThp: { topLevel: string | undefined; sizes: readonly ThpSizeMode[] | undefined; mode: string | undefined } | undefined;

/** The mode anonymous memory (Redis's heap) gets on this host: the per-size rule where the kernel has it. */
export function anonymousThp(kernel: KernelFacts): string | undefined {
  const last = lastAnonymousThp;
  if (last !== undefined && last.sizes === kernel.thpSizes && last.topLevel === kernel.thpEnabled) return last.mode;
  const mode = anonymousThpMode(kernel.thpEnabled, kernel.thpSizes);
  lastAnonymousThp = { topLevel: kernel.thpEnabled, sizes: kernel.thpSizes, mode };
  return mode;
}

export interface CgroupFacts {
  version: 1 | 2;
  /** The process's own memory cgroup, and where its hierarchy is mounted. */
  path: string;
  mount?: string;
  /** When `/proc/PID/cgroup` was last read (membership is re-read once a minute, not every second). */
  locatedAt?: number;
  /** The smallest limit on the path to the root; null: none. */
  memoryLimit: number | null | undefined;
  /** The cgroup that holds that limit (the pod's, a parent's, or its own). */
  limitPath?: string | undefined;
  /** Usage of the cgroup that holds the limit (its own where there is none). */
  memoryUsage: number | undefined;
  /** v2 `memory.high`, the smallest on the path: reclaim and throttling start there, no kill. */
  memoryHigh?: number | null | undefined;
  /** v1 `memory.memsw.limit_in_bytes` (memory + swap) or v2 `memory.swap.max`, of its own cgroup. */
  swapLimit?: number | null | undefined;
  /** OOM kills in its own cgroup since the cgroup was made. */
  oomKills: number | undefined;
  /**
   * v2: the highest cgroup on the path with `memory.oom.group` 1 (read with the location, once a
   * minute). The OOM killer then kills every process in it together: when the save child is chosen,
   * Redis dies with it. Kubernetes sets it on every container on cgroup v2 since 1.28.
   */
  oomGroupPath?: string | undefined;
}

/**
 * The pids controller on the path of a process's cgroup. The kernel refuses a fork or a new thread
 * (EAGAIN, which Redis logs as "fork: Resource temporarily unavailable") when one more task would
 * take any cgroup on the path above its `pids.max`. Every thread of every process in a cgroup is a
 * task: Redis's own threads, and the other processes of its container or pod.
 */
export interface TaskLimitFacts {
  version: 1 | 2;
  /** The process's own pids cgroup, and where its hierarchy is mounted. */
  path: string;
  mount: string;
  /** When its membership was read (once a minute: processes are rarely moved). */
  locatedAt?: number;
  /** The cgroups on the path that have pids files, innermost first: not the root, and on v2 only where the controller is on. */
  levels: readonly string[];
  /** The cgroup with the least room under its limit (the process's own where none has one). */
  limitPath: string;
  /** Its `pids.max`; null: no limit on the path. */
  limit: number | null;
  /** Its `pids.current`. */
  tasks: number | undefined;
  /**
   * `pids.events` max: forks and new threads a pids limit refused. The kernel counts them in the
   * forking task's own cgroup on v1, and in the cgroup whose limit refused them on v2.
   */
  refused: number | undefined;
}

/** Whether a pids limit can apply: some cgroup on the process's path, not the root, has pids files (the tasks chart's rule). */
export function inPidsCgroup(tasks: TaskLimitFacts | undefined): tasks is TaskLimitFacts {
  return tasks !== undefined && tasks.levels.length > 0;
}

export interface ChargeEstimate {
  /** What a fork of this process would be charged by commit accounting. */
  bytes: number;
  /** The largest single accountable mapping (what mode 0 on kernel >= 5.2 checks). */
  largestMappingBytes: number;
  /** `smaps`: exact, from VmFlags. `vmdata`: VmData + VmStk, an upper bound. */
  source: 'smaps' | 'vmdata';
  /** When it was measured (ms since epoch). */
  measuredAt: number;
  /** VmData + VmStk when it was measured: they move when mappings are made, grown or removed. */
  dataAndStackAtMeasure?: number | undefined;
  /** How long reading and summing smaps took (ms): it spaces the next walk (its cost grows with the process). */
  walkMs?: number | undefined;
  /** `hugePagesMayGrow` when it was measured: a change (the host's THP mode set anew) brings a walk. */
  hugePagesMayGrowAtMeasure?: boolean | undefined;
}

/** VmData + VmStk: what moves when the process maps, grows or unmaps memory. */
export function dataAndStack(status: { vmData?: number | undefined; vmStk?: number | undefined }): number | undefined {
  return status.vmData === undefined ? undefined : status.vmData + (status.vmStk ?? 0);
}

/**
 * Whether the process's AnonHugePages can grow while its VmData stays put (khugepaged collapses
 * pages in place): the process has not opted out (`THP_enabled: 0`), and the host's mode is
 * `always`, or `madvise` and the process already has huge pages (under `madvise` only memory the
 * process asks for gets them; Redis asks for none). An unknown mode or count counts as yes.
 */
export function hugePagesMayGrow(hostThpMode: string | undefined, processThpEnabled: boolean | undefined, anonHugePages: number | undefined): boolean {
  if (processThpEnabled === false) return false;
  if (hostThpMode === 'always' || hostThpMode === undefined) return true;
  return hostThpMode === 'madvise' && (anonHugePages === undefined || anonHugePages > 0);
}

/** /proc/PID/status fields, plus what smaps and the cgroup add. */
export interface ProcessFacts extends Omit<ProcessStatus, 'name' | 'nsPids' | 'parentPid'> {
  pid: number;
  anonHugePages: number | undefined;
  charge: ChargeEstimate | undefined;
  cgroup: CgroupFacts | undefined;
  /** Its pids cgroup (undefined: no pids controller seen for it). */
  tasks?: TaskLimitFacts | undefined;
}
