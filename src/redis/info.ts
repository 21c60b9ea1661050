/**
 * Parsing of the `INFO` reply. Pure: text in, facts out.
 *
 * Tolerates every shape seen from Redis 2.8 to 8.x, Valkey, KeyDB and Dragonfly: CRLF or LF,
 * section headers or none, unknown fields, fields that are missing in older versions, and values
 * that are not numbers. A missing or malformed field becomes `undefined`, never a throw.
 */

export type Engine = 'redis' | 'valkey' | 'keydb' | 'dragonfly' | 'unknown';

/** Flat `field -> value` map of an INFO reply; later duplicates win. */
export type InfoFields = ReadonlyMap<string, string>;

/** Every INFO field this plugin reads (toRedisInfo and detectEngine); a unit test checks they agree. */
export const INFO_FIELDS: ReadonlySet<string> = new Set([
  'redis_version', 'valkey_version', 'dragonfly_version', 'server_name', 'executable', 'mvcc_depth', 'storage_provider',
  'avg_lock_contention', 'role', 'process_id', 'uptime_in_seconds', 'used_memory', 'used_memory_rss', 'maxmemory',
  'total_system_memory', 'loading', 'rdb_bgsave_in_progress', 'bgsave_in_progress', 'rdb_last_bgsave_status',
  'rdb_last_cow_size', 'rdb_changes_since_last_save', 'changes_since_last_save', 'aof_enabled', 'aof_rewrite_in_progress',
  'aof_last_bgrewrite_status', 'aof_last_write_status', 'aof_last_cow_size', 'module_fork_in_progress',
  'module_fork_last_cow_size', 'current_cow_size', 'current_cow_peak', 'latest_fork_usec', 'total_forks', 'tcp_port',
]);

/**
 * `field -> value` of an INFO reply. With `only`, just those fields: one regular expression finds
 * them (V8 compiles it to machine code; this runs for every job every second, and a reply has ~150
 * fields of which ~30 are read). Both ways read a line the same: split on LF, one trailing CR
 * dropped, the key up to the first colon, later duplicates win.
 */
export function parseInfoFields(text: string, only?: ReadonlySet<string>): Map<string, string> {
  if (only !== undefined) return pickInfoFields(text, only);
  const fields = new Map<string, string>();
  let start = 0;
  const length = text.length;
  while (start < length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = length;
    let lineEnd = end;
    if (lineEnd > start && text.charCodeAt(lineEnd - 1) === 13 /* \r */) lineEnd--;
    if (lineEnd > start && text.charCodeAt(start) !== 35 /* # */) {
      const colon = text.indexOf(':', start);
      if (colon > start && colon < lineEnd) fields.set(text.slice(start, colon), text.slice(colon + 1, lineEnd));
    }
    start = end + 1;
  }
  return fields;
}

const pickers = new WeakMap<ReadonlySet<string>, RegExp>();

function pickInfoFields(text: string, only: ReadonlySet<string>): Map<string, string> {
  let picker = pickers.get(only);
  if (picker === undefined) {
    const keys = [...only].sort((a, b) => b.length - a.length).map((key) => key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    // No `m` flag: JavaScript's multiline `^` also starts a line after a lone CR.
    picker = new RegExp(`(?:^|\n)(${keys.join('|')}):([^\n]*)`, 'g');
    pickers.set(only, picker);
  }
  const fields = new Map<string, string>();
  picker.lastIndex = 0;
  for (let match = picker.exec(text); match !== null; match = picker.exec(text)) {
    const value = match[2]!;
    fields.set(match[1]!, value.charCodeAt(value.length - 1) === 13 /* \r */ ? value.slice(0, -1) : value);
  }
  return fields;
}

/** The facts this plugin uses from INFO server, memory, persistence and stats. */
export interface RedisInfo {
  engine: Engine;
  /** The engine's own version (valkey_version / dragonfly_version when present). */
  version: string | undefined;
  role: string | undefined;
  processId: number | undefined;
  uptimeSeconds: number | undefined;
  executable: string | undefined;
  /** The port Redis listens on as it sees it (inside its container: not the published one). */
  tcpPort: number | undefined;

  usedMemory: number | undefined;
  usedMemoryRss: number | undefined;
  maxmemory: number | undefined;
  totalSystemMemory: number | undefined;

  loading: boolean;
  rdbBgsaveInProgress: boolean | undefined;
  rdbLastBgsaveOk: boolean | undefined;
  rdbLastCowSize: number | undefined;
  rdbChangesSinceLastSave: number | undefined;
  aofEnabled: boolean | undefined;
  aofRewriteInProgress: boolean | undefined;
  aofLastRewriteOk: boolean | undefined;
  aofLastWriteOk: boolean | undefined;
  aofLastCowSize: number | undefined;
  moduleForkInProgress: boolean | undefined;
  moduleForkLastCowSize: number | undefined;
  currentCowSize: number | undefined;
  /** Redis 7.0+: the largest copy-on-write of the running child so far. */
  currentCowPeak: number | undefined;

  latestForkUsec: number | undefined;
  totalForks: number | undefined;
}

function num(fields: InfoFields, key: string): number | undefined {
  const raw = fields.get(key);
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  return Number.isFinite(value) ? value : undefined;
}

function flag(fields: InfoFields, key: string): boolean | undefined {
  const value = num(fields, key);
  return value === undefined ? undefined : value !== 0;
}

function okStatus(fields: InfoFields, key: string): boolean | undefined {
  const raw = fields.get(key);
  if (raw === 'ok') return true;
  if (raw === 'err') return false;
  return undefined;
}

export function detectEngine(fields: InfoFields): Engine {
  if (fields.has('dragonfly_version')) return 'dragonfly';
  if (fields.has('valkey_version') || fields.get('server_name') === 'valkey') return 'valkey';
  if (
    fields.has('mvcc_depth') ||
    fields.has('storage_provider') ||
    fields.has('avg_lock_contention') ||
    /keydb/i.test(fields.get('executable') ?? '')
  ) {
    return 'keydb';
  }
  if (fields.has('redis_version')) return 'redis';
  return 'unknown';
}

export function parseRedisInfo(text: string): RedisInfo {
  return toRedisInfo(parseInfoFields(text, INFO_FIELDS));
}

export function toRedisInfo(f: InfoFields): RedisInfo {
  const engine = detectEngine(f);
  const version =
    engine === 'valkey'
      ? f.get('valkey_version') ?? f.get('redis_version')
      : engine === 'dragonfly'
        ? f.get('dragonfly_version')
        : f.get('redis_version');
  return {
    engine,
    version: version || undefined,
    role: f.get('role') || undefined,
    processId: num(f, 'process_id'),
    uptimeSeconds: num(f, 'uptime_in_seconds'),
    executable: f.get('executable') || undefined,
    tcpPort: num(f, 'tcp_port'),

    usedMemory: num(f, 'used_memory'),
    usedMemoryRss: num(f, 'used_memory_rss'),
    maxmemory: num(f, 'maxmemory'),
    totalSystemMemory: num(f, 'total_system_memory'),

    loading: num(f, 'loading') === 1,
    // Redis 2.8 names it bgsave_in_progress in some builds; both mean the same.
    rdbBgsaveInProgress: flag(f, 'rdb_bgsave_in_progress') ?? flag(f, 'bgsave_in_progress'),
    rdbLastBgsaveOk: okStatus(f, 'rdb_last_bgsave_status'),
    rdbLastCowSize: num(f, 'rdb_last_cow_size'),
    rdbChangesSinceLastSave: num(f, 'rdb_changes_since_last_save') ?? num(f, 'changes_since_last_save'),
    aofEnabled: flag(f, 'aof_enabled'),
    aofRewriteInProgress: flag(f, 'aof_rewrite_in_progress'),
    aofLastRewriteOk: okStatus(f, 'aof_last_bgrewrite_status'),
    aofLastWriteOk: okStatus(f, 'aof_last_write_status'),
    aofLastCowSize: num(f, 'aof_last_cow_size'),
    moduleForkInProgress: flag(f, 'module_fork_in_progress'),
    moduleForkLastCowSize: num(f, 'module_fork_last_cow_size'),
    currentCowSize: num(f, 'current_cow_size'),
    currentCowPeak: num(f, 'current_cow_peak'),

    latestForkUsec: num(f, 'latest_fork_usec'),
    totalForks: num(f, 'total_forks'),
  };
}

/** Dragonfly snapshots without fork(); its fork fields, if any, mean nothing. */
export function engineForks(engine: Engine): boolean {
  return engine !== 'dragonfly';
}

/** Major.minor of a version string, or undefined ("7.0.15" -> [7, 0]). */
export function versionMajorMinor(version: string | undefined): [number, number] | undefined {
  const match = /^(?:df-v|v)?(\d+)\.(\d+)/.exec(version ?? '');
  if (!match) return undefined;
  return [Number(match[1]), Number(match[2])];
}
