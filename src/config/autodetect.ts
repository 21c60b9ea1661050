/** No config file: try the usual places and keep the Redis servers that answer (SPEC §8). */
import type { Logger } from 'pino';
import { RedisConnection } from '../redis/client.ts';
import { parseInfoFields } from '../redis/info.ts';
import { parseConfigText } from './load.ts';
import type { JobConfig, PluginConfig } from './types.ts';

const DEFAULT_CANDIDATES: readonly { name: string; url: string }[] = [
  { name: 'local', url: 'redis://127.0.0.1:6379' },
  { name: 'local_socket', url: 'unix:///run/redis/redis-server.sock' },
  { name: 'local_socket_redis', url: 'unix:///run/redis/redis.sock' },
  { name: 'local_socket_var', url: 'unix:///var/run/redis/redis.sock' },
  { name: 'local_socket_tmp', url: 'unix:///tmp/redis.sock' },
];

/**
 * Where autodetection looks: REDISFORK_AUTODETECT_URLS (comma-separated URLs, e.g. for a Redis in
 * a container on another port), else 127.0.0.1:6379 and the usual unix sockets.
 */
export function autodetectCandidates(env: NodeJS.ProcessEnv = process.env): { name: string; url: string }[] {
  const urls = env.REDISFORK_AUTODETECT_URLS?.split(',').map((u) => u.trim()).filter(Boolean);
  if (!urls?.length) return [...DEFAULT_CANDIDATES];
  return urls.map((url, i) => ({ name: i === 0 ? 'local' : `local_${i}`, url }));
}

/**
 * A server that answers, even with NOAUTH or LOADING, is a Redis worth watching. Answers its
 * run_id (so that a TCP port and a socket of the same server are watched once), '' when unknown,
 * undefined when nothing answered.
 */
async function probe(job: JobConfig): Promise<string | undefined> {
  const connection = new RedisConnection(job);
  try {
    const { infoText } = await connection.collect(false);
    return parseInfoFields(infoText).get('run_id') ?? '';
  } catch (err) {
    const code = (err as { code?: string }).code;
    return code === 'ERR_REDIS_AUTH' || code === 'ERR_REDIS_LOADING' || code === 'ERR_REDIS_DENIED' ? '' : undefined;
  } finally {
    await connection.close();
  }
}

export async function autodetect(updateEvery: number, logger: Logger): Promise<PluginConfig> {
  const all = parseConfigText(
    JSON.stringify({ update_every: updateEvery, jobs: autodetectCandidates().map((c) => ({ ...c, timeout_ms: 500 })) }),
    'autodetect',
  );
  const runIds = await Promise.all(all.jobs.map(probe));
  const seen = new Set<string>();
  const jobs: JobConfig[] = [];
  all.jobs.forEach((job, index) => {
    const runId = runIds[index];
    if (runId === undefined || (runId !== '' && seen.has(runId))) return;
    seen.add(runId);
    jobs.push({ ...job, timeoutMs: 1000 });
  });
  logger.info({ found: jobs.map((j) => j.displayUrl) }, jobs.length ? 'no redisfork.conf: watching the Redis servers found' : 'no redisfork.conf and no Redis found at the usual places');
  return { ...all, jobs };
}
