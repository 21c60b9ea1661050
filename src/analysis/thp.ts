/** Whether transparent huge pages reach a Redis process (SPEC §5 redis_fork_thp). Pure. */
import { anonymousThp, type KernelFacts, type ProcessFacts } from '../host/facts.ts';
import { THRESHOLDS } from './thresholds.ts';

/**
 * Reachable when the host's mode for anonymous memory (`anonymousThp`: the top-level mode, or the
 * strongest per-size one) is `always` and the process did not opt out (`THP_enabled: 1`),
 * or when its AnonHugePages are more than a small share of its RSS. The few MB mapped before
 * Redis opts out at start (seen here: 4 MB) stay under both thresholds.
 */
export function thpReachesProcess(kernel: KernelFacts, proc: ProcessFacts, rss: number | undefined): boolean | undefined {
  const hostMode = anonymousThp(kernel);
  if (hostMode === undefined) return undefined;
  const hostAlways = hostMode === 'always';
  const anon = proc.anonHugePages ?? 0;
  const anonCounts =
    anon > THRESHOLDS.thpAnonHugeMinBytes && rss !== undefined && rss > 0 && (anon / rss) * 100 > THRESHOLDS.thpAnonHugeMinRssPercent;
  return (hostAlways && proc.thpEnabled !== false) || anonCounts;
}
