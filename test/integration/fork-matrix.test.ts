/**
 * The doctor's prediction, made before the save under the real kernel setting, against what the
 * kernel then does to a real BGSAVE. Each cell sets vm.overcommit_* for about a second through
 * scripts/with-sysctl.sh (restored by its trap), runs `doctor --json` and `BGSAVE` inside it.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startRedis, waitFor, waitForBgsave, type RedisServer } from '../helpers/redis-server.ts';
import { PLUGIN, assertBuilt, runPlugin } from '../helpers/plugin.ts';
import { meminfoKb, overcommitSettings, overcommitSkipReason, withSysctl } from '../helpers/host-state.ts';
import { spawnSync } from 'node:child_process';

const skip = overcommitSkipReason();
if (skip) console.log(`SKIP fork matrix: ${skip}`);

interface Prediction {
  allowed: boolean;
  rule: string;
  neededBytes: number;
  roomBytes: number | null;
}

/** Facts before the window: the fork's charge as the doctor sees it (loose setting). */
async function charge(redis: RedisServer): Promise<number> {
  const result = await runPlugin(['doctor', '--url', redis.url, '--json']);
  const report = JSON.parse(result.stdout) as { instances: { forkCharge?: { bytes: number; source: string } }[] };
  const needed = report.instances[0]?.forkCharge?.bytes;
  assert.equal(report.instances[0]?.forkCharge?.source, 'smaps');
  assert.ok(needed, `doctor gave no fork verdict: ${result.stdout.slice(0, 500)}`);
  return needed;
}

/** Inside the window: predict, then BGSAVE. Returns the prediction and whether the fork happened. */
async function predictThenSave(redis: RedisServer, settings: string[]): Promise<{ prediction: Prediction; forked: boolean; log: string }> {
  const logBefore = redis.log().length;
  const script = `"${PLUGIN}" doctor --url "${redis.url}" --json > "${redis.dir}/prediction.json"; redis-cli -p ${redis.port} BGSAVE > "${redis.dir}/bgsave.txt" 2>&1; true`;
  const run = withSysctl(settings, script);
  assert.notEqual(run.code, 77, run.stderr);
  assert.equal(run.code, 0, `with-sysctl ${settings.join(" ")}: exit ${run.code}\n${run.stderr}\n${run.stdout}`);
  const report = JSON.parse(readFileSync(join(redis.dir, 'prediction.json'), 'utf8')) as { instances: { forkVerdict: Prediction }[] };
  const prediction = report.instances[0]?.forkVerdict;
  assert.ok(prediction, 'the doctor made a prediction inside the window');
  const reply = readFileSync(join(redis.dir, 'bgsave.txt'), 'utf8');
  const client = redis.client();
  await waitForBgsave(client);
  const forked = /Background saving started/.test(reply);
  if (!forked) await waitFor(() => /fork: Cannot allocate memory/.test(redis.log().slice(logBefore)), 5000, 'the refusal in the Redis log');
  return { prediction, forked, log: redis.log().slice(logBefore) };
}

describe('doctor prediction vs the kernel, on real forks', { skip }, () => {
  const before0 = overcommitSettings();
  after(() => {
    // The helper's trap restores; this proves it did.
    assert.equal(overcommitSettings(), before0);
    spawnSync('bash', [join(PLUGIN, '../../scripts/restore-host-state.sh')]);
  });

  describe('Redis started under mode 2 (its heap is accountable)', () => {
    let redis: RedisServer;
    let needed: number;
    before(async () => {
      assertBuilt();
      redis = await startRedis({ startUnder: ['vm.overcommit_memory=2'] });
      // Big enough that half its charge still leaves room for everything else on the machine
      // (each non-Redis process also loses up to user_reserve_kbytes, 128 MiB, of the room).
      await redis.client().call('DEBUG', 'POPULATE', '3000000', 'key', '100');
      needed = await charge(redis);
    });
    after(async () => redis?.stop());

    it('mode 2 with half the room it needs: predicted refused, and the kernel refuses', async () => {
      const limitKb = meminfoKb('Committed_AS') + Math.round(needed / 2 / 1024);
      const { prediction, forked, log } = await predictThenSave(redis, [`vm.overcommit_kbytes=${limitKb}`, 'vm.overcommit_memory=2']);
      assert.equal(prediction.rule, 'strict');
      assert.equal(prediction.allowed, false);
      assert.equal(forked, false);
      assert.match(log, /Can't save in background: fork: Cannot allocate memory/);
    });

    it('mode 2 with twice the room it needs: predicted allowed, and the fork happens', async () => {
      const limitKb = meminfoKb('Committed_AS') + Math.round((2 * needed) / 1024);
      const { prediction, forked } = await predictThenSave(redis, [`vm.overcommit_kbytes=${limitKb}`, 'vm.overcommit_memory=2']);
      assert.equal(prediction.rule, 'strict', JSON.stringify(prediction));
      assert.equal(prediction.allowed, true, JSON.stringify({ prediction, needed, limitKb }));
      assert.equal(forked, true);
    });
  });

  describe('Redis started under mode 0 (jemalloc maps its heap MAP_NORESERVE)', () => {
    let redis: RedisServer;
    let needed: number;
    let vmData: number;
    before(async () => {
      redis = await startRedis();
      await redis.client().call('DEBUG', 'POPULATE', '3000000', 'key', '100');
      needed = await charge(redis);
      vmData = Number(/VmData:\s+(\d+) kB/.exec(readFileSync(`/proc/${redis.pid}/status`, 'utf8'))?.[1]) * 1024;
    });
    after(async () => redis?.stop());

    it('mode 1: predicted allowed, and the fork happens', async () => {
      const { prediction, forked } = await predictThenSave(redis, ['vm.overcommit_memory=1']);
      assert.equal(prediction.rule, 'always');
      assert.equal(prediction.allowed, true);
      assert.equal(forked, true);
    });

    it('mode 2 with less room than VmData but more than the accountable mappings: predicted allowed, and it forks', async () => {
      assert.ok(vmData > 3 * needed, `VmData ${vmData} should dwarf the accountable ${needed}`);
      const room = Math.round((vmData + needed) / 2);
      const limitKb = meminfoKb('Committed_AS') + Math.round(room / 1024);
      const { prediction, forked } = await predictThenSave(redis, [`vm.overcommit_kbytes=${limitKb}`, 'vm.overcommit_memory=2']);
      assert.equal(prediction.rule, 'strict');
      assert.ok(prediction.neededBytes < room, 'the doctor charges the accountable mappings, not VmData');
      assert.equal(prediction.allowed, true);
      assert.equal(forked, true, 'the kernel agrees: MAP_NORESERVE memory is not charged');
    });
  });
});
