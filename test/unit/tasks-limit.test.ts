/**
 * The pids limit a fork must stay under: read from a real cgroup v1 capture and from a v2 tree laid
 * out as the kernel lays it out, and what the doctor says of it.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { HostFs } from '../../src/host/read.ts';
import { readTaskLimit } from '../../src/host/cgroup-pids.ts';
import { parseLoadavgTasks, parseMaxProcesses, parseProcCgroup, parseTaskOwner } from '../../src/host/parse.ts';
import { readHostTasks } from '../../src/host/read.ts';
import { diagnose, type DoctorInput } from '../../src/analysis/doctor.ts';
import { instanceValues } from '../../src/analysis/metrics.ts';
import { parseRedisInfo } from '../../src/redis/info.ts';
import type { HostTaskFacts, KernelFacts, TaskLimitFacts } from '../../src/host/facts.ts';
import { FIXTURES, hostTree } from '../helpers/fixtures.ts';

describe('pids cgroup facts', () => {
  it('finds the v1 pids path, apart from the memory one', () => {
    const membership = parseProcCgroup('8:pids:/system.slice/redis-server.service\n4:memory:/system.slice/redis-server.service\n0::/\n');
    assert.equal(membership.v1PidsPath, '/system.slice/redis-server.service');
    assert.equal(parseProcCgroup('12:cpu,pids:/docker/abc\n').v1PidsPath, '/docker/abc');
    assert.equal(parseProcCgroup('0::/docker/abc\n').v1PidsPath, undefined);
  });

  it('reads a real v1 capture: the tighter limit of the slice applies, the refusal counted in the service', () => {
    // Captured (scripts/capture-host.sh) after BGSAVE was refused under a slice limit of 5; the
    // limit was then set to 7 (the service's own is systemd's default TasksMax, 4915).
    const facts = readTaskLimit(new HostFs(`${FIXTURES}host/redis-7.0-pids-v1`), 5120, undefined, 0)!;
    assert.deepEqual(
      { version: facts.version, path: facts.path, levels: facts.levels, limitPath: facts.limitPath, limit: facts.limit, tasks: facts.tasks, refused: facts.refused },
      { version: 1, path: '/redisfork-capture.slice/redis-server.service', levels: ['/redisfork-capture.slice/redis-server.service', '/redisfork-capture.slice'], limitPath: '/redisfork-capture.slice', limit: 7, tasks: 5, refused: 1 },
    );
  });

  describe('cgroup v2', () => {
    const { root, put, remove } = hostTree('pids-v2');
    after(remove);
    const pod = '/sys/fs/cgroup/kubepods.slice/kubepods-pod1.slice';
    put('/proc/7/cgroup', '0::/kubepods.slice/kubepods-pod1.slice/cri-containerd-abc.scope\n');
    put('/sys/fs/cgroup/cgroup.controllers', 'cpu memory pids\n');
    put(`${pod}/pids.max`, '100\n');
    put(`${pod}/pids.current`, '97\n');
    put(`${pod}/pids.events`, 'max 3\n');
    put(`${pod}/cri-containerd-abc.scope/pids.max`, 'max\n');
    put(`${pod}/cri-containerd-abc.scope/pids.current`, '9\n');
    put(`${pod}/cri-containerd-abc.scope/pids.events`, 'max 0\n');
    put('/sys/fs/cgroup/kubepods.slice/pids.max', 'max\n');
    put('/sys/fs/cgroup/kubepods.slice/pids.current', '400\n');

    it('takes the pod limit and counts refusals where v2 counts them: in the cgroup whose limit refused', () => {
      const facts = readTaskLimit(new HostFs(root), 7, undefined, 0)!;
      assert.equal(facts.version, 2);
      assert.equal(facts.limitPath, '/kubepods.slice/kubepods-pod1.slice');
      assert.equal(facts.limit, 100);
      assert.equal(facts.tasks, 97);
      assert.equal(facts.refused, 3);
    });

    it('reads a limit set since the last second, but not the membership, within the minute', () => {
      const fs = new HostFs(root);
      const first = readTaskLimit(fs, 7, undefined, 0)!;
      put(`${pod}/cri-containerd-abc.scope/pids.max`, '10\n');
      put('/proc/7/cgroup', '0::/elsewhere\n');
      const next = readTaskLimit(fs, 7, first, 1000)!;
      assert.equal(next.limitPath, '/kubepods.slice/kubepods-pod1.slice/cri-containerd-abc.scope', 'the container is now the tighter (1 left)');
      assert.equal(next.limit, 10);
      assert.equal(next.tasks, 9);
      assert.equal(next.refused, 0, 'v2 counts in the cgroup whose limit applies');
      assert.equal(readTaskLimit(fs, 7, first, 60_000)?.path, '/elsewhere', 'the membership read again after a minute');
      put(`${pod}/cri-containerd-abc.scope/pids.max`, 'max\n');
      put('/proc/7/cgroup', '0::/kubepods.slice/kubepods-pod1.slice/cri-containerd-abc.scope\n');
    });

    it('has no limit and no count for a process in the root cgroup', () => {
      put('/proc/8/cgroup', '0::/\n');
      const facts = readTaskLimit(new HostFs(root), 8, undefined, 0)!;
      assert.deepEqual({ limit: facts.limit, tasks: facts.tasks, refused: facts.refused, levels: facts.levels }, { limit: null, tasks: undefined, refused: undefined, levels: [] });
    });
  });
});

const info = (bgsave: 'ok' | 'err') => parseRedisInfo(`redis_version:7.0.15\r\nrole:master\r\nused_memory:1000000\r\nused_memory_rss:2000000\r\nrdb_last_bgsave_status:${bgsave}\r\naof_enabled:0\r\n`);

function doctorInput(tasks: Partial<TaskLimitFacts>, over: { recent?: number; bgsave?: 'ok' | 'err'; container?: DoctorInput['container'] } = {}): DoctorInput {
  const facts: TaskLimitFacts = { version: 1, path: '/system.slice/redis-server.service', mount: '/sys/fs/cgroup/pids', levels: [], limitPath: '/system.slice/redis-server.service', limit: 100, tasks: 10, refused: 0, ...tasks };
  return {
    job: 'main',
    locality: 'local',
    container: over.container,
    snapshot: {
      state: 'up',
      info: info(over.bgsave ?? 'ok'),
      config: undefined,
      kernel: undefined,
      process: { pid: 42, vmRss: 2000000, vmData: 3000000, vmStk: 0, vmSize: 3000000, thpEnabled: false, effectiveUid: 998, anonHugePages: 0, charge: undefined, cgroup: undefined, tasks: facts },
      recentRefusedTasks: over.recent ?? 0,
    },
  };
}
const finding = (input: DoctorInput) => diagnose(input).findings.find((f) => f.check === 'tasks_limit');

describe('tasks chart values', () => {
  it('charts the tightest level and the refusals of the window, and nothing for a process in the root cgroup', () => {
    assert.deepEqual(instanceValues(doctorInput({ levels: ['/system.slice/redis-server.service'], tasks: 12, limit: 100 }, { recent: 1 }).snapshot).get('tasks'), { tasks: 12, limit: 100, refused: 1 });
    assert.deepEqual(instanceValues(doctorInput({ levels: ['/system.slice/redis-server.service'], limit: null, tasks: 12 }).snapshot).get('tasks'), { tasks: 12, limit: undefined, refused: 0 });
    assert.equal(instanceValues(doctorInput({ levels: [], limit: null, tasks: undefined }).snapshot).has('tasks'), false);
  });
});

describe('doctor: room for a fork under the pids limit', () => {
  it('is fine with room, and silent where no limit applies and none refused', () => {
    assert.equal(finding(doctorInput({}))?.verdict, 'ok');
    assert.equal(finding(doctorInput({ limit: null, tasks: 10 })), undefined);
  });

  it('is critical at the limit, names the EAGAIN Redis logs, ties it to a failed save, and gives the systemd knob', () => {
    const f = finding(doctorInput({ tasks: 100 }, { bgsave: 'err' }))!;
    assert.equal(f.verdict, 'critical');
    assert.match(f.summary, /pids limit of \/sys\/fs\/cgroup\/pids\/system\.slice\/redis-server\.service is reached: 100 tasks of 100/);
    assert.match(f.summary, /fork: Resource temporarily unavailable/);
    assert.match(f.summary, /likely why the last save failed/);
    assert.equal(f.remedy[0], 'systemctl set-property redis-server.service TasksMax=200');
  });

  it('is critical after a refusal in the window even with room again; a warning for one long ago', () => {
    assert.equal(finding(doctorInput({ refused: 2 }, { recent: 2 }))?.verdict, 'critical');
    const old = finding(doctorInput({ refused: 2 }, { recent: 0 }))!;
    assert.equal(old.verdict, 'warning');
    assert.match(old.summary, /refused 2 task\(s\) since the cgroup was made/);
  });

  it('warns under 10% of room, with the runtime knob of a container or a pod', () => {
    const docker = finding(doctorInput({ tasks: 95, limitPath: '/docker/' + 'a'.repeat(64) }, { container: { runtime: 'docker', id: 'a'.repeat(64), name: undefined, podUid: undefined } }))!;
    assert.equal(docker.verdict, 'warning');
    assert.match(docker.summary, /Only 5 task\(s\) of room/);
    assert.equal(docker.remedy[0], `docker update --pids-limit 200 ${'a'.repeat(12)}`);
    const pod = finding(doctorInput({ tasks: 95 }, { container: { runtime: 'containerd', id: 'b'.repeat(64), name: undefined, podUid: '1-2' } }))!;
    assert.match(pod.remedy[0] ?? '', /pod's PID limit \(the kubelet's podPidsLimit\) to at least 200/);
  });
});

describe('the host-wide task limits', () => {
  it('reads the host\'s tasks from /proc/loadavg and both limits, here on the real host', () => {
    assert.equal(parseLoadavgTasks('0.02 0.03 0.00 1/84 2454\n'), 84);
    assert.equal(parseLoadavgTasks('garbage'), undefined);
    const facts = readHostTasks(new HostFs())!;
    assert.ok(facts.tasks !== undefined && facts.tasks > 1, `tasks ${facts.tasks}`);
    assert.ok(facts.threadsMax !== undefined && facts.threadsMax > facts.tasks, `threads-max ${facts.threadsMax}`);
    assert.ok(facts.pidMax !== undefined && facts.pidMax >= 301, `pid_max ${facts.pidMax}`);
  });

  const withHost = (hostTasks: HostTaskFacts) => {
    const input = doctorInput({ limit: null, refused: 0 });
    input.snapshot.kernel = { hostTasks } as KernelFacts;
    return diagnose(input).findings.find((f) => f.check === 'host_tasks');
  };

  it('is silent with room, warns near pid_max with its sysctl, and is critical at threads-max', () => {
    assert.equal(withHost({ tasks: 400, threadsMax: 190_000, pidMax: 4_194_304 }), undefined);
    const pid = withHost({ tasks: 30_000, threadsMax: 190_000, pidMax: 32_768 })!;
    assert.equal(pid.verdict, 'warning');
    assert.match(pid.summary, /Only 2767 task\(s\) of room are left on the host under kernel\.pid_max \(30000 of 32767\)/);
    assert.equal(pid.remedy[0], 'sysctl -w kernel.pid_max=4194304   # the most a 64-bit kernel allows');
    const threads = withHost({ tasks: 5000, threadsMax: 5000, pidMax: 4_194_304 })!;
    assert.equal(threads.verdict, 'critical');
    assert.match(threads.summary, /as many as kernel\.threads-max allows \(5000\): every fork on the host fails with EAGAIN/);
  });
});

describe('RLIMIT_NPROC of Redis\'s user', () => {
  it('parses the owner of a task and the soft "Max processes"', () => {
    assert.deepEqual(parseTaskOwner('Name:\tredis-server\nUid:\t999\t999\t999\t999\nThreads:\t6\nCapEff:\t0000000001000000\n'), { realUid: 999, threads: 6, capEff: 0x1000000n });
    assert.equal(parseTaskOwner('Name:\tx\n'), undefined);
    assert.equal(parseMaxProcesses('Limit                     Soft Limit           Hard Limit           Units\nMax processes             4096                 8192                 processes\n'), 4096);
    assert.equal(parseMaxProcesses('Max processes             unlimited            unlimited            processes\n'), null);
  });

  const withUser = (userTasks: DoctorInput['userTasks']) => {
    const input = doctorInput({ limit: null, refused: 0 });
    input.userTasks = userTasks;
    input.pid = 4242;
    return diagnose(input).findings.find((f) => f.check === 'user_tasks');
  };

  it('is silent with room, for an unlimited or exempt user; critical at the limit with prlimit', () => {
    assert.equal(withUser({ uid: 999, limit: 4096, tasks: 100, exempt: false }), undefined);
    assert.equal(withUser({ uid: 999, limit: null, tasks: undefined, exempt: false }), undefined);
    assert.equal(withUser({ uid: 0, limit: 10, tasks: undefined, exempt: true }), undefined);
    const full = withUser({ uid: 999, limit: 64, tasks: 64, exempt: false })!;
    assert.equal(full.verdict, 'critical');
    assert.match(full.summary, /uid 999\) has 64 tasks, as many as Redis's "Max processes" allows \(64\)/);
    assert.equal(full.remedy[0], 'prlimit --pid 4242 --nproc=128:128   # takes effect at once');
    assert.equal(withUser({ uid: 999, limit: 100, tasks: 95, exempt: false })?.verdict, 'warning');
  });
});
