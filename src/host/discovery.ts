/**
 * Finds every Redis-compatible server on this host — host processes and those in containers —
 * and how this plugin can reach each (SPEC §11): a server in our own network namespace at its bound
 * address (loopback for a wildcard bind); one in another namespace at that namespace's own address
 * (`/proc/PID/net/fib_trie`), or through its unix socket under `/proc/PID/root`.
 */
import { sanitizeJobName } from '../../charts/catalog.ts';
import { HostFs } from './read.ts';
import { shortContainerId, type ContainerIdentity } from './container.ts';
import { parseFibTrieLocalAddresses, type ListeningTcpSocket, type ListeningUnixSocket } from './parse-net.ts';
import { readListeningSockets, scanServerProcesses, type ServerProcess } from './server-processes.ts';

export interface DiscoveredServer {
  name: string;
  url: string;
  pid: number;
  container: ContainerIdentity | undefined;
}

export interface EndpointFacts {
  /** Its network namespace is ours. */
  sameNetns: boolean;
  tcp: readonly ListeningTcpSocket[];
  unix: readonly ListeningUnixSocket[];
  /** Its namespace's own non-loopback IPv4 addresses (for a server in another namespace). */
  namespaceAddresses: readonly string[];
  /** Where its root is seen from here: `/proc/PID/root` under the host prefix. */
  rootPath: string;
}

const WILDCARDS = new Set(['0.0.0.0', '::', '::ffff:0.0.0.0']);
const isLoopback = (address: string) => address.startsWith('127.') || address === '::1' || address.startsWith('::ffff:127.');
const urlHost = (address: string) => (address.includes(':') && !address.startsWith('::ffff:') ? `[${address}]` : address.replace(/^::ffff:/, ''));

/** Pure: the URL this plugin reaches a server at, or undefined when it cannot. IPv4 first. */
export function chooseEndpoint(facts: EndpointFacts): { url: string; port: number | undefined } | undefined {
  const tcp = [...facts.tcp].sort((a, b) => Number(a.address.includes(':')) - Number(b.address.includes(':')) || a.port - b.port);
  for (const socket of tcp) {
    if (facts.sameNetns) {
      const host = WILDCARDS.has(socket.address) ? (socket.address === '::' ? '::1' : '127.0.0.1') : socket.address;
      return { url: `redis://${urlHost(host)}:${socket.port}`, port: socket.port };
    }
    if (isLoopback(socket.address)) continue;
    const address = WILDCARDS.has(socket.address) ? facts.namespaceAddresses[0] : socket.address;
    if (address !== undefined) return { url: `redis://${urlHost(address)}:${socket.port}`, port: socket.port };
  }
  const socket = facts.unix[0];
  if (socket === undefined) return undefined;
  const path = facts.sameNetns ? socket.path : `${facts.rootPath}${socket.path}`;
  return { url: `unix://${path}`, port: undefined };
}

/** Job names from the container (name, else short id) and the port: `redis_cache_6379`, `local_6380`. */
export function discoveredJobName(container: ContainerIdentity | undefined, port: number | undefined): string {
  const base = container === undefined ? 'local' : sanitizeJobName(container.name ?? shortContainerId(container.id) ?? container.runtime);
  return port === undefined ? `${base}_sock` : `${base}_${port}`;
}

export function discoverServers(fs: HostFs, ownNetns: string | undefined = new HostFs('').readLink('/proc/self/ns/net')): DiscoveredServer[] {
  const found: DiscoveredServer[] = [];
  const seen = new Set<string>();
  for (const server of scanServerProcesses(fs)) {
    const endpoint = endpointOf(fs, server, ownNetns);
    if (endpoint === undefined || seen.has(endpoint.url)) continue;
    seen.add(endpoint.url);
    found.push({ name: discoveredJobName(server.container, endpoint.port), url: endpoint.url, pid: server.pid, container: server.container });
  }
  return found;
}

function endpointOf(fs: HostFs, server: ServerProcess, ownNetns: string | undefined): ReturnType<typeof chooseEndpoint> {
  const sockets = readListeningSockets(fs, server.pid);
  // Without its fds (no ptrace access) the namespace's listeners are a superset: keep those the
  // process names in its title (`redis-server *:6379`), which Redis keeps up to date.
  let tcp = sockets.tcp;
  if (!sockets.own) {
    const title = fs.read(`/proc/${server.pid}/cmdline`) ?? '';
    const ports = new Set([...title.matchAll(/:(\d{1,5})(?:\s|\0|$)/g)].map((m) => Number(m[1])));
    tcp = tcp.filter((s) => ports.has(s.port));
  }
  const sameNetns = server.netns !== undefined && server.netns === ownNetns;
  return chooseEndpoint({
    sameNetns,
    tcp,
    unix: sockets.own ? sockets.unix : [],
    namespaceAddresses: sameNetns ? [] : parseFibTrieLocalAddresses(fs.read(`/proc/${server.pid}/net/fib_trie`) ?? ''),
    rootPath: fs.path(`/proc/${server.pid}/root`),
  });
}
