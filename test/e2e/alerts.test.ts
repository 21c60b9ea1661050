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
import { freePort, startRedis, waitFor, waitForBgsave, type RedisServer } from '../helpers/redis-server.ts';
import { alarms, bashWaitForAlarm, eventualValue, startNetdata, waitForAlarm, type NetdataInstance } from '../helpers/netdata.ts';
import { PLUGIN, assertBuilt, runPlugin } from '../helpers/plugin.ts';
import { ContainerLab, containerSkipReason, removeCgroup } from '../helpers/containers.ts';
import { canWrite, meminfoKb, overcommitSettings, overcommitSkipReason, withSysctl } from '../helpers/host-state.ts';

const HEALTH = readFileSync(new URL('../../health.d/redisfork.conf', import.meta.url), 'utf8');
const TEMPLATES = [...HEALTH.matchAll(/^\s*template:\s*(\S+)/gm)].map((m) => m[1]!);
/** The healthy Redis runs as under systemd (a service with its default TasksMax) where a pids hierarchy can be made. */
const PIDS_V1 = '/sys/fs/cgroup/pids';
const pidsSkip = process.getuid?.() !== 0 ? 'not root' : !canWrite(PIDS_V1) ? `${PIDS_V1} is not writable here` : undefined;
/** Its chart exists only for a Redis in a pids cgroup below the root. */
const LIVE_TEMPLATES = pidsSkip ? TEMPLATES.filter((t) => t !== 'redis_fork_tasks_limit') : TEMPLATES;
if (pidsSkip) console.log(`SKIP redis_fork_tasks_limit on a live chart: ${pidsSkip}`);
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
  let lab: ContainerLab | undefined;
  const overcommitSkip = overcommitSkipReason();
  const thpSkip = process.getuid?.() !== 0 ? 'not root' : !canWrite(THP) ? `${THP} is not writable here` : undefined;
  const cgroupSkip = cgroupV1MemorySkipReason();
  // Servers started later, inside their fault windows; their jobs are configured from the start.
  const late = { thpOn: 0, thpOff: 0, container: 0 };
  const lateDir = mkdtempSync(join(tmpdir(), 'redisfork-late-'));
  const slice = join(PIDS_V1, `redisfork-alerts-${process.pid}.slice`);
  const service = join(slice, 'redis-healthy.service');

  before(async () => {
    assertBuilt();
    spawnSync('bash', [new URL('../../scripts/restore-host-state.sh', import.meta.url).pathname]);
    healthy = await startRedis();
    if (!pidsSkip) {
      mkdirSync(service, { recursive: true });
      writeFileSync(join(service, 'pids.max'), '4915');
      writeFileSync(join(service, 'cgroup.procs'), String(healthy.pid));
    }
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
    late.thpOn = await freePort();
    late.thpOff = await freePort();
    late.container = await freePort();
    const jobs: [string, string][] = [
      ['healthy', healthy.url],
      ['masked', masked.url],
      ['unwritable', unwritable.url],
      ...(refused ? [['refused', refused.url] as [string, string]] : []),
      ['thp_on', `redis://127.0.0.1:${late.thpOn}`],
      ['thp_off', `redis://127.0.0.1:${late.thpOff}`],
      ['container', `redis://127.0.0.1:${late.container}`],
    ];
    netdata = await startNetdata({
      plugins: { 'redisfork.plugin': PLUGIN },
      configFiles: { 'redisfork.conf': `jobs:\n${jobs.map(([name, url]) => `  - { name: ${name}, url: "${url}", timeout_ms: 500 }`).join('\n')}\n` },
      healthFiles: { 'redisfork.conf': HEALTH },
    });
    await waitFor(async () => {
      const all = await alarms(netdata);
      return LIVE_TEMPLATES.every((t) => Object.values(all).some((a) => a.name === t && a.chart.startsWith('redis_fork_healthy.') && a.status !== 'UNINITIALIZED'));
    }, 40_000, 'every template to attach to the healthy job and be evaluated');
  });

  after(async () => {
    await netdata?.stop();
    if (unwritableDir) chmodSync(unwritableDir, 0o755);
    await Promise.all([healthy?.stop(), masked?.stop(), unwritable?.stop(), refused?.stop()]);
    for (const dir of [service, slice]) removeCgroup(dir);
    await lab?.cleanup();
    for (const name of ['thp_on', 'thp_off']) {
      const pidFile = join(lateDir, `${name}.pid`);
      if (existsSync(pidFile)) {
        const pid = Number(readFileSync(pidFile, 'utf8'));
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone already
        }
      }
    }
    if (unwritableDir) rmSync(unwritableDir, { recursive: true, force: true });
    rmSync(lateDir, { recursive: true, force: true });
  });

  it('loads without an error line, other than 1.37 ignoring summary', () => {
    const errors = netdata.errorLog().split('\n').filter((l) => l.includes('redisfork.conf') && /ERROR/.test(l));
    assert.deepEqual(errors.filter((l) => !/unknown key 'summary'/.test(l)), []);
  });

  it('has all fourteen templates, each with class, type, component, units, every, delay, to: dba and an info', () => {
    assert.equal(TEMPLATES.length, 14);
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
    assert.deepEqual([...new Set(all.map((a) => a.name))].sort(), [...LIVE_TEMPLATES].sort());
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
    // Under mode 0 the chart compares the largest mapping; the whole charge is what mode 2 will count.
    const doctor = await runPlugin(['doctor', '--url', refused.url, '--json']);
    const charge = (JSON.parse(doctor.stdout) as { instances: { forkCharge: { bytes: number } }[] }).instances[0]!.forkCharge.bytes;
    assert.ok(charge > 100 * 1024 * 1024, `charge ${charge}`);
    const limitKb = meminfoKb('Committed_AS') + Math.round(charge / 2 / 1024);
    const script = [
      bashWaitForAlarm(netdata, 'redis_fork_refused.commit_headroom', 'redis_fork_commit_refused', 'CRITICAL', 12),
      `redis-cli -p ${refused.port} BGSAVE > "${refused.dir}/bgsave.txt" 2>&1`,
      'true',
    ].join('\n');
    const run = withSysctl([`vm.overcommit_kbytes=${limitKb}`, 'vm.overcommit_memory=2'], script);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(overcommitSettings(), before, 'restored');
    assert.match(run.stdout, /ALARM_SEEN redis_fork_refused\.commit_headroom\.redis_fork_commit_refused CRITICAL/, 'CRITICAL while the tight limit held, before the save');
    const log = await alarms(netdata);
    // The window ended once the alert was CRITICAL; it may clear afterwards, but it was seen.
    assert.match(readFileSync(join(refused.dir, 'bgsave.txt'), 'utf8'), /ERR/);
    assert.match(refused.log(), /Can't save in background: fork: Cannot allocate memory/);
    assert.ok(log['redis_fork_refused.commit_headroom.redis_fork_commit_refused'], 'the alert exists');
    await waitForAlarm(netdata, 'redis_fork_refused.bgsave_status', 'redis_fork_bgsave_failed', ['CRITICAL']);
    await waitForAlarm(netdata, 'redis_fork_refused.writes', 'redis_fork_writes_refused', ['CRITICAL']);
  });

  it('warns when THP is always and Redis did not opt out; stays clear for a Redis with disable-thp yes', { skip: thpSkip }, async () => {
    const start = (name: string, port: number, disableThp: string) =>
      `redis-server --port ${port} --bind 127.0.0.1 --dir "${lateDir}" --dbfilename ${name}.rdb --save '' --disable-thp ${disableThp} ` +
      `--enable-debug-command yes --daemonize yes --pidfile "${lateDir}/${name}.pid" --logfile "${lateDir}/${name}.log"`;
    const script = [
      start('thp_on', late.thpOn, 'no'),
      start('thp_off', late.thpOff, 'yes'),
      `for _ in $(seq 50); do redis-cli -p ${late.thpOn} ping >/dev/null 2>&1 && redis-cli -p ${late.thpOff} ping >/dev/null 2>&1 && break; sleep 0.1; done`,
      `redis-cli -p ${late.thpOn} DEBUG POPULATE 500000 key 100 >/dev/null`,
      `redis-cli -p ${late.thpOff} DEBUG POPULATE 500000 key 100 >/dev/null`,
      bashWaitForAlarm(netdata, 'redis_fork_thp_on.thp', 'redis_fork_thp', 'WARNING', 25),
      bashWaitForAlarm(netdata, 'redis_fork_thp_off.thp', 'redis_fork_thp', 'CLEAR', 10),
      `echo "THP_OFF_PROCESS $(grep THP_enabled /proc/$(cat "${lateDir}/thp_off.pid")/status)"`,
    ].join('\n');
    const before = readFileSync(THP, 'utf8');
    const run = withSysctl([`${THP}=always`], script);
    assert.equal(readFileSync(THP, 'utf8'), before, 'THP mode restored');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /ALARM_SEEN redis_fork_thp_on\.thp\.redis_fork_thp WARNING/);
    assert.match(run.stdout, /ALARM_SEEN redis_fork_thp_off\.thp\.redis_fork_thp CLEAR/);
    assert.match(run.stdout, /THP_OFF_PROCESS THP_enabled:\s+0/, 'disable-thp yes opted out under always');
    assert.match(readFileSync(join(lateDir, 'thp_on.log'), 'utf8'), /transparent huge pages/i, "Redis's own THP warning");
  });

  it('the container case: save_fit CRITICAL from an earlier save, an unrelated OOM kill ignored, then the save child OOM-killed', { skip: cgroupSkip ?? containerSkipReason() }, async () => {
    lab = new ContainerLab('e2e');
    const ct = await lab.start({ port: late.container, args: ['--oom-score-adj', 'yes', '--save', '3600 1', '--stop-writes-on-bgsave-error', 'yes'] });
    const benchmark = (n: number) => ['-p', String(late.container), '-t', 'set', '-r', '1000000', '-d', '100', '-n', String(n), '-P', '32', '-q'];
    const fill = spawnSync('redis-benchmark', benchmark(1_000_000), { encoding: 'utf8', timeout: 120_000 });
    assert.equal(fill.status, 0, fill.stderr);
    const client = ct.client();
    // An earlier save, with writes during it: its copy-on-write is what the next save will need again.
    let overwrite = spawn('redis-benchmark', benchmark(3_000_000), { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 300));
      await client.bgsave();
      await waitForBgsave(client);
    } finally {
      overwrite.kill('SIGKILL');
    }
    const cow = Number(/rdb_last_cow_size:(\d+)/.exec(await client.info('persistence'))?.[1]);
    assert.ok(cow > 24 * 1024 * 1024, `the earlier save copied ${cow} bytes`);
    // Its RDB's page cache would count in the cgroup's usage; a fresh container has none.
    rmSync(join(ct.dir, 'dump.rdb'), { force: true });
    const usage = Number(readFileSync(join(ct.cgroupDir, 'memory.usage_in_bytes'), 'utf8'));
    const limit = usage + 24 * 1024 * 1024;
    writeFileSync(join(ct.cgroupDir, 'memory.limit_in_bytes'), String(limit));
    await waitForAlarm(netdata, 'redis_fork_container.save_fit', 'redis_fork_save_fit', ['CRITICAL'], 40_000);

    // An OOM kill in an unrelated cgroup next to it: not this Redis's.
    const unrelated = join(lab.parentDir, 'unrelated');
    mkdirSync(unrelated);
    try {
      writeFileSync(join(unrelated, 'memory.limit_in_bytes'), String(32 * 1024 * 1024));
      const hog = spawnSync('sh', ['-c', `echo $$ > ${unrelated}/cgroup.procs && exec tail /dev/zero`], { timeout: 30_000 });
      assert.equal(hog.signal, 'SIGKILL', 'the hog is OOM-killed');
    } finally {
      await waitFor(() => readFileSync(join(unrelated, 'cgroup.procs'), 'utf8').trim() === '', 5000, 'the hog cgroup to empty').catch(() => undefined);
      rmdirSync(unrelated);
    }
    await new Promise((r) => setTimeout(r, 12_000));
    const afterUnrelated = (await alarms(netdata))['redis_fork_container.oom_kills.redis_fork_oom_kill'];
    assert.equal(afterUnrelated?.status, 'CLEAR', `an unrelated kill does not raise it (${JSON.stringify(afterUnrelated)})`);

    overwrite = spawn('redis-benchmark', benchmark(3_000_000), { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 300));
      await client.bgsave();
      await waitFor(() => /Background saving terminated by signal 9/.test(ct.log()), 60_000, 'the save child to be OOM-killed');
    } finally {
      overwrite.kill('SIGKILL');
    }
    await waitForBgsave(client);
    assert.equal(await client.ping().catch((e: Error) => e.message).then((r) => (/MISCONF/.test(r) || r === 'PONG' ? 'alive' : r)), 'alive', 'Redis itself survives');
    await waitForAlarm(netdata, 'redis_fork_container.bgsave_status', 'redis_fork_bgsave_failed', ['CRITICAL']);
    await waitForAlarm(netdata, 'redis_fork_container.oom_kills', 'redis_fork_oom_kill', ['CRITICAL']);
    const charted = await eventualValue(netdata, 'redis_fork_container.memory', 'limit', (v) => v !== null && Math.abs(v - limit) / limit < 1e-6);
    assert.ok(charted !== null && Math.abs(charted - limit) / limit < 1e-6, `memory chart limit ${charted} vs cgroup limit ${limit}`);
    const doctor = await runPlugin(['doctor', '--url', ct.url, '--json'], { timeoutMs: 30_000 });
    const oom = (JSON.parse(doctor.stdout) as { instances: { findings: { check: string; summary: string }[] }[] }).instances[0]?.findings.find((f) => f.check === 'oom_kill');
    assert.match(oom?.summary ?? '', /save child was killed/, 'the doctor names the victim');
  });
});
