/** Whether transparent huge pages reach a Redis process (SPEC §5 redis_fork_thp). Pure. */
import type { KernelFacts, ProcessFacts } from '../host/facts.ts';
import { THRESHOLDS } from './thresholds.ts';

/**
 * Reachable when the host mode is `always` and the process did not opt out (`THP_enabled: 1`),
 * or when its AnonHugePages are more than a small share of its RSS. The few MB mapped before
 * Redis opts out at start (seen here: 4 MB) stay under both thresholds.
 */
export function thpReachesProcess(kernel: KernelFacts, proc: ProcessFacts, rss: number | undefined): boolean | undefined {
  if (kernel.thpEnabled === undefined) return undefined;
  const hostAlways = kernel.thpEnabled === 'always';
  const anon = proc.anonHugePages ?? 0;
  const anonCounts =
    anon > THRESHOLDS.thpAnonHugeMinBytes && rss !== undefined && rss > 0 && (anon / rss) * 100 > THRESHOLDS.thpAnonHugeMinRssPercent;
  return (hostAlways && proc.thpEnabled !== false) || anonCounts;
}
