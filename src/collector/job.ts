/**
 * One Redis instance: its connection, its state, and what was last learned about it.
 * A collection never overlaps the previous one; each state change is logged once.
 *
 * The connection comes in through `RedisLink` (tests give a fake one) and the time through
 * `collect(…, now)`: the state machine (up, loading, slow, down, auth_failed) runs on both alone.
 */
import type { Logger } from 'pino';
import type { JobConfig } from '../config/types.ts';
import { anonymousThp, type KernelFacts, type ProcessFacts } from '../host/facts.ts';
import { HostFs } from '../host/read.ts';
import { readCgroup } from '../host/cgroup.ts';
import { ProcessFactsCache } from '../host/process-cache.ts';
import { decideLocality, ServerProcessScanner, type LocalityDecision } from '../host/locality.ts';
import { describeContainer } from '../host/container.ts';
import { RedisConnection, type CollectResult } from '../redis/client.ts';
import { engineForks, parseRedisInfo, type RedisInfo } from '../redis/info.ts';
import type { RedisConfigValues } from '../model/redis-config.ts';
import type { InstanceSnapshot, InstanceState } from '../model/instance.ts';
import { RedisforkError } from '../errors.ts';
import { CounterWindow } from '../analysis/counter-window.ts';
import { CowHistory } from '../analysis/save-fit.ts';
import { instanceChartType } from '../../charts/catalog.ts';

/** The window of the OOM-kill alert (SPEC §5: in the last 10 minutes). */
export const OOM_WINDOW_MS = 10 * 60_000;

/** CONFIG GET at start and then at most once a minute (SPEC §3). */
export const CONFIG_REFRESH_MS = 60_000;

/** What a job needs of its connection to Redis (`RedisConnection` in production). */
export interface RedisLink {
  /** One round trip: INFO memory/persistence/stats (+ server when due), + replication and CONFIG when asked. */
  collect(withConfig: boolean): Promise<CollectResult>;
  /** INFO replication and CONFIG GET alone. */
  fetchConfig(): Promise<CollectResult>;
  /** Called while a collection waits: drops a connection whose reply is long overdue. */
  dropIfSilent?(now: number): void;
  /** This side of the TCP connection to Redis, where known. */
  readonly localEndpoint?: { address: string; port: number } | undefined;
  close(): Promise<void>;
}

export interface JobDependencies {
  hostFs: HostFs;
  logger: Logger;
  processes?: ProcessFactsCache;
  scanner?: ServerProcessScanner;
  connect?: (settings: JobConfig) => RedisLink;
}

/** What INFO and CONFIG said in one collection. */
interface RedisReading {
  info: RedisInfo;
  config: CollectResult['config'];
}

export class InstanceJob {
  readonly connection: RedisLink;
  /** `redis_fork_<job>`, sanitised once rather than every second. */
  readonly chartType: string;
  state: InstanceState | 'starting' = 'starting';
  info: RedisInfo | undefined;
  locality: LocalityDecision | undefined;
  config: RedisConfigValues | undefined;
  configProblem: string | undefined;
  /** The latest completed collection: what the doctor reads. */
  lastSnapshot: InstanceSnapshot | undefined;
  /** When uptime last went back (Redis restarted): the doctor tells a killed Redis from a killed child. */
  restartedAt: number | undefined;
  private configFetchedAt = -Infinity;
  private processFacts: ProcessFacts | undefined;
  private inFlight: Promise<InstanceSnapshot> | undefined;
  private lastError: string | undefined;
  private warnedNoFork = false;
  private internalErrorLogged = false;
  private lastUptime: number | undefined;
  private lastCollectedAt: number | undefined;
  /** Fed every iteration while the process is known, even when Redis does not answer, so that
   *  a kill during an outage (the usual moment) is not taken into the baseline. */
  private readonly cgroupOomKills = new CounterWindow(OOM_WINDOW_MS);
  /** Tasks the pids limit refused, in the same 10-minute window as the OOM kills. */
  private readonly refusedTasks = new CounterWindow(OOM_WINDOW_MS);
  private readonly cowHistory = new CowHistory();
  private readonly hostFs: HostFs;
  private readonly logger: Logger;
  private readonly processes: ProcessFactsCache;
  private readonly scanner: ServerProcessScanner;

  constructor(
    readonly settings: JobConfig,
    deps: JobDependencies,
  ) {
    this.hostFs = deps.hostFs;
    this.logger = deps.logger;
    this.processes = deps.processes ?? new ProcessFactsCache(deps.hostFs);
    this.scanner = deps.scanner ?? new ServerProcessScanner(deps.hostFs);
    this.connection = (deps.connect ?? ((s) => new RedisConnection(s)))(settings);
    this.chartType = instanceChartType(settings.name);
  }

  /** Where the doctor reads the host (NETDATA_HOST_PREFIX). */
  get hostFsForDoctor(): HostFs {
    return this.hostFs;
  }

  get name(): string {
    return this.settings.name;
  }

  get busy(): boolean {
    return this.inFlight !== undefined;
  }

  /** Starts a collection unless one is still running; resolves with this collection's snapshot. */
  collect(kernel: KernelFacts | undefined, now: number, hostOomKillsRecent?: number): Promise<InstanceSnapshot> | undefined {
    if (this.inFlight) {
      this.connection.dropIfSilent?.(now);
      this.trackCgroupOomKills(now);
      return undefined;
    }
    const run = this.run(kernel, now, hostOomKillsRecent)
      .then((snapshot) => (this.lastSnapshot = snapshot))
      .finally(() => {
        this.inFlight = undefined;
      });
    this.inFlight = run;
    return run;
  }

  /** The snapshot of an iteration that ended before Redis answered: state slow, no values. */
  slowSnapshot(): InstanceSnapshot {
    if (this.state !== 'slow') {
      this.logger.warn(
        { job: this.name, from: this.state, timeout_ms: this.settings.timeoutMs },
        'Redis has not answered yet; nothing more is sent to it until it does',
      );
      this.state = 'slow';
    }
    return { state: 'slow', info: undefined, config: this.config, kernel: undefined, process: undefined };
  }

  private async run(kernel: KernelFacts | undefined, now: number, hostOomKillsRecent: number | undefined): Promise<InstanceSnapshot> {
    let reading: RedisReading;
    // Only the conversation with Redis belongs here: anything else that throws is our bug, not "Redis down".
    try {
      reading = await this.readRedis(now);
    } catch (err) {
      return this.failed(err, now);
    }
    try {
      return this.understand(reading, kernel, now, hostOomKillsRecent);
    } catch (err) {
      return this.internalError(err, reading.info, now);
    }
  }

  /**
   * INFO (and CONFIG when due). CONFIG GET waits until a loading Redis has loaded its dataset
   * (seen on 7.0), and a pipeline answers only when all of it has: CONFIG rides along only when
   * INFO last said "not loading"; otherwise it follows in a second round trip once INFO says so.
   */
  private async readRedis(now: number): Promise<RedisReading> {
    const configDue = now - this.configFetchedAt >= CONFIG_REFRESH_MS;
    const pipelineConfig = configDue && this.info !== undefined && !this.info.loading;
    const result = await this.connection.collect(pipelineConfig);
    const info = parseRedisInfo(result.infoText);
    if (!result.withServer) this.carryServerFields(info, now);
    let config = result.config;
    if (configDue && !pipelineConfig && !info.loading) {
      const extra = await this.connection.fetchConfig();
      info.role = parseRedisInfo(extra.infoText).role;
      config = extra.config;
    }
    return { info, config };
  }

  /** Everything after Redis answered: locality, role, state, process facts, the snapshot. */
  private understand(reading: RedisReading, kernel: KernelFacts | undefined, now: number, hostOomKillsRecent: number | undefined): InstanceSnapshot {
    const { info, config } = reading;
    this.noteRestart(info, now);
    // Decided before this.info is replaced: the decision stands while the process is the same.
    const locality = this.sameProcess(info) && this.locality ? this.locality : decideLocality(this.hostFs, this.settings, info, this.scanner, now, this.connection.localEndpoint);
    this.lastUptime = info.uptimeSeconds;
    this.lastCollectedAt = now;
    // INFO replication comes only once a minute: keep the role between those rounds.
    if (info.role === undefined && this.info?.role !== undefined) info.role = this.info.role;
    this.info = info;
    if (config) this.takeConfig(config, now);
    if (!engineForks(info.engine) && !this.warnedNoFork) {
      this.warnedNoFork = true;
      this.logger.info({ job: this.name }, 'Dragonfly snapshots without fork(): no fork charts for this instance');
    }
    this.setState(info.loading ? 'loading' : 'up');
    this.takeLocality(locality);
    this.processFacts = locality.pid === undefined ? undefined : this.processes.get(locality.pid, now, kernel && anonymousThp(kernel));
    const local = locality.locality === 'local';
    return {
      state: this.state as InstanceState,
      info,
      config: this.config,
      kernel: local ? kernel : undefined,
      process: this.processFacts,
      recentOomKills: this.recentOomKills(now, local, hostOomKillsRecent),
      recentRefusedTasks: this.refusedTasks.push(now, this.processFacts?.tasks?.refused),
      cowEstimate: this.cowHistory.observe(info),
      restartedRecently: this.restartedAt !== undefined && now - this.restartedAt <= OOM_WINDOW_MS,
    };
  }

  /**
   * OOM kills that concern this Redis: those in its own cgroup; host-wide ones only when it has no
   * memory limit of its own (then the host's memory is its limit), less those already counted in
   * its cgroup (every memcg kill is in /proc/vmstat too).
   */
  private recentOomKills(now: number, local: boolean, hostRecent: number | undefined): NonNullable<InstanceSnapshot['recentOomKills']> {
    const cgroup = this.cgroupOomKills.push(now, this.processFacts?.cgroup?.oomKills);
    if (!local) return { cgroup, host: undefined };
    const limited = this.processFacts?.cgroup?.memoryLimit != null;
    if (limited) return { cgroup, host: 0 };
    return { cgroup, host: hostRecent === undefined ? undefined : Math.max(0, hostRecent - (cgroup ?? 0)) };
  }

  private takeLocality(locality: LocalityDecision): void {
    const previous = this.locality;
    if (locality.locality !== previous?.locality || locality.pid !== previous?.pid || (locality.candidates !== undefined) !== (previous?.candidates !== undefined)) {
      const fields = { job: this.name, locality: locality.locality, pid: locality.pid, ...(locality.container ? { container: describeContainer(locality.container) } : {}) };
      if (locality.candidates) this.logger.warn(fields, `locality: ${locality.reason}`);
      else this.logger.info(fields, `locality: ${locality.reason}`);
    }
    this.locality = locality;
  }

  /** Keeps CONFIG GET values, or says once why there are none. */
  private takeConfig(config: NonNullable<CollectResult['config']>, now: number): void {
    if ('error' in config && config.error.code === 'ERR_REDIS_LOADING') {
      // CONFIG waits until the dataset is loaded; try again at the next collection.
      return;
    }
    this.configFetchedAt = now;
    if ('values' in config) {
      this.config = config.values;
      if (this.configProblem !== undefined) this.logger.info({ job: this.name }, 'CONFIG GET works again');
      this.configProblem = undefined;
    } else {
      const problem = `CONFIG GET is not available (${config.error.message}); carrying on without the save settings`;
      if (this.configProblem === undefined) this.logger.warn({ job: this.name }, problem);
      this.configProblem = problem;
      this.config = undefined;
    }
  }

  /**
   * Without INFO server this round (same connection, so the same process), its fields are the
   * last ones read; uptime advances with the clock.
   */
  private carryServerFields(info: RedisInfo, now: number): void {
    const last = this.info;
    if (!last) return;
    info.engine = last.engine;
    info.version = last.version;
    info.processId = last.processId;
    info.executable = last.executable;
    info.tcpPort = last.tcpPort;
    if (last.uptimeSeconds !== undefined && this.lastCollectedAt !== undefined) {
      info.uptimeSeconds = last.uptimeSeconds + Math.max(0, Math.round((now - this.lastCollectedAt) / 1000));
    }
  }

  /**
   * The same server process as at the last locality decision: same process_id and an uptime that
   * did not go back. Then the decision (which reads /proc) stands.
   */
  private sameProcess(info: RedisInfo): boolean {
    const previous = this.info;
    return (
      previous !== undefined &&
      this.lastUptime !== undefined &&
      info.processId === previous.processId &&
      info.uptimeSeconds !== undefined &&
      // Between INFO server reads the uptime is carried forward from the clock: allow its rounding.
      info.uptimeSeconds >= this.lastUptime - 2
    );
  }

  private noteRestart(info: RedisInfo, now: number): void {
    if (this.lastUptime !== undefined && info.uptimeSeconds !== undefined && info.uptimeSeconds < this.lastUptime - 2) {
      this.restartedAt = now;
    }
  }

  /** Reads the cgroup OOM counter of the known Redis process; answers the kills in the window. */
  private trackCgroupOomKills(now: number): number | undefined {
    const pid = this.locality?.pid;
    if (pid === undefined) return undefined;
    // Where its cgroup is is known from the last good collection: only the counter is read.
    return this.cgroupOomKills.push(now, readCgroup(this.hostFs, pid, this.processFacts?.cgroup, now)?.oomKills);
  }

  /** Redis did not answer as asked: loading, auth refused, or down. */
  private failed(err: unknown, now: number): InstanceSnapshot {
    const error = err instanceof RedisforkError ? err : new RedisforkError('ERR_REDIS_REPLY', String(err), { cause: err });
    this.trackCgroupOomKills(now);
    if (error.code === 'ERR_REDIS_LOADING') {
      this.setState('loading');
      return { state: 'loading', info: undefined, config: this.config, kernel: undefined, process: undefined };
    }
    const state: InstanceState = error.code === 'ERR_REDIS_AUTH' ? 'auth_failed' : 'down';
    if (this.state !== state || this.lastError !== error.code) {
      this.logger.error(
        { job: this.name, url: this.settings.displayUrl, code: error.code, ...(this.locality?.container ? { container: describeContainer(this.locality.container) } : {}) },
        state === 'auth_failed'
          ? `Redis refused our credentials: ${error.message}${this.settings.passwordSource === 'none' ? ` — give this job a password (password_file: in redisfork.conf, a job for ${this.settings.displayUrl})` : ''}`
          : `Redis is not answering: ${error.message}`,
      );
    }
    this.lastError = error.code;
    this.state = state;
    return { state, info: undefined, config: this.config, kernel: undefined, process: undefined };
  }

  /** A bug of ours while making sense of a good reply: logged once with its stack; Redis keeps its state. */
  private internalError(err: unknown, info: RedisInfo, now: number): InstanceSnapshot {
    if (!this.internalErrorLogged) {
      this.internalErrorLogged = true;
      this.logger.error(
        { job: this.name, code: 'ERR_INTERNAL', err: err instanceof Error ? { message: err.message, stack: err.stack } : String(err) },
        `internal error while reading host facts for this Redis (a bug in redisfork; Redis itself answered): ${String(err)}`,
      );
    }
    this.info ??= info;
    this.lastCollectedAt = now;
    this.setState(info.loading ? 'loading' : 'up');
    return { state: this.state as InstanceState, info, config: this.config, kernel: undefined, process: undefined };
  }

  private setState(state: InstanceState): void {
    if (this.state !== state && this.state !== 'starting') {
      this.logger.info({ job: this.name, from: this.state, to: state }, `Redis is ${state}`);
    } else if (this.state === 'starting') {
      this.logger.info({ job: this.name, url: this.settings.displayUrl }, `Redis is ${state}`);
    }
    this.state = state;
    this.lastError = undefined;
  }

  async close(): Promise<void> {
    await this.connection.close();
  }
}
