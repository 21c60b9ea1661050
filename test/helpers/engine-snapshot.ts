/**
 * The snapshot a healthy local instance of each captured engine gives: its real INFO capture, the
 * save settings, and this repository's captured host (kernel and process facts). Used by the
 * golden tests (`test/fixtures/info/golden/`) and by `npm run golden`, which rewrites them.
 */
import { readdirSync } from 'node:fs';
import { FIXTURES, fixture } from './fixtures.ts';
import { parseRedisInfo } from '../../src/redis/info.ts';
import { HostFs, readKernelFacts, readProcessFacts } from '../../src/host/read.ts';
import { CowHistory } from '../../src/analysis/save-fit.ts';
import type { InstanceSnapshot } from '../../src/model/instance.ts';

export const HOST_ROOT = `${FIXTURES}host/redis-7.0-mode0`;
export const HOST_PID = 3115;

/** The real `INFO all` captures (not the hand-written `hand-*` state fixtures). */
export const REAL_CAPTURES = readdirSync(`${FIXTURES}info`).filter((f) => f.endsWith('.txt') && !f.startsWith('hand-'));

export function engineSnapshot(file: string): InstanceSnapshot {
  const info = parseRedisInfo(fixture(`info/${file}`));
  const fs = new HostFs(HOST_ROOT);
  return {
    state: 'up',
    info,
    config: { save: '3600 1 300 100', 'stop-writes-on-bgsave-error': 'yes', 'disable-thp': 'yes', 'oom-score-adj': 'no' },
    kernel: readKernelFacts(fs),
    process: readProcessFacts(fs, HOST_PID, undefined, 0),
    recentOomKills: { cgroup: 0, host: 0 },
    cowEstimate: new CowHistory().observe(info),
    restartedRecently: false,
  };
}
