/** Many jobs switch V8's optimizing compiler on at run time; few keep the interpreter (src/v8-tier.ts). */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunningPlugin } from '../helpers/plugin.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';
import { OPTIMIZE_ABOVE_JOBS, fullGcIntervalMs } from '../../src/v8-tier.ts';

describe('the compiler tier in the built plugin', () => {
  let redis: RedisServer;
  let dir: string;
  before(async () => {
    redis = await startRedis();
    dir = mkdtempSync(join(tmpdir(), 'redisfork-tier-'));
  });
  after(async () => {
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function run(jobs: number, env: NodeJS.ProcessEnv = {}): Promise<{ switched: Record<string, unknown>[]; held: Record<string, unknown>[]; lastJobUp: boolean }> {
    const config = join(dir, `${jobs}.conf`);
    writeFileSync(config, `jobs:\n${Array.from({ length: jobs }, (_, i) => `  - { name: j${i}, url: "${redis.url}" }`).join('\n')}\n`);
    const plugin = new RunningPlugin(['1', '--config', config, '--log-level', 'debug'], env);
    try {
      // Two iterations: the second runs with whatever the first switched on.
      const last = `BEGIN redis_fork_j${jobs - 1}.state`;
      await plugin.waitForStdout((out) => out.split(last).length > 2, 20_000);
      const switched = plugin.logs().filter((l) => typeof l.msg === 'string' && l.msg.includes('optimizing compiler'));
      const held = plugin.logs().filter((l) => typeof l.msg === 'string' && l.msg.includes('young generation held'));
      const lastBlock = plugin.stdout.slice(plugin.stdout.lastIndexOf(last));
      return { switched, held, lastJobUp: /^SET 'up' = 1$/m.test(lastBlock.slice(0, lastBlock.indexOf('END'))) };
    } finally {
      await plugin.stop();
    }
  }

  it(`switches it on above ${OPTIMIZE_ABOVE_JOBS} jobs, says so once, and keeps collecting`, async () => {
    const many = await run(OPTIMIZE_ABOVE_JOBS + 1);
    assert.equal(many.switched.length, 1);
    assert.equal(many.switched[0]?.jobs, OPTIMIZE_ABOVE_JOBS + 1);
    assert.ok(many.lastJobUp, 'the last job is up after the switch');
  });

  it(`keeps the interpreter with ${OPTIMIZE_ABOVE_JOBS} jobs, with the full collections of its tier, and leaves REDISFORK_NODE_FLAGS alone`, async () => {
    const several = await run(OPTIMIZE_ABOVE_JOBS);
    assert.deepEqual(several.switched, []);
    // gc is there only if the first line's flags reached node (--expose-gc).
    assert.equal(several.held.length, 1);
    assert.equal(several.held[0]?.full_gc_every_ms, fullGcIntervalMs(OPTIMIZE_ABOVE_JOBS));
    assert.deepEqual((await run(OPTIMIZE_ABOVE_JOBS + 1, { REDISFORK_NODE_FLAGS: '--max-semi-space-size=1 --no-opt' })).switched, []);
  });
});
