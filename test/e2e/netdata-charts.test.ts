/**
 * A real Netdata 1.37 runs the built plugin from its plugins.d with a redisfork.conf in its config
 * dir; /api/v1/charts shows our charts and /api/v1/data shows the values INFO and procfs give.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { startRedis, waitFor, waitForBgsave, type RedisServer } from '../helpers/redis-server.ts';
import { startNetdata, latestValue, latestTimestamp, eventualValue, type ChartsResponse, type NetdataInstance } from '../helpers/netdata.ts';
import { PLUGIN, assertBuilt } from '../helpers/plugin.ts';
import { REQUIRED_CONTEXTS } from '../../charts/catalog.ts';
import { parseInfoFields } from '../../src/redis/info.ts';
import { parseKeyValueKb } from '../../src/host/parse.ts';

describe('in a real Netdata 1.37', () => {
  let redis: RedisServer;
  let netdata: NetdataInstance;
  let charts: ChartsResponse['charts'];
  let info: Map<string, string>;

  before(async () => {
    assertBuilt();
    redis = await startRedis();
    const client = redis.client();
    await client.call('DEBUG', 'POPULATE', '100000', 'key', '100');
    await client.bgsave();
    await waitForBgsave(client);
    info = parseInfoFields(await client.info('everything'));
    netdata = await startNetdata({
      plugins: { 'redisfork.plugin': PLUGIN },
      configFiles: { 'redisfork.conf': `update_every: 1\njobs:\n  - name: e2e\n    url: ${redis.url}\n` },
    });
    await waitFor(async () => {
      charts = (await netdata.api<ChartsResponse>('/api/v1/charts')).charts;
      return charts['redis_fork_e2e.fork_duration'] !== undefined && charts['redis_fork_host.commit'] !== undefined;
    }, 30_000, 'redisfork charts in Netdata');
    // Let a few values land.
    await waitFor(async () => (await latestValue(netdata, 'redis_fork_e2e.fork_duration', 'latest_fork')) !== null, 20_000, 'fork duration values');
  });
  after(async () => {
    await netdata?.stop();
    await redis?.stop();
  });

  it('shows the SPEC contexts and the host charts', () => {
    const contexts = new Set(Object.values(charts).map((c) => c.context));
    for (const context of REQUIRED_CONTEXTS) assert.ok(contexts.has(context), context);
    assert.equal(charts['redis_fork_host.overcommit']?.context, 'redis.fork_host_overcommit_memory');
    assert.equal(charts['redis_fork_e2e.fork_duration']?.units, 'milliseconds');
  });

  it('keeps the chart labels', () => {
    const labels = charts['redis_fork_e2e.fork_duration']?.chart_labels ?? {};
    assert.equal(labels.job, 'e2e');
    assert.equal(labels.engine, 'redis');
    assert.equal(labels.locality, 'local');
  });

  it('stores the fork duration and COW size INFO reports', async () => {
    const expectFork = Number(info.get('latest_fork_usec')) / 1000;
    const expectCow = Number(info.get('rdb_last_cow_size'));
    assert.equal(await eventualValue(netdata, 'redis_fork_e2e.fork_duration', 'latest_fork', (v) => v === expectFork), expectFork);
    assert.equal(await eventualValue(netdata, 'redis_fork_e2e.cow_size', 'rdb', (v) => v === expectCow), expectCow);
    assert.equal(await eventualValue(netdata, 'redis_fork_e2e.bgsave_status', 'ok', (v) => v === 1), 1);
  });

  it('stores the host commit limit and overcommit mode procfs reports', async () => {
    const meminfo = parseKeyValueKb(readFileSync('/proc/meminfo', 'utf8'));
    // Netdata stores samples as 32-bit floats: about seven significant digits survive.
    const expected = meminfo.get('CommitLimit')!;
    const stored = (await eventualValue(netdata, 'redis_fork_host.commit', 'commit_limit', (v) => v !== null && Math.abs(v - expected) / expected < 1e-6))!;
    assert.ok(Math.abs(stored - expected) / expected < 1e-6, `stored ${stored} vs CommitLimit ${expected}`);
    const mode = Number(readFileSync('/proc/sys/vm/overcommit_memory', 'utf8'));
    assert.equal(await eventualValue(netdata, 'redis_fork_host.overcommit', 'mode', (v) => v === mode), mode);
  });

  it('keeps the plugin running after it registered the redisfork:doctor function', async () => {
    const pluginPids = () =>
      readdirSync('/proc')
        .filter((d) => /^\d+$/.test(d))
        .filter((pid) => {
          try {
            return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`${netdata.dir}/plugins.d/redisfork.plugin`);
          } catch {
            return false;
          }
        });
    const first = pluginPids();
    assert.equal(first.length, 1, 'the plugin runs under Netdata');
    const before = await latestTimestamp(netdata, 'redis_fork_e2e.state');
    await new Promise((r) => setTimeout(r, 3000));
    assert.deepEqual(pluginPids(), first, 'same process: not restarted');
    assert.ok((await latestTimestamp(netdata, 'redis_fork_e2e.state')) > before, 'still collecting');
  });

  it('has not disabled or restarted the plugin', () => {
    const log = netdata.errorLog();
    const aboutPlugin = log.split('\n').filter((l) => /redisfork\.plugin|PLUGINSD.*redisfork/.test(l));
    const bad = aboutPlugin.filter((l) => /disabled|DISABLE|exited with error|unknown keyword|restart/i.test(l));
    assert.deepEqual(bad, []);
  });
});
