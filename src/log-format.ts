/**
 * How a log record looks on stderr (SPEC §12). Netdata 2.x tells each plugin with
 * NETDATA_LOG_FORMAT (logfmt or json) and files the lines in collector.log; run by hand, a terminal
 * gets readable lines and a pipe gets pino's JSON (what scripts and the tests read). Pure: a record
 * in, a line out.
 */

export type LogFormat = 'json' | 'logfmt' | 'pretty';
export const LOG_FORMATS: readonly LogFormat[] = ['json', 'logfmt', 'pretty'];

/** pino's numeric levels in Netdata's words. */
const LEVEL_WORDS: Readonly<Record<number, string>> = { 10: 'debug', 20: 'debug', 30: 'info', 40: 'warning', 50: 'error', 60: 'critical' };
const COMM = 'redisfork.plugin';
/** pino's own fields, which the Netdata formats replace with theirs. */
const PINO_FIELDS = new Set(['level', 'time', 'msg', 'plugin', 'pid', 'hostname']);

export function levelWord(level: unknown): string {
  return typeof level === 'number' ? (LEVEL_WORDS[level] ?? 'info') : 'info';
}

/** A logfmt value: bare when it can be, else quoted with `"` and `\` escaped; objects as JSON. */
export function logfmtValue(value: unknown): string {
  const text = typeof value === 'string' ? value : value === undefined ? '' : JSON.stringify(value);
  if (text !== '' && /^[^\s"=\\]+$/.test(text)) return text;
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r')}"`;
}

function extraFields(record: Record<string, unknown>): [string, unknown][] {
  return Object.entries(record).filter(([key, value]) => !PINO_FIELDS.has(key) && value !== undefined);
}

function isoTime(record: Record<string, unknown>): string {
  return new Date(typeof record.time === 'number' ? record.time : Date.now()).toISOString();
}

/** `time=… comm=redisfork.plugin source=collector level=error job=a code=… msg="…"`, as Netdata's own plugins write. */
export function toLogfmt(record: Record<string, unknown>): string {
  const parts = [`time=${isoTime(record)}`, `comm=${COMM}`, 'source=collector', `level=${levelWord(record.level)}`];
  for (const [key, value] of extraFields(record)) parts.push(`${key.replace(/[^\w.-]/g, '_')}=${logfmtValue(value)}`);
  parts.push(`msg=${logfmtValue(record.msg ?? '')}`);
  return parts.join(' ');
}

/** The same fields as one JSON object (NETDATA_LOG_FORMAT=json). */
export function toNetdataJson(record: Record<string, unknown>): string {
  return JSON.stringify({ time: isoTime(record), comm: COMM, source: 'collector', level: levelWord(record.level), ...Object.fromEntries(extraFields(record)), msg: record.msg ?? '' });
}

/** `2026-11-25 08:35:18 warning job=a  message`: for a person at a terminal. */
export function toPretty(record: Record<string, unknown>): string {
  const time = isoTime(record).replace('T', ' ').slice(0, 19);
  const fields = extraFields(record).map(([key, value]) => `${key}=${logfmtValue(value)}`).join(' ');
  return `${time} ${levelWord(record.level).padEnd(8)} ${fields ? `${fields}  ` : ''}${String(record.msg ?? '')}`;
}

export interface LogTarget {
  format: LogFormat;
  /** Netdata format words (time, comm, source, level) or pino's own JSON. */
  netdataJson: boolean;
  /** NETDATA_LOG_METHOD=none: say nothing. */
  silent: boolean;
}

/**
 * `--log-format` wins; then NETDATA_LOG_FORMAT (logfmt, json) as Netdata 2.x sets it; then a
 * terminal gets readable lines and anything else pino's JSON. NETDATA_LOG_METHOD=journal or syslog
 * is served on stderr too (Node has no unix datagram socket for the journal's native protocol);
 * `none` silences the plugin.
 */
export function chooseLogTarget(env: NodeJS.ProcessEnv, cliFormat: string | undefined, stderrIsTty: boolean): LogTarget {
  const silent = env.NETDATA_LOG_METHOD?.trim().toLowerCase() === 'none';
  const wanted = (cliFormat ?? env.NETDATA_LOG_FORMAT)?.trim().toLowerCase();
  if (wanted === 'logfmt' || wanted === 'pretty') return { format: wanted, netdataJson: false, silent };
  if (wanted === 'json') return { format: 'json', netdataJson: cliFormat === undefined, silent };
  return { format: stderrIsTty ? 'pretty' : 'json', netdataJson: false, silent };
}
