/**
 * Will the next save fit? A save's child needs room for the pages it copies on write; the guide:
 * "surface rdb_last_cow_size trends to predict whether the next fork will fit within container or
 * host limits". The estimate is the largest copy-on-write of the last few forks: the peak while a
 * child runs (current_cow_peak, else current_cow_size), the last sizes after (rdb, AOF, module).
 */
import type { RedisInfo } from '../redis/info.ts';

/** How many forks the estimate looks back over. */
export const COW_FORKS_KEPT = 5;

export class CowHistory {
  /** fork number (total_forks) -> the largest COW seen for it */
  private readonly byFork = new Map<number, number>();

  /** Takes one collection's INFO; answers the estimate (undefined until any COW figure is known). */
  observe(info: RedisInfo): number | undefined {
    const fork = info.totalForks ?? 0;
    const running = info.rdbBgsaveInProgress || info.aofRewriteInProgress || info.moduleForkInProgress;
    const seen = running
      ? [info.currentCowPeak, info.currentCowSize]
      : [info.rdbLastCowSize, info.aofLastCowSize, info.moduleForkLastCowSize];
    const known = seen.filter((v): v is number => v !== undefined && v > 0);
    if (known.length > 0) this.byFork.set(fork, Math.max(this.byFork.get(fork) ?? 0, ...known));
    else if (!this.byFork.has(fork) && seen.some((v) => v === 0)) this.byFork.set(fork, 0);
    for (const key of this.byFork.keys()) if (key <= fork - COW_FORKS_KEPT || key > fork) this.byFork.delete(key);
    return this.estimate();
  }

  estimate(): number | undefined {
    return this.byFork.size === 0 ? undefined : Math.max(...this.byFork.values());
  }
}

/** What the next save needs: the RSS it starts from plus the copy-on-write it will likely add. */
export function saveNeeds(rss: number | undefined, cowEstimate: number | undefined): number | undefined {
  return rss === undefined || cowEstimate === undefined ? undefined : rss + cowEstimate;
}
