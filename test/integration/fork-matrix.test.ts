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

const MiB = 2 ** 20;
const skip = overcommitSkipReason();
if (skip) console.log(`SKIP fork matrix: ${skip}`);

interface Prediction {
  allowed: boolean;
  outcome: 'allowed' | 'borderline' | 'refused';
  slackBytes: number;
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

    it('mode 2 with the margin inside the commit counter\'s slack: predicted borderline, whatever the kernel then does', async (t) => {
      // The doctor is itself charged while it looks: give it the room it starts in (100 MiB, see the
      // next cell) on top of the fork's charge, so that the margin it sees is its own charge's
      // complement, well inside the slack of ±(batch × CPUs) pages.
      const limitKb = meminfoKb('Committed_AS') + 100 * 1024 + Math.round(needed / 1024);
      const { prediction, forked } = await predictThenSave(redis, [`vm.overcommit_kbytes=${limitKb}`, 'vm.overcommit_memory=2']);
      assert.equal(prediction.rule, 'strict');
      assert.ok(prediction.slackBytes > 0, 'the slack comes from the CPU count and RAM');
      assert.equal(prediction.outcome, 'borderline', JSON.stringify({ prediction, needed }));
      t.diagnostic(`room ${Math.round((prediction.roomBytes ?? 0) / MiB)} MiB for a charge of ${Math.round(needed / MiB)} MiB, slack ±${Math.round(prediction.slackBytes / MiB)} MiB: borderline; the kernel then ${forked ? 'allowed' : 'refused'} the fork`);
    });

    it('the doctor under strict overcommit: the least room it starts in, measured, and an answer with room just above what it says it needs', async (t) => {
      const ask = (roomMiB: number) => {
        const limitKb = meminfoKb('Committed_AS') + roomMiB * 1024;
        const out = join(redis.dir, `doctor-${roomMiB}.json`);
        const run = withSysctl([`vm.overcommit_kbytes=${limitKb}`, 'vm.overcommit_memory=2'], `"${PLUGIN}" doctor --url "${redis.url}" --json > "${out}" 2>/dev/null; echo "exit $?"`);
        assert.equal(run.code, 0, `with-sysctl: ${run.stderr}`);
        let report: { instances?: unknown[]; tightRoom?: { roomBytes: number; neededBytes: number } } | undefined;
        try {
          report = JSON.parse(readFileSync(out, 'utf8')) as typeof report;
        } catch {
          report = undefined;
        }
        return { answered: Array.isArray(report?.instances), tightRoom: report?.tightRoom, exit: run.stdout.trim() };
      };
      // What it says it needs, asked with room that is tight but ample.
      const first = ask(100);
      assert.ok(first.answered, `the doctor answers with 100 MiB of room (${first.exit})`);
      assert.ok(first.tightRoom, 'with little room it states the room it needs');
      const statedMiB = Math.ceil(first.tightRoom.neededBytes / MiB);
      // Down in 8 MiB steps from just above the stated need until it no longer starts.
      let least: number | undefined;
      let failedAt: number | undefined;
      let nearLimit: ReturnType<typeof ask> | undefined;
      for (let room = statedMiB + 8; room >= 8; room -= 8) {
        const result = ask(room);
        if (!result.answered) {
          failedAt = room;
          t.diagnostic(`with ${room} MiB: no answer (${result.exit})`);
          break;
        }
        least = room;
        nearLimit ??= result;
      }
      t.diagnostic(`the doctor states it needs ${statedMiB} MiB; measured: it answers with ${least} MiB of room${failedAt === undefined ? '' : ` and not with ${failedAt} MiB`}`);
      assert.ok(nearLimit?.answered, `with room just above what it states (${statedMiB + 8} MiB) it starts and answers`);
      assert.ok(nearLimit.tightRoom, 'and says how tight it is');
      assert.ok(failedAt !== undefined, 'a room too small to start in exists: the measurement found the limit');
      assert.ok(least !== undefined && least <= statedMiB + 8, 'the stated need is an upper bound of the real one');
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
