/**
 * The plugin starts V8 with its interpreter only (`--no-opt --no-sparkplug`) and a young generation
 * held at 1 MiB semi-spaces (`--semi-space-growth-factor=1` under a 16 MiB maximum; the plugin's
 * first line): at one update a second neither a compiler nor a larger young generation pays for the
 * memory it takes. With many jobs both do, so both are switched on at run time: V8 reads `--opt` at
 * each tier-up decision and the growth factor at each growth of the young generation (its maximum
 * is fixed at start, which is why the start flags allow 16 MiB). Measured side by side
 * (bench/quick.ts, 2026-11-30): at 1000 jobs 12.8% of a core with the optimizing compiler and 1 MiB
 * semi-spaces, 10.6% with 8 MiB, 7.5% with 16 MiB, for the same RSS; at 100 jobs the interpreter
 * with 1 MiB takes 0.18-0.20 ms per instance at 57-60 MiB, the compiler with growth ~0.08 ms at
 * ~75 MiB. Flags chosen in REDISFORK_NODE_FLAGS are left alone.
 */

/** More jobs than this switch the optimizing compiler and the young generation's growth on. */
export const OPTIMIZE_ABOVE_JOBS = 100;

export type CompilerChoice = 'interpreter' | 'optimizing' | 'left as set';

/** What the plugin should run with for `jobs` jobs, given how Node was started. */
export function compilerChoice(jobs: number, execArgv: readonly string[], env: NodeJS.ProcessEnv): CompilerChoice {
  if (env.REDISFORK_NODE_FLAGS !== undefined || !execArgv.includes('--no-opt')) return 'left as set';
  return jobs > OPTIMIZE_ABOVE_JOBS ? 'optimizing' : 'interpreter';
}

/** The V8 flags set at run time for many jobs: the optimizing compiler, and V8's usual growth of the young generation. */
export const MANY_JOBS_V8_FLAGS = ['--opt', '--semi-space-growth-factor=2'] as const;

/** Switches to the many-jobs settings when the job count calls for it; says whether it did. One way: V8 cannot be told to drop optimized code. */
export class CompilerTier {
  private optimizing = false;

  constructor(
    private readonly execArgv: readonly string[] = process.execArgv,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  async fit(jobs: number): Promise<boolean> {
    if (this.optimizing || compilerChoice(jobs, this.execArgv, this.env) !== 'optimizing') return false;
    const { setFlagsFromString } = await import('node:v8');
    for (const flag of MANY_JOBS_V8_FLAGS) setFlagsFromString(flag);
    this.optimizing = true;
    return true;
  }
}
