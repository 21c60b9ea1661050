/** `check-config FILE`: validate and say what is wrong, path by path. */
import { ConfigError, errorMessage } from '../errors.ts';
import { loadConfigFile } from '../config/load.ts';

export function checkConfig(file: string, out: (line: string) => void): number {
  try {
    const config = loadConfigFile(file);
    for (const warning of config.warnings) out(`warning: ${warning}`);
    if (config.autodetect) {
      out(`${file}: valid, lists no jobs: the plugin finds the Redis servers on this host by itself`);
      return 0;
    }
    out(`${file}: valid, ${config.jobs.length} job(s): ${config.jobs.map((j) => `${j.name} (${j.displayUrl})`).join(', ')}`);
    return 0;
  } catch (err) {
    if (err instanceof ConfigError) {
      out(`${err.file}: invalid`);
      for (const problem of err.problems) out(`  ${problem.path ? `${problem.path}: ` : ''}${problem.message}`);
      return 1;
    }
    out(`${file}: ${errorMessage(err)}`);
    return 1;
  }
}
