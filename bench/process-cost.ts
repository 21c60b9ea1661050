/** What a process costs, read from procfs: shared by `npm run bench` and `bench/quick.ts`. */
import { readFileSync, readdirSync } from 'node:fs';

/**
 * CPU seconds of every thread of the process (V8's GC helpers and libuv's pool included), from the
 * scheduler's nanosecond accounting in /proc/PID/task/TID/schedstat: what `perf stat -e task-clock`
 * counts, without the 10 ms ticks of /proc/PID/stat.
 */
export function cpuSeconds(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread ended
    }
  }
  return ns / 1e9;
}

/**
 * How often the main thread went to sleep and was woken: its voluntary context switches
 * (/proc/PID/status counts the main thread's own). Each costs a pass through the event loop; a
 * timer that fires for nothing shows here before it shows in the CPU time.
 */
export function wakeUps(pid: number): number {
  return Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
}

export function rssMb(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;
}

/** RSS sampled once a second until `stop()`: RSS moves with V8's collections, so one reading says little. */
export function sampleRss(pid: number): { stop(): { meanMb: number; peakMb: number } } {
  const samples = [rssMb(pid)];
  const timer = setInterval(() => samples.push(rssMb(pid)), 1000);
  return {
    stop() {
      clearInterval(timer);
      return { meanMb: samples.reduce((a, b) => a + b, 0) / samples.length, peakMb: Math.max(...samples) };
    },
  };
}
