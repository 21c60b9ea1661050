/**
 * The plugin starts V8 with its interpreter only (`--no-opt --no-sparkplug`, the first line of the
 * bundle): at one update a second a compiler rarely pays for the memory it takes. With many jobs it
 * does: then the optimizing compiler is switched on at run time (V8 reads the flag at each tier-up
 * decision). Measured by `npm run bench` (bench/RESULTS.md): at 1000 jobs the interpreter alone
 * takes ~13% of a core, the optimizing compiler roughly half that, for more RSS; at 100 jobs the
 * interpreter stays within 0.12 ms and 60 MiB. Flags chosen in REDISFORK_NODE_FLAGS are left alone.
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
