/**
 * V8 settings that follow the job count. The plugin starts V8 with its interpreter only
 * (`--no-opt --no-sparkplug`) and a young generation of 1 MiB semi-spaces that may grow to 16 MiB
 * (scripts/node-flags.mjs); V8 grows it when more than its size survived scavenges since it last
 * grew, and shrinks it while allocation stays under 1 MB/s. The plugin allocates ~30 KB per job per
 * second, so:
 *  - a few jobs: nothing to do; V8 keeps the young generation small by its own rule;
 *  - more than HOLD_ABOVE_JOBS: V8's baseline compiler (Sparkplug) is switched on: at 100 jobs,
 *    side by side (bench/quick.ts, 2026-11-30), 13-14% less CPU for 0.8 MiB more RSS; at one job
 *    it would take 5% off for 0.9 MiB, and the one-job RSS row has no room for it.
 *    And the young generation is held at its size
 *    (`--semi-space-growth-factor=1`): at 100 jobs V8 would grow it to 16 MiB within minutes, up to
 *    30 MiB more RSS (measured over 90 s after 2 minutes: 9 MiB more on average, 20 at peaks) for
 *    0.19 -> 0.15 ms per instance. "Its size" is what reading the configuration left (new space 1 to
 *    4 MiB, probed); holding it from before that read was tried and gave more RSS, not less.
 *    And a full collection every FULL_GC_JOB_SECONDS / jobs seconds (10 at least), right after an
 *    iteration's text is written: what a job keeps from one second to the next (its INFO, its
 *    snapshot, the iteration's text: a string over 128 KiB at 100 jobs, which V8 puts in its
 *    large-object space) outlives the young generation and piles up in the old one until V8 runs a
 *    full collection by its own rule, sometimes within a minute, sometimes not for many (seen in V8's
 *    heap space statistics and /proc/PID/smaps: 11 MiB of old iterations' texts). At 100 jobs,
 *    side by side (bench/quick.ts, 2026-11-30): RSS 70.4-72.1 MiB (peaks 78-82) without,
 *    53.6-54.5 (peaks 54.7-55.9) with one every 10 s, 55.2 (peak 59.6) every 20 s, 57.5-58.6
 *    (peaks 65.1-65.7) every 30 s. One full collection takes 8-9 ms at 100 jobs (--trace-gc):
 *    about 4% of the plugin's CPU there, within the noise of the side-by-side runs;
 *  - more than OPTIMIZE_ABOVE_JOBS: the optimizing compiler is switched on and the young generation
 *    let grow (factor 2, V8's own): at 1000 jobs, side by side (bench/quick.ts, 2026-11-30), 12.1%
 *    of a core with 1 MiB semi-spaces, 10.6-11.4% with 8 MiB, 7.8-8.3% with 16 MiB, the same RSS.
 *    The baseline compiler stays on (or comes on, when the tier is entered from `few`): at 1000
 *    jobs, three pairs side by side (2026-11-30 evening), the same CPU (94.3/94.9/99.7 ms per
 *    iteration without, 96.9/95.6/93.8 with) and steadier RSS (peaks 407/224/134 MiB without,
 *    134/126/129 with).
 * V8 reads both flags when it decides (each tier-up, each growth); the maximum size is fixed at
 * start, which is why the start flags allow 16 MiB. V8 refuses a growth factor below 2 on the
 * command line but takes it at run time, on Node 18, 20, 22 and 24 alike (checked with
 * --trace-gc-verbose); should a V8 stop taking it, the young generation grows as V8 likes. node:v8
 * is loaded only when a flag is set: loading it costs 1.6 MiB of RSS. Flags chosen in
 * REDISFORK_NODE_FLAGS are left alone.
 */

/** More jobs than this hold the young generation at its size. */
export const HOLD_ABOVE_JOBS = 10;
/** More jobs than this switch the optimizing compiler on and let the young generation grow. */
export const OPTIMIZE_ABOVE_JOBS = 100;
/** In the `several` tier a full collection comes every this many seconds divided by the job count… */
export const FULL_GC_JOB_SECONDS = 1000;
/** …and no more often than this. */
export const FULL_GC_MIN_INTERVAL_MS = 10_000;

/** How often the `several` tier runs a full collection with `jobs` jobs. */
export function fullGcIntervalMs(jobs: number): number {
  return Math.max(FULL_GC_MIN_INTERVAL_MS, (FULL_GC_JOB_SECONDS * 1000) / Math.max(1, jobs));
}

/** `few` runs the interpreter only; `several` adds the baseline compiler, holds the young generation and runs full collections; `many` optimizes. */
export type Tier = 'few' | 'several' | 'many' | 'left as set';

/** The tier for `jobs` jobs, given how Node was started. */
export function tierFor(jobs: number, execArgv: readonly string[], env: NodeJS.ProcessEnv): Tier {
  if (env.REDISFORK_NODE_FLAGS !== undefined || !execArgv.includes('--no-opt')) return 'left as set';
  if (jobs > OPTIMIZE_ABOVE_JOBS) return 'many';
  return jobs > HOLD_ABOVE_JOBS ? 'several' : 'few';
}

/** The V8 flags set at run time on entering a tier. */
export const TIER_FLAGS: Readonly<Record<'several' | 'many', readonly string[]>> = {
  several: ['--semi-space-growth-factor=1', '--sparkplug'],
  many: ['--opt', '--sparkplug', '--semi-space-growth-factor=2'],
};

/**
 * Moves V8 up the tiers as the job count calls for it, never down: V8 cannot be told to drop
 * optimized code, and a held young generation still shrinks by V8's own rule when fewer jobs
 * allocate less.
 */
export class V8Tier {
  private current: 'few' | 'several' | 'many' = 'few';
  private jobs = 0;
  private lastFullGcAt: number | undefined;

  constructor(
    private readonly execArgv: readonly string[] = process.execArgv,
    private readonly env: NodeJS.ProcessEnv = process.env,
    private readonly setFlags: (flag: string) => Promise<void> = setV8Flag,
    /** V8's full collection: `gc` of --expose-gc (one of the plugin's start flags); null without it. */
    private readonly collectGarbage: (() => void) | null = globalThis.gc ?? null,
  ) {}

  /** Whether the `several` tier can run its full collections (`gc` is exposed). */
  get fullCollections(): boolean {
    return this.collectGarbage !== null;
  }

  /**
   * Called after each iteration's text is written: runs the `several` tier's full collection when
   * it is due (the first one a full interval after entering the tier).
   */
  afterIteration(now: number): boolean {
    if (this.current !== 'several' || this.collectGarbage === null) return false;
    if (this.lastFullGcAt === undefined || now < this.lastFullGcAt) {
      this.lastFullGcAt = now;
      return false;
    }
    if (now - this.lastFullGcAt < fullGcIntervalMs(this.jobs)) return false;
    this.lastFullGcAt = now;
    this.collectGarbage();
    return true;
  }

  /** Enters the tier `jobs` calls for if it is higher than the current one; says which, or undefined. */
  async fit(jobs: number): Promise<'several' | 'many' | undefined> {
    this.jobs = jobs;
    const wanted = tierFor(jobs, this.execArgv, this.env);
    if (wanted === 'left as set' || wanted === 'few' || this.current === 'many' || wanted === this.current) return undefined;
    for (const flag of TIER_FLAGS[wanted]) await this.setFlags(flag);
    this.current = wanted;
    return wanted;
  }
}

async function setV8Flag(flag: string): Promise<void> {
  const { setFlagsFromString } = await import('node:v8');
  setFlagsFromString(flag);
}
