/**
 * A fork refused by a pids limit, on the real kernel: redis-server in a cgroup v1 pids hierarchy
 * laid out as systemd lays out a service (`<slice>/redis-N.service`), with the limit on the service
 * or on its parent (as a Kubernetes pod's). At the limit the kernel refuses BGSAVE's fork with
 * EAGAIN; the plugin charts the room and the refusal, and the doctor names the limit and its knob.
 * The cgroups are removed in `after`, whatever happened.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { accessSync, chownSync, constants, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedis, waitFor, type RedisServer } from '../helpers/redis-server.ts';
import { RunningPlugin, runPlugin } from '../helpers/plugin.ts';
import { displayValue, parseProtocol } from '../helpers/protocol.ts';
import { canWrite, holdProcSys } from '../helpers/host-state.ts';
import { removeCgroup } from '../helpers/containers.ts';
import { HostFs, readKernelFacts } from '../../src/host/read.ts';
import { diagnose } from '../../src/analysis/doctor.ts';
import { parseRedisInfo } from '../../src/redis/info.ts';

const PIDS_V1 = '/sys/fs/cgroup/pids';

function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (cgroups)';
  if (!existsSync(`${PIDS_V1}/cgroup.procs`)) return `no cgroup v1 pids controller at ${PIDS_V1}`;
  try {
    accessSync(PIDS_V1, constants.W_OK);
  } catch {
    return `${PIDS_V1} is read-only here`;
  }
  return undefined;
}
const skip = skipReason();
if (skip) console.log(`SKIP tasks limit: ${skip}`);

interface Finding {
  check: string;
  verdict: string;
  summary: string;
  remedy: string[];
}

describe('a fork refused by the pids limit (real kernel, cgroup v1)', { skip }, () => {
  const slice = join(PIDS_V1, `redisfork-tasks-${process.pid}.slice`);
  const service = join(slice, 'redis-1.service');
  let redis: RedisServer;

  const current = () => Number(readFileSync(join(service, 'pids.current'), 'utf8'));
  const doctor = async (): Promise<Finding[]> => {
    const run = await runPlugin(['doctor', '--url', redis.url, '--json'], { timeoutMs: 30_000 });
    assert.equal(run.code === 0 || run.code === 1 || run.code === 2, true, run.stderr);
    return (JSON.parse(run.stdout) as { instances: { findings: Finding[] }[] }).instances[0]!.findings;
  };

  before(async () => {
    mkdirSync(service, { recursive: true });
    redis = await startRedis();
    writeFileSync(join(service, 'cgroup.procs'), String(redis.pid));
    await redis.client().call('DEBUG', 'POPULATE', '10000');
  });
  after(async () => {
    await redis?.stop();
    for (const dir of [service, slice]) removeCgroup(dir);
  });

  it('with room: charts the tasks against the limit of its service, and the doctor finds it fine', async () => {
    writeFileSync(join(service, 'pids.max'), String(current() + 50));
    const run = await runPlugin(['--once', '--url', redis.url], { timeoutMs: 30_000 });
    assert.equal(run.code, 0, run.stderr);
    const out = parseProtocol(run.stdout);
    const chart = [...out.charts.keys()].find((id) => id.endsWith('.tasks'));
    assert.ok(chart, 'a tasks chart');
    const tasks = displayValue(out, chart, 'tasks');
    assert.ok(typeof tasks === 'number' && tasks >= 2, `tasks ${tasks}: redis-server's threads`);
    assert.equal(displayValue(out, chart, 'limit'), tasks + 50);
    const finding = (await doctor()).find((f) => f.check === 'tasks_limit');
    assert.equal(finding?.verdict, 'ok', JSON.stringify(finding));
  });

  it('at the limit of the parent: BGSAVE is refused with EAGAIN, the refusal is charted, the doctor names the limit', async () => {
    writeFileSync(join(service, 'pids.max'), 'max');
    const plugin = new RunningPlugin(['1', '--url', redis.url]);
    try {
      await plugin.waitForStdout((s) => (s.match(/^BEGIN \S+\.tasks /gm) ?? []).length >= 2);
      // The slice (a pod) is full: one more task anywhere below it is refused.
      writeFileSync(join(slice, 'pids.max'), String(current()));
      await redis.client().call('BGSAVE').catch(() => undefined);
      await waitFor(() => /fork: Resource temporarily unavailable/.test(redis.log()), 5000, 'Redis to log the refused fork');
      const info = String(await redis.client().call('INFO', 'persistence'));
      assert.match(info, /rdb_last_bgsave_status:err/);
      const from = plugin.stdout.length;
      await plugin.waitForStdout((s) => /SET 'refused' = 1/.test(s.slice(from)) && /SET 'limit' = \d+/.test(s.slice(from)), 10_000);
      const out = parseProtocol(plugin.stdout);
      const chart = [...out.charts.keys()].find((id) => id.endsWith('.tasks'))!;
      assert.equal(displayValue(out, chart, 'refused'), 0 + 1, 'one refusal in the window');
      assert.equal(displayValue(out, chart, 'limit'), displayValue(out, chart, 'tasks'), 'no room left under the slice limit');
    } finally {
      plugin.child.stdin.end();
      await plugin.exited;
    }
    const finding = (await doctor()).find((f) => f.check === 'tasks_limit');
    assert.equal(finding?.verdict, 'critical', JSON.stringify(finding));
    assert.match(finding!.summary, new RegExp(`pids limit of ${slice.replace(/\./g, '\\.')} is reached`));
    assert.match(finding!.summary, /Resource temporarily unavailable/);
    assert.match(finding!.summary, /likely why the last save failed/);
    assert.match(finding!.remedy[0] ?? '', /systemctl set-property redisfork-tasks-\d+\.slice TasksMax=\d+/);

    // Room again: the same save succeeds.
    writeFileSync(join(slice, 'pids.max'), 'max');
    await redis.client().call('BGSAVE');
    await waitFor(async () => /rdb_last_bgsave_status:ok/.test(String(await redis.client().call('INFO', 'persistence'))), 10_000, 'the save to succeed with room');
  });
});

const THREADS_MAX = '/proc/sys/kernel/threads-max';
const hostSkip = process.getuid?.() !== 0 ? 'needs root (kernel.threads-max)' : !canWrite(THREADS_MAX) ? `${THREADS_MAX} is not writable here` : undefined;
if (hostSkip) console.log(`SKIP host-wide task limit: ${hostSkip}`);

describe('a fork refused by the host-wide task limit (real kernel)', { skip: hostSkip }, () => {
  let redis: RedisServer;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis?.stop();
  });

  it('at kernel.threads-max BGSAVE is refused with EAGAIN, and the doctor names that limit', async () => {
    const client = redis.client();
    await client.ping();
    // For the milliseconds of the window nothing on the host can fork: everything here runs in this
    // process, over a connection already open, and the files are read in place.
    const seen = await holdProcSys(THREADS_MAX, '20', async () => {
      const reply = await client.call('BGSAVE').then(String, (err: Error) => err.message);
      const infoText = String(await client.call('INFO', 'persistence'));
      return { reply, infoText, kernel: readKernelFacts(new HostFs()) };
    });
    assert.match(seen.infoText, /rdb_last_bgsave_status:err/, `BGSAVE answered ${seen.reply}`);
    await waitFor(() => /fork: Resource temporarily unavailable/.test(redis.log()), 5000, 'Redis to log the refused fork');
    assert.equal(seen.kernel.hostTasks?.threadsMax, 20);
    const finding = diagnose({ job: 'main', locality: 'local', snapshot: { state: 'up', info: parseRedisInfo(seen.infoText), config: undefined, kernel: seen.kernel, process: undefined } }).findings.find((f) => f.check === 'host_tasks');
    assert.equal(finding?.verdict, 'critical', JSON.stringify(finding));
    assert.match(finding!.summary, /more than kernel\.threads-max allows \(20\): every fork on the host fails with EAGAIN/);
    assert.notEqual(readFileSync(THREADS_MAX, 'utf8').trim(), '20', 'threads-max put back');
    await client.call('BGSAVE');
    await waitFor(async () => /rdb_last_bgsave_status:ok/.test(String(await client.call('INFO', 'persistence'))), 10_000, 'the save to succeed again');
  });
});

const NOBODY = 65534;
function nprocSkip(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (to start Redis as another user and set its limit)';
  for (const tool of ['setpriv', 'prlimit']) {
    try {
      execFileSync(tool, ['--version'], { stdio: 'ignore' });
    } catch {
      return `no ${tool} here (util-linux)`;
    }
  }
  return undefined;
}
const userSkip = nprocSkip();
if (userSkip) console.log(`SKIP RLIMIT_NPROC: ${userSkip}`);

/** Tasks (threads) whose real uid is `uid`, counted here independently of the plugin. */
function tasksOf(uid: number): number {
  let tasks = 0;
  for (const name of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const status = readFileSync(`/proc/${name}/status`, 'utf8');
      if (Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]) === uid) tasks += Number(/^Threads:\s+(\d+)/m.exec(status)?.[1]);
    } catch {
      // gone
    }
  }
  return tasks;
}

describe('a fork refused by RLIMIT_NPROC of Redis\'s user (real kernel)', { skip: userSkip }, () => {
  let redis: RedisServer;
  let dir: string;
  let limit: number;
  const fillers: ChildProcess[] = [];
  const asNobody = ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups'];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'redisfork-nproc-'));
    chownSync(dir, NOBODY, NOBODY);
    // Room for Redis's own threads at start; other processes of the same user fill the rest later
    // (the count is the user's, not the process's: root here has no CAP_SYS_RESOURCE to lower the
    // limit of a running process of another user, so it is set at start).
    limit = tasksOf(NOBODY) + 20;
    redis = await startRedis({ dir, wrapper: ['prlimit', `--nproc=${limit}:${limit}`, ...asNobody] });
  });
  after(async () => {
    for (const filler of fillers) filler.kill('SIGKILL');
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const doctor = async () => {
    const run = await runPlugin(['doctor', '--url', redis.url, '--json'], { timeoutMs: 30_000 });
    return { run, finding: (JSON.parse(run.stdout) as { instances: { findings: Finding[] }[] }).instances[0]!.findings.find((f) => f.check === 'user_tasks') };
  };

  it('when other processes of its user fill the limit, BGSAVE is refused with EAGAIN and the doctor names the limit', async () => {
    const client = redis.client();
    await client.ping();
    assert.equal((await doctor()).finding, undefined, 'nothing to say with room');
    while (tasksOf(NOBODY) < limit) {
      fillers.push(spawn(asNobody[0]!, [...asNobody.slice(1), 'sleep', '300'], { stdio: 'ignore' }));
      await waitFor(() => fillers.at(-1)!.pid !== undefined && existsSync(`/proc/${fillers.at(-1)!.pid}`), 5000, 'a filler process');
      await new Promise((r) => setTimeout(r, 20));
    }
    await client.call('BGSAVE').catch(() => undefined);
    await waitFor(() => /fork: Resource temporarily unavailable/.test(redis.log()), 5000, 'Redis to log the refused fork');
    const { run, finding } = await doctor();
    assert.equal(finding?.verdict, 'critical', run.stdout.slice(0, 3000));
    assert.match(finding!.summary, new RegExp(`uid ${NOBODY}\\) has \\d+ tasks, (as many as|more than) Redis's "Max processes" allows \\(${limit}\\)`));
    assert.match(finding!.remedy[0] ?? '', new RegExp(`^prlimit --pid ${redis.pid} --nproc=`));

    for (const filler of fillers.splice(0)) filler.kill('SIGKILL');
    await waitFor(() => tasksOf(NOBODY) < limit, 5000, 'the fillers to end');
    await client.call('BGSAVE');
    await waitFor(async () => /rdb_last_bgsave_status:ok/.test(String(await client.call('INFO', 'persistence'))), 10_000, 'the save to succeed with room');
  });
});
