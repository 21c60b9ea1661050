/**
 * One Redis instance: its connection, its state, and what was last learned about it.
 * A collection never overlaps the previous one; each state change is logged once.
 */
import type { Logger } from 'pino';
import type { JobConfig } from '../config/types.ts';
import type { KernelFacts, ProcessFacts } from '../host/facts.ts';
import { HostFs, readCgroup } from '../host/read.ts';
import { ProcessFactsCache } from '../host/process-cache.ts';
import { decideLocality, type LocalityDecision } from '../host/locality.ts';
import { RedisConnection, type CollectResult, type RedisConfigValues } from '../redis/client.ts';
import { engineForks, parseRedisInfo, type RedisInfo } from '../redis/info.ts';
import type { InstanceSnapshot, InstanceState } from '../analysis/metrics.ts';
import { RedisforkError } from '../errors.ts';
import { CounterWindow } from '../analysis/counter-window.ts';
import { instanceChartType } from '../../charts/catalog.ts';

/** The window of the OOM-kill alert (SPEC §5: in the last 10 minutes). */
export const OOM_WINDOW_MS = 10 * 60_000;

/** CONFIG GET at start and then at most once a minute (SPEC §3). */
export const CONFIG_REFRESH_MS = 60_000;

export class InstanceJob {
  readonly connection: RedisConnection;
  /** `redis_fork_<job>`, sanitised once rather than every second. */
  readonly chartType: string;
  state: InstanceState | 'starting' = 'starting';
  info: RedisInfo | undefined;
  locality: LocalityDecision | undefined;
  config: RedisConfigValues | undefined;
  configProblem: string | undefined;
  private configFetchedAt = -Infinity;
  private processFacts: ProcessFacts | undefined;
  private inFlight: Promise<InstanceSnapshot> | undefined;
  /** The latest completed collection: what the doctor reads. */
  lastSnapshot: InstanceSnapshot | undefined;
  private lastError: string | undefined;
  private warnedNoFork = false;
  private lastUptime: number | undefined;
  private lastCollectedAt: number | undefined;
  /** Fed every iteration while the process is known, even when Redis does not answer, so that
   *  a kill during an outage (the usual moment) is not taken into the baseline. */
  private readonly cgroupOomKills = new CounterWindow(OOM_WINDOW_MS);

  constructor(
    readonly settings: JobConfig,
    private readonly hostFs: HostFs,
    private readonly logger: Logger,
    private readonly processes: ProcessFactsCache = new ProcessFactsCache(hostFs),
  ) {
    this.connection = new RedisConnection(settings);
    this.chartType = instanceChartType(settings.name);
  }

  get name(): string {
    return this.settings.name;
  }

  get busy(): boolean {
    return this.inFlight !== undefined;
  }

  /** Starts a collection unless one is still running; resolves with this collection's snapshot. */
  collect(kernel: KernelFacts | undefined, now = Date.now(), hostOomKillsRecent?: number): Promise<InstanceSnapshot> | undefined {
    if (this.inFlight) {
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
    if (last.uptimeSeconds !== undefined && this.lastCollectedAt !== undefined) {
      info.uptimeSeconds = last.uptimeSeconds + Math.max(0, Math.round((now - this.lastCollectedAt) / 1000));
    }
  }

  /**
   * The same server process as at the last locality decision: same process_id and an uptime that
   * did not go back. Then the decision (which reads /proc/PID/cmdline and stat) stands.
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

  /** Reads the cgroup OOM counter of the known Redis process; answers the kills in the window. */
  private trackCgroupOomKills(now: number): number | undefined {
    const pid = this.locality?.pid;
    if (pid === undefined) return undefined;
    return this.cgroupOomKills.push(now, readCgroup(this.hostFs, pid)?.oomKills);
  }

  private async run(kernel: KernelFacts | undefined, now: number, hostOomKillsRecent: number | undefined): Promise<InstanceSnapshot> {
    // CONFIG GET waits until a loading Redis has loaded its dataset (seen on 7.0), and a pipeline
    // answers only when all of it has: CONFIG rides along only when INFO last said "not loading";
    // otherwise (the first collection) it follows in a second round trip once INFO says so.
    const configDue = now - this.configFetchedAt >= CONFIG_REFRESH_MS;
    const pipelineConfig = configDue && this.info !== undefined && !this.info.loading;
    try {
      const result = await this.connection.collect(pipelineConfig);
      const info = parseRedisInfo(result.infoText);
      if (!result.withServer) this.carryServerFields(info, now);
      let config = result.config;
      if (configDue && !pipelineConfig && !info.loading) {
        const extra = await this.connection.fetchConfig();
        info.role = parseRedisInfo(extra.infoText).role;
        config = extra.config;
      }
      // Decided before this.info is replaced: the decision stands while the process is the same.
      const locality = this.sameProcess(info) && this.locality ? this.locality : decideLocality(this.hostFs, this.settings, info);
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
      if (locality.locality !== this.locality?.locality || locality.pid !== this.locality?.pid) {
        this.logger.info({ job: this.name, locality: locality.locality, pid: locality.pid }, `locality: ${locality.reason}`);
      }
      this.locality = locality;
      this.processFacts = locality.pid === undefined ? undefined : this.processes.get(locality.pid, now);
      const local = locality.locality === 'local';
      return {
        state: this.state as InstanceState,
        info,
        config: this.config,
        kernel: local ? kernel : undefined,
        process: this.processFacts,
        recentOomKills: {
          cgroup: this.cgroupOomKills.push(now, this.processFacts?.cgroup?.oomKills),
          host: local ? hostOomKillsRecent : undefined,
        },
      };
    } catch (err) {
      const error = err instanceof RedisforkError ? err : new RedisforkError('ERR_REDIS_REPLY', String(err), { cause: err });
      if (error.code === 'ERR_REDIS_LOADING') {
        this.trackCgroupOomKills(now);
        this.setState('loading');
        return { state: 'loading', info: undefined, config: this.config, kernel: undefined, process: undefined };
      }
      this.trackCgroupOomKills(now);
      const state: InstanceState = error.code === 'ERR_REDIS_AUTH' ? 'auth_failed' : 'down';
      if (this.state !== state || this.lastError !== error.code) {
        this.logger.error({ job: this.name, url: this.settings.displayUrl, code: error.code }, `Redis ${state === 'auth_failed' ? 'refused our credentials' : 'is not answering'}: ${error.message}`);
      }
      this.lastError = error.code;
      this.state = state;
      return { state, info: undefined, config: this.config, kernel: undefined, process: undefined };
    }
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
