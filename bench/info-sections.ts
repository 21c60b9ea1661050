/**
 * What a cheaper round would cost Redis: one INFO a second of each set of sections, each on a Redis
 * of its own (so every call finds that server's caches as cold as a monitor's call does), all at
 * once; Redis's own time per call from INFO commandstats. The plugin sends memory, persistence and
 * stats every second.
 */
import { startRedis, type RedisServer } from '../test/helpers/redis-server.ts';

export const SECTION_SETS: readonly (readonly string[])[] = [
  ['memory', 'persistence', 'stats'],
  ['memory', 'persistence'],
  ['persistence', 'stats'],
  ['memory'],
  ['persistence'],
  ['stats'],
];

export interface SectionCost {
  sections: readonly string[];
  usecPerCall: number;
  calls: number;
}

export async function benchInfoSections(seconds: number): Promise<SectionCost[]> {
  const servers: RedisServer[] = [];
  try {
    for (const _ of SECTION_SETS) {
      const server = await startRedis();
      await server.client().call('DEBUG', 'POPULATE', '100000', 'key', '100');
      servers.push(server);
    }
    const clients = servers.map((s) => s.client());
    // A first INFO after the keys were made can cost far more than the monitor's steady calls: not counted.
    for (const [i, c] of clients.entries()) await c.call('INFO', ...SECTION_SETS[i]!);
    for (const c of clients) await c.config('RESETSTAT');
    for (let second = 0; second < seconds; second++) {
      await Promise.all(clients.map((c, i) => c.call('INFO', ...SECTION_SETS[i]!)));
      await new Promise((r) => setTimeout(r, 1000));
    }
    const costs: SectionCost[] = [];
    for (const [i, c] of clients.entries()) {
      const m = /^cmdstat_info:calls=(\d+),usec=(\d+)/m.exec(await c.info('commandstats'));
      if (!m) throw new Error(`no cmdstat_info on the Redis for INFO ${SECTION_SETS[i]!.join(' ')}`);
      costs.push({ sections: SECTION_SETS[i]!, calls: Number(m[1]), usecPerCall: Number(m[2]) / Number(m[1]) });
    }
    for (const c of clients) c.disconnect();
    return costs;
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}
