/**
 * npm run bench — the plugin's cost on Redis and on the host, side by side with Debian's
 * prometheus-redis-exporter scraping the same servers, in one run on this machine.
 *
 *  - Redis main-thread time per collection: INFO commandstats (usec of every command) after
 *    CONFIG RESETSTAT, divided by the collections made.
 *  - Plugin CPU (every thread, from /proc/PID/task/TID/schedstat) per collection and per instance, its RSS, the
 *    share of one core, and whether every iteration came on time — for 1, 100 and 1000 jobs at
 *    update_every 1 (the jobs point at a few servers).
 *  - The exporter's CPU per scrape and RSS, scraped once a second like Prometheus would, at the
 *    same time as the plugin with one job and as Node doing only one job's I/O (bench/io-floor.mjs),
 *    each on a Redis of its own: the ratios come from one window, not from rows minutes apart.
 *  - One job on a Redis that grows (filled to 200 MB, then 10,000 keys of 400 bytes every 250 ms):
 *    what the smaps walks add while VmData moves (src/host/read.ts, `smapsWalkDue`); and one job on
 *    a big idle Redis (2M keys of 1000 bytes) for BENCH_BIG_SECONDS (125): what they add while
 *    nothing moves.
 * Prints a table and writes bench/RESULTS.md. No timing is asserted anywhere: the machine is shared.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, release } from 'node:os';
import { join } from 'node:path';
import { freePort, startRedis, waitFor, type RedisServer } from '../test/helpers/redis-server.ts';
import { PLUGIN, assertBuilt } from '../test/helpers/plugin.ts';
import { cpuSeconds, rssMb, sampleRss, wakeUps } from './process-cost.ts';
import { redisUsec, resetStats } from './redis-cost.ts';
import { HOLD_ABOVE_JOBS, OPTIMIZE_ABOVE_JOBS } from '../src/v8-tier.ts';
import { benchInfoSections, type SectionCost } from './info-sections.ts';

/** The node flags the built plugin starts itself with (its second line). */
const PREAMBLE_FLAGS = /exec node \$\{REDISFORK_NODE_FLAGS-((?:--[^\s}]+ ?)*)\}/.exec(readFileSync(PLUGIN, 'utf8').split('\n', 3).join('\n'))?.[1]?.trim() ?? '';

const SERVERS = 4;
const SCALES = (process.env.BENCH_SCALES ?? '1,100,1000').split(',').map(Number);
/**
 * How the plugin is started: [] as Netdata starts it (the file runs itself, with the node flags of
 * its first lines); ['(jit)'] as `node plugin`, V8's defaults; or other node flags.
 * BENCH_VARIANTS="direct;jit;--jitless" picks them.
 */
const VARIANTS: string[][] = (process.env.BENCH_VARIANTS ?? 'direct;jit')
  .split(';')
  .map((v) => (v.trim() === 'direct' ? [] : v.trim() === 'jit' ? ['(jit)'] : v.trim().split(/\s+/)));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 40);
/**
 * Measuring starts after this: the first seconds of a Node process (module compilation, then V8's
 * memory reducer compacting the heap a few seconds in) cost several times a steady second, and a
 * plugin runs for days. What those seconds cost is reported on its own.
 */
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP ?? 20);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface PluginResult {
  jobs: number;
  nodeFlags: string[];
  iterations: number;
  expectedIterations: number;
  lateOrMissing: number;
  slowOrDownCharts: number;
  cpuMsPerCollection: number;
  cpuMsPerInstance: number;
  /** The main thread's wake-ups (voluntary context switches) per iteration. */
  wakeUpsPerIteration: number;
  coreShare: number;
  /** Mean of one reading a second over the measurement; the peak beside it. */
  rssMb: number;
  rssPeakMb: number;
  redisUsecPerCollection: number;
  redisTop: string;
  /** CPU from exec to the end of the warm-up: start-up plus the first seconds. */
  warmupCpuMs: number;
  /** What the plugin wrote to stdout per iteration during the measurement. */
  bytesPerIteration: number;
}

async function benchPlugin(servers: RedisServer[], jobs: number, dir: string, nodeFlags: string[] = [], executable = PLUGIN, seconds = SECONDS): Promise<PluginResult> {
  const config = join(dir, `bench-${jobs}.conf`);
  writeFileSync(config, `update_every: 1\njobs:\n${Array.from({ length: jobs }, (_, i) => `  - { name: j${i}, url: "${servers[i % servers.length]!.url}" }`).join('\n')}\n`);
  // No flags: the plugin runs itself, as Netdata runs it (its first lines exec node with its flags).
  // With flags: `node FLAGS plugin`, which skips those lines, for comparison.
  const [command, ...args] = nodeFlags.length === 0 ? [executable] : [process.execPath, ...nodeFlags.filter((f) => f !== '(jit)'), executable];
  const child = spawn(command!, [...args, '1', '--config', config, '--log-level', 'warn'], { stdio: ['pipe', 'pipe', 'inherit'] });
  // Arrival time of each iteration: the state chart of job 0 opens every iteration.
  const arrivals: number[] = [];
  let slowOrDown = 0;
  let buffer = '';
  let measuring = false;
  let bytesOut = 0;
  child.stdout.on('data', (d: Buffer) => {
    if (measuring) bytesOut += d.length;
    buffer += d.toString();
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (line.startsWith('BEGIN redis_fork_j0.state')) arrivals.push(Date.now());
      if (measuring && /^SET '(slow|down)' = 1$/.test(line)) slowOrDown++;
    }
  });
  await sleep(WARMUP_SECONDS * 1000);
  await resetStats(servers);
  const cpu0 = cpuSeconds(child.pid!);
  const wakeUps0 = wakeUps(child.pid!);
  const warmupCpuMs = cpu0 * 1000;
  const iterations0 = arrivals.length;
  const t0 = Date.now();
  measuring = true;
  const rssSampler = sampleRss(child.pid!);
  await sleep(seconds * 1000);
  const rss = rssSampler.stop();
  measuring = false;
  const wall = (Date.now() - t0) / 1000;
  const cpu = cpuSeconds(child.pid!) - cpu0;
  const wokeUp = wakeUps(child.pid!) - wakeUps0;
  const iterations = arrivals.length - iterations0;
  const redis = await redisUsec(servers);
  child.stdin.end();
  await new Promise((r) => child.on('close', r));
  const window = arrivals.slice(iterations0);
  const lateOrMissing = window.slice(1).filter((t, i) => t - window[i]! > 1500).length + Math.max(0, Math.round(wall) - iterations);
  const collections = iterations * jobs;
  return {
    jobs,
    nodeFlags,
    iterations,
    expectedIterations: Math.round(wall),
    lateOrMissing,
    slowOrDownCharts: slowOrDown,
    cpuMsPerCollection: (cpu * 1000) / Math.max(1, iterations),
    cpuMsPerInstance: (cpu * 1000) / Math.max(1, collections),
    wakeUpsPerIteration: wokeUp / Math.max(1, iterations),
    coreShare: cpu / wall,
    rssMb: rss.meanMb,
    rssPeakMb: rss.peakMb,
    redisUsecPerCollection: redis.usec / Math.max(1, collections),
    warmupCpuMs,
    bytesPerIteration: bytesOut / Math.max(1, iterations),
    redisTop: Object.entries(redis.byCommand).sort((a, b) => b[1] - a[1]).slice(0, 3).map(([c, u]) => `${c} ${(u / Math.max(1, collections)).toFixed(1)}`).join(', '),
  };
}

const STANDALONE = PLUGIN.replace(/redisfork\.plugin$/, 'redisfork.plugin-linux-x64');

interface BuildCost {
  build: string;
  sizeMb: number;
  /** Median over runs of `--once` against one Redis: wall time and CPU (user + system, children included). */
  onceWallMs: number;
  onceCpuMs: number;
  /** RSS and CPU per iteration of one job, measured like the rows above. */
  steady?: PluginResult;
}

/** Start-up cost and size of a build: `--once` against one Redis, run 9 times, the median. */
function startupCost(command: string, redisUrl: string): { wallMs: number; cpuMs: number } {
  const walls: number[] = [];
  const cpusMs: number[] = [];
  for (let i = 0; i < 9; i++) {
    const run = spawnSync('bash', ['-c', `TIMEFORMAT='%R %U %S'; { time "$0" --once --url "$1" --log-level error >/dev/null; } 2>&1 | tail -1`, command, redisUrl], { encoding: 'utf8' });
    const [real, user, sys] = run.stdout.trim().split(/\s+/).map(Number);
    walls.push(real! * 1000);
    cpusMs.push((user! + sys!) * 1000);
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return { wallMs: median(walls), cpuMs: median(cpusMs) };
}

async function benchBuilds(servers: RedisServer[], dir: string): Promise<BuildCost[]> {
  const builds: BuildCost[] = [];
  for (const [build, path] of [['bundle (`dist/redisfork.plugin`, run by node)', PLUGIN], ['standalone (`dist/redisfork.plugin-linux-x64`)', STANDALONE]] as const) {
    if (!existsSync(path)) continue;
    const once = startupCost(path, servers[0]!.url);
    const steady = path === PLUGIN ? undefined : await benchPlugin(servers, 1, dir, [], path);
    builds.push({ build, sizeMb: statSync(path).size / 2 ** 20, onceWallMs: once.wallMs, onceCpuMs: once.cpuMs, ...(steady ? { steady } : {}) });
  }
  return builds;
}

/** CPU a second and mean RSS of a process over SECONDS after WARMUP_SECONDS; then it is killed. */
async function steadyCost(child: ChildProcess): Promise<{ cpuMsPerSecond: number; rssMb: number }> {
  try {
    await sleep(WARMUP_SECONDS * 1000);
    const cpu0 = cpuSeconds(child.pid!);
    const t0 = Date.now();
    const rss = sampleRss(child.pid!);
    await sleep(SECONDS * 1000);
    const { meanMb } = rss.stop();
    return { cpuMsPerSecond: ((cpuSeconds(child.pid!) - cpu0) * 1000) / ((Date.now() - t0) / 1000), rssMb: meanMb };
  } finally {
    child.kill('SIGKILL');
  }
}

/** The floor: Node itself, doing nothing but a 1 s timer (what any Node plugin costs before its work). */
function benchIdleNode(): Promise<{ cpuMsPerSecond: number; rssMb: number }> {
  return steadyCost(spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' }));
}

/**
 * The I/O floor of one job (bench/io-floor.mjs): Node with the plugin's V8 flags doing each second
 * the plugin's reads, its INFO and a write of its iteration's size, and nothing else.
 */
function benchIoFloor(server: RedisServer, outputBytes: number): Promise<{ cpuMsPerSecond: number; rssMb: number }> {
  const script = new URL('./io-floor.mjs', import.meta.url).pathname;
  const flags = PREAMBLE_FLAGS.split(/\s+/).filter(Boolean);
  return steadyCost(spawn(process.execPath, [...flags, script, server.url, String(Math.round(outputBytes))], { stdio: ['ignore', 'ignore', 'inherit'] }));
}

interface ExporterResult {
  scrapes: number;
  cpuMsPerScrape: number;
  rssMb: number;
  redisUsecPerScrape: number;
  topCommands: string;
}

function exporterBinary(): string {
  for (const candidate of ['/usr/bin/prometheus-redis-exporter', '/usr/sbin/prometheus-redis-exporter']) {
    if (spawnSync('test', ['-x', candidate]).status === 0) return candidate;
  }
  throw new Error('prometheus-redis-exporter is not installed (apt-get install prometheus-redis-exporter)');
}

async function benchExporter(server: RedisServer): Promise<ExporterResult> {
  const port = await freePort();
  const child: ChildProcess = spawn(exporterBinary(), ['--redis.addr', `redis://127.0.0.1:${server.port}`, '--web.listen-address', `127.0.0.1:${port}`], { stdio: 'ignore' });
  const scrape = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  await waitFor(async () => {
    try {
      return (await scrape()).includes('redis_up 1');
    } catch {
      return false;
    }
  }, 15_000, 'the exporter');
  for (let i = 0; i < WARMUP_SECONDS; i++) {
    await scrape();
    await sleep(1000);
  }
  await resetStats([server]);
  const cpu0 = cpuSeconds(child.pid!);
  const rss = sampleRss(child.pid!);
  let scrapes = 0;
  const until = Date.now() + SECONDS * 1000;
  while (Date.now() < until) {
    const started = Date.now();
    await scrape();
    scrapes++;
    await sleep(Math.max(0, 1000 - (Date.now() - started)));
  }
  const cpu = cpuSeconds(child.pid!) - cpu0;
  const redis = await redisUsec([server]);
  // The mean of one reading a second, as for the plugin beside it.
  const { meanMb } = rss.stop();
  child.kill('SIGTERM');
  const top = Object.entries(redis.byCommand).sort((a, b) => b[1] - a[1]).slice(0, 4).map(([c, u]) => `${c} ${(u / scrapes).toFixed(0)}`).join(', ');
  return { scrapes, cpuMsPerScrape: (cpu * 1000) / scrapes, rssMb: meanMb, redisUsecPerScrape: redis.usec / scrapes, topCommands: top };
}

/** How a growing Redis is made: the keys it starts with, then what is added every 250 ms (400-byte values). */
const GROWING_START_KEYS = 500_000;
const GROWING_KEYS_PER_STEP = 10_000;

interface GrowingResult {
  plugin: PluginResult;
  /** VmData of the Redis when the plugin started and when it stopped. */
  vmDataMb: [number, number];
}

/** One job on a Redis of its own that grows all the time the plugin watches it. */
async function benchGrowing(dir: string): Promise<GrowingResult> {
  const server = await startRedis();
  const client = server.client();
  try {
    await client.call('DEBUG', 'POPULATE', String(GROWING_START_KEYS), 'key', '400');
    const vmDataMb = () => Number(/VmData:\s+(\d+) kB/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))?.[1]) / 1024;
    let step = 0;
    const grower = setInterval(() => void client.call('DEBUG', 'POPULATE', String(GROWING_KEYS_PER_STEP), `grow${step++}`, '400').catch(() => undefined), 250);
    const before = vmDataMb();
    try {
      const plugin = await benchPlugin([server], 1, dir);
      return { plugin, vmDataMb: [before, vmDataMb()] };
    } finally {
      clearInterval(grower);
    }
  } finally {
    client.disconnect();
    await server.stop();
  }
}

/** A big idle Redis: this many keys of 1000 bytes (~2.3 GB of RSS), watched this long (two minutes and more: the old rule walked once a minute). */
const BIG_KEYS = 2_000_000;
const BIG_SECONDS = Number(process.env.BENCH_BIG_SECONDS ?? 125);

interface BigIdleResult {
  plugin: PluginResult;
  rssMb: number;
  /** One read of its /proc/PID/smaps by the bench itself: what each walk costs the kernel. */
  walkMs: number;
}

/** One job on a big Redis of its own that nothing writes to. */
async function benchBigIdle(dir: string): Promise<BigIdleResult> {
  const server = await startRedis();
  const client = server.client();
  try {
    await client.call('DEBUG', 'POPULATE', String(BIG_KEYS), 'key', '1000');
    const redisRssMb = rssMb(server.pid);
    const walks = Array.from({ length: 5 }, () => {
      const started = process.hrtime.bigint();
      readFileSync(`/proc/${server.pid}/smaps`);
      return Number(process.hrtime.bigint() - started) / 1e6;
    }).sort((a, b) => a - b);
    const plugin = await benchPlugin([server], 1, dir, [], PLUGIN, BIG_SECONDS);
    return { plugin, rssMb: redisRssMb, walkMs: walks[2]! };
  } finally {
    client.disconnect();
    await server.stop();
  }
}

async function main(): Promise<void> {
  assertBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'redisfork-bench-'));
  const servers: RedisServer[] = [];
  try {
    for (let i = 0; i < SERVERS; i++) {
      const server = await startRedis();
      await server.client().call('DEBUG', 'POPULATE', '100000', 'key', '100');
      servers.push(server);
    }
    const plugin: PluginResult[] = [];
    for (const variant of VARIANTS) {
      for (const jobs of SCALES) {
        console.error(`bench: plugin (${variant.length ? `node ${variant.join(' ')}` : 'as Netdata runs it'}) with ${jobs} job(s) for ${SECONDS} s ...`);
        plugin.push(await benchPlugin(servers, jobs, dir, variant));
      }
    }
    console.error(`bench: an idle node for ${SECONDS} s ...`);
    const idle = await benchIdleNode();
    // At the same time, each on a Redis of its own: the shared machine's speed moves within minutes,
    // so a ratio of two measurements taken minutes apart moved with it.
    console.error(`bench: prometheus-redis-exporter, the plugin (1 job) and Node doing one job's I/O only, side by side for ${SECONDS} s ...`);
    const [exporter, beside, ioFloor] = await Promise.all([
      benchExporter(servers[0]!),
      benchPlugin([servers[1]!], 1, dir),
      benchIoFloor(servers[2]!, plugin[0]!.bytesPerIteration),
    ]);
    console.error(`bench: the plugin (1 job) on a Redis that grows, for ${SECONDS} s ...`);
    const growing = await benchGrowing(dir);
    console.error(`bench: the plugin (1 job) on a big idle Redis, for ${BIG_SECONDS} s ...`);
    const big = await benchBigIdle(dir);
    console.error('bench: size and start-up of the bundle and the standalone build ...');
    const builds = await benchBuilds(servers, dir);
    console.error(`bench: Redis's time for INFO of each set of sections, once a second for ${SECONDS} s ...`);
    const sections = await benchInfoSections(SECONDS);
    const report = render(plugin, exporter, beside, idle, ioFloor, growing, big, builds, sections);
    console.log(report);
    writeFileSync(new URL('./RESULTS.md', import.meta.url), report);
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The host's THP mode, the bracketed word. */
function readThpMode(): string {
  try {
    return /\[(\w+)\]/.exec(readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8'))?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function render(plugin: PluginResult[], exporter: ExporterResult, beside: PluginResult, idle: { cpuMsPerSecond: number; rssMb: number }, ioFloor: { cpuMsPerSecond: number; rssMb: number }, growing: GrowingResult, big: BigIdleResult, builds: BuildCost[], sections: SectionCost[]): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const f = (n: number, d = 1) => n.toFixed(d);
  const one = plugin[0]!;
  const lines = [
    '# Benchmark results',
    '',
    `Measured by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}: ${cpus().length} × ${cpu}, Linux ${release()}, ` +
      `Node ${process.version}, redis-server ${spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout.match(/v=(\S+)/)?.[1]}, ` +
      `${SERVERS} Redis servers with 100k keys each, ${SECONDS} s per measurement after ${WARMUP_SECONDS} s of warm-up. ` +
      'Numbers from one run on a shared machine: compare the ratios, not the absolute values across runs.',
    '',
    '## redisfork.plugin at update_every 1',
    '',
    `| jobs | iterations (expected) | late or missing | slow/down charted | CPU per iteration | CPU per instance | wake-ups per iteration | share of one core | RSS mean (peak) | Redis time per collection | CPU of the first ${WARMUP_SECONDS} s |`,
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...plugin.map(
      (p) =>
        `| ${p.jobs}${p.nodeFlags.length ? ` (\`node ${p.nodeFlags.join(' ')} plugin\`)` : ''} | ${p.iterations} (${p.expectedIterations}) | ${p.lateOrMissing} | ${p.slowOrDownCharts} | ${f(p.cpuMsPerCollection, 2)} ms | ${f(p.cpuMsPerInstance, 3)} ms | ${f(p.wakeUpsPerIteration, 1)} | ${f(p.coreShare * 100)}% | ${f(p.rssMb)} (${f(p.rssPeakMb)}) MiB | ${f(p.redisUsecPerCollection)} µs | ${f(p.warmupCpuMs, 0)} ms |`,
    ),
    '',
    `Rows without a note run the plugin as Netdata does (its first lines exec \`node ${PREAMBLE_FLAGS}\`; above ${HOLD_ABOVE_JOBS} jobs it switches V8's baseline compiler on, holds V8's young generation at its size and runs a full collection every 1000 s / jobs, above ${OPTIMIZE_ABOVE_JOBS} it switches V8's optimizing compiler on and lets the young generation grow: src/v8-tier.ts); \`(jit)\` is plain \`node plugin\`, V8's defaults.`,
    `The floor, Node itself doing nothing but a 1 s timer: ${f(idle.cpuMsPerSecond, 2)} ms of CPU a second, RSS ${f(idle.rssMb)} MiB.`,
    `The I/O floor of one job, Node with the plugin's flags doing only what the plugin does each second at one job — its ${f(one.bytesPerIteration, 0)}-byte write, its INFO, its positioned reads of the host's, the process's and the cgroup's files — and none of its parsing, model or chart text (bench/io-floor.mjs), measured at the same time as the side by side below: ` +
      `${f(ioFloor.cpuMsPerSecond, 2)} ms of CPU a second, RSS ${f(ioFloor.rssMb)} MiB, where the plugin beside it took ${f(beside.cpuMsPerCollection, 2)} ms: its own work at one job is the rest, ${f(beside.cpuMsPerCollection - ioFloor.cpuMsPerSecond, 2)} ms.`,
    '',
    '## Side by side with prometheus-redis-exporter (one instance, one scrape a second)',
    '',
    `Both at the same time for ${SECONDS} s after ${WARMUP_SECONDS} s, each watching a Redis of its own (100k keys); the plugin with one job, as in the first row above.`,
    '',
    '| | redisfork.plugin (1 job) | prometheus-redis-exporter | exporter ÷ plugin |',
    '| --- | ---: | ---: | ---: |',
    `| Redis main-thread time per collection | ${f(beside.redisUsecPerCollection)} µs | ${f(exporter.redisUsecPerScrape)} µs | ${f(exporter.redisUsecPerScrape / beside.redisUsecPerCollection)}× |`,
    `| CPU per collection | ${f(beside.cpuMsPerCollection, 2)} ms | ${f(exporter.cpuMsPerScrape, 2)} ms | ${f(exporter.cpuMsPerScrape / beside.cpuMsPerCollection)}× |`,
    `| RSS | ${f(beside.rssMb)} MiB | ${f(exporter.rssMb)} MiB | ${f(exporter.rssMb / beside.rssMb)}× |`,
    '',
    `The exporter's Redis time per scrape, by command (µs): ${exporter.topCommands}.`,
    `The plugin's (1 job), per collection (µs): ${beside.redisTop} — INFO memory/persistence/stats every second; INFO server, INFO replication and CONFIG GET after a reconnect and once a minute.`,
    'Called once a second, each INFO finds Redis\'s caches cold: back to back, INFO of these sections costs about 12 µs here.',
    '',
    '## One job on a Redis that grows',
    '',
    `A Redis of its own filled with ${GROWING_START_KEYS / 1000}k keys of 400 bytes, then ${GROWING_KEYS_PER_STEP / 1000}k more every 250 ms for as long as the plugin watches it (VmData ${f(growing.vmDataMb[0], 0)} → ${f(growing.vmDataMb[1], 0)} MB over its ${WARMUP_SECONDS + SECONDS} s). ` +
      'A growing Redis moves VmData every few seconds, and the plugin then walks /proc/PID/smaps again, at most every 10 s (src/host/read.ts): the walk costs the kernel about 3.6 ms a GB.',
    '',
    '| | CPU per iteration | wake-ups per iteration | RSS mean (peak) | late or missing |',
    '| --- | ---: | ---: | ---: | ---: |',
    `| 1 job, Redis growing | ${f(growing.plugin.cpuMsPerCollection, 2)} ms | ${f(growing.plugin.wakeUpsPerIteration, 1)} | ${f(growing.plugin.rssMb)} (${f(growing.plugin.rssPeakMb)}) MiB | ${growing.plugin.lateOrMissing} |`,
    '',
    '## One job on a big idle Redis',
    '',
    `A Redis of its own with ${BIG_KEYS / 1e6}M keys of 1000 bytes (RSS ${f(big.rssMb / 1024, 2)} GiB) that nothing writes to, watched for ${BIG_SECONDS} s after ${WARMUP_SECONDS} s. ` +
      `One read of its /proc/PID/smaps takes ${f(big.walkMs, 1)} ms (the median of 5, by the bench). While VmData and VmStk stay put the plugin walks it once a minute where huge pages can grow in Redis, every 10 minutes where they cannot (host THP \`never\`, \`madvise\` without huge pages in Redis, or Redis opted out: src/host/read.ts); this host's mode is \`${readThpMode()}\`.`,
    '',
    '| | CPU per iteration | wake-ups per iteration | RSS mean (peak) | late or missing |',
    '| --- | ---: | ---: | ---: | ---: |',
    `| 1 job, big idle Redis | ${f(big.plugin.cpuMsPerCollection, 2)} ms | ${f(big.plugin.wakeUpsPerIteration, 1)} | ${f(big.plugin.rssMb)} (${f(big.plugin.rssPeakMb)}) MiB | ${big.plugin.lateOrMissing} |`,
    '',
    '## What a cheaper round would cost Redis',
    '',
    `One INFO a second for ${SECONDS} s, each set of sections on a Redis of its own (100k keys), all at once:`,
    '',
    '| INFO sections | Redis time per call |',
    '| --- | ---: |',
    ...sections.map((c) => `| ${c.sections.join(' ')} | ${f(c.usecPerCall)} µs |`),
    '',
    'The plugin needs stats only for `total_forks` and `latest_fork_usec`, which change only at a fork; reading stats only when',
    'persistence shows a fork would lose some: a BGSAVE child killed within the second of its fork (the OOM killer\'s case,',
    'which Redis retries every 5 s) leaves persistence as it was after the previous failure, and forks for the Lua debugger',
    '(`SCRIPT DEBUG yes`) do not appear in persistence at all. So stats is read every second.',
    '',
    '## The two builds',
    '',
    '| build | size | `--once` wall time | `--once` CPU | CPU per iteration, 1 job | RSS, 1 job |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...builds.map((b) => {
      const steady = b.steady ?? one;
      return `| ${b.build} | ${f(b.sizeMb)} MiB | ${f(b.onceWallMs, 0)} ms | ${f(b.onceCpuMs, 0)} ms | ${f(steady.cpuMsPerCollection, 2)} ms | ${f(steady.rssMb)} MiB |`;
    }),
    '',
    '`--once`: start, connect, collect once, print, exit; the median of 9 runs. The bundle\'s size leaves out the Node it runs on.',
    '',
    'Targets (issue 10): 1 job ≤ 0.8 ms CPU per iteration and ≥ 3× below the exporter, RSS ≤ 45 MiB;',
    '100 jobs ≤ 0.12 ms per instance and RSS ≤ 60 MiB; 1000 jobs at 1 s on time under 10% of a core;',
    'Redis time per collection ≤ 60 µs at 1 job.',
    '',
  ];
  return lines.join('\n');
}

await main();
