// The V8 flags the plugin runs with, measured by `npm run bench` (bench/RESULTS.md): the bundle's
// first line passes them to node, the standalone build's SEA config carries them as execArgv.
// A small young generation that may grow (1 MiB semi-spaces, growth factor 1: it does not grow
// until src/v8-tier.ts sets the factor to 2 for many jobs — V8 reads the factor at each growth, while
// the maximum is fixed at start), and V8's bytecode interpreter only (no optimizing or baseline compiler
// and their code): on Node 20 the same RSS as --jitless, which on Node 18-22 needs
// --no-expose-wasm to keep a warning off stderr, a flag Node 24 refuses ("bad option").
// One V8 worker thread instead of four: under vm.overcommit_memory=2 each thread's 8 MiB stack is
// charged against the commit limit, and the doctor must start where room is tight (issue 13).
// Every flag here is accepted by Node 18, 20, 22 and 24 (test/integration/node18.test.ts).
export const NODE_FLAGS = '--min-semi-space-size=1 --max-semi-space-size=16 --semi-space-growth-factor=1 --no-opt --no-sparkplug --v8-pool-size=1';
