/**
 * The short soak: 5000 back-to-back collections against a live and a dead Redis; the heap after
 * garbage collection must stay flat. The figures are printed for the record; the long version is
 * `node --expose-gc --import tsx scripts/soak.ts --seconds 14400`.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { startRedis, freePort, type RedisServer } from '../helpers/redis-server.ts';

const run = promisify(execFile);
const SOAK = fileURLToPath(new URL('../../scripts/soak.ts', import.meta.url));

describe('soak', () => {
  let redis: RedisServer;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => redis?.stop());

  it('keeps the heap flat over 5000 collections of a live and a dead job', async () => {
    const dead = `redis://127.0.0.1:${await freePort()}`;
    const { stdout } = await run(process.execPath, ['--expose-gc', '--import', 'tsx', SOAK, '--url', redis.url, '--dead', dead, '--iterations', '5000'], { timeout: 240_000 });
    const report = JSON.parse(stdout.trim().split('\n').at(-1)!) as { iterations: number; heapGrowthMb: number; heapWarmMb: number; heapEndMb: number; msPerIteration: number };
    console.log(`soak: ${JSON.stringify(report)}`);
    assert.equal(report.iterations, 5000);
    assert.ok(report.heapGrowthMb < 3, `heap grew ${report.heapGrowthMb} MiB from ${report.heapWarmMb} to ${report.heapEndMb}`);
  });
});
