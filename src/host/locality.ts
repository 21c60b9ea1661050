/**
 * Is this Redis running on this host, and which process is it? Only then do the host's kernel
 * facts apply to it (SPEC §3, §11).
 *
 * Local when exactly one process under this host's /proc is that server: a Redis-compatible name,
 * the innermost pid of its `NSpid:` line equal to INFO's process_id (a host process has one value,
 * one in a container one per PID namespace), an age that agrees with uptime_in_seconds, and a LISTEN
 * socket on INFO's tcp_port (or the job's unix socket) in its own network namespace. Or when the job
 * names a `pid`, pidfile or `container`. A unix socket is local even when its process is unknown.
 * Where no age agrees (the wall clock was set since Redis started: INFO's uptime is wall-clock time),
 * the one such process that holds the far end of the plugin's own TCP connection.
 */
import type { JobConfig } from '../config/types.ts';
import type { RedisInfo } from '../redis/info.ts';
import { HostFs, readProcessAgeSeconds, readProcessCommand } from './read.ts';
import { parseInteger, parseProcessStatus } from './parse.ts';
import { containerMatches, describeContainer, type ContainerIdentity } from './container.ts';
import { ContainerNames } from './container-names.ts';
import { holdsConnectionFrom, listensOn, readListeningSockets, readServerProcess, scanServerProcesses, type ServerProcess } from './server-processes.ts';

export type Locality = 'local' | 'remote';

export interface LocalityDecision {
  locality: Locality;
  /** The Redis process on this host, when identified. */
  pid: number | undefined;
  reason: string;
  /** The container it runs in, when it runs in one. */
  container?: ContainerIdentity | undefined;
  /** Several processes fit and nothing in the job chooses: listed for the doctor. */
  candidates?: ServerProcess[] | undefined;
}

const SERVER_NAME = /redis|valkey|keydb|dragonfly/i;

/** Pure: does a process of this age agree with INFO's uptime? */
export function ageMatches(ageSeconds: number | undefined, uptimeSeconds: number | undefined): boolean {
  if (ageSeconds === undefined || uptimeSeconds === undefined) return false;
  // INFO rounds down and the collection takes time; a pid reused by another server would differ by far more.
  return Math.abs(ageSeconds - uptimeSeconds) <= Math.max(5, uptimeSeconds * 0.001);
}

/** Pure: does the process look like the server INFO described? */
export function matchesServer(command: string | undefined, ageSeconds: number | undefined, uptimeSeconds: number | undefined): boolean {
  if (command === undefined || !SERVER_NAME.test(command)) return false;
  return ageMatches(ageSeconds, uptimeSeconds);
}

/** Scans `/proc` at most once per iteration, however many jobs need a decision in it. */
export class ServerProcessScanner {
  private last: { at: number; servers: ServerProcess[] } | undefined;
  readonly names: ContainerNames;
  constructor(private readonly fs: HostFs) {
    this.names = new ContainerNames(fs);
  }

  scan(now: number): ServerProcess[] {
    if (this.last?.at !== now) this.last = { at: now, servers: scanServerProcesses(this.fs, this.names) };
    return this.last.servers;
  }
}

export function decideLocality(
  fs: HostFs,
  job: JobConfig,
  info: RedisInfo,
  scanner: ServerProcessScanner = new ServerProcessScanner(fs),
  now: number = Date.now(),
  /** This side of the plugin's TCP connection to the server, where known. */
  client?: { address: string; port: number },
): LocalityDecision {
  const named = pidNamedByJob(fs, job);
  if (named !== undefined) {
    return { locality: 'local', pid: named.pid, reason: named.reason, container: readServerProcess(fs, named.pid, scanner.names)?.container };
  }
  const processId = info.processId;
  if (job.container === undefined && processId !== undefined && processId > 0) {
    const hostProcess = isHostProcess(fs, processId);
    if (hostProcess && matchesServer(readProcessCommand(fs, processId), readProcessAgeSeconds(fs, processId), info.uptimeSeconds)) {
      return { locality: 'local', pid: processId, reason: `process ${processId} on this host is this server` };
    }
  }
  const wanted = job.container;
  let candidates: ServerProcess[];
  if (wanted !== undefined) {
    candidates = scanner.scan(now).filter((s) => containerMatches(wanted, s.container) && (processId === undefined || s.innermostPid === processId));
    if (candidates.length === 0) {
      return { locality: 'remote', pid: undefined, reason: `no Redis process in a container matching "${wanted}" on this host` };
    }
  } else {
    candidates = processId === undefined
      ? []
      : scanner.scan(now).filter((s) => s.innermostPid === processId && s.inContainer && ageMatches(s.ageSeconds, info.uptimeSeconds));
  }
  const target = job.target.kind === 'unix' ? { path: job.target.path } : info.tcpPort ? { port: info.tcpPort } : undefined;
  if (target !== undefined) candidates = candidates.filter((s) => listensOn(readListeningSockets(fs, s.pid), target));

  const only = candidates.length === 1 ? candidates[0] : undefined;
  if (only !== undefined) {
    return {
      locality: 'local',
      pid: only.pid,
      reason: `process ${only.pid} on this host (pid ${only.innermostPid} in ${describeContainer(only.container)}) is this server`,
      container: only.container,
    };
  }
  if (candidates.length > 1) {
    return {
      locality: 'local',
      pid: undefined,
      reason: `${candidates.length} processes on this host fit this server (${candidates.map((c) => `${c.pid} in ${describeContainer(c.container)}`).join('; ')}); set pid: or container: in the job to choose`,
      candidates,
    };
  }
  // INFO's uptime is wall-clock time and a process's age is not: where the wall clock was set or
  // stepped since Redis started (NTP at boot, a VM resumed or migrated) no age agrees. A process that
  // holds the far end of the plugin's own connection is this server, whatever the clocks say.
  const serverPort = info.tcpPort;
  if (candidates.length === 0 && client !== undefined && processId !== undefined && serverPort !== undefined && serverPort > 0 && job.target.kind !== 'unix') {
    const holding = scanner
      .scan(now)
      .filter((s) => s.innermostPid === processId && (wanted === undefined || containerMatches(wanted, s.container)) && holdsConnectionFrom(fs, s.pid, serverPort, client));
    const found = holding.length === 1 ? holding[0] : undefined;
    if (found !== undefined) {
      return {
        locality: 'local',
        pid: found.pid,
        reason: `process ${found.pid} on this host${found.inContainer ? ` (pid ${found.innermostPid} in ${describeContainer(found.container)})` : ''} holds this plugin's connection; its age (${Math.round(found.ageSeconds ?? 0)} s) disagrees with INFO's uptime (${info.uptimeSeconds ?? '?'} s): the wall clock moved since Redis started`,
        container: found.container,
      };
    }
  }
  if (job.target.kind === 'unix') {
    return { locality: 'local', pid: undefined, reason: 'unix socket (its process could not be identified)' };
  }
  return { locality: 'remote', pid: undefined, reason: 'no matching process on this host' };
}

/** `pid:` as a number, or a pidfile read under the host root (NETDATA_HOST_PREFIX, --host-root). */
function pidNamedByJob(fs: HostFs, job: JobConfig): { pid: number; reason: string } | undefined {
  if (typeof job.pid === 'number') return { pid: job.pid, reason: `pid ${job.pid} set in the job` };
  if (job.pid === 'auto') return undefined;
  const pid = parseInteger(fs.read(job.pid));
  return pid === undefined ? undefined : { pid, reason: `pid ${pid} from ${job.pid}` };
}

/** A process of this /proc's own PID namespace (NSpid has one value, or the kernel predates NSpid). */
function isHostProcess(fs: HostFs, pid: number): boolean {
  const status = fs.read(`/proc/${pid}/status`);
  if (status === undefined) return false;
  return parseProcessStatus(status).nsPids.length <= 1;
}

/**
 * Netdata in a container sees other containers' processes only through a /proc of the host's PID
 * namespace (SPEC §11). `/proc/self` in a procfs resolves only for a reader inside that procfs's
 * PID namespace or one below it: it does not resolve where the prefix holds no /proc, or the /proc
 * of another container.
 */
export function hostPidsVisible(fs: HostFs): boolean {
  return fs.root === '' || fs.readLink('/proc/self') !== undefined;
}
