/**
 * A wall clock set after Redis started (NTP's first step at boot, a VM resumed or migrated): INFO's
 * uptime_in_seconds is wall-clock time, a process's age on the host is not, so the two disagree by
 * the step. The step is made for Redis alone, by test/helpers/clock-step.c preloaded into it (the
 * host's clock is left alone); the process, its age and its sockets are the real kernel's.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';
import { runPlugin } from '../helpers/plugin.ts';
import { parseProtocol } from '../helpers/protocol.ts';

const SOURCE = fileURLToPath(new URL('../helpers/clock-step.c', import.meta.url));

function gccSkip(): string | undefined {
  try {
    execFileSync('gcc', ['--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'no gcc here to build the clock-step shim';
  }
}
const skip = gccSkip();
if (skip) console.log(`SKIP clock step: ${skip}`);

describe('a wall clock set since Redis started', { skip }, () => {
  let dir: string;
  let redis: RedisServer;
  const stepFile = () => join(dir, 'step');
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'redisfork-clock-'));
    execFileSync('gcc', ['-shared', '-fPIC', '-O2', '-o', join(dir, 'clock-step.so'), SOURCE]);
    writeFileSync(stepFile(), '0');
    redis = await startRedis({ wrapper: ['env', `LD_PRELOAD=${join(dir, 'clock-step.so')}`, `CLOCK_STEP_FILE=${stepFile()}`] });
  });
  after(async () => {
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('still ties Redis to its process, by the plugin\'s own connection among its sockets', async () => {
    writeFileSync(stepFile(), '300');
    const uptime = Number(/uptime_in_seconds:(\d+)/.exec(String(await redis.client().call('INFO', 'server')))?.[1]);
    assert.ok(uptime >= 300, `Redis's uptime ${uptime} s after the step, its process a few seconds old`);
    const run = await runPlugin(['--once', '--url', redis.url, '--log-level', 'info'], { timeoutMs: 30_000 });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, new RegExp(`process ${redis.pid} on this host holds this plugin's connection; its age \\(\\d+ s\\) disagrees with INFO's uptime \\(\\d+ s\\)`));
    const out = parseProtocol(run.stdout);
    const state = [...out.charts.values()].find((c) => c.id.endsWith('.state'))!;
    assert.equal(state.labels.locality, 'local');
    assert.ok([...out.charts.keys()].some((id) => id.endsWith('.commit_charge')), 'the kernel facts of its process');
    const doctor = await runPlugin(['doctor', '--url', redis.url, '--json'], { timeoutMs: 30_000 });
    assert.equal((JSON.parse(doctor.stdout) as { instances: { pid?: number }[] }).instances[0]!.pid, redis.pid);
  });
});
