/**
 * Soak: runs the collector's iteration back to back against a live Redis and a dead one, and
 * reports the heap after garbage collection at checkpoints. The short run is in the test suite;
 * a person runs the long one:
 *   node --expose-gc --import tsx scripts/soak.ts --url redis://127.0.0.1:6379 --seconds 14400
 * Prints one JSON line at the end (and one per checkpoint with --verbose).
 */
import { parseArgs } from 'node:util';
import { Collector } from '../src/collector/runner.ts';
import { HostFs } from '../src/host/read.ts';
import { parseConfigText } from '../src/config/load.ts';
import { createLogger } from '../src/log.ts';

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: 'redis://127.0.0.1:6379' },
    dead: { type: 'string', default: 'redis://127.0.0.1:1' },
    iterations: { type: 'string' },
    seconds: { type: 'string' },
    verbose: { type: 'boolean', default: false },
  },
});
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error('run with node --expose-gc');
  process.exit(2);
}
const iterations = values.iterations ? Number(values.iterations) : Infinity;
const until = values.seconds ? Date.now() + Number(values.seconds) * 1000 : Infinity;
const config = parseConfigText(
  JSON.stringify({ jobs: [{ name: 'live', url: values.url, timeout_ms: 1000 }, { name: 'dead', url: values.dead, timeout_ms: 200 }] }),
  'soak',
);
const collector = new Collector(config, { hostFs: new HostFs(), logger: createLogger('silent'), updateEvery: 1, once: false });

const heapMb = () => {
  gc();
  return process.memoryUsage().heapUsed / 1048576;
};
let bytesOut = 0;
let now = Date.now();
const started = process.hrtime.bigint();
const checkpoints: { iteration: number; heapMb: number }[] = [];
let i = 0;
for (; i < iterations && Date.now() < until; i++) {
  // Simulated clock: one second per iteration, so CONFIG refreshes and smaps walks happen at
  // their real cadence (once a minute) while the loop runs as fast as it can.
  now += 1000;
  bytesOut += (await collector.iterate(now)).length;
  if (i === 200 || (i > 0 && i % 1000 === 0)) {
    checkpoints.push({ iteration: i, heapMb: Number(heapMb().toFixed(2)) });
    if (values.verbose) console.log(JSON.stringify(checkpoints.at(-1)));
  }
}
const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
await collector.close();
const warm = checkpoints[0]?.heapMb ?? heapMb();
const end = heapMb();
console.log(
  JSON.stringify({
    iterations: i,
    elapsedMs: Math.round(elapsedMs),
    msPerIteration: Number((elapsedMs / i).toFixed(3)),
    heapWarmMb: warm,
    heapEndMb: Number(end.toFixed(2)),
    heapGrowthMb: Number((end - warm).toFixed(2)),
    rssMb: Number((process.memoryUsage().rss / 1048576).toFixed(1)),
    bytesOut,
    checkpoints,
  }),
);
