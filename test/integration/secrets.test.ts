/**
 * Passwords given inline, in a file, in the environment or in the URL never appear in logs,
 * errors, --once output, doctor output or check-config output — right or wrong.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';
import { RunningPlugin, runPlugin } from '../helpers/plugin.ts';

const RIGHT = 'Rt-7f3a9c-inline-secret';
const WRONG = ['Wr-inline-0b1d', 'Wr-file-5e2c', 'Wr-env-9a4f', 'Wr-url-3c7e'];

describe('secrets', () => {
  let redis: RedisServer;
  let dir: string;
  let config: string;
  const outputs: string[] = [];

  before(async () => {
    redis = await startRedis({ args: ['--requirepass', RIGHT] });
    dir = mkdtempSync(join(tmpdir(), 'redisfork-secrets-'));
    const goodFile = join(dir, 'good.pass');
    const badFile = join(dir, 'bad.pass');
    writeFileSync(goodFile, `${RIGHT}\n`);
    writeFileSync(badFile, `${WRONG[1]}\n`);
    chmodSync(goodFile, 0o600);
    chmodSync(badFile, 0o644);
    config = join(dir, 'redisfork.conf');
    writeFileSync(config, `jobs:
  - { name: inline_ok, url: "${redis.url}", password: "${RIGHT}" }
  - { name: inline_bad, url: "${redis.url}", password: "${WRONG[0]}" }
  - { name: file_ok, url: "${redis.url}", password_file: ${goodFile} }
  - { name: file_bad, url: "${redis.url}", password_file: ${badFile} }
  - { name: env_bad, url: "${redis.url}", password_env: REDISFORK_TEST_PW }
  - { name: url_bad, url: "redis://:${WRONG[3]}@127.0.0.1:${redis.port}" }
`);
    const env = { REDISFORK_TEST_PW: WRONG[2] };
    for (const args of [['--once', '--config', config], ['doctor', '--config', config], ['doctor', '--config', config, '--json'], ['check-config', config], ['--once', '--url', `redis://:${WRONG[3]}@127.0.0.1:${redis.port}`, '--log-level', 'debug']]) {
      const result = await runPlugin(args, { env });
      outputs.push(result.stdout, result.stderr);
    }
    const plugin = new RunningPlugin(['1', '--config', config, '--log-level', 'trace'], env);
    await plugin.waitForStdout((s) => (s.match(/BEGIN redis_fork_url_bad\.state/g) ?? []).length >= 3);
    plugin.child.stdin.write('FUNCTION t1 10 "redisfork:doctor"\n');
    await plugin.waitForStdout((s) => s.includes('FUNCTION_RESULT_END'));
    await plugin.stop();
    outputs.push(plugin.stdout, plugin.stderr);
  });
  after(async () => {
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the right passwords work and the wrong ones are refused', () => {
    const all = outputs.join('\n');
    assert.match(all, /redis_fork_inline_ok\.state\nSET 'up' = 1/);
    assert.match(all, /redis_fork_file_ok\.state\nSET 'up' = 1/);
    for (const job of ['inline_bad', 'file_bad', 'env_bad', 'url_bad']) assert.match(all, new RegExp(`"job":"${job}"[^\\n]*refused our credentials`));
  });

  it('no password, right or wrong, appears in any output', () => {
    const all = outputs.join('\n');
    for (const secret of [RIGHT, ...WRONG]) assert.ok(!all.includes(secret), `leaked: ${secret}`);
  });

  it('warns about the world-readable password file, by path only', () => {
    assert.match(outputs.join('\n'), /bad\.pass is readable by every user/);
  });
});
