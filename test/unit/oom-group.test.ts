/**
 * What an OOM kill of the save child takes with it: the whole cgroup where memory.oom.group is 1
 * (cgroup v2; Kubernetes 1.28+ sets it on every container), or the whole systemd service under its
 * default OOMPolicy=stop. A v2 tree laid out as the kernel lays it out: this machine's memory
 * controller is on cgroup v1, which has no memory.oom.group, so no real-kernel test here.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { HostFs } from '../../src/host/read.ts';
import { hostTree } from '../helpers/fixtures.ts';
import { readCgroup } from '../../src/host/cgroup.ts';
import { diagnose, type DoctorInput } from '../../src/analysis/doctor.ts';
import { parseRedisInfo } from '../../src/redis/info.ts';
import type { CgroupFacts } from '../../src/host/facts.ts';

const MiB = 1024 * 1024;

describe('memory.oom.group on the path (cgroup v2)', () => {
  const { root, put, remove } = hostTree('oomgroup');
  after(remove);
  const pod = '/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice';
  const container = `${pod}/cri-containerd-${'c'.repeat(64)}.scope`;
  put('/proc/9/cgroup', `0::${container}\n`);
  put('/sys/fs/cgroup/cgroup.controllers', 'cpu memory pids\n');
  for (const [path, group] of [[container, '1'], [pod, '0'], ['/kubepods.slice/kubepods-burstable.slice', '0'], ['/kubepods.slice', '0']] as const) {
    put(`/sys/fs/cgroup${path}/memory.max`, path === container ? `${512 * MiB}\n` : 'max\n');
    put(`/sys/fs/cgroup${path}/memory.current`, `${100 * MiB}\n`);
    put(`/sys/fs/cgroup${path}/memory.oom.group`, `${group}\n`);
  }
  put(`/sys/fs/cgroup${container}/memory.events`, 'low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n');

  it('finds the highest cgroup with the group set, with the location, and carries it within the minute', () => {
    const fs = new HostFs(root);
    const first = readCgroup(fs, 9, undefined, 0)!;
    assert.equal(first.oomGroupPath, container);
    put(`/sys/fs/cgroup${pod}/memory.oom.group`, '1\n');
    assert.equal(readCgroup(fs, 9, first, 1000)?.oomGroupPath, container, 'not read again within the minute');
    assert.equal(readCgroup(fs, 9, first, 60_000)?.oomGroupPath, pod, 'the highest one, read again after a minute');
    put(`/sys/fs/cgroup${pod}/memory.oom.group`, '0\n');
  });
});

function input(cgroup: Partial<CgroupFacts>, podUid?: string): DoctorInput {
  const info = parseRedisInfo(`redis_version:7.2.4\r\nrole:master\r\nused_memory:${300 * MiB}\r\nused_memory_rss:${400 * MiB}\r\nrdb_last_bgsave_status:err\r\nrdb_last_cow_size:${200 * MiB}\r\naof_enabled:0\r\n`);
  const facts: CgroupFacts = { version: 2, path: '/x', mount: '/sys/fs/cgroup', memoryLimit: 512 * MiB, limitPath: '/x', memoryUsage: 450 * MiB, oomKills: 1, ...cgroup };
  return {
    job: 'main',
    locality: 'local',
    container: podUid ? { runtime: 'containerd', id: 'c'.repeat(64), name: undefined, podUid } : undefined,
    snapshot: {
      state: 'up',
      info,
      config: { save: '3600 1', 'stop-writes-on-bgsave-error': 'yes' },
      kernel: undefined,
      process: { pid: 9, vmRss: 400 * MiB, vmData: 500 * MiB, vmStk: 0, vmSize: 600 * MiB, thpEnabled: false, effectiveUid: 999, anonHugePages: 0, charge: undefined, cgroup: facts },
      recentOomKills: { cgroup: 1, host: 0 },
      cowEstimate: 200 * MiB,
    },
  };
}
const findings = (i: DoctorInput) => diagnose(i).findings;

describe('doctor: what an OOM kill of the save child takes with it', () => {
  it('in a pod with memory.oom.group: Redis dies with the child; the kubelet setting that stops it', () => {
    const d = findings(input({ path: '/kubepods.slice/pod/cri-containerd-c.scope', oomGroupPath: '/kubepods.slice/pod/cri-containerd-c.scope' }, 'pod-1'));
    const fit = d.find((f) => f.check === 'save_fit')!;
    assert.equal(fit.verdict, 'critical');
    assert.match(fit.summary, /memory\.oom\.group is 1 on \/kubepods\.slice\/pod\/cri-containerd-c\.scope: when the OOM killer picks the save child, the kernel kills every process there with it, Redis included/);
    assert.ok(fit.remedy.some((r) => /singleProcessOOMKill: true/.test(r)), fit.remedy.join(' | '));
    const oom = d.find((f) => f.check === 'oom_kill')!;
    assert.match(oom.summary, /Redis included/);
  });

  it('in a systemd service on cgroup v2: the default OOMPolicy=stop stops Redis; the drop-in that keeps it', () => {
    const d = findings(input({ path: '/system.slice/redis-server.service' }));
    const oom = d.find((f) => f.check === 'oom_kill')!;
    assert.match(oom.summary, /systemd service redis-server\.service: under systemd's default OOMPolicy=stop/);
    assert.ok(oom.remedy.includes('systemctl edit redis-server.service   # [Service] OOMPolicy=continue keeps Redis running when its save child is OOM-killed'));
  });

  it('says nothing of it where only the chosen process dies (cgroup v1, or v2 without the group)', () => {
    for (const cgroup of [{ version: 1 as const, path: '/system.slice/redis-server.service' }, { path: '/docker/abc' }]) {
      const d = findings(input(cgroup));
      assert.doesNotMatch(d.find((f) => f.check === 'oom_kill')!.summary, /oom\.group|OOMPolicy/);
      assert.doesNotMatch(d.find((f) => f.check === 'save_fit')!.summary, /oom\.group|OOMPolicy/);
    }
  });
});
