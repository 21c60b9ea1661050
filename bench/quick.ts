/**
 * A quick side-by-side cost check while working on the plugin (not the report: that is bench.ts):
 * runs each given plugin build with BENCH_JOBS jobs (default 1) against BENCH_SERVERS Redis servers (default 1, the bench
 * uses 4; jobs spread over them) of 100k keys for BENCH_SECONDS
 * (default 40) and prints CPU per iteration (all threads, from each thread's schedstat), the main thread's wake-ups per iteration
 * and RSS (mean and peak of one sample a second).
 *   node --import tsx bench/quick.ts dist/redisfork.plugin [other builds…]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedis } from '../test/helpers/redis-server.ts';
import { cpuSeconds, sampleRss, wakeUps } from './process-cost.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 40);
const cpuMs = (pid: number) => cpuSeconds(pid) * 1000;

const servers = await Promise.all(Array.from({ length: Number(process.env.BENCH_SERVERS ?? 1) }, () => startRedis()));
for (const server of servers) await server.client().call('DEBUG', 'POPULATE', '100000', 'key', '100');
const dir = mkdtempSync(join(tmpdir(), 'redisfork-quick-'));
const config = join(dir, 'one.conf');
const JOBS = Number(process.env.BENCH_JOBS ?? 1);
writeFileSync(config, `jobs:\n${Array.from({ length: JOBS }, (_, i) => `  - { name: ${i === 0 ? 'one' : `j${i}`}, url: "${servers[i % servers.length]!.url}" }`).join('\n')}\n`);
const builds = process.argv.slice(2);
const runs = await Promise.all(builds.map(async (build) => {
  const child = spawn(build, ['1', '--config', config, '--log-level', 'warn'], { stdio: ['pipe', 'pipe', 'inherit'] });
  let iterations = 0;
  child.stdout.on('data', (d: Buffer) => (iterations += d.toString().split('BEGIN redis_fork_one.state').length - 1));
  await new Promise((r) => setTimeout(r, Number(process.env.BENCH_WARMUP ?? 3) * 1000));
  const c0 = cpuMs(child.pid!);
  const w0 = wakeUps(child.pid!);
  const i0 = iterations;
  const rss = sampleRss(child.pid!);
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const { meanMb, peakMb } = rss.stop();
  const result = {
    build,
    msPerIteration: (cpuMs(child.pid!) - c0) / Math.max(1, iterations - i0),
    wakeUpsPerIteration: (wakeUps(child.pid!) - w0) / Math.max(1, iterations - i0),
    iterations: iterations - i0,
    meanMb,
    peakMb,
  };
  child.stdin.end();
  return result;
}));
for (const r of runs) console.log(`${r.build}: ${r.msPerIteration.toFixed(2)} ms/iteration over ${r.iterations}, ${r.wakeUpsPerIteration.toFixed(1)} wake-ups/iteration, RSS mean ${r.meanMb.toFixed(1)} peak ${r.peakMb.toFixed(1)} MiB`);
await Promise.all(servers.map((server) => server.stop()));
rmSync(dir, { recursive: true, force: true });
process.exit(0);
