/**
 * The plugin starts V8 with its interpreter only (`--no-opt --no-sparkplug`, the first line of the
 * bundle): at one update a second a compiler rarely pays for the memory it takes. With many jobs it
 * does: then the optimizing compiler is switched on at run time (V8 reads the flag at each tier-up
 * decision). The young generation needs no switch: it grows by V8's own rule only when many jobs
 * allocate (scripts/node-flags.mjs). Measured side by side (bench/quick.ts, 2026-11-30): at 1000
 * jobs with the optimizing compiler, 12.1% of a core with 1 MiB semi-spaces and 7.8% with the
 * growing young generation, for the same RSS; at 100 jobs the interpreter takes 0.14-0.15 ms per
 * instance, the optimizing compiler ~0.08 ms for ~10 MiB more. Flags chosen in
 * REDISFORK_NODE_FLAGS are left alone.
 */

/** More jobs than this switch the optimizing compiler on. */
export const OPTIMIZE_ABOVE_JOBS = 100;

export type CompilerChoice = 'interpreter' | 'optimizing' | 'left as set';

/** What the plugin should run with for `jobs` jobs, given how Node was started. */
export function compilerChoice(jobs: number, execArgv: readonly string[], env: NodeJS.ProcessEnv): CompilerChoice {
  if (env.REDISFORK_NODE_FLAGS !== undefined || !execArgv.includes('--no-opt')) return 'left as set';
  return jobs > OPTIMIZE_ABOVE_JOBS ? 'optimizing' : 'interpreter';
}

/** Switches the optimizing compiler on when the job count calls for it; says whether it did. One way: V8 cannot be told to drop optimized code. */
export class CompilerTier {
  private optimizing = false;

  constructor(
    private readonly execArgv: readonly string[] = process.execArgv,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  async fit(jobs: number): Promise<boolean> {
    if (this.optimizing || compilerChoice(jobs, this.execArgv, this.env) !== 'optimizing') return false;
    const { setFlagsFromString } = await import('node:v8');
    setFlagsFromString('--opt');
    this.optimizing = true;
    return true;
  }
}
