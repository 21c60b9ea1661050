/** Starts real redis-server processes for tests, on free ports, in temp dirs; stops them by pid. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { fileURLToPath } from 'node:url';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface RedisServer {
  port: number;
  dir: string;
  pid: number;
  url: string;
  process: ChildProcess;
  logFile: string;
  client(options?: { username?: string; password?: string }): Redis;
  log(): string;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Extra redis-server arguments, e.g. ['--save', '900 1']. */
  args?: string[];
  port?: number;
  dir?: string;
  /** Run under another command, e.g. ['cgexec', ...]; default none. */
  wrapper?: string[];
  /**
   * Start Redis while these sysctls hold (e.g. ['vm.overcommit_memory=2']), through
   * scripts/with-sysctl.sh, which puts them back as soon as redis-server has daemonized.
   * jemalloc decides at start whether its mappings are accountable, so this is how a Redis
   * "started under mode 2" is made.
   */
  startUnder?: string[];
}

export const WITH_SYSCTL = fileURLToPath(new URL('../../scripts/with-sysctl.sh', import.meta.url));

export async function startRedis(options: StartOptions = {}): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'redisfork-redis-'));
  const logFile = join(dir, 'redis.log');
  const args = [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--logfile', logFile,
    '--save', '', '--appendonly', 'no', '--enable-debug-command', 'yes', '--daemonize', 'no',
    ...(options.args ?? []),
  ];
  const pidFile = join(dir, 'redis.pid');
  let command = options.wrapper ? [...options.wrapper, 'redis-server', ...args] : ['redis-server', ...args];
  if (options.startUnder) {
    command = [WITH_SYSCTL, ...options.startUnder, '--', ...command, '--daemonize', 'yes', '--pidfile', pidFile];
  }
  const child = spawn(command[0] ?? 'redis-server', command.slice(1), { stdio: 'ignore' });
  if (options.startUnder) {
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    if (code !== 0) throw new Error(`starting redis-server under ${options.startUnder.join(' ')} failed (exit ${code})`);
  }
  const url = `redis://127.0.0.1:${port}`;
  await waitFor(async () => {
    const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, protocol: 2, enableReadyCheck: false } as never);
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      await probe.ping().catch((err: Error) => {
        if (!/NOAUTH|MISCONF|LOADING/.test(err.message)) throw err;
      });
      return true;
    } catch {
      return false;
    } finally {
      probe.disconnect();
    }
  }, 10_000, `redis-server on port ${port}`);
  const clients: Redis[] = [];
  const pid = options.startUnder ? Number(readFileSync(pidFile, 'utf8').trim()) : (child.pid ?? 0);
  return {
    port,
    dir,
    pid,
    url,
    process: child,
    logFile,
    client(auth = {}) {
      const client = new Redis({ port, host: '127.0.0.1', protocol: 2, maxRetriesPerRequest: 1, enableReadyCheck: false, ...auth } as never);
      client.on('error', () => undefined);
      clients.push(client);
      return client;
    },
    log() {
      return existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
    },
    async stop() {
      for (const client of clients) client.disconnect();
      if (options.startUnder) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
        await waitFor(() => !existsSync(`/proc/${pid}`), 5000, `redis ${pid} to exit`).catch(() => undefined);
      } else if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
      }
      if (!options.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until the running BGSAVE (if any) finished. */
export async function waitForBgsave(client: Redis): Promise<void> {
  await waitFor(async () => /rdb_bgsave_in_progress:0/.test(await client.info('persistence')), 30_000, 'BGSAVE to finish');
}
