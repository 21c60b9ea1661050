// The V8 flags the plugin runs with, measured by `npm run bench` (bench/RESULTS.md): the bundle's
// first line passes them to node, the standalone build's SEA config carries them as execArgv.
// A young generation that starts at 1 MiB semi-spaces and may grow to V8's usual 16 MiB, which pays
// only with many jobs: its maximum is fixed at start, so it is set here, and src/v8-tier.ts holds
// it at its size or lets it grow once the job count is known (at one job V8 keeps it at 1 MiB
// itself: the same RSS as --max-semi-space-size=1, measured). And V8's bytecode interpreter only (no optimizing or baseline compiler
// and their code): on Node 20 the same RSS as --jitless, which on Node 18-22 needs
// --no-expose-wasm to keep a warning off stderr, a flag Node 24 refuses ("bad option").
// One V8 worker thread instead of four: under vm.overcommit_memory=2 each thread's 8 MiB stack is
// charged against the commit limit, and the doctor must start where room is tight (issue 13).
// --expose-gc gives src/v8-tier.ts V8's full collection (`gc`), run every few seconds with tens of jobs.
// --single-threaded-gc: V8 collects on the main thread alone. Its heap here is a few MiB, which its
// helper threads cost more to coordinate than they save: side by side (bench/quick.ts,
// 2026-11-30) 2-8% less CPU at 100 jobs, 1.6% less at 1000, the same at one job and the same RSS.
// Every flag here is accepted by Node 18, 20, 22 and 24 (test/integration/node18.test.ts).
export const NODE_FLAGS = '--min-semi-space-size=1 --max-semi-space-size=16 --no-opt --no-sparkplug --v8-pool-size=1 --expose-gc --single-threaded-gc';
