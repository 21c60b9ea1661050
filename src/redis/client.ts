/**
 * One ioredis connection per job, set up for a monitor: RESP2 (no HELLO, so old servers and
 * minimal ACL users work), no CLIENT SETINFO, no offline queue, no silent retries of commands,
 * no ready check (it would wait through `loading` and hide it), reconnection with back-off.
 */
import { Redis, ReplyError, type RedisOptions } from 'ioredis';
import type { JobConfig } from '../config/types.ts';
import { RedisforkError, errorMessage, type ErrorCode } from '../errors.ts';
import { CONFIG_KEYS, type RedisConfigValues } from '../model/redis-config.ts';


/**
 * Every collection reads these. `server` (version, process_id, uptime) changes only when Redis
 * restarts, which always breaks the connection: it is read after each (re)connect and with the
 * once-a-minute CONFIG round, which saves a fifth of Redis's time per collection (measured: a cold
 * INFO of four sections ~51 µs, of the three ~40 µs).
 */
const EVERY_TIME_SECTIONS = ['memory', 'persistence', 'stats'] as const;
const MAX_BACKOFF_MS = 30_000;
/** What Redis < 7.0 (and KeyDB) answer to INFO with several sections: the reply carries no code of its own. */
const SECTION_LIST_REFUSED = /syntax error|wrong number of arguments/i;

export interface CollectResult {
  /** INFO memory, persistence, stats; plus server after a (re)connect and on CONFIG rounds, with replication on the latter. */
  infoText: string;
  /** Whether infoText holds INFO server this time. */
  withServer?: boolean;
  /** Present when CONFIG GET was asked for: the values, or why they are unavailable. */
  config?: { values: RedisConfigValues } | { error: RedisforkError };
}

export function redisOptions(job: JobConfig): RedisOptions {
  const options: RedisOptions = {
    protocol: 2,
    disableClientInfo: true,
    enableReadyCheck: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResubscribe: false,
    autoResendUnfulfilledCommands: false,
    lazyConnect: true,
    connectTimeout: job.timeoutMs,
    // No commandTimeout: a command that timed out would still wait in Redis's queue, and the next
    // collection would pile another one behind it. The job instead sends nothing new until the
    // reply comes (see InstanceJob), and drops a connection that stays silent (stuckAfterMs).
    db: job.db,
    retryStrategy: (attempt: number) => Math.min(250 * 2 ** Math.min(attempt, 10), MAX_BACKOFF_MS),
  };
  if (job.username !== undefined) options.username = job.username;
  if (job.password !== undefined) options.password = job.password;
  if (job.target.kind === 'unix') {
    options.path = job.target.path;
  } else {
    options.host = job.target.host;
    options.port = job.target.port;
    if (job.target.tls) {
      const tls = job.tls ?? { insecureSkipVerify: false };
      options.tls = {
        ...(tls.ca ? { ca: tls.ca } : {}),
        ...(tls.cert ? { cert: tls.cert } : {}),
        ...(tls.key ? { key: tls.key } : {}),
        servername: tls.serverName ?? job.target.host,
        rejectUnauthorized: !tls.insecureSkipVerify,
      };
    }
  }
  return options;
}

/** A Redis error reply's code is its first word (`-NOAUTH …`, `-LOADING …`): the protocol's, not prose. */
const REPLY_CODES: Readonly<Record<string, ErrorCode>> = {
  NOAUTH: 'ERR_REDIS_AUTH',
  WRONGPASS: 'ERR_REDIS_AUTH',
  LOADING: 'ERR_REDIS_LOADING',
  NOPERM: 'ERR_REDIS_DENIED',
};

/** Socket errors by Node's `code`. */
const SOCKET_CODES: Readonly<Record<string, ErrorCode>> = {
  ETIMEDOUT: 'ERR_REDIS_TIMEOUT',
  ECONNREFUSED: 'ERR_REDIS_UNREACHABLE',
  ECONNRESET: 'ERR_REDIS_UNREACHABLE',
  ENOENT: 'ERR_REDIS_UNREACHABLE',
  EHOSTUNREACH: 'ERR_REDIS_UNREACHABLE',
  ENETUNREACH: 'ERR_REDIS_UNREACHABLE',
  EPIPE: 'ERR_REDIS_UNREACHABLE',
  EACCES: 'ERR_REDIS_UNREACHABLE',
  ECONNABORTED: 'ERR_REDIS_UNREACHABLE',
};

/**
 * Plain `-ERR` replies carry no code of their own: these are the server's fixed texts for a bad
 * password before Redis 6 and for a renamed or unknown command.
 */
function plainErrCode(message: string): ErrorCode {
  if (/^ERR (invalid password|invalid username-password|Client sent AUTH, but no password|AUTH .*failed)/i.test(message)) return 'ERR_REDIS_AUTH';
  if (/^ERR unknown command/i.test(message)) return 'ERR_REDIS_DENIED';
  return 'ERR_REDIS_REPLY';
}

function socketCode(err: unknown): ErrorCode | undefined {
  const code = err instanceof Error ? (err as NodeJS.ErrnoException).code : undefined;
  return code === undefined ? undefined : SOCKET_CODES[code];
}

/** Sorts a Redis or socket error into the plugin's codes: by class and code first. */
export function classifyRedisError(err: unknown): RedisforkError {
  if (err instanceof RedisforkError) return err;
  const message = errorMessage(err);
  let code: ErrorCode;
  if (err instanceof ReplyError) {
    const prefix = message.split(' ', 1)[0] ?? '';
    code = REPLY_CODES[prefix] ?? (prefix === 'ERR' ? plainErrCode(message) : 'ERR_REDIS_REPLY');
  } else {
    // Socket errors by Node's code; ioredis's own failures are plain Errors without a class or code
    // ("Connection is closed.", "Stream isn't writeable…", "Reached the max retries…"): no usable connection.
    code = socketCode(err) ?? 'ERR_REDIS_UNREACHABLE';
  }
  return new RedisforkError(code, message, { cause: err });
}

export class RedisConnection {
  readonly client: Redis;
  /** Redis < 7.0 takes one INFO section per call: those get the four calls pipelined. */
  private multiSectionInfo = true;
  /** Set on every (re)connect: the next round reads INFO server too. */
  private serverSectionDue = true;
  private connecting: Promise<void> | undefined;
  lastSocketError: Error | undefined;

  /** A connection silent for this long is dropped and reconnected (a peer gone without a RST). */
  readonly stuckAfterMs: number;

  constructor(job: JobConfig) {
    this.stuckAfterMs = Math.max(30_000, 10 * job.timeoutMs);
    // The constructor overloads trip over exactOptionalPropertyTypes; the options are typed above.
    this.client = new Redis(redisOptions(job) as never);
    // ioredis emits connection errors as events; they surface through the next command too.
    this.client.on('connect', () => {
      this.serverSectionDue = true;
    });
    this.client.on('error', (err: Error) => {
      this.lastSocketError = err;
    });
  }

  get status(): string {
    return this.client.status;
  }

  private isOpen(): boolean {
    const status: string = this.client.status;
    return status === 'ready' || status === 'connect';
  }

  private ensureConnecting(): void {
    if (this.client.status === 'wait' && !this.connecting) {
      this.connecting = this.client.connect().catch(() => undefined).finally(() => {
        this.connecting = undefined;
      });
    }
  }

  /**
   * One round trip: INFO server/memory/persistence/stats, and when asked, in the same pipeline,
   * INFO replication and CONFIG GET of the few keys.
   */
  collect(withConfig: boolean): Promise<CollectResult> {
    return this.guarded(() => this.round(true, withConfig));
  }

  /** INFO replication and CONFIG GET alone (for a Redis whose loading state was not known yet). */
  fetchConfig(): Promise<CollectResult> {
    return this.guarded(() => this.round(false, true));
  }

  private async guarded(round: () => Promise<CollectResult>): Promise<CollectResult> {
    this.ensureConnecting();
    if (!this.isOpen() && this.connecting) await this.connecting;
    if (!this.isOpen()) {
      throw classifyRedisError(this.lastSocketError ?? new Error(`not connected (${this.client.status})`));
    }
    const stuck = setTimeout(() => {
      this.lastSocketError = new Error(`no reply in ${this.stuckAfterMs} ms; reconnecting`);
      this.client.disconnect(true);
    }, this.stuckAfterMs);
    try {
      return await round();
    } finally {
      clearTimeout(stuck);
    }
  }

  private async round(withStats: boolean, withConfig: boolean): Promise<CollectResult> {
    const withServer = withStats && (this.serverSectionDue || withConfig);
    const sections: string[] = withServer ? ['server', ...EVERY_TIME_SECTIONS] : [...EVERY_TIME_SECTIONS];
    // Most seconds need one command: sent alone, without a pipeline's bookkeeping.
    if (withStats && !withConfig && this.multiSectionInfo) return this.infoAlone(sections, withServer);
    const pipeline = this.client.pipeline();
    let infoCount = 0;
    if (withStats && this.multiSectionInfo) {
      pipeline.info(...sections);
      infoCount = 1;
    } else if (withStats) {
      for (const section of sections) pipeline.info(section);
      infoCount = sections.length;
    }
    if (withConfig) {
      // The role (for chart labels) rarely changes: it rides on the once-a-minute CONFIG round.
      pipeline.info('replication');
      infoCount++;
      for (const key of CONFIG_KEYS) pipeline.config('GET', key);
    }
    let replies: [Error | null, unknown][] | null;
    try {
      replies = await pipeline.exec();
    } catch (err) {
      throw classifyRedisError(err);
    }
    if (!replies) throw new RedisforkError('ERR_REDIS_UNREACHABLE', 'no reply from Redis');
    const infoReplies = replies.slice(0, infoCount);
    const firstError = infoReplies.find(([err]) => err)?.[0];
    if (firstError) {
      if (withStats && this.multiSectionInfo && SECTION_LIST_REFUSED.test(firstError.message)) {
        this.multiSectionInfo = false;
        return this.round(withStats, withConfig);
      }
      throw classifyRedisError(firstError);
    }
    if (withServer) this.serverSectionDue = false;
    const infoText = infoReplies.map(([, reply]) => String(reply)).join('\r\n');
    const result: CollectResult = { infoText, withServer };
    if (withConfig) result.config = readConfigReplies(replies.slice(infoCount));
    return result;
  }

  private async infoAlone(sections: string[], withServer: boolean): Promise<CollectResult> {
    let reply: unknown;
    try {
      reply = await this.client.call('INFO', ...sections);
    } catch (err) {
      if (err instanceof ReplyError && SECTION_LIST_REFUSED.test((err as Error).message)) {
        this.multiSectionInfo = false;
        return this.round(true, false);
      }
      throw classifyRedisError(err);
    }
    if (withServer) this.serverSectionDue = false;
    return { infoText: String(reply), withServer };
  }

  async close(): Promise<void> {
    this.client.disconnect(false);
  }
}

function readConfigReplies(replies: [Error | null, unknown][]): { values: RedisConfigValues } | { error: RedisforkError } {
  const values: RedisConfigValues = {};
  for (const [index, [err, reply]] of replies.entries()) {
    if (err) return { error: classifyRedisError(err) };
    const key = CONFIG_KEYS[index];
    if (key === undefined || !Array.isArray(reply)) continue;
    // Reply: [name, value] pairs; a key the server does not know gives [].
    for (let i = 0; i + 1 < reply.length; i += 2) {
      if (String(reply[i]).toLowerCase() === key) values[key] = String(reply[i + 1]);
    }
  }
  return { values };
}
