/**
 * Finds the Redis-compatible server processes on this host — host processes and those in
 * containers — from `/proc`, with what ties each to a Redis seen over the network: its pid in
 * every PID namespace, its age, its container, its network namespace and the sockets it listens
 * on there (SPEC §3, §11). A scan reads a few small files per process: it is done when a locality
 * decision or autodetection needs it, never every second.
 */
import { join } from 'node:path';
import type { HostFs } from './read.ts';
import { readProcessAgeSeconds } from './read.ts';
import { parseProcessStatus } from './parse.ts';
import { locateMemoryCgroup } from './cgroup.ts';
import { containerFromCgroupPath, type ContainerIdentity } from './container.ts';
import { ContainerNames } from './container-names.ts';
import {
  parseListeningTcp,
  parseListeningUnix,
  parseTcpPeers,
  socketInode,
  type ListeningTcpSocket,
  type ListeningUnixSocket,
} from './parse-net.ts';

/** The server names of SPEC §11; Dragonfly never forks but is still a Redis-compatible server. */
const SERVER_COMM = /^(redis-server|valkey-server|keydb-server|dragonfly)$/;
const SERVER_COMMAND = /(?:^|\/)(redis-server|valkey-server|keydb-server|dragonfly)(?:\s|$)/;

export interface ServerProcess {
  /** The pid in this host's /proc. */
  pid: number;
  /** The pid in its own (innermost) PID namespace: what INFO's process_id says. */
  innermostPid: number;
  /** More than one PID namespace level: it runs in a container. */
  inContainer: boolean;
  parentPid: number | undefined;
  name: string;
  ageSeconds: number | undefined;
  container: ContainerIdentity | undefined;
  /** `net:[inode]` of its network namespace. */
  netns: string | undefined;
}

export function isServerName(comm: string | undefined, command: string | undefined): boolean {
  return (comm !== undefined && SERVER_COMM.test(comm)) || (command !== undefined && SERVER_COMMAND.test(command));
}

/** One process as a server candidate, or undefined when it is not a Redis-compatible server. */
export function readServerProcess(fs: HostFs, pid: number, names: ContainerNames = new ContainerNames(fs)): ServerProcess | undefined {
  const comm = fs.read(`/proc/${pid}/comm`)?.trim();
  // The cheap test first: comm is 16 bytes; the command line only when comm hints at a server.
  if (comm === undefined || !/redis|valkey|keydb|dragonfly/i.test(comm)) return undefined;
  const command = SERVER_COMM.test(comm) ? undefined : fs.read(`/proc/${pid}/cmdline`)?.split('\0')[0];
  if (!isServerName(comm, command)) return undefined;
  const statusText = fs.read(`/proc/${pid}/status`);
  if (statusText === undefined) return undefined;
  const status = parseProcessStatus(statusText);
  const nsPids = status.nsPids.length > 0 ? status.nsPids : [pid];
  const location = locateMemoryCgroup(fs, pid);
  const container = containerFromCgroupPath(location?.path ?? readAnyCgroupPath(fs, pid));
  return {
    pid,
    innermostPid: nsPids[nsPids.length - 1] ?? pid,
    inContainer: nsPids.length > 1,
    parentPid: status.parentPid,
    name: comm,
    ageSeconds: readProcessAgeSeconds(fs, pid),
    container: container && { ...container, name: names.nameOf(container) },
    netns: fs.readLink(`/proc/${pid}/ns/net`),
  };
}

/** The v2 path, or the first v1 one: enough to tell the container when no memory controller is mounted. */
function readAnyCgroupPath(fs: HostFs, pid: number): string | undefined {
  for (const line of (fs.read(`/proc/${pid}/cgroup`) ?? '').split('\n')) {
    const path = line.split(':').slice(2).join(':').trim();
    if (path.startsWith('/') && path !== '/') return path;
  }
  return undefined;
}

/**
 * Every Redis-compatible server process under this /proc. Fork children (a BGSAVE child has the
 * server's name too) are left out: their parent is a server as well.
 */
export function scanServerProcesses(fs: HostFs, names: ContainerNames = new ContainerNames(fs)): ServerProcess[] {
  const found: ServerProcess[] = [];
  for (const entry of fs.list('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    const server = readServerProcess(fs, pid, names);
    if (server) found.push(server);
  }
  const pids = new Set(found.map((s) => s.pid));
  return found.filter((s) => s.parentPid === undefined || !pids.has(s.parentPid));
}

/** The socket inodes a process holds, or undefined when its fds cannot be read (no ptrace access). */
export function readSocketInodes(fs: HostFs, pid: number): Set<number> | undefined {
  const dir = `/proc/${pid}/fd`;
  const entries = fs.list(dir);
  if (entries.length === 0 && !fs.exists(join(dir, '0'))) return undefined;
  const inodes = new Set<number>();
  for (const fd of entries) {
    const target = fs.readLink(`${dir}/${fd}`);
    const inode = target === undefined ? undefined : socketInode(target);
    if (inode !== undefined) inodes.add(inode);
  }
  return inodes;
}

export interface ListeningSockets {
  tcp: ListeningTcpSocket[];
  unix: ListeningUnixSocket[];
  /** true: these are the process's own sockets; false: every listener of its network namespace. */
  own: boolean;
}

/**
 * What the process listens on, in its own network namespace. Where its fds are readable, only its
 * own sockets; otherwise every listener of the namespace (a superset).
 */
export function readListeningSockets(fs: HostFs, pid: number): ListeningSockets {
  const tcp = [...parseListeningTcp(fs.read(`/proc/${pid}/net/tcp`) ?? ''), ...parseListeningTcp(fs.read(`/proc/${pid}/net/tcp6`) ?? '')];
  const unix = parseListeningUnix(fs.read(`/proc/${pid}/net/unix`) ?? '');
  const inodes = readSocketInodes(fs, pid);
  if (inodes === undefined) return { tcp, unix, own: false };
  return { tcp: tcp.filter((s) => inodes.has(s.inode)), unix: unix.filter((s) => inodes.has(s.inode)), own: true };
}

/** Does it listen on this TCP port (INFO's tcp_port) or this unix socket path, in its own namespace? */
export function listensOn(sockets: ListeningSockets, target: { port: number } | { path: string }): boolean {
  if ('port' in target) return sockets.tcp.some((s) => s.port === target.port);
  // Through /proc/PID/root/… or a bind mount the host's path ends with the path seen inside.
  return sockets.unix.some((s) => target.path === s.path || target.path.endsWith(s.path));
}

/**
 * Does this process hold the far end of our connection to `serverPort` from `client` (our side's
 * address and port)? In its network namespace's TCP tables, and among its own sockets where its
 * fds can be read. Decisive where nothing else is: a server holds the connections made to it.
 */
export function holdsConnectionFrom(fs: HostFs, pid: number, serverPort: number, client: { address: string; port: number }): boolean {
  const peers = [...parseTcpPeers(fs.read(`/proc/${pid}/net/tcp`) ?? '', serverPort), ...parseTcpPeers(fs.read(`/proc/${pid}/net/tcp6`) ?? '', serverPort)];
  const mine = peers.filter((peer) => peer.port === client.port && plainAddress(peer.address) === plainAddress(client.address));
  if (mine.length === 0) return false;
  const inodes = readSocketInodes(fs, pid);
  return inodes === undefined || mine.some((peer) => inodes.has(peer.inode));
}

/** `::ffff:127.0.0.1` and `127.0.0.1` are one address. */
const plainAddress = (address: string) => (address.startsWith('::ffff:') ? address.slice(7) : address);
