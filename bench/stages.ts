/**
 * The plugin's own work per iteration, stage by stage, in one process: a Collector with one job
 * whose Redis link replays INFO replies taken from a redis-server of its own (so no socket), on
 * this host's real procfs and sysfs files (that Redis is local: its process and cgroup are read).
 *
 *   node --no-opt --no-sparkplug --import tsx bench/stages.ts [N]
 *     warm time per call of each stage (CPU, noisy; the plugin runs V8 with these two flags)
 *   bash bench/stage-instructions.sh STAGE [A B]
 *     instructions per call of one stage (callgrind: repeatable)
 *
 * Stages: kernel (host facts), process (Redis's process and cgroup facts), parse (INFO), values
 * (instance chart values), host-values, text (one job's data blocks from given values), render
 * (values and text of every chart, as an iteration does), iteration (a whole iteration).
 * The warm times are far below what the same work costs once a second, when caches are cold (the
 * plugin's real iteration costs about twice the sum); instruction counts change by what a change
 * removes, whatever else the machine does, and are what to compare for a change of a few percent.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Collector } from '../src/collector/runner.ts';
import type { InstanceJob, RedisLink } from '../src/collector/job.ts';
import type { CollectResult } from '../src/redis/client.ts';
import { HostFs, KernelFactsReader, readProcessFacts } from '../src/host/read.ts';
import { anonymousThp } from '../src/host/facts.ts';
import { parseRedisUrl } from '../src/config/url.ts';
import { parseRedisInfo } from '../src/redis/info.ts';
import { hostValues, instanceValues } from '../src/analysis/metrics.ts';
import type { ChartDef } from '../charts/catalog.ts';
import type { ChartValues } from '../src/model/chart-values.ts';

const N = Number(process.argv[2] ?? 3000);
const ONLY = process.env.STAGE;

const port = 20000 + (process.pid % 20000);
const dir = mkdtempSync(join(tmpdir(), 'redisfork-stages-'));
const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir, '--enable-debug-command', 'yes'], { stdio: 'ignore' });
const cli = (...args: string[]) => execFileSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' });
try {
  for (let i = 0; ; i++) {
    try {
      if (cli('ping').trim() === 'PONG') break;
    } catch {
      if (i > 50) throw new Error(`redis-server on port ${port} did not start`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  cli('DEBUG', 'POPULATE', '100000', 'key', '100');
  const crlf = (text: string) => text.replace(/\r?\n/g, '\r\n');
  const withServer = crlf(cli('INFO', 'server', 'memory', 'persistence', 'stats'));
  const everySecond = crlf(cli('INFO', 'memory', 'persistence', 'stats'));
  let first = true;
  const config = { values: { save: '3600 1', 'stop-writes-on-bgsave-error': 'yes', appendonly: 'no' } };
  const link: RedisLink = {
    collect: async (withConfig): Promise<CollectResult> => {
      const result: CollectResult = { infoText: first ? withServer : everySecond, withServer: first, ...(withConfig ? { config } : {}) };
      first = false;
      return result;
    },
    fetchConfig: async () => ({ infoText: 'role:master\r\n', config }),
    close: async () => {},
  };
  const url = `redis://127.0.0.1:${port}`;
  const job = { name: 'one', displayUrl: url, target: parseRedisUrl(url).target, username: undefined, password: undefined, passwordSource: 'none' as const, db: 0, tls: undefined, timeoutMs: 1000, pid: 'auto' as const };
  const hostFs = new HostFs();
  const collector = new Collector({ updateEvery: 1, jobs: [job], source: 'bench', warnings: [] }, { hostFs, logger: pino({ level: 'silent' }), updateEvery: 1, once: false, connect: () => link });
  let now = 1_000_000_000_000;
  for (let i = 0; i < 300; i++) await collector.iterate((now += 1000));
  const instance = collector.jobs[0]!;
  const snapshot = instance.lastSnapshot!;
  const pid = instance.locality?.pid;
  if (pid === undefined || snapshot.kernel === undefined) throw new Error('the Redis of the bench was not seen as local');

  // The collector's render and its parts, reached past `private` (a bench, not an API).
  const inner = collector as unknown as {
    render(snapshots: Map<InstanceJob, typeof snapshot>, nowUs: number): string;
    chartsFor(job: InstanceJob): ChartDef[];
    emitter: { dataOf(type: string, charts: readonly ChartDef[], values: ReadonlyMap<string, ChartValues>, nowUs: number): string };
  };
  const kernelReader = new KernelFactsReader(hostFs);
  let facts = snapshot.process;
  const charts = inner.chartsFor(instance);
  const values = instanceValues(snapshot);
  const snapshots = new Map([[instance, snapshot]]);
  const stages: Record<string, () => unknown> = {
    kernel: () => kernelReader.read((now += 1000)),
    process: () => (facts = readProcessFacts(hostFs, pid, facts, (now += 1000), anonymousThp(snapshot.kernel!))),
    parse: () => parseRedisInfo(everySecond),
    values: () => instanceValues(snapshot),
    'host-values': () => hostValues(snapshot.kernel!),
    text: () => inner.emitter.dataOf(instance.chartType, charts, values, (now += 1000) * 1000),
    render: () => inner.render(snapshots, (now += 1000) * 1000),
    iteration: () => collector.iterate((now += 1000)),
  };
  if (ONLY !== undefined && !(ONLY in stages)) throw new Error(`no stage ${ONLY}: ${Object.keys(stages).join(', ')}`);
  for (const [name, run] of Object.entries(stages)) {
    if (ONLY !== undefined && name !== ONLY) continue;
    for (let i = 0; i < 200; i++) await run();
    const before = process.cpuUsage();
    for (let i = 0; i < N; i++) await run();
    const used = process.cpuUsage(before);
    if (ONLY === undefined) console.log(`${name.padEnd(12)} ${((used.user + used.system) / N).toFixed(1).padStart(7)} µs per call (warm)`);
  }
  await collector.close();
} finally {
  redis.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
