/**
 * Pure parsers of a network namespace's tables as procfs shows them through any of its processes:
 * `/proc/PID/net/tcp`, `tcp6`, `unix`, `fib_trie`. Text in, facts out; never throws.
 */

export interface ListeningTcpSocket {
  /** Dotted IPv4 or full IPv6 text (`::`, `::1`, `fe80::…`). */
  address: string;
  port: number;
  /** The socket's inode: what `/proc/PID/fd/N -> socket:[inode]` names. */
  inode: number;
}

/** TCP_LISTEN in the kernel's `st` column. */
const TCP_LISTEN = '0A';

/** One socket of `/proc/net/tcp` or `tcp6`: its state, both ends and its inode. */
interface TcpRow {
  state: string;
  local: { address: string; port: number };
  remote: { address: string; port: number };
  inode: number;
}

/** The rows of `/proc/net/tcp` or `tcp6`. Addresses there are hex, each 32-bit word in host (little-endian) order. */
function tcpRows(text: string): TcpRow[] {
  const rows: TcpRow[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
    if (fields.length < 10) continue;
    const local = socketEnd(fields[1]);
    const remote = socketEnd(fields[2]);
    const inode = Number(fields[9]);
    if (local === undefined || remote === undefined || !Number.isInteger(inode)) continue;
    rows.push({ state: fields[3] ?? '', local, remote, inode });
  }
  return rows;
}

/** `0100007F:18EB` -> 127.0.0.1, 6379. */
function socketEnd(field: string | undefined): { address: string; port: number } | undefined {
  const [hexAddress, hexPort] = (field ?? '').split(':');
  const address = hexAddress === undefined ? undefined : decodeProcAddress(hexAddress);
  const port = Number.parseInt(hexPort ?? '', 16);
  return address === undefined || !Number.isInteger(port) ? undefined : { address, port };
}

/** LISTEN sockets of `/proc/net/tcp` or `tcp6`. */
export function parseListeningTcp(text: string): ListeningTcpSocket[] {
  return tcpRows(text)
    .filter((row) => row.state === TCP_LISTEN)
    .map((row) => ({ address: row.local.address, port: row.local.port, inode: row.inode }));
}

/** A connected TCP socket: the far end's address and port, and the socket's inode. */
export interface TcpPeer {
  address: string;
  port: number;
  inode: number;
}

/** TCP_ESTABLISHED in the kernel's `st` column. */
const TCP_ESTABLISHED = '01';

/** The peers of the ESTABLISHED sockets of `/proc/net/tcp` or `tcp6` whose local port is `localPort`. */
export function parseTcpPeers(text: string, localPort: number): TcpPeer[] {
  return tcpRows(text)
    .filter((row) => row.state === TCP_ESTABLISHED && row.local.port === localPort)
    .map((row) => ({ address: row.remote.address, port: row.remote.port, inode: row.inode }));
}

function decodeProcAddress(hex: string): string | undefined {
  if (!/^[0-9A-Fa-f]+$/.test(hex)) return undefined;
  if (hex.length === 8) return wordBytes(hex).join('.');
  if (hex.length !== 32) return undefined;
  const bytes: number[] = [];
  for (let i = 0; i < 32; i += 8) bytes.push(...wordBytes(hex.slice(i, i + 8)));
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
    return `::ffff:${bytes.slice(12).join('.')}`;
  }
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return compressIpv6(groups);
}

/** One 32-bit word as the kernel prints it (little-endian on x86 and arm64): bytes in network order. */
function wordBytes(word: string): number[] {
  const bytes = [0, 2, 4, 6].map((i) => Number.parseInt(word.slice(i, i + 2), 16));
  return bytes.reverse();
}

function compressIpv6(groups: string[]): string {
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === '0') j++;
    if (j - i > bestLength && j - i > 1) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return groups.join(':');
  return `${groups.slice(0, bestStart).join(':')}::${groups.slice(bestStart + bestLength).join(':')}`;
}

export interface ListeningUnixSocket {
  path: string;
  inode: number;
}

/** __SO_ACCEPTCON in the `Flags` column: a listening socket. */
const SO_ACCEPTCON = 0x10000;

/** Listening unix sockets with a filesystem path (abstract `@…` names are left out) from `/proc/net/unix`. */
export function parseListeningUnix(text: string): ListeningUnixSocket[] {
  const out: ListeningUnixSocket[] = [];
  for (const line of text.split('\n')) {
    // Num: RefCount Protocol Flags Type St Inode Path
    const fields = line.trim().split(/\s+/);
    if (fields.length < 8 || !fields[0]?.endsWith(':')) continue;
    const flags = Number.parseInt(fields[3] ?? '', 16);
    const path = fields.slice(7).join(' ');
    if (!Number.isFinite(flags) || (flags & SO_ACCEPTCON) === 0 || !path.startsWith('/')) continue;
    out.push({ path, inode: Number(fields[6]) });
  }
  return out;
}

/** The addresses of this namespace (`/32 host LOCAL` leaves of `/proc/net/fib_trie`), loopback left out. */
export function parseFibTrieLocalAddresses(text: string): string[] {
  const found = new Set<string>();
  let candidate: string | undefined;
  for (const line of text.split('\n')) {
    const leaf = /\|--\s+(\d+\.\d+\.\d+\.\d+)\s*$/.exec(line);
    if (leaf) {
      candidate = leaf[1];
      continue;
    }
    if (candidate !== undefined && /^\s*\/32 host LOCAL/.test(line) && !candidate.startsWith('127.')) found.add(candidate);
  }
  return [...found];
}

/** `socket:[12345]` (the target of /proc/PID/fd/N) -> 12345. */
export function socketInode(linkTarget: string): number | undefined {
  const match = /^socket:\[(\d+)\]$/.exec(linkTarget);
  return match ? Number(match[1]) : undefined;
}
