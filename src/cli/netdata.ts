/**
 * Netdata mode: collect every `update_every` seconds, aligned to the wall clock, and write each
 * iteration to stdout in one write. stdout carries only protocol; logs go to stderr.
 * Ends with exit 0 on stdin EOF, a QUIT line, SIGTERM/SIGINT, or EPIPE on stdout.
 */
import { writeSync } from 'node:fs';
import type { Logger } from 'pino';
import { ConfigError } from '../errors.ts';
import { HostFs } from '../host/read.ts';
import { hostPidsVisible } from '../host/locality.ts';
import { Collector } from '../collector/runner.ts';
import { resolveConfig, type SourceOptions } from './settings.ts';
import { autodetect } from '../config/autodetect.ts';
import {
  DOCTOR_FUNCTION,
  SENSITIVE_FUNCTION_ACCESS,
  agentHasExtendedFunctions,
  functionError,
  functionRegistration,
  functionResult,
  parseFunctionCall,
  type FunctionCall,
} from '../protocol/functions.ts';
import { diagnoseJob } from '../collector/diagnose.ts';
import { HOLD_ABOVE_JOBS, OPTIMIZE_ABOVE_JOBS, V8Tier, fullGcIntervalMs } from '../v8-tier.ts';
import { DOCTOR_HELP, doctorFunctionBody } from '../collector/doctor-function.ts';

/** How often autodetection looks again while it has found nothing. */
export const REDETECT_MS = 10_000;
/** How often it looks again for new and vanished servers once it has found some (SPEC §11). */
export const REDISCOVER_MS = 60_000;

function rediscoverMs(env: NodeJS.ProcessEnv = process.env): number {
  const seconds = Number(env.REDISFORK_REDISCOVER_SECONDS);
  return Number.isFinite(seconds) && seconds >= 1 ? seconds * 1000 : REDISCOVER_MS;
}

export interface NetdataModeOptions extends SourceOptions {
  updateEvery: number;
  once: boolean;
}

/**
 * Writes to stdout with write(2) itself, not through process.stdout's stream (whose machinery costs
 * more per iteration than building the text): blocking, as Netdata's pipe is. Reports a closed pipe
 * instead of throwing.
 */
class StdoutSink {
  closed = false;
  private readonly pause = new Int32Array(new SharedArrayBuffer(4));
  constructor(private readonly onClosed: () => void) {}

  write(text: string): void {
    if (this.closed) return;
    try {
      const written = writeSync(1, text);
      // A blocking pipe takes it all; only a stdout left non-blocking by whoever shares it stops short.
      if (written < Buffer.byteLength(text)) this.writeRest(Buffer.from(text).subarray(written));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') this.writeRest(Buffer.from(text));
      else this.close();
    }
  }

  /** Waits for Netdata to read, as a blocking write would. */
  private writeRest(bytes: Buffer): void {
    let written = 0;
    while (written < bytes.length && !this.closed) {
      try {
        written += writeSync(1, bytes, written);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') Atomics.wait(this.pause, 0, 0, 5);
        else this.close();
      }
    }
  }

  private close(): void {
    this.closed = true;
    this.onClosed();
  }
}

export async function runNetdataMode(options: NetdataModeOptions, logger: Logger): Promise<number> {
  let collector: Collector | undefined;
  let stopping = false;
  let wake: (() => void) | undefined;
  const stop = (reason: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(`stopping: ${reason}`);
    wake?.();
    // Nothing is left to flush: every write was synchronous.
    void collector?.close().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 500).unref();
  };
  const sink = new StdoutSink(() => stop('stdout closed'));

  let config;
  try {
    config = await resolveConfig(options, options.updateEvery, logger);
  } catch (err) {
    if (err instanceof ConfigError) {
      logger.error({ problems: err.problems, file: err.file }, `invalid configuration: ${err.message}`);
      // DISABLE tells Netdata not to restart a plugin that cannot work until someone fixes the file.
      if (!options.once) sink.write('DISABLE\n');
      return 1;
    }
    throw err;
  }

  const hostFs = new HostFs();
  if (!hostPidsVisible(hostFs)) {
    logger.warn({ host_prefix: hostFs.root }, `${hostFs.root}/proc is not a /proc of this host's PID namespace: Redis in containers cannot be tied to their processes; mount the host's /proc at ${hostFs.root}/proc and run Netdata with the host PID namespace (docker run --pid=host; Kubernetes hostPID: true)`);
  }
  collector = new Collector(config, { hostFs, logger, updateEvery: config.updateEvery, once: options.once });
  const tier = new V8Tier();
  const fitV8 = async (jobs: number) => {
    const entered = await tier.fit(jobs);
    if (entered === 'many') logger.info({ jobs, above: OPTIMIZE_ABOVE_JOBS }, `${jobs} jobs: V8's optimizing compiler switched on and its young generation let grow (they pay for their memory above ${OPTIMIZE_ABOVE_JOBS} jobs)`);
    if (entered === 'several') {
      const everyMs = tier.fullCollections ? fullGcIntervalMs(jobs) : null;
      const fullGc = everyMs === null ? 'no full collections (node started without --expose-gc)' : `a full collection every ${everyMs / 1000} s`;
      logger.debug({ jobs, above: HOLD_ABOVE_JOBS, full_gc_every_ms: everyMs }, `${jobs} jobs: V8's baseline compiler switched on and its young generation held at its size, ${fullGc}`);
    }
  };
  if (options.once) {
    sink.write(await collector.iterate());
    await collector.close();
    return 0;
  }

  if (config.jobs.length === 0) logger.warn('nothing to collect: add jobs to redisfork.conf');
  await fitV8(config.jobs.length);
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGPIPE', () => stop('SIGPIPE'));
  // The doctor shows PIDs, cgroup paths, kernel and Redis settings: on agents that know access
  // levels, only for whom apps.plugin shows its process list to.
  const extended = agentHasExtendedFunctions(process.env.NETDATA_VERSION);
  sink.write(
    functionRegistration(DOCTOR_FUNCTION, 10, DOCTOR_HELP, extended ? { tags: 'redis', access: SENSITIVE_FUNCTION_ACCESS, priority: 100, version: 1 } : undefined),
  );
  watchStdin(logger, stop, sink, (call) => {
    if (call.name !== DOCTOR_FUNCTION) {
      sink.write(functionError(call.transaction, 404, `unknown function ${call.name}`));
      return;
    }
    const body = doctorFunctionBody((collector?.jobs ?? []).map(diagnoseJob), process.env.NETDATA_VERSION);
    sink.write(functionResult(call.transaction, 200, body));
  });

  const periodMs = config.updateEvery * 1000;
  // Without a config file and with no Redis found (Netdata often starts first at boot), look again
  // every REDETECT_MS until one answers.
  let lastDetection = Date.now();
  const rediscoverEvery = rediscoverMs();
  const sleepUntil = (at: number) =>
    new Promise<void>((resolve) => {
      wake = resolve;
      setTimeout(resolve, at - Date.now());
    });
  const nextBoundary = () => Math.ceil((Date.now() + 1) / periodMs) * periodMs;
  // The text goes from the promise to stdout without a variable of this function: V8 keeps every
  // register of a suspended async function, so the text would stay alive into the next iteration,
  // where its first young-generation collection promotes it (180 KB at 100 jobs, every second: 12%
  // more CPU there, side by side).
  const writeIteration = (text: string) => {
    // A bare newline keeps Netdata 2.x from dropping a plugin that has nothing to say.
    if (!stopping) sink.write(text || '\n');
  };
  let due = nextBoundary();
  let nextIteration = sleepUntil(due);
  while (!stopping) {
    const detectEvery = collector.jobs.length === 0 ? Math.min(REDETECT_MS, rediscoverEvery) : rediscoverEvery;
    if (config.source === 'autodetect' && Date.now() - lastDetection >= detectEvery) {
      lastDetection = Date.now();
      const found = await autodetect(config.updateEvery, logger, hostFs);
      if (stopping) break;
      const change = await collector.replaceJobs(found.jobs);
      await fitV8(collector.jobs.length);
      if (change.added.length || change.removed.length) logger.info(change, 'autodetection: the Redis servers changed');
    }
    await nextIteration;
    if (stopping) break;
    // One timer a period: it starts the next iteration and ends this one's wait for slow jobs.
    const following = due + periodMs;
    nextIteration = sleepUntil(following);
    await collector.iterate(due, nextIteration).then(writeIteration);
    if (stopping) break;
    // Between iterations, when what this one made is garbage: the full collection, when due.
    tier.afterIteration(Date.now());
    due = following;
    // After a stall (a suspended machine, a blocked disk) the next period boundary, not a burst to catch up.
    if (Date.now() >= following + periodMs) {
      due = nextBoundary();
      nextIteration = sleepUntil(due);
    }
  }
  return 0;
}

/**
 * Reads Netdata's lines: QUIT, function calls (with an optional 2.x payload), FUNCTION_CANCEL (a
 * call still waiting for its payload is answered 499 and dropped; the doctor answers every other
 * call at once) and FUNCTION_PROGRESS (nothing runs long enough to report), nothing else.
 */
function watchStdin(logger: Logger, stop: (reason: string) => void, sink: StdoutSink, onCall: (call: FunctionCall) => void): void {
  const warned = new Set<string>();
  let payloadCall: FunctionCall | undefined;
  readLines(process.stdin, (line) => {
    const keyword = line.trim().split(/\s+/, 1)[0] ?? '';
    if (payloadCall) {
      // The body of a 2.x call: the doctor takes no input, so it is read and dropped.
      if (keyword === 'FUNCTION_PAYLOAD_END') {
        onCall(payloadCall);
        payloadCall = undefined;
      } else if (keyword === 'FUNCTION_CANCEL' && line.trim().split(/\s+/)[1] === payloadCall.transaction) {
        sink.write(functionError(payloadCall.transaction, 499, 'cancelled'));
        payloadCall = undefined;
      }
      return;
    }
    if (keyword === '') return;
    if (keyword === 'QUIT') return stop('QUIT');
    // Every other call was answered when it came: nothing is left to cancel or to report progress on.
    if (keyword === 'FUNCTION_CANCEL' || keyword === 'FUNCTION_PROGRESS') return;
    if (keyword === 'FUNCTION' || keyword === 'FUNCTION_PAYLOAD') {
      const call = parseFunctionCall(line);
      if (call && keyword === 'FUNCTION_PAYLOAD') payloadCall = call;
      else if (call) onCall(call);
      else logger.warn({ line: line.slice(0, 200) }, 'ignoring a malformed FUNCTION line');
      return;
    }
    if (!warned.has(keyword)) {
      warned.add(keyword);
      logger.warn({ keyword }, 'ignoring a line from Netdata that this plugin does not handle');
    }
  }, () => stop('stdin closed'));
}

/**
 * Netdata's lines, LF or CRLF, the last one even without its newline. Not node:readline: it is
 * made for terminals and costs half a MiB of RSS to split a few lines a day.
 */
function readLines(input: NodeJS.ReadableStream, onLine: (line: string) => void, onEnd: () => void): void {
  let pending = '';
  input.setEncoding('utf8');
  input.on('data', (chunk: string) => {
    pending += chunk;
    for (let nl = pending.indexOf('\n'); nl !== -1; nl = pending.indexOf('\n')) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
    }
  });
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    if (pending !== '') onLine(pending);
    pending = '';
    onEnd();
  };
  input.on('end', end);
  input.on('error', end);
}
