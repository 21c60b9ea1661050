/**
 * libuv's thread pool (DNS lookups of host names, a few fs calls) starts 4 threads on first use,
 * and under vm.overcommit_memory=2 each thread's 8 MiB stack is charged against the commit limit:
 * 32 MiB for a process that, here, only resolves a host name now and then. Two threads are enough.
 * Set before anything uses the pool (libuv reads the variable on first use); a value in the
 * environment wins. Imported first by src/bin.ts for that reason.
 */
if (process.env.UV_THREADPOOL_SIZE === undefined) process.env.UV_THREADPOOL_SIZE = '2';
