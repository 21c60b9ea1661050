/**
 * Process facts shared by every job that watches the same Redis process, read once per iteration.
 * Many jobs may point at one server; the smaps cadence (`smapsWalkDue`) then
 * holds per process rather than per job.
 */
import type { ProcessFacts } from './facts.ts';
import { HostFs, readProcessFacts } from './read.ts';

const FORGET_AFTER_MS = 10 * 60_000;

export class ProcessFactsCache {
  private readonly entries = new Map<number, { at: number; facts: ProcessFacts | undefined }>();

  constructor(private readonly fs: HostFs) {}

  /**
   * The facts of `pid` for the iteration at `now`; read from procfs at most once per iteration.
   * `hostThpMode`: the host's THP mode this iteration (it spaces the smaps walks).
   */
  get(pid: number, now: number, hostThpMode?: string): ProcessFacts | undefined {
    const entry = this.entries.get(pid);
    if (entry && entry.at === now) return entry.facts;
    const facts = readProcessFacts(this.fs, pid, entry?.facts, now, hostThpMode);
    this.entries.set(pid, { at: now, facts });
    if (this.entries.size > 64) this.prune(now);
    return facts;
  }

  private prune(now: number): void {
    for (const [pid, entry] of this.entries) if (now - entry.at > FORGET_AFTER_MS) this.entries.delete(pid);
  }
}
