/**
 * A real Netdata (Debian's 1.37 package) for end-to-end tests, without systemd: everything under
 * a temp dir, the web API on a free loopback port, every plugin off but ours. Stopped by its pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './redis-server.ts';

export interface NetdataOptions {
  /** Executable files to put in plugins.d, by name (e.g. { 'redisfork.plugin': dist path }). */
  plugins: Record<string, string>;
  /** Files for the user config dir (e.g. redisfork.conf). */
  configFiles?: Record<string, string>;
  /** Files for the health config dir (e.g. redisfork.conf, the alert pack). */
  healthFiles?: Record<string, string>;
  updateEvery?: number;
  /** `[global] hostname` (a parent and its child need different ones). */
  hostname?: string;
  /** `[health] enabled`: a streaming child runs without, its parent evaluates its charts. */
  health?: boolean;
  /** stream.conf for the user config dir. */
  streamConf?: string;
  /** The web port, chosen by the caller (a child streams to its parent's). */
  port?: number;
  /** Environment for Netdata, and so for its plugins (e.g. a PATH that finds another node). */
  env?: NodeJS.ProcessEnv;
  /** `[global] memory mode` (default ram). */
  memoryMode?: string;
}

export interface NetdataInstance {
  dir: string;
  port: number;
  process: ChildProcess;
  api<T = unknown>(path: string): Promise<T>;
  errorLog(): string;
  stop(): Promise<void>;
}

const OTHER_PLUGINS = [
  'proc', 'diskspace', 'cgroups', 'tc', 'idlejitter', 'checks', 'apps', 'python.d', 'charts.d', 'node.d',
  'go.d', 'fping', 'ioping', 'slabinfo', 'perf', 'nfacct', 'timex', 'statsd', 'ebpf', 'cups', 'freeipmi',
  'netdata monitoring', 'xenstat',
];

export async function startNetdata(options: NetdataOptions): Promise<NetdataInstance> {
  const dir = mkdtempSync(join(tmpdir(), 'redisfork-netdata-'));
  const dirs = {
    config: join(dir, 'etc'),
    stock: join(dir, 'stock'),
    plugins: join(dir, 'plugins.d'),
    health: join(dir, 'health.d'),
    stockHealth: join(dir, 'stock-health.d'),
    cache: join(dir, 'cache'),
    lib: join(dir, 'lib'),
    log: join(dir, 'log'),
  };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  for (const [name, source] of Object.entries(options.plugins)) {
    copyFileSync(source, join(dirs.plugins, name));
    chmodSync(join(dirs.plugins, name), 0o755);
  }
  for (const [name, text] of Object.entries(options.configFiles ?? {})) writeFileSync(join(dirs.config, name), text);
  if (options.streamConf !== undefined) writeFileSync(join(dirs.config, 'stream.conf'), options.streamConf);
  for (const [name, text] of Object.entries(options.healthFiles ?? {})) writeFileSync(join(dirs.health, name), text);
  const port = options.port ?? (await freePort());
  const pluginNames = Object.keys(options.plugins).map((n) => n.replace(/\.plugin$/, ''));
  const conf = `[global]
  run as user = root
  hostname = ${options.hostname ?? 'redisfork-e2e'}
  update every = ${options.updateEvery ?? 1}
  memory mode = ${options.memoryMode ?? 'ram'}
  error log = ${join(dirs.log, 'error.log')}
  access log = none
  debug log = none
[directories]
  config = ${dirs.config}
  stock config = ${dirs.stock}
  plugins = ${dirs.plugins}
  health config = ${dirs.health}
  stock health config = ${dirs.stockHealth}
  cache = ${dirs.cache}
  lib = ${dirs.lib}
  log = ${dirs.log}
  web = /usr/share/netdata/web
[web]
  bind to = 127.0.0.1:${port}
[registry]
  enabled = no
[ml]
  enabled = no
[statsd]
  enabled = no
[health]
  enabled = ${options.health === false ? 'no' : 'yes'}
  run at least every seconds = 1
[plugins]
  enable running new plugins = no
  check for new plugins every = 3600
${OTHER_PLUGINS.map((p) => `  ${p} = no`).join('\n')}
${pluginNames.map((p) => `  ${p} = yes`).join('\n')}
`;
  const confFile = join(dir, 'netdata.conf');
  writeFileSync(confFile, conf);
  const child = spawn('netdata', ['-D', '-c', confFile], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NETDATA_LOG_LEVEL: 'info', ...options.env } });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const base = `http://127.0.0.1:${port}`;
  const instance: NetdataInstance = {
    dir,
    port,
    process: child,
    async api<T>(path: string): Promise<T> {
      const response = await fetch(base + path);
      if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
      return (await response.json()) as T;
    },
    errorLog() {
      const file = join(dirs.log, 'error.log');
      return (existsSync(file) ? readFileSync(file, 'utf8') : '') + stderr;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`netdata exited ${child.exitCode}: ${instance.errorLog().slice(-3000)}`);
    try {
      await instance.api('/api/v1/info');
      return true;
    } catch {
      return false;
    }
  }, 30_000, 'netdata web API');
  return instance;
}

export interface ChartsResponse {
  charts: Record<string, { id: string; context: string; units: string; dimensions: Record<string, { name: string }>; chart_labels?: Record<string, string> }>;
}

export interface DataResponse {
  labels: string[];
  data: (number | null)[][];
}

/** The latest non-null value of one dimension, from /api/v1/data (rows come newest first). */
export async function latestValue(netdata: NetdataInstance, chart: string, dimension: string): Promise<number | null> {
  const data = await netdata.api<DataResponse>(`/api/v1/data?chart=${encodeURIComponent(chart)}&dimensions=${encodeURIComponent(dimension)}&after=-30&format=json`);
  const index = data.labels.indexOf(dimension);
  for (const row of data.data) {
    const value = row[index];
    if (value !== null && value !== undefined) return value;
  }
  return null;
}

/** The time of the newest stored point of a chart (seconds since the epoch). */
export async function latestTimestamp(netdata: NetdataInstance, chart: string): Promise<number> {
  const data = await netdata.api<DataResponse>(`/api/v1/data?chart=${encodeURIComponent(chart)}&after=-10&format=json`);
  return Number(data.data[0]?.[0] ?? 0);
}

/**
 * Polls /api/v1/data until the dimension's latest value satisfies `accept` (Netdata may not have
 * stored the newest point yet); answers the last value seen.
 */
export async function eventualValue(
  netdata: NetdataInstance,
  chart: string,
  dimension: string,
  accept: (value: number | null) => boolean,
  timeoutMs = 15_000,
): Promise<number | null> {
  const until = Date.now() + timeoutMs;
  let value: number | null = null;
  for (;;) {
    value = await latestValue(netdata, chart, dimension);
    if (accept(value) || Date.now() > until) return value;
    await new Promise((r) => setTimeout(r, 250));
  }
}

export interface Alarm {
  name: string;
  chart: string;
  status: string;
  value: number | null;
  units: string;
  class: string;
  type: string;
  component: string;
  recipient: string;
  info: string;
}

/** Every alarm Netdata knows (`/api/v1/alarms?all`), keyed `chart.alarm`. */
export async function alarms(netdata: NetdataInstance): Promise<Record<string, Alarm>> {
  return (await netdata.api<{ alarms: Record<string, Alarm> }>('/api/v1/alarms?all')).alarms;
}

export async function waitForAlarm(
  netdata: NetdataInstance,
  chart: string,
  name: string,
  statuses: string[],
  timeoutMs = 30_000,
): Promise<Alarm> {
  let last: Alarm | undefined;
  await waitFor(async () => {
    last = (await alarms(netdata))[`${chart}.${name}`];
    return last !== undefined && statuses.includes(last.status);
  }, timeoutMs, `${chart}.${name} to be ${statuses.join('/')} (last: ${JSON.stringify(last)})`).catch((err: Error) => {
    throw new Error(`${err.message}; last seen: ${last?.status} value ${last?.value}`);
  });
  return last!;
}

/**
 * A bash snippet that waits (up to SECONDS) until an alarm has the status, for use inside
 * with-sysctl windows (no node process allocating while the limit is tight). Prints
 * `ALARM_SEEN <key> <status>` when it saw it.
 */
export function bashWaitForAlarm(netdata: NetdataInstance, chart: string, name: string, status: string, seconds: number): string {
  const key = `${chart}.${name}`;
  return `for _ in $(seq ${seconds * 4}); do curl -s "http://127.0.0.1:${netdata.port}/api/v1/alarms?all" | tr -d '\\n\\t' | grep -o '"${key}": {[^}]*}' | grep -q '"status": "${status}"' && { echo "ALARM_SEEN ${key} ${status}"; break; }; sleep 0.25; done`;
}
