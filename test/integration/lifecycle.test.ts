/** Netdata mode ends with exit 0 on stdin EOF, QUIT, SIGTERM and a closed stdout (EPIPE). */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';
import { RunningPlugin, PLUGIN } from '../helpers/plugin.ts';

describe('Netdata mode lifecycle', () => {
  let redis: RedisServer;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => redis?.stop());

  const started = async () => {
    const plugin = new RunningPlugin(['1', '--url', redis.url]);
    await plugin.waitForStdout((s) => s.includes('BEGIN '));
    return plugin;
  };

  /** Exit status, and how long after the trigger it came. */
  const timedExit = async (plugin: RunningPlugin, trigger: () => void) => {
    const t0 = performance.now();
    trigger();
    const status = await plugin.exited;
    return { ...status, withinASecond: performance.now() - t0 < 1000 };
  };

  it('exits 0 within a second on stdin EOF', async () => {
    const plugin = await started();
    assert.deepEqual(await timedExit(plugin, () => plugin.child.stdin.end()), { code: 0, signal: null, withinASecond: true });
  });

  it('exits 0 within a second on a QUIT line', async () => {
    const plugin = await started();
    assert.deepEqual(await timedExit(plugin, () => plugin.child.stdin.write('QUIT\n')), { code: 0, signal: null, withinASecond: true });
  });

  it('exits 0 within a second on SIGTERM', async () => {
    const plugin = await started();
    assert.deepEqual(await timedExit(plugin, () => plugin.child.kill('SIGTERM')), { code: 0, signal: null, withinASecond: true });
  });

  it('exits 0 when Netdata closes its end of stdout (EPIPE)', async () => {
    const child = spawn(PLUGIN, ['1', '--url', redis.url], { stdio: ['pipe', 'pipe', 'pipe'] });
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    const t0 = performance.now();
    child.stdout.destroy();
    // The plugin notices at its next write, at most one update_every later.
    assert.deepEqual(await exited, { code: 0, signal: null });
    assert.ok(performance.now() - t0 < 2000);
  });

  it('ignores an unknown line on stdin with one log line, and keeps collecting', async () => {
    const plugin = await started();
    plugin.child.stdin.write('HELLO there\nHELLO again\n');
    const before = (plugin.stdout.match(/BEGIN \S+\.state/g) ?? []).length;
    await plugin.waitForStdout((s) => (s.match(/BEGIN \S+\.state/g) ?? []).length >= before + 2);
    assert.equal(plugin.logs().filter((l) => l.keyword === 'HELLO').length, 1);
    plugin.child.stdin.end();
    assert.equal((await plugin.exited).code, 0);
  });
});
