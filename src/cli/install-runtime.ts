/**
 * Which program Netdata will run the installed plugin with, checked before `install` writes
 * anything: the standalone build runs by itself; the bundle's first line execs `node` from the PATH
 * Netdata gives its plugins, as the netdata user. When that PATH has no Node >= 18, a Node the
 * netdata user can run (the one running `install`) is written into the installed copy's first line.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const MIN_NODE_MAJOR = 18;

/** The PATH systemd gives a service (and Netdata hands on to its plugins). */
export const NETDATA_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

export type Runtime =
  | { kind: 'standalone' }
  | { kind: 'path'; node: string; version: string }
  | { kind: 'absolute'; node: string; version: string; why: string }
  | { kind: 'none'; problem: string };

export interface RuntimeProbe {
  /** `/` on a real install; another directory stands for / (packaging, tests). */
  root: string;
  standalone: boolean;
  /** The node running `install` (process.execPath). */
  runningNode: string;
}

export function chooseRuntime(probe: RuntimeProbe): Runtime {
  if (probe.standalone) return { kind: 'standalone' };
  const user = netdataUser(join(probe.root, '/etc/passwd'));
  const onPath = NETDATA_PATH.map((dir) => join(dir, 'node')).find((node) => isExecutable(join(probe.root, node)));
  let problem: string;
  if (onPath !== undefined) {
    const version = nodeVersion(join(probe.root, onPath), user);
    if (version.ok && majorOf(version.version) >= MIN_NODE_MAJOR) return { kind: 'path', node: onPath, version: version.version };
    problem = version.ok ? `${onPath} on Netdata's PATH is Node ${version.version}, older than ${MIN_NODE_MAJOR}` : `${onPath} on Netdata's PATH does not run${user ? ' as the netdata user' : ''}: ${version.error}`;
  } else {
    problem = `no node on Netdata's PATH (${NETDATA_PATH.join(':')})`;
  }
  // The node running this command, when it is on the same filesystem Netdata sees.
  if (probe.root === '' || probe.root === '/') {
    const running = nodeVersion(probe.runningNode, user);
    if (running.ok && majorOf(running.version) >= MIN_NODE_MAJOR) return { kind: 'absolute', node: probe.runningNode, version: running.version, why: problem };
    if (!running.ok) problem += `; ${probe.runningNode} does not run${user ? ' as the netdata user' : ''} (${running.error})`;
  }
  return { kind: 'none', problem };
}

/** The bundle's first lines with `exec node` replaced by `exec /absolute/node`. */
export function pinInterpreter(bundle: Buffer, node: string): Buffer {
  const text = bundle.toString('utf8');
  const pinned = text.replace(/^(#!\/bin\/sh\n':' \/\/; exec )node /, (_, head: string) => `${head}${node} `);
  if (pinned === text) throw new Error('the plugin file does not start with the line that execs node');
  return Buffer.from(pinned);
}

export function runtimeFix(): string[] {
  return [
    `Netdata needs a Node ${MIN_NODE_MAJOR} or later that its user can run. Either:`,
    '  - install Node from the distribution: apt-get install nodejs   (Debian 12 and Ubuntu 24.04 have 18), then run install again;',
    '  - or install the standalone build, which needs no Node: redisfork.plugin-linux-x64 install   (npm run build:standalone makes it).',
  ];
}

function netdataUser(passwd: string): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const fields = readFileSync(passwd, 'utf8').split('\n').find((l) => l.startsWith('netdata:'))?.split(':');
    const uid = Number(fields?.[2]);
    const gid = Number(fields?.[3]);
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : undefined;
  } catch {
    return undefined;
  }
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Runs `node --version`, as the netdata user when there is one and this runs as root. */
function nodeVersion(node: string, user: { uid: number; gid: number } | undefined): { ok: true; version: string } | { ok: false; error: string } {
  const run = spawnSync(node, ['--version'], { encoding: 'utf8', timeout: 10_000, cwd: '/', ...(user ?? {}) });
  if (run.error) return { ok: false, error: (run.error as NodeJS.ErrnoException).code ?? run.error.message };
  const version = run.stdout.trim();
  if (run.status !== 0 || !/^v\d+\./.test(version)) return { ok: false, error: (run.stderr.trim().split('\n')[0] || `exit ${run.status}`).slice(0, 200) };
  return { ok: true, version };
}

function majorOf(version: string): number {
  return Number(/^v(\d+)\./.exec(version)?.[1] ?? 0);
}

/** Running as the standalone build (Node's single executable application, built on Node 24). */
export function isStandaloneBuild(): boolean {
  // process.getBuiltinModule exists from Node 20.16/22.3; older Nodes are never the standalone build.
  const getBuiltin = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  const sea = getBuiltin?.call(process, 'node:sea') as { isSea?: () => boolean } | undefined;
  return sea?.isSea?.() ?? false;
}
