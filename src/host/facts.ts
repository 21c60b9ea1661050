/** What the host and the Redis process look like, in bytes. Built by `read.ts`, used by analysis. */
import type { ProcessStatus } from './parse.ts';

export interface KernelFacts {
  kernelRelease: string | undefined;
  overcommitMemory: number | undefined;
  overcommitRatio: number | undefined;
  overcommitKbytes: number | undefined;
  adminReserveBytes: number | undefined;
  userReserveBytes: number | undefined;
  memTotal: number | undefined;
  memFree: number | undefined;
  memAvailable: number | undefined;
  cached: number | undefined;
  sReclaimable: number | undefined;
  swapTotal: number | undefined;
  swapFree: number | undefined;
  commitLimit: number | undefined;
  committedAs: number | undefined;
  hugePagesTotal: number | undefined;
  hugepagesize: number | undefined;
  thpEnabled: string | undefined;
  thpDefrag: string | undefined;
  /** Per-size mTHP modes (`hugepages-64kB` -> `inherit`), on kernels that have them. */
  thpPerSize: Record<string, string>;
  /** `/proc/vmstat` oom_kill: OOM kills on the whole host since boot. */
  hostOomKills: number | undefined;
}

export interface CgroupFacts {
  version: 1 | 2;
  path: string;
  /** null: no limit. */
  memoryLimit: number | null | undefined;
  memoryUsage: number | undefined;
  oomKills: number | undefined;
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
}

/** /proc/PID/status fields, plus what smaps and the cgroup add. */
export interface ProcessFacts extends Omit<ProcessStatus, 'name'> {
  pid: number;
  anonHugePages: number | undefined;
  charge: ChargeEstimate | undefined;
  cgroup: CgroupFacts | undefined;
}
