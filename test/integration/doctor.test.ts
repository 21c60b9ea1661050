/**
 * The doctor and the redisfork:doctor function against real Redis servers: a healthy one, and one
 * whose save fails because its directory became unwritable (Redis runs as an unprivileged user, as
 * Debian's does), with save points and stop-writes-on-bgsave-error yes, so writes are refused.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedis, waitFor, type RedisServer } from '../helpers/redis-server.ts';
import { RunningPlugin, runPlugin } from '../helpers/plugin.ts';
import { parseProtocol, displayValue } from '../helpers/protocol.ts';

interface Report {
  exit: number;
  instances: { job: string; verdict: string; findings: { check: string; verdict: string; summary: string }[] }[];
}
const check = (report: Report, name: string) => report.instances[0]?.findings.find((f) => f.check === name);

const NOBODY = 65534;

describe('doctor on a healthy Redis', () => {
  let redis: RedisServer;
  before(async () => {
    redis = await startRedis();
    await redis.client().bgsave();
  });
  after(async () => redis?.stop());

  it('exits 0 and says the next fork is allowed, by the rule of this host', async () => {
    const result = await runPlugin(['doctor', '--url', redis.url, '--json']);
    const report = JSON.parse(result.stdout) as Report;
    assert.equal(result.code, 0, result.stdout);
    assert.equal(report.exit, 0);
    assert.equal(check(report, 'fork_commit')?.verdict, 'ok');
    assert.equal(check(report, 'last_bgsave')?.verdict, 'ok');
  });

  it('prints for people too', async () => {
    const result = await runPlugin(['doctor', '--url', redis.url]);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /\[OK {2}\] Next fork vs kernel commit accounting/);
  });

  it('exits 2 when it cannot look', async () => {
    const result = await runPlugin(['doctor', '--url', 'redis://127.0.0.1:1']);
    assert.equal(result.code, 2);
    assert.match(result.stdout, /did not answer/);
  });
});

describe('a save that fails on an unwritable directory', { skip: process.getuid?.() !== 0 ? 'needs root to run Redis as nobody' : false }, () => {
  let redis: RedisServer;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'redisfork-unwritable-'));
    chownSync(dir, NOBODY, NOBODY);
    redis = await startRedis({
      dir,
      wrapper: ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups'],
      args: ['--save', '3600 1', '--stop-writes-on-bgsave-error', 'yes'],
    });
    const client = redis.client();
    await client.set('k', 'v');
    chmodSync(dir, 0o555);
    await client.bgsave();
    await waitFor(async () => /rdb_last_bgsave_status:err/.test(await client.info('persistence')), 10_000, 'the save to fail');
  });
  after(async () => {
    if (dir) chmodSync(dir, 0o755);
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('Redis answers PING with MISCONF: up, but in trouble', async () => {
    await assert.rejects(redis.client().ping(), /MISCONF/);
  });

  it('the plugin charts the failed save and the refused writes, and the Redis as up', async () => {
    const result = await runPlugin(['--once', '--url', redis.url]);
    const out = parseProtocol(result.stdout);
    const type = `redis_fork_127_0_0_1_${redis.port}`;
    assert.deepEqual(out.problems, []);
    assert.equal(displayValue(out, `${type}.state`, 'up'), 1);
    assert.equal(displayValue(out, `${type}.bgsave_status`, 'failed'), 1);
    assert.equal(displayValue(out, `${type}.writes`, 'refused'), 1);
  });

  it('the doctor exits 1 with the failed save and the refused writes as critical', async () => {
    const result = await runPlugin(['doctor', '--url', redis.url, '--json']);
    const report = JSON.parse(result.stdout) as Report;
    assert.equal(result.code, 1);
    assert.equal(check(report, 'last_bgsave')?.verdict, 'critical');
    assert.equal(check(report, 'writes_refused')?.verdict, 'critical');
    assert.match(check(report, 'writes_refused')!.summary, /-MISCONF/);
  });

  it('under Netdata 2.x: registers with the access apps.plugin asks, answers calls with access and source words as a table, cancels a call waiting for its payload', async () => {
    const plugin = new RunningPlugin(['1', '--url', redis.url], { NETDATA_VERSION: 'v2.11.0', NETDATA_LOG_FORMAT: 'logfmt' });
    try {
      await plugin.waitForStdout((s) => s.includes('BEGIN '));
      assert.match(plugin.stdout, /^FUNCTION GLOBAL "redisfork:doctor" 10 "[^"]+" "redis" "0x13" 100 1$/m);
      plugin.child.stdin.write('FUNCTION tx-a 10 "redisfork:doctor" "0x13" "method=api,role=test,ip=127.0.0.1"\n');
      await plugin.waitForStdout((s) => s.includes('FUNCTION_RESULT_END'));
      const table = JSON.parse(/FUNCTION_RESULT_BEGIN tx-a 200 application\/json \d+\n(.*)\nFUNCTION_RESULT_END/.exec(plugin.stdout)![1]!) as { type: string; data: unknown[][] };
      assert.equal(table.type, 'table');
      assert.ok(table.data.some((row) => JSON.stringify(row).includes('"severity":"critical"')), 'the failed save is a critical row');
      plugin.child.stdin.write('FUNCTION_PAYLOAD tx-b 10 "redisfork:doctor" "0x13" "method=api" "application/json"\n{"x":1}\nFUNCTION_CANCEL tx-b\nFUNCTION_PROGRESS tx-a\n');
      await plugin.waitForStdout((s) => s.includes('FUNCTION_RESULT_BEGIN tx-b 499'));
      plugin.child.stdin.write('FUNCTION tx-c 10 "nosuch"\n');
      await plugin.waitForStdout((s) => s.includes('FUNCTION_RESULT_BEGIN tx-c 404'));
      const notFound = JSON.parse(/FUNCTION_RESULT_BEGIN tx-c 404 application\/json \d+\n(.*)\n/.exec(plugin.stdout)![1]!) as Record<string, unknown>;
      assert.equal(notFound.error_message, notFound.errorMessage);
      assert.doesNotMatch(plugin.stderr, /does not handle/, 'FUNCTION_CANCEL and FUNCTION_PROGRESS are known lines');
    } finally {
      await plugin.stop();
    }
  });

  it('the redisfork:doctor function answers a call on stdin with the same findings', async () => {
    const plugin = new RunningPlugin(['1', '--url', redis.url]);
    try {
      await plugin.waitForStdout((s) => s.includes('BEGIN '));
      assert.match(plugin.stdout, /^FUNCTION GLOBAL "redisfork:doctor" \d+ "/m);
      plugin.child.stdin.write('FUNCTION tx-42 10 "redisfork:doctor"\n');
      await plugin.waitForStdout((s) => s.includes('FUNCTION_RESULT_END'));
      const match = /FUNCTION_RESULT_BEGIN tx-42 200 application\/json \d+\n(.*)\nFUNCTION_RESULT_END/.exec(plugin.stdout);
      assert.ok(match, plugin.stdout.slice(-2000));
      const body = JSON.parse(match[1]!) as Report & { status: number };
      assert.equal(body.status, 200);
      assert.equal(check(body, 'writes_refused')?.verdict, 'critical');
      assert.deepEqual(parseProtocol(plugin.stdout).problems, []);
    } finally {
      await plugin.stop();
    }
  });
});

describe('doctor offline, from a saved INFO and a copy of the host files', () => {
  it('diagnoses the captured Redis with its real smaps: the fork fits under mode 0', async () => {
    const info = new URL('../fixtures/info/redis-7.0.15-sections.txt', import.meta.url).pathname;
    const hostRoot = new URL('../fixtures/host/redis-7.0-mode0', import.meta.url).pathname;
    const result = await runPlugin(['doctor', '--info', info, '--host-root', hostRoot, '--json']);
    const report = JSON.parse(result.stdout) as Report & { instances: { locality: string; forkCharge: { source: string; bytes: number } }[] };
    assert.equal(result.code, 0, result.stdout.slice(0, 2000));
    assert.equal(report.instances[0]?.locality, 'local');
    assert.equal(report.instances[0]?.forkCharge.source, 'smaps');
    assert.equal(check(report, 'fork_commit')?.verdict, 'ok');
    assert.match(check(report, 'fork_commit')!.summary, /larger than RAM \+ swap/);
    assert.equal(check(report, 'config')?.verdict, 'unknown', 'a saved INFO has no CONFIG values, and it says so');
  });

  it('without host files, says the kernel facts are unknown and still reads INFO', async () => {
    const info = new URL('../fixtures/info/hand-redis-2.8.24.txt', import.meta.url).pathname;
    const result = await runPlugin(['doctor', '--info', info]);
    assert.equal(result.code, 1, 'the failed save in that INFO is critical');
    assert.match(result.stdout, /\[CRIT\] Last background save/);
    assert.match(result.stdout, /Redis < 7\.0 also counts failed forks/);
  });
});
