/** What monitoring costs Redis, from its own accounting: shared by `npm run bench` and `bench/redis-time.ts`. */
import type { RedisServer } from '../test/helpers/redis-server.ts';

/** Zeroes the servers' command statistics (CONFIG RESETSTAT) before a measurement. */
export async function resetStats(servers: RedisServer[]): Promise<void> {
  for (const s of servers) await s.client().config('RESETSTAT');
}

export interface RedisUsec {
  usec: number;
  calls: number;
  /** Usec by command (`info`, `config|get`…). */
  byCommand: Record<string, number>;
  /** Calls by command. */
  callsByCommand: Record<string, number>;
}

/** Total usec Redis spent in commands, and the calls, from INFO commandstats. */
export async function redisUsec(servers: RedisServer[]): Promise<RedisUsec> {
  const result: RedisUsec = { usec: 0, calls: 0, byCommand: {}, callsByCommand: {} };
  for (const s of servers) {
    const text = await s.client().info('commandstats');
    for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
      // The bench's own CONFIG RESETSTAT is not the monitor's cost.
      if (m[1] === 'config|resetstat') continue;
      const command = m[1]!;
      result.calls += Number(m[2]);
      result.usec += Number(m[3]);
      result.byCommand[command] = (result.byCommand[command] ?? 0) + Number(m[3]);
      result.callsByCommand[command] = (result.callsByCommand[command] ?? 0) + Number(m[2]);
    }
  }
  return result;
}
