/**
 * One plugin, several jobs, each in a different kind of trouble: a Redis that is not there, one
 * that refuses our password, one whose ACL user may not run CONFIG GET. The plugin keeps running,
 * the healthy job keeps its charts, and each problem is logged once.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedis, freePort, type RedisServer } from '../helpers/redis-server.ts';
import { RunningPlugin, runPlugin } from '../helpers/plugin.ts';
import { parseProtocol, displayValue } from '../helpers/protocol.ts';

describe('faults do not spread between jobs', () => {
  let healthy: RedisServer;
  let locked: RedisServer;
  let dir: string;
  let plugin: RunningPlugin;
  const secret = 'correct-horse-battery';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'redisfork-faults-'));
    healthy = await startRedis();
    locked = await startRedis({ args: ['--requirepass', secret] });
    const admin = locked.client({ password: secret });
    await admin.call('ACL', 'SETUSER', 'monitor', 'on', '>monitorpw', '-@all', '+info', '+ping');
    const deadPort = await freePort();
    const config = join(dir, 'redisfork.conf');
    writeFileSync(
      config,
      `update_every: 1
jobs:
  - { name: healthy, url: "${healthy.url}" }
  - { name: nothing_there, url: "redis://127.0.0.1:${deadPort}", timeout_ms: 300 }
  - { name: wrong_password, url: "${locked.url}", password: not-the-password }
  - { name: no_config, url: "${locked.url}", username: monitor, password: monitorpw }
`,
    );
    plugin = new RunningPlugin(['1', '--config', config]);
    // Four iterations give every job time to connect, fail and be charted.
    await plugin.waitForStdout((s) => (s.match(/^BEGIN redis_fork_healthy\.state/gm) ?? []).length >= 4, 20_000);
  });
  after(async () => {
    await plugin?.stop();
    await healthy?.stop();
    await locked?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps running and speaks only valid protocol', () => {
    assert.equal(plugin.child.exitCode, null);
    assert.deepEqual(parseProtocol(plugin.stdout).problems, []);
  });

  it('charts the healthy job in every iteration', () => {
    const out = parseProtocol(plugin.stdout);
    assert.equal(displayValue(out, 'redis_fork_healthy.state', 'up'), 1);
    assert.ok(typeof displayValue(out, 'redis_fork_healthy.memory', 'rss') === 'number');
  });

  it('marks the missing Redis down and the wrong password auth_failed, with no other charts', () => {
    const out = parseProtocol(plugin.stdout);
    assert.equal(displayValue(out, 'redis_fork_nothing_there.state', 'down'), 1);
    assert.equal(displayValue(out, 'redis_fork_wrong_password.state', 'auth_failed'), 1);
    assert.ok(!out.charts.has('redis_fork_nothing_there.memory'));
  });

  it('carries on without CONFIG GET for an ACL user that may not run it', () => {
    const out = parseProtocol(plugin.stdout);
    assert.equal(displayValue(out, 'redis_fork_no_config.state', 'up'), 1);
    assert.equal(displayValue(out, 'redis_fork_no_config.bgsave_status', 'ok'), 1);
  });

  it('logs each problem once, with the job, and never the password', () => {
    const logs = plugin.logs();
    const about = (job: string, level: number) => logs.filter((l) => l.job === job && (l.level as number) >= level);
    assert.equal(about('nothing_there', 50).length, 1, JSON.stringify(about('nothing_there', 50)));
    assert.equal(about('wrong_password', 50).length, 1);
    assert.match(String(about('wrong_password', 50)[0]?.msg), /refused our credentials/);
    const configWarnings = logs.filter((l) => l.job === 'no_config' && /CONFIG GET is not available/.test(String(l.msg)));
    assert.equal(configWarnings.length, 1);
    assert.ok(!plugin.stderr.includes('not-the-password') && !plugin.stderr.includes('monitorpw') && !plugin.stderr.includes(secret));
  });
});

describe('a config file with every kind of problem', () => {
  it('names each with its path in one message, prints DISABLE and exits 1; check-config says the same', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'redisfork-badconf-'));
    const file = join(dir, 'redisfork.conf');
    writeFileSync(file, `update_every: soon
jobs:
  - { name: a, url: "redis://h", colour: red }
  - { name: a, url: "redis://h:2", password_file: ${dir}/missing.pass }
  - { name: c, url: "redis://h", timeout_ms: "fast" }
`);
    const plugin = await runPlugin(['1', '--config', file]);
    const check = await runPlugin(['check-config', file]);
    const yaml = join(dir, 'broken.conf');
    writeFileSync(yaml, 'jobs:\n  - name: a\n   url: [\n');
    const broken = await runPlugin(['check-config', yaml]);
    rmSync(dir, { recursive: true, force: true });
    assert.equal(plugin.code, 1);
    assert.equal(plugin.stdout, 'DISABLE\n');
    const errorLines = plugin.stderr.split('\n').filter((l) => l.includes('"level":50'));
    assert.equal(errorLines.length, 1, 'one message');
    for (const expected of [
      'update_every: must be integer',
      'jobs[0].colour: unknown key',
      'jobs[2].timeout_ms: must be integer',
      'jobs[1].name: duplicate job name \\"a\\"',
      'jobs[1].password_file: cannot read',
    ]) {
      assert.ok(errorLines[0]!.includes(expected), `${expected} in ${errorLines[0]}`);
      assert.ok(check.stdout.includes(expected.replace(/\\"/g, '"')), `check-config: ${expected}`);
    }
    assert.equal(check.code, 1);
    assert.equal(broken.code, 1);
    assert.match(broken.stdout, /line \d+, column \d+: invalid YAML/);
  });

  it('reports duplicate names and unreadable password files in a file that is otherwise valid', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'redisfork-badconf-'));
    const file = join(dir, 'redisfork.conf');
    writeFileSync(file, `jobs:\n  - { name: a, url: "redis://h" }\n  - { name: a, url: "redis://h:2", password_file: ${dir}/missing.pass }\n`);
    const check = await runPlugin(['check-config', file]);
    rmSync(dir, { recursive: true, force: true });
    assert.equal(check.code, 1);
    assert.match(check.stdout, /jobs\[1\]\.name: duplicate job name "a"/);
    assert.match(check.stdout, /jobs\[1\]\.password_file: cannot read .*missing\.pass: ENOENT/);
  });
});

describe('a bad config file', () => {
  it('prints DISABLE, exits 1 and names the problem', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'redisfork-badconf-'));
    const file = join(dir, 'redisfork.conf');
    writeFileSync(file, 'jobs:\n  - name: x\n    url: ftp://nope\n');
    const result = await runPlugin(['1', '--config', file]);
    rmSync(dir, { recursive: true, force: true });
    assert.equal(result.code, 1);
    assert.equal(result.stdout, 'DISABLE\n');
    assert.match(result.stderr, /jobs\[0\]\.url: must start with redis:\/\/, rediss:\/\/ or unix:\/\//);
  });

  it('check-config says the same and exits 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'redisfork-badconf-'));
    const file = join(dir, 'redisfork.conf');
    writeFileSync(file, 'jobs:\n  - name: x\n    url: redis://h\n    extra: 1\n');
    const result = await runPlugin(['check-config', file]);
    rmSync(dir, { recursive: true, force: true });
    assert.equal(result.code, 1);
    assert.match(result.stdout, /jobs\[0\]\.extra: unknown key/);
  });
});

describe('no config file', () => {
  it('watches the Redis that autodetection finds, and looks again while it finds none', async () => {
    const port = await freePort();
    const emptyConfigDir = mkdtempSync(join(tmpdir(), 'redisfork-noconf-'));
    const plugin = new RunningPlugin(['1'], {
      NETDATA_USER_CONFIG_DIR: emptyConfigDir,
      NETDATA_STOCK_CONFIG_DIR: emptyConfigDir,
      REDISFORK_AUTODETECT_URLS: `redis://127.0.0.1:${port}`,
      // Autodetection also finds every other Redis this host runs; with one found, it looks again
      // only every REDISFORK_REDISCOVER_SECONDS (a minute by default), not every 10 s: short here,
      // so that the test holds on a host that runs a Redis of its own.
      REDISFORK_REDISCOVER_SECONDS: '2',
    });
    let redis: RedisServer | undefined;
    try {
      // Nothing answers at the URL yet: no charts for it, and the plugin keeps writing (newlines
      // when it watches nothing; charts of its own for any other Redis this host runs, which
      // autodetection also finds in /proc).
      await plugin.waitForStdout((s) => s.split('\n').length > 2, 5000);
      assert.doesNotMatch(plugin.stdout, /^BEGIN redis_fork_local\./m);
      redis = await startRedis({ port });
      await plugin.waitForStdout((s) => /^BEGIN redis_fork_local\.state/m.test(s), 30_000);
      assert.equal(displayValue(parseProtocol(plugin.stdout), 'redis_fork_local.state', 'up'), 1);
    } finally {
      await plugin.stop();
      await redis?.stop();
      rmSync(emptyConfigDir, { recursive: true, force: true });
    }
  });
});
