/** The command line (SPEC §7). */
import { Command, InvalidArgumentError, Option } from 'commander';
import { VERSION } from '../version.ts';
import { LOG_LEVELS, log, normaliseLevel, setLogFormat, setLogLevel, type LogLevel } from '../log.ts';
import { LOG_FORMATS } from '../log-format.ts';
import { runNetdataMode } from './netdata.ts';
import { checkConfig } from './check-config.ts';
import { runDoctor } from './doctor.ts';
import { install } from './install.ts';
import { isStandaloneBuild } from './install-runtime.ts';

function parseUpdateEvery(raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new InvalidArgumentError('UPDATE_EVERY must be a whole number of seconds, 1 or more');
  return value;
}

function applyLogLevel(flag: string | undefined, format?: string, fallback: LogLevel = 'info'): void {
  setLogFormat(format);
  const level: LogLevel = normaliseLevel(flag) ?? normaliseLevel(process.env.NETDATA_LOG_LEVEL) ?? fallback;
  setLogLevel(level);
}

const logFormatOption = () =>
  new Option('--log-format <format>', 'json, logfmt or pretty (default: $NETDATA_LOG_FORMAT, else pretty on a terminal and json otherwise)').choices(LOG_FORMATS);

export function buildProgram(exit: (code: number) => void): Command {
  const program = new Command('redisfork.plugin')
    .description('Netdata plugin: Redis fork (BGSAVE / AOF rewrite) health with its kernel context')
    .version(VERSION, '--version')
    .addOption(new Option('--log-level <level>', 'trace, debug, info, warn, error (default: $NETDATA_LOG_LEVEL or info)').choices(LOG_LEVELS))
    .addOption(logFormatOption())
    .argument('[update_every]', 'seconds between collections (Netdata passes it)', parseUpdateEvery)
    .option('--once', 'collect once, print the protocol on stdout, exit')
    .option('--url <url>', 'watch this one Redis (redis://, rediss://, unix://) instead of the config')
    .option('--config <file>', 'read this config file instead of redisfork.conf in the Netdata config dirs')
    .action(async (updateEvery: number | undefined, opts: { once?: boolean; url?: string; config?: string; logLevel?: string; logFormat?: string }) => {
      applyLogLevel(opts.logLevel, opts.logFormat);
      const code = await runNetdataMode(
        {
          updateEvery: updateEvery ?? 1,
          once: opts.once ?? false,
          ...(opts.url !== undefined ? { url: opts.url } : {}),
          ...(opts.config !== undefined ? { config: opts.config } : {}),
        },
        log(),
      );
      exit(code);
    });

  program
    .command('check-config')
    .description('validate a redisfork.conf; every problem names its path in the file')
    .argument('<file>')
    .addOption(new Option('--log-level <level>').choices(LOG_LEVELS))
    .addOption(logFormatOption())
    .action((file: string, opts: { logLevel?: string; logFormat?: string }) => {
      applyLogLevel(opts.logLevel, opts.logFormat);
      exit(checkConfig(file, (line) => process.stdout.write(`${line}\n`)));
    });

  program
    .command('doctor')
    .description('explain each Redis instance and predict whether its next fork will be refused; exit 1 if critical, 2 if it could not look')
    .option('--url <url>', 'diagnose this one Redis')
    .option('--config <file>', 'diagnose the jobs of this config file')
    .option('--info <file>', 'offline: diagnose a saved `redis-cli INFO all`')
    .option('--host-root <dir>', 'with --info: a copy of the host /proc and /sys files (scripts/capture-host.sh)')
    .option('--json', 'machine-readable output')
    .addOption(new Option('--log-level <level>').choices(LOG_LEVELS))
    .addOption(logFormatOption())
    .action(async (opts: { url?: string; config?: string; info?: string; hostRoot?: string; json?: boolean; logLevel?: string; logFormat?: string }) => {
      applyLogLevel(opts.logLevel, opts.logFormat, 'warn');
      const code = await runDoctor(
        {
          ...(opts.url !== undefined ? { url: opts.url } : {}),
          ...(opts.config !== undefined ? { config: opts.config } : {}),
          ...(opts.info !== undefined ? { info: opts.info } : {}),
          ...(opts.hostRoot !== undefined ? { hostRoot: opts.hostRoot } : {}),
          json: opts.json ?? false,
        },
        log(),
        (text) => process.stdout.write(text),
      );
      exit(code);
    });

  program
    .command('install')
    .description('put the plugin, the alert pack and an example config into this host\'s Netdata directories')
    .option('--dry-run', 'say what would be done, write nothing')
    .option('--root <dir>', 'treat this directory as / (for packaging and tests)', '')
    .action((opts: { dryRun?: boolean; root: string }) => {
      const standalone = isStandaloneBuild();
      const selfPath = standalone ? process.execPath : process.argv[1] ?? '';
      exit(install({ dryRun: opts.dryRun ?? false, root: opts.root, selfPath, standalone, runningNode: process.execPath }, (line) => process.stdout.write(`${line}\n`)));
    });

  // Options after a subcommand name belong to the subcommand (doctor --url, not the root's --url).
  program.enablePositionalOptions();
  program.showHelpAfterError();
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram((code) => {
    process.exitCode = code;
    if (code !== 0) process.exit(code);
  });
  await program.parseAsync(argv);
}
