/**
 * The built plugin against a real redis-server: after a real BGSAVE the charted fork time and COW
 * size equal what INFO says, memory and kernel values equal procfs, and every line is one that
 * Netdata 1.37 accepts.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startRedis, waitForBgsave, type RedisServer } from '../helpers/redis-server.ts';
import { runPlugin } from '../helpers/plugin.ts';
import { parseProtocol, displayValue } from '../helpers/protocol.ts';
import { REQUIRED_CONTEXTS } from '../../charts/catalog.ts';
import { parseInfoFields } from '../../src/redis/info.ts';
import { parseKeyValueKb } from '../../src/host/parse.ts';

describe('--once against a real Redis after a real BGSAVE', () => {
  let redis: RedisServer;
  let info: Map<string, string>;
  let out: ReturnType<typeof parseProtocol>;
  let stderr: string;
  let type: string;

  before(async () => {
    redis = await startRedis();
    const client = redis.client();
    await client.call('DEBUG', 'POPULATE', '200000', 'key', '100');
    await client.bgsave();
    await waitForBgsave(client);
    const result = await runPlugin(['--once', '--url', redis.url]);
    assert.equal(result.code, 0, result.stderr);
    stderr = result.stderr;
    out = parseProtocol(result.stdout);
    info = parseInfoFields(await client.info('everything'));
    type = `redis_fork_127_0_0_1_${redis.port}`;
  });
  after(async () => redis?.stop());

  it('prints only lines Netdata 1.37 accepts', () => {
    assert.deepEqual(out.problems, []);
    assert.equal(out.disabled, false);
  });

  it('defines the SPEC contexts under redis_fork_<job>, and the host charts under redis_fork_host', () => {
    const contexts = new Set([...out.charts.values()].map((c) => c.context));
    for (const context of REQUIRED_CONTEXTS) assert.ok(contexts.has(context), context);
    for (const id of out.charts.keys()) assert.match(id, new RegExp(`^(${type}|redis_fork_host)\\.`));
    assert.ok(out.charts.has('redis_fork_host.overcommit'));
    assert.ok(out.charts.has('redis_fork_host.commit'));
    assert.ok(out.charts.has('redis_fork_host.thp_enabled'));
  });

  it('labels instance charts with job, engine, version, role and locality', () => {
    const labels = out.charts.get(`${type}.fork_duration`)?.labels;
    assert.deepEqual(labels, {
      job: `127_0_0_1_${redis.port}`,
      engine: 'redis',
      version: info.get('redis_version'),
      role: 'master',
      locality: 'local',
    });
  });

  it('charts the fork time and COW size that INFO reports, non-zero after the BGSAVE', () => {
    const forkUsec = Number(info.get('latest_fork_usec'));
    const cow = Number(info.get('rdb_last_cow_size'));
    assert.ok(forkUsec > 0 && Number(info.get('total_forks')) >= 1);
    assert.equal(displayValue(out, `${type}.fork_duration`, 'latest_fork'), forkUsec / 1000);
    assert.equal(displayValue(out, `${type}.cow_size`, 'rdb'), cow);
    assert.equal(displayValue(out, `${type}.bgsave_status`, 'ok'), 1);
    assert.equal(displayValue(out, `${type}.bgsave_status`, 'failed'), 0);
    assert.equal(displayValue(out, `${type}.state`, 'up'), 1);
  });

  it('charts RSS and used memory close to INFO, and the host facts equal procfs', () => {
    const rss = displayValue(out, `${type}.memory`, 'rss')!;
    assert.ok(Math.abs(rss - Number(info.get('used_memory_rss'))) / rss < 0.1, `rss ${rss} vs INFO ${info.get('used_memory_rss')}`);
    const meminfo = parseKeyValueKb(readFileSync('/proc/meminfo', 'utf8'));
    assert.equal(displayValue(out, 'redis_fork_host.commit', 'commit_limit'), meminfo.get('CommitLimit'));
    assert.equal(displayValue(out, 'redis_fork_host.commit', 'mem_total'), meminfo.get('MemTotal'));
    assert.equal(displayValue(out, 'redis_fork_host.overcommit', 'mode'), Number(readFileSync('/proc/sys/vm/overcommit_memory', 'utf8')));
    const thp = /\[(\w+)\]/.exec(readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8'))?.[1];
    assert.equal(displayValue(out, 'redis_fork_host.thp_enabled', thp!), 1);
  });

  it('charts the predicted fork charge from the process smaps', () => {
    const needed = displayValue(out, `${type}.commit_charge`, 'needed');
    assert.ok(typeof needed === 'number' && needed > 0);
    assert.equal(displayValue(out, `${type}.commit_headroom`, 'refused'), 0);
  });

  it('logs to stderr only, as JSON lines, and says the Redis is local', () => {
    assert.match(stderr, /"locality":"local"/);
  });
});
