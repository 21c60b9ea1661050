/**
 * No config file: try the usual places and every Redis-compatible server process on this host (on
 * the host and in containers, SPEC §11), and keep the servers that answer.
 */
import type { Logger } from 'pino';
import { RedisConnection } from '../redis/client.ts';
import { parseInfoFields } from '../redis/info.ts';
import { RedisforkError } from '../errors.ts';
import { HostFs } from '../host/read.ts';
import { discoverServers, type DiscoveredServer } from '../host/discovery.ts';
import { describeContainer } from '../host/container.ts';
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
 * Where autodetection looks first: REDISFORK_AUTODETECT_URLS (comma-separated URLs), else
 * 127.0.0.1:6379 and the usual unix sockets. The servers found in /proc come after these.
 */
export function autodetectCandidates(env: NodeJS.ProcessEnv = process.env): { name: string; url: string }[] {
  const urls = env.REDISFORK_AUTODETECT_URLS?.split(',').map((u) => u.trim()).filter(Boolean);
  if (!urls?.length) return [...DEFAULT_CANDIDATES];
  return urls.map((url, i) => ({ name: i === 0 ? 'local' : `local_${i}`, url }));
}

/** How long a probed server that accepted the connection may take to answer INFO. */
const PROBE_ANSWER_MS = 5_000;

type ProbeResult = { answered: true; runId: string; needsPassword: boolean } | { answered: false };

/**
 * A server that answers, even with NOAUTH or LOADING, is a Redis worth watching. Its run_id (so
 * that a TCP port and a socket of the same server are watched once) is '' when unknown.
 */
async function probe(job: JobConfig): Promise<ProbeResult> {
  const connection = new RedisConnection(job);
  // A server that accepts and never answers is not one to watch: give up on it.
  const giveUp = setTimeout(() => void connection.close(), PROBE_ANSWER_MS);
  try {
    const { infoText } = await connection.collect(false);
    return { answered: true, runId: parseInfoFields(infoText).get('run_id') ?? '', needsPassword: false };
  } catch (err) {
    if (!(err instanceof RedisforkError)) return { answered: false };
    if (err.code === 'ERR_REDIS_AUTH') return { answered: true, runId: '', needsPassword: true };
    return err.code === 'ERR_REDIS_LOADING' || err.code === 'ERR_REDIS_DENIED' ? { answered: true, runId: '', needsPassword: false } : { answered: false };
  } finally {
    clearTimeout(giveUp);
    await connection.close();
  }
}

/** Job names are unique: a discovered name already taken gets a suffix. */
function uniqueName(name: string, taken: Set<string>): string {
  let candidate = name;
  for (let i = 2; taken.has(candidate); i++) candidate = `${name}_${i}`;
  taken.add(candidate);
  return candidate;
}

export async function autodetect(updateEvery: number, logger: Logger, hostFs: HostFs = new HostFs()): Promise<PluginConfig> {
  const candidates = autodetectCandidates();
  const urls = new Set(candidates.map((c) => c.url));
  const names = new Set(candidates.map((c) => c.name));
  const discovered = new Map<string, DiscoveredServer>();
  for (const server of discoverServers(hostFs)) {
    if (urls.has(server.url)) continue;
    urls.add(server.url);
    const name = uniqueName(server.name, names);
    discovered.set(name, server);
    candidates.push({ name, url: server.url });
  }
  const all = parseConfigText(JSON.stringify({ update_every: updateEvery, jobs: candidates.map((c) => ({ ...c, timeout_ms: 500 })) }), 'autodetect');
  const results = await Promise.all(all.jobs.map(probe));
  const seen = new Set<string>();
  const jobs: JobConfig[] = [];
  all.jobs.forEach((job, index) => {
    const result = results[index];
    if (!result?.answered || (result.runId !== '' && seen.has(result.runId))) return;
    seen.add(result.runId);
    const server = discovered.get(job.name);
    if (result.needsPassword) {
      logger.warn(
        { job: job.name, url: job.displayUrl, ...(server ? { pid: server.pid, container: describeContainer(server.container) } : {}) },
        `the Redis at ${job.displayUrl}${server ? ` (process ${server.pid} in ${describeContainer(server.container)})` : ''} needs a password: ` +
          `add a job to redisfork.conf with url: ${job.displayUrl} and password_file: (a file holding it, mode 640, group netdata)`,
      );
    }
    jobs.push({ ...job, timeoutMs: 1000 });
  });
  logger.info({ found: jobs.map((j) => j.displayUrl) }, jobs.length ? 'no redisfork.conf: watching the Redis servers found' : 'no redisfork.conf and no Redis found on this host');
  return { ...all, jobs };
}
