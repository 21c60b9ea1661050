/** Turns the command line into a PluginConfig: --url, --config, the Netdata config dirs, or autodetection. */
import type { Logger } from 'pino';
import { autodetect } from '../config/autodetect.ts';
import { configFromUrl, findConfigFile, loadConfigFile } from '../config/load.ts';
import type { PluginConfig } from '../config/types.ts';

export interface SourceOptions {
  url?: string;
  config?: string;
}

export async function resolveConfig(options: SourceOptions, updateEveryFloor: number, logger: Logger): Promise<PluginConfig> {
  let config: PluginConfig;
  if (options.url !== undefined) {
    config = configFromUrl(options.url, updateEveryFloor);
  } else {
    const file = options.config ?? findConfigFile();
    config = file === undefined ? await autodetect(updateEveryFloor, logger) : loadConfigFile(file);
    if (config.autodetect) {
      logger.info({ file: config.source }, `${config.source} lists no jobs: finding the Redis servers on this host`);
      config = await autodetect(Math.max(config.updateEvery, updateEveryFloor), logger);
    }
  }
  for (const warning of config.warnings) logger.warn(warning);
  // Netdata's argv[1] is the floor: never collect faster than Netdata asked.
  return { ...config, updateEvery: Math.max(config.updateEvery, updateEveryFloor) };
}
