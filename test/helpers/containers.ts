/**
 * Containers made the way runtimes make them, for real: a memory cgroup (laid out as Docker's
 * cgroupfs driver lays it out, `/…/docker/<64 hex id>`), a new PID namespace in which redis-server
 * is PID 1 with its own /proc, and optionally a network namespace joined to the host by a veth
 * pair. Everything a lab makes is removed by `cleanup()`; processes are stopped by pid.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { waitFor } from './redis-server.ts';

const MEMORY_V1 = '/sys/fs/cgroup/memory';

/** Why containers cannot be made here, or undefined when they can. */
export function containerSkipReason(options: { netns?: boolean } = {}): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (cgroups and namespaces)';
  if (!existsSync(`${MEMORY_V1}/cgroup.procs`)) return `no cgroup v1 memory controller at ${MEMORY_V1}`;
  try {
    accessSync(MEMORY_V1, constants.W_OK);
  } catch {
    return `${MEMORY_V1} is read-only here`;
  }
  try {
    execFileSync('unshare', ['--pid', '--fork', '--kill-child', '--mount-proc', 'true'], { stdio: 'ignore' });
  } catch {
    return 'unshare --pid --mount-proc does not work here';
  }
  if (options.netns) {
    try {
      execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
    } catch {
      return '`ip netns` does not work here';
    }
  }
  return undefined;
}

export interface LabContainer {
  id: string;
  shortId: string;
  /** redis-server's pid on the host (it is 1 inside). */
  hostPid: number;
  host: string;
  port: number;
  url: string;
  cgroupDir: string;
  dir: string;
  client(): Redis;
  log(): string;
  stop(): Promise<void>;
}

export interface ContainerOptions {
  port: number;
  /** Memory limit on the container's own cgroup. */
  limitBytes?: number;
  /** Its own network namespace, reached from the host at this address. */
  netns?: boolean;
  args?: string[];
}

let labCount = 0;

export class ContainerLab {
  /** Parent of every container cgroup of this lab: a Kubernetes-like pod level where a limit may sit. */
  readonly parentDir: string;
  private readonly cleanups: { cgroupDir: string; stop: () => Promise<void> }[] = [];
  private readonly namespaces: string[] = [];
  private readonly subnet = 100 + ((process.pid + labCount++) % 100);

  constructor(name = 'lab') {
    this.parentDir = join(MEMORY_V1, `redisfork-${name}-${process.pid}`);
    mkdirSync(join(this.parentDir, 'docker'), { recursive: true });
  }

  setParentLimit(bytes: number): void {
    writeFileSync(join(this.parentDir, 'memory.limit_in_bytes'), String(bytes));
  }

  async start(options: ContainerOptions): Promise<LabContainer> {
    const id = randomBytes(32).toString('hex');
    const cgroupDir = join(this.parentDir, 'docker', id);
    mkdirSync(cgroupDir);
    if (options.limitBytes !== undefined) writeFileSync(join(cgroupDir, 'memory.limit_in_bytes'), String(options.limitBytes));
    const dir = mkdtempSync(join(tmpdir(), 'redisfork-ct-'));
    let host = '127.0.0.1';
    let netnsPrefix: string[] = [];
    if (options.netns) {
      const index = this.namespaces.length;
      const ns = `rf${process.pid % 100000}n${this.subnet}x${index}`;
      const hostSide = `rfh${process.pid % 10000}x${index}`;
      const inside = `rfc${process.pid % 10000}x${index}`;
      execFileSync('ip', ['netns', 'add', ns]);
      this.namespaces.push(ns);
      // 10.254.S.(4i+1) on the host side, .(4i+2) inside: addresses of our own namespace only.
      const base = 4 * index;
      host = `10.254.${this.subnet}.${base + 2}`;
      const run = (...args: string[]) => execFileSync('ip', args);
      run('link', 'add', hostSide, 'type', 'veth', 'peer', 'name', inside);
      run('link', 'set', inside, 'netns', ns);
      run('addr', 'add', `10.254.${this.subnet}.${base + 1}/30`, 'dev', hostSide);
      run('link', 'set', hostSide, 'up');
      run('netns', 'exec', ns, 'ip', 'addr', 'add', `${host}/30`, 'dev', inside);
      run('netns', 'exec', ns, 'ip', 'link', 'set', inside, 'up');
      run('netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up');
      netnsPrefix = ['ip', 'netns', 'exec', ns];
    }
    const logFile = join(dir, 'redis.log');
    const bind = options.netns ? '0.0.0.0' : '127.0.0.1';
    const redisArgs = [
      '--port', String(options.port), '--bind', bind, '--protected-mode', 'no', '--dir', dir, '--logfile', logFile,
      '--save', '', '--appendonly', 'no', '--daemonize', 'no', ...(options.args ?? []),
    ];
    const script = `echo $$ > ${cgroupDir}/cgroup.procs && exec "$@"`;
    const child: ChildProcess = spawn('sh', ['-c', script, 'sh', ...netnsPrefix, 'unshare', '--pid', '--fork', '--kill-child', '--mount-proc', 'redis-server', ...redisArgs], {
      stdio: 'ignore',
      detached: true,
    });
    const unsharePid = child.pid ?? 0;
    let hostPid = 0;
    // Registered before anything can fail, so that cleanup() stops it whatever happens next.
    const stop = async () => {
      for (const client of clients) client.disconnect();
      for (const pid of [unsharePid, hostPid]) {
        if (pid <= 0) continue;
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await waitFor(() => !existsSync(`/proc/${hostPid}`) && !existsSync(`/proc/${unsharePid}`), 5000, 'the container to stop').catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    };
    this.cleanups.push({ cgroupDir, stop });
    const clients: Redis[] = [];
    await waitFor(() => {
      const children = readFileSync(`/proc/${unsharePid}/task/${unsharePid}/children`, 'utf8').trim();
      hostPid = Number(children.split(/\s+/)[0] ?? 0);
      return hostPid > 0 && /redis-server/.test(readFileSync(`/proc/${hostPid}/comm`, 'utf8'));
    }, 10_000, 'redis-server to start in its PID namespace');
    const connect = () => {
      const client = new Redis({ host, port: options.port, protocol: 2, maxRetriesPerRequest: 1, enableReadyCheck: false, lazyConnect: true, retryStrategy: () => null } as never);
      client.on('error', () => undefined);
      clients.push(client);
      return client;
    };
    await waitFor(async () => {
      const probe = connect();
      try {
        await probe.connect();
        return (await probe.ping()) === 'PONG';
      } catch (err) {
        return /NOAUTH/.test(String(err));
      } finally {
        probe.disconnect();
      }
    }, 10_000, `redis-server at ${host}:${options.port}`);
    const container: LabContainer = {
      id,
      shortId: id.slice(0, 12),
      hostPid,
      host,
      port: options.port,
      url: `redis://${host}:${options.port}`,
      cgroupDir,
      dir,
      client: () => {
        const client = connect();
        void client.connect().catch(() => undefined);
        return client;
      },
      log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
      stop,
    };
    return container;
  }

  /** Stops every container, removes the cgroups (deepest first), the namespaces and their veths. */
  async cleanup(): Promise<void> {
    for (const { stop } of this.cleanups) await stop();
    for (const { cgroupDir } of this.cleanups) removeCgroup(cgroupDir);
    removeCgroup(join(this.parentDir, 'docker'));
    removeCgroup(this.parentDir);
    for (const ns of this.namespaces) {
      // Deleting the namespace deletes the veth end inside it, and with it the pair.
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
  }
}

/** Removes a cgroup (of any controller); anything of ours still in it (a test that failed half-way) is killed first. */
export function removeCgroup(dir: string): void {
  if (!existsSync(dir)) return;
  for (const pid of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // gone
    }
  }
  for (let attempt = 0; attempt < 50 && existsSync(dir); attempt++) {
    try {
      rmdirSync(dir);
    } catch {
      execFileSync('sleep', ['0.1']);
    }
  }
}
