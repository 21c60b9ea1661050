/**
 * Logging to stderr through pino, synchronously: no transports, no worker threads (SPEC §9).
 * Netdata files a plugin's stderr into its error log.
 */
import { pino, type Logger } from 'pino';

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

let root: Logger = createLogger('info');

export function createLogger(level: LogLevel): Logger {
  return pino(
    {
      level,
      base: { plugin: 'redisfork' },
      // Belt and braces: even if a secret reached a log object, it would not reach the log.
      redact: { paths: ['password', '*.password', 'config.password', 'auth'], censor: '***' },
    },
    pino.destination({ dest: 2, sync: true }),
  );
}

export function setLogLevel(level: LogLevel): void {
  root = createLogger(level);
}

export function log(): Logger {
  return root;
}
