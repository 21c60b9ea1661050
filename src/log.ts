/**
 * Logging to stderr through pino, synchronously: no transports, no worker threads (SPEC §9).
 * Netdata files a plugin's stderr into its error log.
 */
import { writeSync } from 'node:fs';
import { pino, type Logger } from 'pino';
import { chooseLogTarget, toLogfmt, toNetdataJson, toPretty, type LogTarget } from './log-format.ts';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
export const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** Netdata's own level words mapped onto pino's. */
export function normaliseLevel(raw: string | undefined): LogLevel | undefined {
  if (!raw) return undefined;
  const word = raw.trim().toLowerCase();
  const aliases: Record<string, LogLevel> = { warning: 'warn', err: 'error', crit: 'fatal', critical: 'fatal', notice: 'info', emergency: 'fatal', alert: 'fatal' };
  const level = aliases[word] ?? word;
  return (LOG_LEVELS as readonly string[]).includes(level) ? (level as LogLevel) : undefined;
}

let target: LogTarget = chooseLogTarget(process.env, undefined, process.stderr.isTTY === true);
let root: Logger = createLogger('info');

/** Pino's JSON line rewritten in the chosen format, written at once (still synchronous, SPEC §9). */
function formattingStream(format: (record: Record<string, unknown>) => string): { write(line: string): void } {
  return {
    write(line: string): void {
      let text: string;
      try {
        text = format(JSON.parse(line) as Record<string, unknown>);
      } catch {
        text = line.trimEnd();
      }
      writeSync(2, `${text}\n`);
    },
  };
}

export function createLogger(level: LogLevel, logTarget: LogTarget = target): Logger {
  const options = {
    level: logTarget.silent ? 'silent' : level,
    base: { plugin: 'redisfork' },
    // Belt and braces: even if a secret reached a log object, it would not reach the log.
    redact: { paths: ['password', '*.password', 'config.password', 'auth'], censor: '***' },
  };
  if (logTarget.format === 'json' && !logTarget.netdataJson) return pino(options, pino.destination({ dest: 2, sync: true }));
  const format = logTarget.format === 'logfmt' ? toLogfmt : logTarget.format === 'pretty' ? toPretty : toNetdataJson;
  return pino(options, formattingStream(format));
}

export function setLogLevel(level: LogLevel): void {
  root = createLogger(level);
}

/** `--log-format`, or NETDATA_LOG_FORMAT / a terminal when not given. */
export function setLogFormat(cliFormat: string | undefined): void {
  target = chooseLogTarget(process.env, cliFormat, process.stderr.isTTY === true);
}

export function log(): Logger {
  return root;
}
