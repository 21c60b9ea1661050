/**
 * Redis-side faults while the plugin runs in Netdata mode: a Redis killed and restarted, a Redis
 * busy in DEBUG SLEEP past the timeout, a Redis loading its dataset, a minimal ACL user, and
 * CONFIG renamed away. The plugin never restarts, the other jobs stay on time, and nothing piles up.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startRedis, waitFor, type RedisServer } from '../helpers/redis-server.ts';
import { RunningPlugin } from '../helpers/plugin.ts';
import { parseProtocol, displayValue } from '../helpers/protocol.ts';

/** Values of one chart dimension, in order, over the plugin's whole output so far. */
function series(stdout: string, chart: string, dim: string): (number | null)[] {
  const out: (number | null)[] = [];
  const blocks = stdout.split(`BEGIN ${chart}`).slice(1);
  for (const block of blocks) {
    const body = block.slice(0, block.indexOf('\nEND'));
    const match = new RegExp(`^SET '${dim}' = (-?\\d*)$`, 'm').exec(body);
    out.push(match === null || match[1] === '' ? null : Number(match[1]));
  }
  return out;
}

async function commandCalls(redis: RedisServer, command: string): Promise<number> {
  const stats = await redis.client().info('commandstats');
  return Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
}

describe('Redis killed and restarted while the plugin runs', () => {
  let redis: RedisServer;
  let plugin: RunningPlugin;
  let port: number;
  before(async () => {
    port = await freePort();
    redis = await startRedis({ port });
    plugin = new RunningPlugin(['1', '--url', redis.url]);
    await plugin.waitForStdout((s) => series(s, `redis_fork_127_0_0_1_${port}.state`, 'up').filter((v) => v === 1).length >= 2);
  });
  after(async () => {
    await plugin?.stop();
    await redis?.stop();
  });

  it('charts a gap and down, then resumes without a restart of the plugin', async () => {
    const type = `redis_fork_127_0_0_1_${port}`;
    await redis.stop();
    await plugin.waitForStdout((s) => series(s, `${type}.state`, 'down').at(-1) === 1, 10_000);
    assert.equal(series(plugin.stdout, `${type}.memory`, 'rss').at(-1), null, 'the memory chart has a gap');
    redis = await startRedis({ port });
    await plugin.waitForStdout((s) => series(s, `${type}.state`, 'up').at(-1) === 1, 40_000);
    await plugin.waitForStdout((s) => typeof series(s, `${type}.memory`, 'rss').at(-1) === 'number', 5_000);
    assert.equal(plugin.child.exitCode, null, 'same plugin process');
    assert.deepEqual(parseProtocol(plugin.stdout).problems, []);
    const states = plugin.logs().filter((l) => l.job === `127_0_0_1_${port}` && (l.level as number) >= 50);
    assert.equal(states.length, 1, 'the outage is logged once');
  });
});

describe('a busy Redis (DEBUG SLEEP past the timeout) next to a healthy one', () => {
  let busy: RedisServer;
  let healthy: RedisServer;
  let plugin: RunningPlugin;
  let dir: string;
  before(async () => {
    busy = await startRedis();
    healthy = await startRedis();
    dir = mkdtempSync(join(tmpdir(), 'redisfork-busy-'));
    const config = join(dir, 'redisfork.conf');
    writeFileSync(config, `jobs:\n  - { name: busy, url: "${busy.url}", timeout_ms: 300 }\n  - { name: healthy, url: "${healthy.url}", timeout_ms: 300 }\n`);
    plugin = new RunningPlugin(['1', '--config', config]);
    await plugin.waitForStdout((s) => series(s, 'redis_fork_busy.state', 'up').filter((v) => v === 1).length >= 2);
  });
  after(async () => {
    await plugin?.stop();
    await busy?.stop();
    await healthy?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('marks it slow, sends nothing more until it answers, and keeps the other job on time', async () => {
    const infoBefore = await commandCalls(busy, 'info');
    const healthyBefore = series(plugin.stdout, 'redis_fork_healthy.memory', 'rss').length;
    const sleeper = busy.client();
    await sleeper.call('DEBUG', 'SLEEP', '4');
    // DEBUG SLEEP blocked Redis for 4 s; the plugin's INFO waited behind it.
    await plugin.waitForStdout((s) => series(s, 'redis_fork_busy.state', 'up').at(-1) === 1, 10_000);
    const infoAfter = await commandCalls(busy, 'info');
    assert.ok(infoAfter - infoBefore <= 4, `INFO calls during and after the sleep: ${infoAfter - infoBefore} (no pile-up: one waited, then one per second)`);
    assert.ok(series(plugin.stdout, 'redis_fork_busy.state', 'slow').includes(1), 'reported slow meanwhile');
    const healthyRss = series(plugin.stdout, 'redis_fork_healthy.memory', 'rss').slice(healthyBefore);
    assert.ok(healthyRss.length >= 4, `the healthy job was charted every second (${healthyRss.length})`);
    assert.ok(healthyRss.every((v) => typeof v === 'number'), 'with values, no gaps');
    assert.equal(plugin.logs().filter((l) => l.job === 'busy' && /not answered yet/.test(String(l.msg))).length, 1);
  });
});

describe('a Redis loading its dataset', () => {
  let redis: RedisServer;
  let plugin: RunningPlugin;
  const dir = mkdtempSync(join(tmpdir(), 'redisfork-loading-'));
  after(async () => {
    await plugin?.stop();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is reported as loading, not hidden and not down', async () => {
    const port = await freePort();
    const seed = await startRedis({ dir, port });
    await seed.client().call('DEBUG', 'POPULATE', '6000000', 'key', '10');
    await seed.client().save();
    await seed.stop();
    plugin = new RunningPlugin(['1', '--url', `redis://127.0.0.1:${port}`]);
    // A real RDB of 6M keys takes seconds to load. (key-load-delay is no stand-in: with it, Redis
    // 7.0 holds every reply until the load ends, which a real load does not.)
    redis = await startRedis({ dir, port });
    const type = `redis_fork_127_0_0_1_${port}`;
    await plugin.waitForStdout((s) => series(s, `${type}.state`, 'loading').includes(1), 20_000);
    await plugin.waitForStdout((s) => series(s, `${type}.state`, 'up').at(-1) === 1, 30_000);
    assert.deepEqual(parseProtocol(plugin.stdout).problems, []);
  });
});

describe('least privilege', () => {
  let redis: RedisServer;
  let renamed: RedisServer;
  let dir: string;
  before(async () => {
    redis = await startRedis({ args: ['--save', '900 1'] });
    await redis.client().call('ACL', 'SETUSER', 'netdata', 'on', '>monitorpw', '-@all', '+info', '+config|get');
    renamed = await startRedis({ args: ['--rename-command', 'CONFIG', '""'] });
    dir = mkdtempSync(join(tmpdir(), 'redisfork-acl-'));
  });
  after(async () => {
    await redis?.stop();
    await renamed?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('works fully with an ACL user allowed only INFO and CONFIG GET (-@all +info +config|get)', async () => {
    const config = join(dir, 'acl.conf');
    writeFileSync(config, `jobs:\n  - { name: acl, url: "${redis.url}", username: netdata, password: monitorpw }\n`);
    const plugin = new RunningPlugin(['1', '--config', config]);
    try {
      await plugin.waitForStdout((s) => series(s, 'redis_fork_acl.writes', 'failure_masked').length >= 2);
      const out = parseProtocol(plugin.stdout);
      assert.equal(displayValue(out, 'redis_fork_acl.state', 'up'), 1);
      assert.equal(displayValue(out, 'redis_fork_acl.writes', 'failure_masked'), 0, 'CONFIG values were read');
      assert.equal(out.charts.get('redis_fork_acl.state')?.labels.role, 'master', 'INFO replication too');
      assert.deepEqual(plugin.logs().filter((l) => (l.level as number) >= 40), [], 'no warning at all');
    } finally {
      await plugin.stop();
    }
  });

  it('carries on, with one log line, when CONFIG is renamed away', async () => {
    const plugin = new RunningPlugin(['1', '--url', renamed.url]);
    const type = `redis_fork_127_0_0_1_${renamed.port}`;
    try {
      await plugin.waitForStdout((s) => series(s, `${type}.state`, 'up').length >= 3);
      const out = parseProtocol(plugin.stdout);
      assert.equal(displayValue(out, `${type}.state`, 'up'), 1);
      assert.equal(displayValue(out, `${type}.bgsave_status`, 'ok'), 1);
      assert.equal(displayValue(out, `${type}.writes`, 'failure_masked'), null, 'unknown without CONFIG: a gap, not a guess');
      assert.equal(plugin.logs().filter((l) => /CONFIG GET is not available/.test(String(l.msg))).length, 1);
    } finally {
      await plugin.stop();
    }
  });
});
