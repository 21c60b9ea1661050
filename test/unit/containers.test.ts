/**
 * The pure parts of container support: identity from cgroup paths (every runtime, both drivers,
 * v1 and v2), the network tables, endpoint choice, the copy-on-write estimate, and the hierarchical
 * memory limit on cgroup trees laid out as Docker and Kubernetes lay them out.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { containerFromCgroupPath, containerMatches, unescapeSystemdUnit, type ContainerIdentity } from '../../src/host/container.ts';
import { ContainerNames, parseDockerName } from '../../src/host/container-names.ts';
import { parseFibTrieLocalAddresses, parseListeningTcp, parseListeningUnix, parseTcpPeers, socketInode } from '../../src/host/parse-net.ts';
import { chooseEndpoint, discoveredJobName } from '../../src/host/discovery.ts';
import { cgroupAncestry, readCgroup } from '../../src/host/cgroup.ts';
import { HostFs } from '../../src/host/read.ts';
import { hostTree } from '../helpers/fixtures.ts';
import { parseProcessStatus } from '../../src/host/parse.ts';
import { CowHistory, saveNeeds } from '../../src/analysis/save-fit.ts';
import { decideLocality } from '../../src/host/locality.ts';
import { parseRedisUrl } from '../../src/config/url.ts';
import type { JobConfig } from '../../src/config/types.ts';
import { parseRedisInfo } from '../../src/redis/info.ts';

const ID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90';
const POD = '0d6f1c2e-3b4a-4c5d-8e9f-0a1b2c3d4e5f';
const POD_SYSTEMD = POD.replace(/-/g, '_');

describe('container identity from the cgroup path', () => {
  const cases: [string, string | undefined, Partial<ContainerIdentity>][] = [
    ['docker cgroupfs', `/docker/${ID}`, { runtime: 'docker', id: ID }],
    ['docker systemd', `/system.slice/docker-${ID}.scope`, { runtime: 'docker', id: ID }],
    ['podman cgroupfs (seen under real Podman)', `/libpod_parent/libpod-${ID}`, { runtime: 'podman', id: ID }],
    ['podman systemd', `/machine.slice/libpod-${ID}.scope/container`, { runtime: 'podman', id: ID }],
    ['k8s cgroupfs, runtime not in the path', `/kubepods/burstable/pod${POD}/${ID}`, { runtime: 'kubernetes', id: ID, podUid: POD }],
    ['k8s cgroupfs, guaranteed QoS', `/kubepods/pod${POD}/${ID}`, { runtime: 'kubernetes', id: ID, podUid: POD }],
    ['k8s systemd containerd', `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${POD_SYSTEMD}.slice/cri-containerd-${ID}.scope`, { runtime: 'containerd', id: ID, podUid: POD }],
    ['k8s systemd cri-o', `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${POD_SYSTEMD}.slice/crio-${ID}.scope`, { runtime: 'cri-o', id: ID, podUid: POD }],
    ['k8s systemd docker', `/kubepods.slice/kubepods-pod${POD_SYSTEMD}.slice/docker-${ID}.scope`, { runtime: 'docker', id: ID, podUid: POD }],
    ['lxc', '/lxc/web01', { runtime: 'lxc', name: 'web01' }],
    ['lxc 4+', '/lxc.payload.web01', { runtime: 'lxc', name: 'web01' }],
    ['nspawn', '/machine.slice/machine-redis\\x2dbox.scope', { runtime: 'systemd-nspawn', name: 'redis-box' }],
  ];
  for (const [name, path, expected] of cases) {
    it(name, () => {
      const found = containerFromCgroupPath(path);
      assert.ok(found, `${path} is a container`);
      for (const [key, value] of Object.entries(expected)) assert.equal(found[key as keyof typeof found], value, `${key} of ${path}`);
    });
  }
  it('is no container for host services and the root', () => {
    for (const path of ['/', '/system.slice/redis-server.service', '/user.slice/user-0.slice/session-1.scope', `/docker-${ID.slice(0, 12)}.scope`, undefined]) {
      assert.equal(containerFromCgroupPath(path), undefined, String(path));
    }
  });
  it('matches a job\'s container: by id prefix or name', () => {
    const docker = containerFromCgroupPath(`/docker/${ID}`)!;
    assert.equal(containerMatches(ID.slice(0, 12), docker), true);
    assert.equal(containerMatches('a1b', docker), false, 'too short to be an id');
    assert.equal(containerMatches('ffff', docker), false);
    assert.equal(containerMatches('cache', { ...docker, name: 'cache' }), true);
    assert.equal(unescapeSystemdUnit('a\\x2db'), 'a-b');
    assert.equal(parseDockerName('{"ID":"x","Name":"/redis-cache","State":{}}'), 'redis-cache');
    assert.equal(parseDockerName('not json'), undefined);
  });
  it('reads a Docker container\'s name once from its config.v2.json under the host root', () => {
    const root = mkdtempSync(join(tmpdir(), 'redisfork-dockername-'));
    try {
      mkdirSync(join(root, `var/lib/docker/containers/${ID}`), { recursive: true });
      writeFileSync(join(root, `var/lib/docker/containers/${ID}/config.v2.json`), '{"Name":"/redis-cache"}');
      const names = new ContainerNames(new HostFs(root));
      const docker = containerFromCgroupPath(`/docker/${ID}`)!;
      assert.equal(names.nameOf(docker), 'redis-cache');
      rmSync(join(root, 'var'), { recursive: true });
      assert.equal(names.nameOf(docker), 'redis-cache', 'kept, not read again');
      assert.equal(new ContainerNames(new HostFs(root)).nameOf(docker), undefined, 'no file, no name');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('network namespace tables', () => {
  it('reads LISTEN sockets of /proc/net/tcp and tcp6, addresses in host byte order', () => {
    const tcp = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0100007F:18EB 00000000:0000 0A 00000000:00000000 00:00000000 00000000   101        0 41234 1 0000000000000000 100 0 0 10 0',
      '   1: 00000000:1B59 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 41300 1 0000000000000000 100 0 0 10 0',
      '   2: 0100007F:18EB 0100007F:A1B2 01 00000000:00000000 00:00000000 00000000   101        0 41999 1 0000000000000000 20 4 30 10 -1',
      '   3: 024DFE0A:1B5A 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 42000 1 0000000000000000 100 0 0 10 0',
    ].join('\n');
    assert.deepEqual(parseListeningTcp(tcp), [
      { address: '127.0.0.1', port: 6379, inode: 41234 },
      { address: '0.0.0.0', port: 7001, inode: 41300 },
      { address: '10.254.77.2', port: 7002, inode: 42000 },
    ]);
    const tcp6 = [
      '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 00000000000000000000000000000000:18EB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000   101        0 41235 1 0000000000000000 100 0 0 10 0',
      '   1: 00000000000000000000000001000000:18EB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000   101        0 41236 1 0000000000000000 100 0 0 10 0',
      '   2: 0000000000000000FFFF00000100007F:18EB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000   101        0 41237 1 0000000000000000 100 0 0 10 0',
    ].join('\n');
    assert.deepEqual(parseListeningTcp(tcp6).map((s) => s.address), ['::', '::1', '::ffff:127.0.0.1']);
  });

  it('reads listening unix sockets with a path, and the namespace\'s own addresses', () => {
    const unix = [
      'Num       RefCount Protocol Flags    Type St Inode Path',
      '0000000000000000: 00000002 00000000 00010000 0001 01 51000 /run/redis/redis.sock',
      '0000000000000000: 00000002 00000000 00010000 0001 01 51001 @/containerd-shim/abc',
      '0000000000000000: 00000003 00000000 00000000 0001 03 51002 /run/redis/redis.sock',
    ].join('\n');
    assert.deepEqual(parseListeningUnix(unix), [{ path: '/run/redis/redis.sock', inode: 51000 }]);
    const fib = [
      'Main:', '  +-- 0.0.0.0/0 3 0 5', '     |-- 0.0.0.0', '        /0 universe UNICAST',
      '     +-- 10.254.77.0/30 2 0 2', '        |-- 10.254.77.0', '           /30 link UNICAST',
      '        |-- 10.254.77.2', '           /32 host LOCAL', '     |-- 127.0.0.1', '        /32 host LOCAL',
      'Local:', '     |-- 10.254.77.2', '        /32 host LOCAL',
    ].join('\n');
    assert.deepEqual(parseFibTrieLocalAddresses(fib), ['10.254.77.2']);
    assert.equal(socketInode('socket:[51000]'), 51000);
    assert.equal(socketInode('/dev/null'), undefined);
  });

  it('chooses how to reach a server: loopback in our namespace, its own address in another, else its socket', () => {
    const base = { unix: [], namespaceAddresses: ['10.254.77.2'], rootPath: '/proc/42/root' };
    assert.deepEqual(chooseEndpoint({ ...base, sameNetns: true, tcp: [{ address: '0.0.0.0', port: 6379, inode: 1 }] }), { url: 'redis://127.0.0.1:6379', port: 6379 });
    assert.deepEqual(chooseEndpoint({ ...base, sameNetns: true, tcp: [{ address: '::', port: 6380, inode: 1 }] }), { url: 'redis://[::1]:6380', port: 6380 });
    assert.deepEqual(chooseEndpoint({ ...base, sameNetns: false, tcp: [{ address: '0.0.0.0', port: 7002, inode: 1 }] }), { url: 'redis://10.254.77.2:7002', port: 7002 });
    assert.deepEqual(chooseEndpoint({ ...base, sameNetns: false, tcp: [{ address: '127.0.0.1', port: 7002, inode: 1 }], unix: [{ path: '/data/redis.sock', inode: 2 }] }), { url: 'unix:///proc/42/root/data/redis.sock', port: undefined });
    assert.equal(chooseEndpoint({ ...base, sameNetns: false, tcp: [{ address: '127.0.0.1', port: 7002, inode: 1 }] }), undefined);
    assert.equal(discoveredJobName(containerFromCgroupPath(`/docker/${ID}`), 6379), `${ID.slice(0, 12)}_6379`);
    assert.equal(discoveredJobName({ ...containerFromCgroupPath(`/docker/${ID}`)!, name: 'redis-cache' }, 6379), 'redis_cache_6379');
    assert.equal(discoveredJobName(undefined, 6380), 'local_6380');
  });

  it('reads NSpid: the pid in every PID namespace, the container\'s last', () => {
    const status = parseProcessStatus('Name:\tredis-server\nPPid:\t12600\nNSpid:\t12619\t1\nNSpgid:\t12619\t1\nVmRSS:\t 1000 kB\n');
    assert.deepEqual(status.nsPids, [12619, 1]);
    assert.equal(status.parentPid, 12600);
    assert.deepEqual(parseProcessStatus('Name:\tredis-server\nNSpid:\t777\n').nsPids, [777]);
  });
});

describe('the next save\'s copy-on-write estimate', () => {
  const info = (fields: string) => parseRedisInfo(fields.replace(/ /g, '\r\n'));
  it('keeps the largest of the last few forks: the peak while a child runs, the last sizes after', () => {
    const history = new CowHistory();
    assert.equal(history.observe(info('total_forks:0 rdb_last_cow_size:0')), 0);
    assert.equal(history.observe(info('total_forks:1 rdb_bgsave_in_progress:1 current_cow_peak:50000000 current_cow_size:20000000')), 50_000_000);
    assert.equal(history.observe(info('total_forks:1 rdb_bgsave_in_progress:0 rdb_last_cow_size:40000000')), 50_000_000, 'the peak seen stays');
    for (let fork = 2; fork <= 5; fork++) assert.equal(history.observe(info(`total_forks:${fork} rdb_last_cow_size:1000000`)), 50_000_000);
    assert.equal(history.observe(info('total_forks:6 rdb_last_cow_size:1000000')), 1_000_000, 'fork 1 is older than the last five');
    assert.equal(history.observe(info('total_forks:0 rdb_last_cow_size:0')), 0, 'a restart starts over');
    assert.equal(saveNeeds(100, 50), 150);
    assert.equal(saveNeeds(100, undefined), undefined);
  });
});

describe('the memory limit that applies, on cgroup trees as runtimes lay them out', () => {
  const roots: string[] = [];
  after(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));
  const tree = (files: Record<string, string>): HostFs => {
    const root = mkdtempSync(join(tmpdir(), 'redisfork-cgtree-'));
    roots.push(root);
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), content);
    }
    return new HostFs(root);
  };
  const V1_NONE = '9223372036854771712\n';

  it('v2, Kubernetes systemd driver: the pod\'s limit is smaller than the container\'s', () => {
    const pod = `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${POD_SYSTEMD}.slice`;
    const ctr = `${pod}/cri-containerd-${ID}.scope`;
    const fs = tree({
      '/sys/fs/cgroup/cgroup.controllers': 'cpu memory\n',
      '/proc/9/cgroup': `0::${ctr}\n`,
      [`/sys/fs/cgroup/kubepods.slice/memory.max`]: 'max\n',
      [`/sys/fs/cgroup/kubepods.slice/kubepods-burstable.slice/memory.max`]: 'max\n',
      [`/sys/fs/cgroup${pod}/memory.max`]: '268435456\n',
      [`/sys/fs/cgroup${pod}/memory.current`]: '200000000\n',
      [`/sys/fs/cgroup${pod}/memory.high`]: 'max\n',
      [`/sys/fs/cgroup${ctr}/memory.max`]: '536870912\n',
      [`/sys/fs/cgroup${ctr}/memory.high`]: '500000000\n',
      [`/sys/fs/cgroup${ctr}/memory.current`]: '150000000\n',
      [`/sys/fs/cgroup${ctr}/memory.swap.max`]: '0\n',
      [`/sys/fs/cgroup${ctr}/memory.events`]: 'low 0\nhigh 3\nmax 9\noom 1\noom_kill 1\noom_group_kill 0\n',
    });
    assert.deepEqual(readCgroup(fs, 9), {
      version: 2, path: ctr, mount: '/sys/fs/cgroup', memoryLimit: 268435456, limitPath: pod, memoryUsage: 200000000,
      memoryHigh: 500000000, swapLimit: 0, oomKills: 1,
    });
  });

  it('v2, Docker systemd driver: its own limit', () => {
    const ctr = `/system.slice/docker-${ID}.scope`;
    const fs = tree({
      '/sys/fs/cgroup/cgroup.controllers': 'memory\n',
      '/proc/9/cgroup': `0::${ctr}\n`,
      '/sys/fs/cgroup/system.slice/memory.max': 'max\n',
      [`/sys/fs/cgroup${ctr}/memory.max`]: '314572800\n',
      [`/sys/fs/cgroup${ctr}/memory.current`]: '104857600\n',
      [`/sys/fs/cgroup${ctr}/memory.events`]: 'oom 0\noom_kill 0\n',
    });
    const facts = readCgroup(fs, 9);
    assert.equal(facts?.memoryLimit, 314572800);
    assert.equal(facts?.limitPath, ctr);
    assert.equal(containerFromCgroupPath(facts?.path)?.runtime, 'docker');
  });

  it('v1, Kubernetes cgroupfs driver: the container shows no limit, the pod has one', () => {
    const pod = `/kubepods/burstable/pod${POD}`;
    const ctr = `${pod}/${ID}`;
    const fs = tree({
      '/proc/9/cgroup': `12:pids:${ctr}\n4:memory:${ctr}\n1:name=systemd:${ctr}\n`,
      '/sys/fs/cgroup/memory/memory.limit_in_bytes': V1_NONE,
      '/sys/fs/cgroup/memory/kubepods/memory.limit_in_bytes': V1_NONE,
      '/sys/fs/cgroup/memory/kubepods/burstable/memory.limit_in_bytes': V1_NONE,
      [`/sys/fs/cgroup/memory${pod}/memory.limit_in_bytes`]: '1073741824\n',
      [`/sys/fs/cgroup/memory${pod}/memory.usage_in_bytes`]: '900000000\n',
      [`/sys/fs/cgroup/memory${ctr}/memory.limit_in_bytes`]: V1_NONE,
      [`/sys/fs/cgroup/memory${ctr}/memory.usage_in_bytes`]: '800000000\n',
      [`/sys/fs/cgroup/memory${ctr}/memory.memsw.limit_in_bytes`]: V1_NONE,
      [`/sys/fs/cgroup/memory${ctr}/memory.oom_control`]: 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n',
    });
    const facts = readCgroup(fs, 9);
    assert.equal(facts?.memoryLimit, 1073741824);
    assert.equal(facts?.limitPath, pod);
    assert.equal(facts?.memoryUsage, 900000000, 'the usage the pod limit is compared with');
    assert.equal(facts?.oomKills, 2, 'kills in its own cgroup');
    assert.equal(facts?.swapLimit, null);
  });

  it('v1 with no limit anywhere: none', () => {
    const fs = tree({
      '/proc/9/cgroup': `4:memory:/docker/${ID}\n`,
      '/sys/fs/cgroup/memory/memory.limit_in_bytes': V1_NONE,
      '/sys/fs/cgroup/memory/docker/memory.limit_in_bytes': V1_NONE,
      [`/sys/fs/cgroup/memory/docker/${ID}/memory.limit_in_bytes`]: V1_NONE,
      [`/sys/fs/cgroup/memory/docker/${ID}/memory.usage_in_bytes`]: '1000\n',
    });
    assert.equal(readCgroup(fs, 9)?.memoryLimit, null);
    assert.deepEqual(cgroupAncestry('/a/b'), ['/a/b', '/a', '/']);
  });
});

describe('locality across PID namespaces, on a /proc tree', () => {
  const ID2 = 'ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100';
  const { root, put: write, remove } = hostTree('proctree');
  after(remove);
  const listen = (port: number) => `  sl  local_address rem_address   st\n   0: 00000000:${port.toString(16).toUpperCase().padStart(4, '0')} 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 ${port} 1\n`;
  // Two containers whose Redis are both PID 1, 100 s old, sharing one network namespace (a pod)
  // where both 6379 and 6380 listen; their fds are not readable, so the namespace's table is all there is.
  write('/proc/uptime', '1000.00 1900.00\n');
  for (const [pid, id] of [[101, ID], [102, ID2]] as const) {
    write(`/proc/${pid}/comm`, 'redis-server\n');
    write(`/proc/${pid}/status`, `Name:\tredis-server\nPPid:\t50\nNSpid:\t${pid}\t1\n`);
    write(`/proc/${pid}/stat`, `${pid} (redis-server) S 50 ${'0 '.repeat(15)}1 0 90000 0\n`);
    write(`/proc/${pid}/cgroup`, `4:memory:/docker/${id}\n`);
    write(`/proc/${pid}/net/tcp`, listen(6379) + listen(6380).split('\n')[1] + '\n');
    mkdirSync(join(root, `/sys/fs/cgroup/memory/docker/${id}`), { recursive: true });
  }
  const fs = new HostFs(root);
  const job = (extra: Partial<JobConfig> = {}): JobConfig => ({
    name: 'j', displayUrl: 'redis://127.0.0.1:6379', target: parseRedisUrl('redis://127.0.0.1:6379').target, username: undefined,
    password: undefined, passwordSource: 'none', db: 0, tls: undefined, timeoutMs: 1000, pid: 'auto', ...extra,
  });
  const info = (tcpPort: number) => ({ ...parseRedisInfo(''), processId: 1, uptimeSeconds: 100, tcpPort });

  it('lists every process that fits when nothing tells them apart: local, no process, the candidates named', () => {
    const decision = decideLocality(fs, job(), info(6379));
    assert.equal(decision.locality, 'local');
    assert.equal(decision.pid, undefined);
    assert.deepEqual(decision.candidates?.map((c) => c.pid), [101, 102]);
    assert.match(decision.reason, /set pid: or container:/);
  });
  it('takes the one the job names with container: (id prefix)', () => {
    const decision = decideLocality(fs, job({ container: ID2.slice(0, 12) }), info(6379));
    assert.equal(decision.pid, 102);
    assert.equal(decision.container?.id, ID2);
  });
  it('is remote when no process there listens on INFO\'s tcp_port, or its age disagrees', () => {
    assert.equal(decideLocality(fs, job(), info(7000)).locality, 'remote');
    assert.equal(decideLocality(fs, job(), { ...info(6379), uptimeSeconds: 5000 }).locality, 'remote');
    assert.equal(decideLocality(fs, job({ container: 'nosuch' }), info(6379)).locality, 'remote');
  });
});

describe('locality when the wall clock moved since Redis started (its age disagrees with INFO\'s uptime)', () => {
  const { root, put: write, remove } = hostTree('clocktree');
  after(remove);
  // Two containers' Redis, PID 1 on 6379 each in a network namespace of its own, 100 s old; the
  // plugin's connection (10.88.0.1:40000 -> 10.88.0.7:6379) is in the second one's table only.
  const listen = '   0: 00000000:18EB 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 501 1\n';
  const established = '   1: 0700580A:18EB 0100580A:9C40 01 00000000:00000000 00:00000000 00000000     0        0 777 1\n';
  write('/proc/uptime', '1000.00 1900.00\n');
  for (const pid of [201, 202]) {
    write(`/proc/${pid}/comm`, 'redis-server\n');
    write(`/proc/${pid}/status`, `Name:\tredis-server\nPPid:\t50\nNSpid:\t${pid}\t1\n`);
    write(`/proc/${pid}/stat`, `${pid} (redis-server) S 50 ${'0 '.repeat(15)}1 0 90000 0\n`);
    write(`/proc/${pid}/cgroup`, `4:memory:/docker/${String(pid).repeat(16).slice(0, 64)}\n`);
    write(`/proc/${pid}/net/tcp`, `  sl  local_address rem_address   st\n${listen}${pid === 202 ? established : ''}`);
  }
  const fs = new HostFs(root);
  const job: JobConfig = {
    name: 'j', displayUrl: 'redis://10.88.0.7:6379', target: parseRedisUrl('redis://10.88.0.7:6379').target, username: undefined,
    password: undefined, passwordSource: 'none', db: 0, tls: undefined, timeoutMs: 1000, pid: 'auto',
  };
  const stepped = { ...parseRedisInfo(''), processId: 1, uptimeSeconds: 400, tcpPort: 6379 };

  it('reads the peers of a port\'s ESTABLISHED sockets', () => {
    assert.deepEqual(parseTcpPeers(`  sl  local_address rem_address   st\n${listen}${established}`, 6379), [{ address: '10.88.0.1', port: 40000, inode: 777 }]);
  });
  it('takes the process that holds the plugin\'s connection, and only it', () => {
    const decision = decideLocality(fs, job, stepped, undefined, 0, { address: '10.88.0.1', port: 40000 });
    assert.equal(decision.locality, 'local');
    assert.equal(decision.pid, 202);
    assert.match(decision.reason, /holds this plugin's connection; its age \(100 s\) disagrees with INFO's uptime \(400 s\)/);
  });
  it('stays remote without that evidence: no connection known, or another one', () => {
    assert.equal(decideLocality(fs, job, stepped).locality, 'remote');
    assert.equal(decideLocality(fs, job, stepped, undefined, 0, { address: '10.88.0.1', port: 40001 }).locality, 'remote');
  });
});
