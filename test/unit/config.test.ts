import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText, jsonPointerToPath, configSearchPath, jobNameForUrl } from '../../src/config/load.ts';
import { parseRedisUrl } from '../../src/config/url.ts';
import { ConfigError } from '../../src/errors.ts';

function problemsOf(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfigText(text, 'test.conf', env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems.map((p) => `${p.path}: ${p.message}`);
  }
  assert.fail('expected the config to be rejected');
}

describe('config', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'redisfork-config-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a full config', () => {
    const secret = join(dir, 'pass');
    writeFileSync(secret, 's3cret\n');
    chmodSync(secret, 0o600);
    const config = parseConfigText(
      `update_every: 2
jobs:
  - name: local
    url: redis://127.0.0.1:6379/2
    username: netdata
    password_file: ${secret}
    timeout_ms: 500
    pid: auto
  - name: sock
    url: unix:///run/redis/redis.sock
  - name: tls
    url: rediss://cache.example:6380
    password_env: REDIS_PW
    tls: { server_name: cache, insecure_skip_verify: true }
`,
      'test.conf',
      { REDIS_PW: 'fromenv' },
    );
    assert.equal(config.updateEvery, 2);
    assert.equal(config.jobs.length, 3);
    const [local, sock, tls] = config.jobs;
    assert.equal(local?.password, 's3cret', 'the trailing newline of the file is not part of the password');
    assert.equal(local?.passwordSource, 'file');
    assert.equal(local?.db, 2);
    assert.equal(local?.timeoutMs, 500);
    assert.deepEqual(sock?.target, { kind: 'unix', path: '/run/redis/redis.sock' });
    assert.equal(tls?.password, 'fromenv');
    assert.equal(tls?.tls?.serverName, 'cache');
    assert.equal(tls?.tls?.insecureSkipVerify, true);
    assert.deepEqual(config.warnings, []);
  });

  it('names the path of every problem at once', () => {
    const problems = problemsOf(`update_every: fast
colour: blue
jobs:
  - name: a
    url: http://x
    timeout_ms: 5
  - name: b
  - name: a
    url: redis://h
    pasword: x
`);
    assert.ok(problems.includes('update_every: must be integer'), problems.join('\n'));
    assert.ok(problems.includes('colour: unknown key'));
    assert.ok(problems.includes('jobs[0].url: must start with redis://, rediss:// or unix://'));
    assert.ok(problems.includes('jobs[0].timeout_ms: must be >= 10'));
    assert.ok(problems.includes('jobs[1].url: is required'));
    assert.ok(problems.includes('jobs[2].pasword: unknown key'));
  });

  it('reports invalid YAML with its line', () => {
    const problems = problemsOf('jobs:\n  - name: a\n   url: [unclosed\n');
    assert.match(problems[0] ?? '', /^line \d+, column \d+: invalid YAML/);
  });

  it('rejects duplicate names, also when they only clash after sanitising', () => {
    assert.deepEqual(problemsOf('jobs:\n  - {name: a, url: "redis://h"}\n  - {name: a, url: "redis://h:2"}\n'), ['jobs[1].name: duplicate job name "a"']);
    assert.deepEqual(problemsOf('jobs:\n  - {name: a-b, url: "redis://h"}\n  - {name: a_b, url: "redis://h:2"}\n'), ['jobs[1].name: "a_b" and "a-b" give the same chart id']);
  });

  it('rejects two password sources, an unset env var and an unreadable password file', () => {
    const problems = problemsOf(`jobs:
  - {name: a, url: "redis://h", password: x, password_env: Y}
  - {name: b, url: "redis://h", password_env: NOPE}
  - {name: c, url: "redis://h", password_file: /nonexistent/pass}
`);
    assert.ok(problems.includes('jobs[0].password_env: use only one of password, password_env'), problems.join('\n'));
    assert.ok(problems.includes('jobs[1].password_env: environment variable NOPE is not set'));
    assert.ok(problems.includes('jobs[2].password_file: cannot read /nonexistent/pass: ENOENT'));
  });

  it('warns about a world-readable password file', () => {
    const secret = join(dir, 'open');
    writeFileSync(secret, 'x');
    chmodSync(secret, 0o644);
    const config = parseConfigText(`jobs:\n  - {name: a, url: "redis://h", password_file: ${secret}}\n`, 't', {});
    assert.match(config.warnings[0] ?? '', /readable by every user/);
  });

  it('never puts a password into a message', () => {
    const problems = problemsOf('jobs:\n  - {name: a, url: "redis://:hunter2@h", password: hunter2, tls: {}}\n');
    assert.ok(problems.length > 0);
    for (const p of problems) assert.ok(!p.includes('hunter2'), p);
  });

  it('turns JSON pointers into paths', () => {
    assert.equal(jsonPointerToPath('/jobs/1/tls/ca_file'), 'jobs[1].tls.ca_file');
    assert.equal(jsonPointerToPath(''), '');
  });

  it('looks in the user config dir, then the stock one', () => {
    assert.deepEqual(configSearchPath({ NETDATA_USER_CONFIG_DIR: '/etc/netdata', NETDATA_STOCK_CONFIG_DIR: '/usr/lib/netdata/conf.d' }), [
      '/etc/netdata/redisfork.conf',
      '/usr/lib/netdata/conf.d/redisfork.conf',
    ]);
  });

  it('parses URLs and hides their passwords', () => {
    const parsed = parseRedisUrl('redis://user:p%40ss@[::1]:6380/3');
    assert.deepEqual(parsed.target, { kind: 'tcp', host: '::1', port: 6380, tls: false });
    assert.equal(parsed.password, 'p@ss');
    assert.equal(parsed.username, 'user');
    assert.equal(parsed.db, 3);
    assert.ok(!parsed.display.includes('p%40ss') && !parsed.display.includes('p@ss'));
    assert.throws(() => parseRedisUrl('redis://h:99999'), /port/);
    assert.equal(jobNameForUrl('redis://127.0.0.1:6380'), '127_0_0_1_6380');
    assert.equal(jobNameForUrl('unix:///run/redis/redis.sock'), 'redis_sock');
  });
});

describe('errors by class and code, never by message text', () => {
  it('sorts Redis replies by their code word, sockets by Node\'s code, and keeps the cause', async () => {
    const { ReplyError } = await import('ioredis');
    const { classifyRedisError } = await import('../../src/redis/client.ts');
    const { RedisforkError, UrlError } = await import('../../src/errors.ts');
    const { parseRedisUrl } = await import('../../src/config/url.ts');
    const reply = (text: string) => new ReplyError(text);
    const cases: [unknown, string][] = [
      [reply('NOAUTH Authentication required.'), 'ERR_REDIS_AUTH'],
      [reply('WRONGPASS invalid username-password pair or user is disabled.'), 'ERR_REDIS_AUTH'],
      [reply('ERR invalid password'), 'ERR_REDIS_AUTH'],
      [reply('LOADING Redis is loading the dataset in memory'), 'ERR_REDIS_LOADING'],
      [reply("NOPERM User netdata has no permissions to run the 'config|get' command"), 'ERR_REDIS_DENIED'],
      [reply("ERR unknown command 'CONFIG', with args beginning with: 'GET'"), 'ERR_REDIS_DENIED'],
      [reply('ERR syntax error'), 'ERR_REDIS_REPLY'],
      [Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }), 'ERR_REDIS_UNREACHABLE'],
      [Object.assign(new Error('connect ETIMEDOUT'), { code: 'ETIMEDOUT' }), 'ERR_REDIS_TIMEOUT'],
      [new Error('Connection is closed.'), 'ERR_REDIS_UNREACHABLE'],
    ];
    for (const [err, code] of cases) {
      const sorted = classifyRedisError(err);
      assert.ok(sorted instanceof RedisforkError);
      assert.equal(sorted.code, code, String(err));
      assert.equal(sorted.cause, err, 'the original rides along as cause');
    }
    const own = new RedisforkError('ERR_REDIS_TIMEOUT', 'x');
    assert.equal(classifyRedisError(own), own);
    assert.throws(() => parseRedisUrl('http://x'), (err: unknown) => err instanceof UrlError && err.code === 'ERR_CONFIG_URL');
  });
});

describe('the config validators compiled at build time', () => {
  it('match schema.json (run npm run build after changing the schema)', async () => {
    const { readFileSync } = await import('node:fs');
    // @ts-expect-error: a plain .mjs build script without types
    const { GENERATED, generateValidators } = (await import('../../scripts/gen-validators.mjs')) as { GENERATED: string; generateValidators: () => string };
    assert.equal(readFileSync(new URL(`../../${GENERATED}`, import.meta.url), 'utf8'), generateValidators());
  });
});
