/**
 * One connection per job, set up for a monitor: RESP2 (no HELLO, so old servers and minimal ACL
 * users work), no CLIENT SETINFO, nothing queued while down, no silent retries of commands, no
 * ready check (it would wait through `loading` and hide it), reconnection with back-off.
 */
import { RespConnection } from './connection.ts';
import { ReplyError, encodeCommands, type EncodedCommands, type RespValue } from './resp.ts';
import type { JobConfig } from '../config/types.ts';
import { RedisforkError, errorMessage, type ErrorCode } from '../errors.ts';
import { CONFIG_KEYS, type RedisConfigValues } from '../model/redis-config.ts';

/**
 * Every collection reads these. `server` (version, process_id, uptime) changes only when Redis
 * restarts, which always breaks the connection: it is read after each (re)connect and with the
 * once-a-minute CONFIG round, which saves a fifth of Redis's time per collection (measured: a cold
 * INFO of four sections ~51 µs, of the three ~40 µs). `stats` is a third of the rest (cold, alone:
 * persistence ~20 µs, stats ~23, memory ~35) and is read only for total_forks and latest_fork_usec,
 * yet it stays: reading it only when persistence shows a fork would miss a child killed within the
 * second of its fork and the Lua debugger's forks (`npm run bench`, "What a cheaper round would
 * cost Redis").
 */
const EVERY_TIME_SECTIONS = ['memory', 'persistence', 'stats'] as const;
/** Most seconds send one of these two: encoded once. */
const INFO_EVERY_TIME = encodeCommands([['INFO', ...EVERY_TIME_SECTIONS]]);
const INFO_WITH_SERVER = encodeCommands([['INFO', 'server', ...EVERY_TIME_SECTIONS]]);
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
    // Socket errors by Node's code; a connection that closed, went silent or sent no RESP is a plain
    // Error without a code: no usable connection either way.
    code = socketCode(err) ?? 'ERR_REDIS_UNREACHABLE';
  }
  return new RedisforkError(code, message, { cause: err });
}

export class RedisConnection {
  private readonly link: RespConnection;
  /** Redis < 7.0 takes one INFO section per call: those get the four calls pipelined. */
  private multiSectionInfo = true;
  /** Set on every (re)connect: the next round reads INFO server too. */
  private serverSectionDue = true;

  constructor(job: JobConfig) {
    this.link = new RespConnection(job, Math.max(30_000, 10 * job.timeoutMs));
    this.link.onConnect = () => {
      this.serverSectionDue = true;
    };
  }

  /**
   * One round trip: INFO server/memory/persistence/stats, and when asked, in the same pipeline,
   * INFO replication and CONFIG GET of the few keys.
   */
  collect(withConfig: boolean): Promise<CollectResult> {
    return this.round(true, withConfig);
  }

  /** INFO replication and CONFIG GET alone (for a Redis whose loading state was not known yet). */
  fetchConfig(): Promise<CollectResult> {
    return this.round(false, true);
  }

  private async round(withStats: boolean, withConfig: boolean): Promise<CollectResult> {
    const withServer = withStats && (this.serverSectionDue || withConfig);
    const { commands, infoCount } = this.commands(withStats, withServer, withConfig);
    let replies: RespValue[];
    try {
      replies = await this.link.exchange(commands);
    } catch (err) {
      throw classifyRedisError(err);
    }
    const infoReplies = replies.slice(0, infoCount);
    const refused = infoReplies.find((reply) => reply instanceof ReplyError);
    if (refused instanceof ReplyError) {
      if (withStats && this.multiSectionInfo && SECTION_LIST_REFUSED.test(refused.message)) {
        this.multiSectionInfo = false;
        return this.round(withStats, withConfig);
      }
      throw classifyRedisError(refused);
    }
    if (withServer) this.serverSectionDue = false;
    const infoText = infoReplies.length === 1 ? String(infoReplies[0]) : infoReplies.map(String).join('\r\n');
    const result: CollectResult = { infoText, withServer };
    if (withConfig) result.config = readConfigReplies(replies.slice(infoCount));
    return result;
  }

  /** The round's commands, and how many of them are INFO (they come first). */
  private commands(withStats: boolean, withServer: boolean, withConfig: boolean): { commands: string[][] | EncodedCommands; infoCount: number } {
    // The usual second: one INFO command, encoded once.
    if (withStats && !withConfig && this.multiSectionInfo) return { commands: withServer ? INFO_WITH_SERVER : INFO_EVERY_TIME, infoCount: 1 };
    const sections: string[] = withServer ? ['server', ...EVERY_TIME_SECTIONS] : [...EVERY_TIME_SECTIONS];
    const commands: string[][] = [];
    if (withStats && this.multiSectionInfo) commands.push(['INFO', ...sections]);
    else if (withStats) for (const section of sections) commands.push(['INFO', section]);
    if (withConfig) {
      // The role (for chart labels) rarely changes: it rides on the once-a-minute CONFIG round.
      commands.push(['INFO', 'replication']);
      for (const key of CONFIG_KEYS) commands.push(['CONFIG', 'GET', key]);
    }
    return { commands, infoCount: commands.length - (withConfig ? CONFIG_KEYS.length : 0) };
  }

  /** This side of the connection to Redis: the locality decision looks for it among a process's sockets. */
  get localEndpoint(): { address: string; port: number } | undefined {
    return this.link.localEndpoint;
  }

  /** Drops the connection when a reply is overdue (see RespConnection.dropIfSilent). */
  dropIfSilent(now: number): void {
    this.link.dropIfSilent(now);
  }

  async close(): Promise<void> {
    this.link.close();
  }
}

function readConfigReplies(replies: RespValue[]): { values: RedisConfigValues } | { error: RedisforkError } {
  const values: RedisConfigValues = {};
  for (const [index, reply] of replies.entries()) {
    if (reply instanceof ReplyError) return { error: classifyRedisError(reply) };
    const key = CONFIG_KEYS[index];
    if (key === undefined || !Array.isArray(reply)) continue;
    // Reply: [name, value] pairs; a key the server does not know gives [].
    for (let i = 0; i + 1 < reply.length; i += 2) {
      if (String(reply[i]).toLowerCase() === key) values[key] = String(reply[i + 1]);
    }
  }
  return { values };
}
