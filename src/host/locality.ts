/**
 * Is this Redis running on this host? Only then do the host's kernel facts apply to it.
 * Local when INFO's process_id exists under this host's /proc and is that server (its command
 * names a Redis-compatible server and its age agrees with uptime_in_seconds), or when the job
 * names a pid or pidfile. A unix socket is local even when its process cannot be identified.
 */
import { readFileSync } from 'node:fs';
import type { JobConfig } from '../config/types.ts';
import type { RedisInfo } from '../redis/info.ts';
import { HostFs, readProcessAgeSeconds, readProcessCommand } from './read.ts';
import { parseInteger } from './parse.ts';

export type Locality = 'local' | 'remote';

export interface LocalityDecision {
  locality: Locality;
  /** The Redis process on this host, when identified. */
  pid: number | undefined;
  reason: string;
}

const SERVER_NAME = /redis|valkey|keydb|dragonfly/i;

/** Pure: does the process look like the server INFO described? */
export function matchesServer(command: string | undefined, ageSeconds: number | undefined, uptimeSeconds: number | undefined): boolean {
  if (command === undefined || !SERVER_NAME.test(command)) return false;
  if (ageSeconds === undefined || uptimeSeconds === undefined) return false;
  // INFO rounds down and the collection takes time; a pid reused by another server would differ by far more.
  return Math.abs(ageSeconds - uptimeSeconds) <= Math.max(5, uptimeSeconds * 0.001);
}

export function decideLocality(fs: HostFs, job: JobConfig, info: RedisInfo): LocalityDecision {
  if (typeof job.pid === 'number') {
    return { locality: 'local', pid: job.pid, reason: `pid ${job.pid} set in the job` };
  }
  if (typeof job.pid === 'string' && job.pid !== 'auto') {
    let pid: number | undefined;
    try {
      pid = parseInteger(readFileSync(job.pid, 'utf8'));
    } catch {
      pid = undefined;
    }
    if (pid !== undefined) return { locality: 'local', pid, reason: `pid ${pid} from ${job.pid}` };
  }
  const pid = info.processId;
  if (pid !== undefined && pid > 0) {
    const command = readProcessCommand(fs, pid);
    const age = readProcessAgeSeconds(fs, pid);
    if (matchesServer(command, age, info.uptimeSeconds)) {
      return { locality: 'local', pid, reason: `process ${pid} on this host is this server` };
    }
  }
  if (job.target.kind === 'unix') {
    return { locality: 'local', pid: undefined, reason: 'unix socket (its process could not be identified)' };
  }
  return { locality: 'remote', pid: undefined, reason: 'no matching process on this host' };
}
