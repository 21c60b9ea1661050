/**
 * Redis's main-thread time per collection of plugin builds side by side (not the report: that is
 * bench.ts): each build watches one Redis of its own (100k keys) with one job, all at once; after
 * BENCH_WARMUP seconds (default 20) CONFIG RESETSTAT, after BENCH_SECONDS more (default 60)
 * INFO commandstats. Then the builds swap servers and it runs again, BENCH_ROUNDS rounds in all
 * (default 2), so that no build keeps the quieter server.
 *   node --import tsx bench/redis-time.ts dist/redisfork.plugin /tmp/other/redisfork.plugin
 * Made to compare the plugin with an earlier build of itself: the Redis-time row of issue 10 was
 * set on another day of this shared machine, and a cold INFO's cost moves with the machine.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedis } from '../test/helpers/redis-server.ts';
import { redisUsec, resetStats } from './redis-cost.ts';

const WARMUP_MS = Number(process.env.BENCH_WARMUP ?? 20) * 1000;
const MEASURE_MS = Number(process.env.BENCH_SECONDS ?? 60) * 1000;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const builds = process.argv.slice(2);
if (builds.length === 0) {
  console.error('usage: node --import tsx bench/redis-time.ts BUILD [BUILD…]');
  process.exit(2);
}
const servers = await Promise.all(builds.map(() => startRedis()));
const dir = mkdtempSync(join(tmpdir(), 'redisfork-redis-time-'));
try {
  for (const server of servers) await server.client().call('DEBUG', 'POPULATE', '100000', 'key', '100');
  for (let round = 0; round < ROUNDS; round++) {
    const serverOf = (i: number) => servers[(i + round) % servers.length]!;
    const children = builds.map((build, i) => {
      const config = join(dir, `build-${i}.conf`);
      writeFileSync(config, `jobs:\n  - { name: one, url: "${serverOf(i).url}" }\n`);
      return spawn(build, ['1', '--config', config, '--log-level', 'warn'], { stdio: ['pipe', 'ignore', 'inherit'] });
    });
    await sleep(WARMUP_MS);
    await resetStats(servers);
    const started = Date.now();
    await sleep(MEASURE_MS);
    const seconds = (Date.now() - started) / 1000;
    for (let i = 0; i < builds.length; i++) {
      const { usec, byCommand, callsByCommand } = await redisUsec([serverOf(i)]);
      const commands = Object.entries(byCommand).map(([command, spent]) => `${command} ${callsByCommand[command]} calls, ${(spent / callsByCommand[command]!).toFixed(1)} µs each`);
      console.log(`round ${round + 1}: ${builds[i]}: ${(usec / seconds).toFixed(1)} µs of Redis time a second (${commands.join('; ')})`);
    }
    for (const child of children) child.stdin!.end();
    await Promise.all(children.map((child) => new Promise((resolve) => child.once('close', resolve))));
  }
} finally {
  await Promise.all(servers.map((server) => server.stop()));
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
