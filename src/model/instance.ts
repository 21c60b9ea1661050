/** One collection of one Redis instance: the collector builds it, analysis and the doctor read it. */
import type { KernelFacts, ProcessFacts } from '../host/facts.ts';
import type { RedisInfo } from '../redis/info.ts';
import type { RedisConfigValues } from './redis-config.ts';

/** `slow`: the previous request has not been answered yet (nothing new is sent until it is). */
export type InstanceState = 'up' | 'loading' | 'slow' | 'down' | 'auth_failed';

export interface InstanceSnapshot {
  state: InstanceState;
  info: RedisInfo | undefined;
  config: RedisConfigValues | undefined;
  kernel: KernelFacts | undefined;
  process: ProcessFacts | undefined;
  /** OOM kills in the last 10 minutes, in Redis's cgroup and on the host (see CounterWindow). */
  recentOomKills?: { cgroup: number | undefined; host: number | undefined };
  /** Tasks (forks, threads) a pids limit on Redis's cgroup path refused in the last 10 minutes (see CounterWindow). */
  recentRefusedTasks?: number | undefined;
  /** The copy-on-write the next save will likely add: the largest of the last few forks. */
  cowEstimate?: number | undefined;
  /** Redis restarted (uptime went back) within the OOM window. */
  restartedRecently?: boolean;
}
