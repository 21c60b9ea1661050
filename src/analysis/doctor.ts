/**
 * The fork doctor: each check of the operators' guide, with its evidence, a verdict and the exact
 * remedy. Pure: it reads one instance snapshot and says what it means, in plain words.
 */
import type { InstanceSnapshot } from '../model/instance.ts';
import { anonymousThp, type KernelFacts, type ProcessFacts, type ThpSizeMode, type UserTaskFacts } from '../host/facts.ts';
import { applicableLimit } from './metrics.ts';
import { chargeNow, forkModelInput, mib, predictFork, type ForkVerdict } from './kernel-model.ts';
import { failureMasked, savePointsSet, writesRefused } from './persistence.ts';
import { THRESHOLDS } from './thresholds.ts';
import { thpReachesProcess } from './thp.ts';
import { engineForks, versionMajorMinor } from '../redis/info.ts';
import { kernelAtLeast, parseKernelRelease } from '../host/parse.ts';
import { RUNTIME_UPDATE, describeContainer, shortContainerId, type ContainerIdentity } from '../host/container.ts';
import { saveNeeds } from './save-fit.ts';
import { hostTasksFinding, taskLimitFinding, userTasksFinding } from './task-limits.ts';

export type Verdict = 'ok' | 'warning' | 'critical' | 'unknown';

export interface Finding {
  check: string;
  title: string;
  verdict: Verdict;
  /** What it means, in one or two sentences. */
  summary: string;
  /** The facts it rests on: `name = value`. */
  evidence: string[];
  /** Commands or config lines that fix it, in order. */
  remedy: string[];
}

export interface Diagnosis {
  job: string;
  url: string | undefined;
  engine: string | undefined;
  version: string | undefined;
  locality: 'local' | 'remote' | 'unknown';
  /** The Redis process on this host, when identified, and the container it runs in. */
  pid?: number | undefined;
  container?: string | undefined;
  /** Which kernel rule decides this Redis's forks, in plain words. */
  forkRule: string | undefined;
  forkVerdict: ForkVerdict | undefined;
  /** What a fork of this process is charged, whatever the rule: from smaps, or VmData + VmStk. */
  forkCharge: { bytes: number; largestMappingBytes: number; source: 'smaps' | 'vmdata' } | undefined;
  verdict: Verdict;
  findings: Finding[];
}

export interface DoctorInput {
  job: string;
  url?: string;
  snapshot: InstanceSnapshot;
  locality: 'local' | 'remote' | 'unknown';
  /** Why CONFIG GET was not available, if it was not. */
  configProblem?: string | undefined;
  /** Where the data came from when not live (e.g. "a saved INFO"). */
  offline?: boolean;
  /** The container the Redis process runs in, and its pid on the host. */
  container?: ContainerIdentity | undefined;
  pid?: number | undefined;
  /** Several processes on this host fit this server (nothing in the job chose one). */
  candidates?: readonly { pid: number; container: ContainerIdentity | undefined }[] | undefined;
  /** Netdata sees the host through a prefix whose /proc is not the host's PID namespace. */
  hostPidsHidden?: boolean;
  /** RLIMIT_NPROC of the Redis process and its user's tasks, read for this diagnosis. */
  userTasks?: UserTaskFacts | undefined;
}

/** Under mode 2, the growth of VmData + VmStk since smaps was read is charge too: said beside the sum. */
function chargeGrowthNote(overcommitMemory: number | undefined, proc: ProcessFacts): string {
  const grown = chargeNow(overcommitMemory, proc)?.grownBytes ?? 0;
  return grown > 0 ? `, + ${mib(grown)} that VmData + VmStk grew by since it was read, all charged under mode 2` : '';
}

/** How bad a verdict is: higher is worse. */
export const VERDICT_RANK: Readonly<Record<Verdict, number>> = { ok: 0, unknown: 1, warning: 2, critical: 3 };
const RANK = VERDICT_RANK;

export function worst(verdicts: Verdict[]): Verdict {
  return verdicts.reduce<Verdict>((a, b) => (RANK[b] > RANK[a] ? b : a), 'ok');
}

const PERSIST_OVERCOMMIT = [
  'sysctl -w vm.overcommit_memory=1',
  "echo 'vm.overcommit_memory = 1' > /etc/sysctl.d/60-redis-overcommit.conf   # keeps it after a reboot",
];

const pct = (value: number) => `${value.toFixed(value < 10 ? 1 : 0)}%`;

export function diagnose(input: DoctorInput): Diagnosis {
  const { snapshot } = input;
  const { info, config, kernel, process: proc } = snapshot;
  const findings: Finding[] = [];
  const add = (f: Finding) => findings.push(f);

  if (snapshot.state === 'down' || snapshot.state === 'auth_failed' || info === undefined) {
    add({
      check: 'reachable',
      title: 'Redis answers',
      verdict: 'unknown',
      summary:
        snapshot.state === 'auth_failed'
          ? 'Redis refused the credentials, so nothing could be checked.'
          : snapshot.state === 'loading'
            ? 'Redis is loading its dataset; INFO will say more when it is done.'
            : 'Redis did not answer, so nothing could be checked.',
      evidence: [`state = ${snapshot.state}`],
      remedy: snapshot.state === 'auth_failed' ? ['check username / password_file of this job in redisfork.conf'] : [],
    });
    return finish(input, findings, undefined);
  }

  if (!engineForks(info.engine)) {
    add({
      check: 'engine',
      title: 'Fork-free engine',
      verdict: 'ok',
      summary: 'Dragonfly snapshots without fork(): none of the fork checks apply.',
      evidence: [`engine = ${info.engine}`, `version = ${info.version ?? '?'}`],
      remedy: [],
    });
    return finish(input, findings, undefined);
  }

  // --- persistence status -------------------------------------------------------------
  const refused = writesRefused(info, config);
  const savePoints = savePointsSet(config);
  const stopWrites = config?.['stop-writes-on-bgsave-error'];
  if (info.rdbLastBgsaveOk === false) {
    add({
      check: 'last_bgsave',
      title: 'Last background save',
      verdict: 'critical',
      summary: 'The last RDB background save failed. Redis logs the reason ("Can\'t save in background: fork: Cannot allocate memory", "fork: Resource temporarily unavailable", "Background saving terminated by signal 9", or a write error).',
      evidence: ['rdb_last_bgsave_status = err', ...(info.rdbChangesSinceLastSave !== undefined ? [`rdb_changes_since_last_save = ${info.rdbChangesSinceLastSave}`] : [])],
      remedy: ['fix the cause named by the other findings, then: redis-cli BGSAVE', 'redis-cli INFO persistence   # rdb_last_bgsave_status should read ok'],
    });
  } else if (info.rdbLastBgsaveOk === true) {
    add({ check: 'last_bgsave', title: 'Last background save', verdict: 'ok', summary: 'The last RDB background save succeeded.', evidence: ['rdb_last_bgsave_status = ok'], remedy: [] });
  }

  if (refused === true) {
    add({
      check: 'writes_refused',
      title: 'Writes refused',
      verdict: 'critical',
      summary: 'Redis is refusing every write with -MISCONF because the last save (or AOF write) failed. Clients see errors now.',
      evidence: [
        `stop-writes-on-bgsave-error = ${stopWrites ?? '?'}`,
        `save = "${config?.save ?? '?'}"`,
        `rdb_last_bgsave_status = ${info.rdbLastBgsaveOk === false ? 'err' : 'ok'}`,
        `aof_last_write_status = ${info.aofLastWriteOk === false ? 'err' : 'ok'}`,
      ],
      remedy: [
        'fix the cause, then: redis-cli BGSAVE   # writes resume once a save succeeds',
        'last resort, accepting unsaved data: redis-cli CONFIG SET stop-writes-on-bgsave-error no',
      ],
    });
  } else if (refused === undefined && info.rdbLastBgsaveOk === false) {
    add({
      check: 'writes_refused',
      title: 'Writes refused',
      verdict: 'unknown',
      summary: 'The last save failed; without CONFIG GET it cannot be told whether writes are refused (stop-writes-on-bgsave-error and save points).',
      evidence: [input.configProblem ?? 'CONFIG values not available'],
      remedy: ['redis-cli CONFIG GET stop-writes-on-bgsave-error', 'redis-cli CONFIG GET save'],
    });
  }

  const masked = failureMasked(config);
  if (masked === true) {
    add({
      check: 'save_masked',
      title: 'Save failures masked',
      verdict: 'warning',
      summary: 'Save points are set but stop-writes-on-bgsave-error is no: when a save fails, Redis keeps accepting writes it cannot persist, and nobody notices.',
      evidence: [`save = "${config?.save}"`, 'stop-writes-on-bgsave-error = no'],
      remedy: ['redis-cli CONFIG SET stop-writes-on-bgsave-error yes', 'redis-cli CONFIG REWRITE   # or set it in redis.conf'],
    });
  } else if (masked === undefined && input.configProblem) {
    add({
      check: 'config',
      title: 'Save settings',
      verdict: 'unknown',
      summary: `CONFIG GET is not available, so save points and stop-writes-on-bgsave-error are unknown. ${input.offline ? '' : 'Grant it with: ACL SETUSER <user> +config|get'}`.trim(),
      evidence: [input.configProblem],
      remedy: input.offline ? ['redis-cli CONFIG GET save', 'redis-cli CONFIG GET stop-writes-on-bgsave-error'] : ['ACL SETUSER <user> +config|get'],
    });
  }

  if (info.aofLastRewriteOk === false) {
    add({
      check: 'aof_rewrite',
      title: 'Last AOF rewrite',
      verdict: 'warning',
      summary: 'The last AOF rewrite failed. This never refuses writes, but the AOF keeps growing and the next rewrite needs a fork just the same.',
      evidence: ['aof_last_bgrewrite_status = err'],
      remedy: ['fix the fork or disk problem, then: redis-cli BGREWRITEAOF'],
    });
  }

  // --- the kernel's verdict on the next fork -------------------------------------------
  let forkVerdict: ForkVerdict | undefined;
  const rss = info.usedMemoryRss ?? proc?.vmRss;
  const ram = kernel?.memTotal ?? info.totalSystemMemory;
  if (kernel && proc) {
    const modelInput = forkModelInput(kernel, proc);
    if (modelInput) {
      forkVerdict = predictFork(modelInput);
      const evidence = [
        `vm.overcommit_memory = ${kernel.overcommitMemory}`,
        `kernel = ${kernel.kernelRelease ?? '?'}`,
        `fork charge = ${mib(modelInput.chargeBytes)} (${proc.charge?.source === 'smaps' ? 'accountable mappings in /proc/PID/smaps' : 'VmData + VmStk: smaps unreadable, likely too high'}${chargeGrowthNote(kernel.overcommitMemory, proc)})`,
        `largest accountable mapping = ${mib(modelInput.largestMappingBytes)}`,
      ];
      if (kernel.overcommitMemory === 2) {
        evidence.push(`CommitLimit = ${mib(modelInput.commitLimit)}`, `Committed_AS = ${mib(modelInput.committedAs)}`);
        if (kernel.overcommitKbytes) evidence.push(`vm.overcommit_kbytes = ${kernel.overcommitKbytes}`);
        else evidence.push(`vm.overcommit_ratio = ${kernel.overcommitRatio ?? '?'}`);
      } else if (forkVerdict.rule !== 'always') {
        evidence.push(`RAM + swap = ${mib(modelInput.memTotal + modelInput.swapTotal)}`);
      }
      if (proc.vmData !== undefined) evidence.push(`VmData = ${mib(proc.vmData)}`);
      if (forkVerdict.slackBytes) evidence.push(`commit counter slack = ±${mib(forkVerdict.slackBytes)} (${modelInput.cpus} CPUs)`);
      const borderline = forkVerdict.outcome === 'borderline';
      const tight = borderline || (forkVerdict.headroomPercent !== null && forkVerdict.headroomPercent < THRESHOLDS.commitHeadroomWarnPercent);
      add({
        check: 'fork_commit',
        title: 'Next fork vs kernel commit accounting',
        verdict: !forkVerdict.allowed ? 'critical' : tight ? 'warning' : 'ok',
        summary: !forkVerdict.allowed
          ? `The kernel would refuse the next fork now ("fork: Cannot allocate memory"): overcommit and the commit limit are the cause. ${forkVerdict.explanation}`
          : borderline
            ? `The next fork may or may not be refused: the margin is within what the kernel's commit counter can be off by. ${forkVerdict.explanation}`
            : tight
              ? `The next fork fits, with less than ${THRESHOLDS.commitHeadroomWarnPercent}% to spare. ${forkVerdict.explanation}`
              : forkVerdict.explanation,
        evidence,
        remedy: forkVerdict.allowed && !tight ? [] : PERSIST_OVERCOMMIT,
      });
    }
  } else if (input.locality === 'remote') {
    add({
      check: 'fork_commit',
      title: 'Next fork vs kernel commit accounting',
      verdict: 'unknown',
      summary: input.hostPidsHidden
        ? 'No process on this host could be tied to this Redis, and Netdata does not see the host\'s processes: its /proc (under NETDATA_HOST_PREFIX) is not the host PID namespace, so a Redis in another container looks remote.'
        : 'This Redis runs on another host: its kernel facts (overcommit, commit limit, THP, cgroup) are unknown here. Run the plugin on that host to check them.',
      evidence: [`locality = ${input.locality}`],
      remedy: input.hostPidsHidden
        ? ['run Netdata with the host PID namespace: docker run --pid=host (compose: pid: host); Kubernetes: hostPID: true', 'and the host\'s /proc and /sys mounted read-only at /host/proc and /host/sys (NETDATA_HOST_PREFIX=/host)']
        : [],
    });
  }

  // The guide's 50% rule, and which rule really applies.
  const overcommit = kernel?.overcommitMemory;
  if (overcommit !== undefined && rss !== undefined && ram !== undefined && ram > 0) {
    const share = (rss / ram) * 100;
    const risky = overcommit !== 1 && share > THRESHOLDS.overcommitRiskRssPercent;
    add({
      check: 'overcommit_risk',
      title: 'RSS vs RAM without overcommit',
      verdict: risky ? 'warning' : 'ok',
      summary: risky
        ? `RSS is ${pct(share)} of RAM with vm.overcommit_memory=${overcommit}. The guide's rule is that this fails; ${forkVerdict ? `on this host the rule that applies is: ${forkVerdict.explanation}` : 'set overcommit to 1 to be safe.'}`
        : overcommit === 1
          ? 'vm.overcommit_memory=1: the kernel never refuses a fork for lack of commit, as Redis recommends.'
          : `RSS is ${pct(share)} of RAM, under the guide's 50%.`,
      evidence: [`vm.overcommit_memory = ${overcommit}`, `used_memory_rss = ${mib(rss)}`, `RAM = ${mib(ram)}`],
      remedy: risky ? PERSIST_OVERCOMMIT : [],
    });
  }

  // --- fork latency and copy-on-write ---------------------------------------------------
  const forkUsec = info.latestForkUsec;
  if (forkUsec !== undefined && forkUsec > 0) {
    const ms = forkUsec / 1000;
    const perGb = rss !== undefined && rss > 0 ? ms / (rss / 1024 ** 3) : undefined;
    const verdict: Verdict = ms > THRESHOLDS.forkLatencyCritMs ? 'critical' : ms > THRESHOLDS.forkLatencyWarnMs || (perGb !== undefined && perGb > THRESHOLDS.forkMsPerGbWarn) ? 'warning' : 'ok';
    const counts = versionMajorMinor(info.version);
    add({
      check: 'fork_latency',
      title: 'Fork duration',
      verdict,
      summary:
        verdict === 'ok'
          ? `The latest fork took ${ms.toFixed(1)} ms${perGb !== undefined ? ` (${perGb.toFixed(1)} ms per GiB of RSS)` : ''}.`
          : `The latest fork took ${ms.toFixed(1)} ms${perGb !== undefined ? ` (${perGb.toFixed(0)} ms per GiB)` : ''}: Redis stops serving for that long at every save. Typical is 10–20 ms per GiB on bare metal.`,
      evidence: [`latest_fork_usec = ${forkUsec}`, ...(rss !== undefined ? [`used_memory_rss = ${mib(rss)}`] : []), ...(counts && (counts[0] < 7) ? ['Redis < 7.0 also counts failed forks here'] : [])],
      // Not "disable THP": a heap in huge pages has 512 times fewer page-table entries to copy, and
      // forks faster (test/integration/thp-cow.test.ts); huge pages cost at the writes after the fork.
      remedy: verdict === 'ok' ? [] : ['use smaller instances (fork time grows with the page tables, 10–20 ms per GiB of RSS on bare metal)', 'a host or VM type with a fast fork (not Xen PV)'],
    });
  }
  const usedMemory = info.usedMemory;
  const cows = [info.rdbLastCowSize, info.aofLastCowSize].filter((c): c is number => c !== undefined);
  if (cows.length > 0 && usedMemory !== undefined && usedMemory > 0) {
    const cow = Math.max(...cows);
    const share = (cow / usedMemory) * 100;
    add({
      check: 'cow_ratio',
      title: 'Copy-on-write during saves',
      verdict: share > THRESHOLDS.cowRatioWarnPercent ? 'warning' : 'ok',
      summary:
        share > THRESHOLDS.cowRatioWarnPercent
          ? `The last save copied ${mib(cow)}, ${pct(share)} of used memory: writes during saves double pages fast; the next save needs that much free memory again.`
          : `The last save copied ${mib(cow)} (${pct(share)} of used memory).`,
      evidence: [`rdb_last_cow_size = ${info.rdbLastCowSize ?? '?'}`, `aof_last_cow_size = ${info.aofLastCowSize ?? '?'}`, `used_memory = ${usedMemory}`],
      remedy:
        share > THRESHOLDS.cowRatioWarnPercent
          ? [`save when writes are low (adjust \`save\` points)${thpInflatesCow(kernel, proc, rss) ? ', disable THP (see the THP finding)' : ''}, and keep free memory ≥ the COW size`]
          : [],
    });
  }

  // --- the container -------------------------------------------------------------------
  if (input.container !== undefined) {
    const where = input.container.podUid !== undefined ? 'the Kubernetes node (a node setting: the kubelet\'s allowed sysctls do not cover vm.*)' : 'the host (a container cannot set vm.* sysctls: docker --sysctl refuses them)';
    add({
      check: 'container',
      title: 'Runs in a container',
      verdict: 'ok',
      summary: `This Redis is process ${input.pid ?? '?'} on this host, in ${describeContainer(input.container)}. vm.overcommit_memory and the commit limit it forks under are those of ${where}; its memory limit is its cgroup's.`,
      evidence: [`container_runtime = ${input.container.runtime}`, ...(input.container.id ? [`container_id = ${shortContainerId(input.container.id)}`] : []), ...(proc?.cgroup ? [`cgroup = ${proc.cgroup.path}`] : [])],
      remedy: [],
    });
  }
  if (input.candidates !== undefined && input.candidates.length > 1) {
    add({
      check: 'locality',
      title: 'Which process is this Redis?',
      verdict: 'unknown',
      summary: `${input.candidates.length} Redis processes on this host fit this server (same pid in their containers, same age, same port): its process facts are not charted until the job says which.`,
      evidence: input.candidates.map((c) => `host pid ${c.pid} in ${describeContainer(c.container)}`),
      remedy: input.candidates.map((c) => (c.container?.id ? `container: ${shortContainerId(c.container.id)}` : `pid: ${c.pid}`) + '   # in this job of redisfork.conf'),
    });
  }

  // --- memory headroom and the container ----------------------------------------------
  const limit = applicableLimit(snapshot);
  if (rss !== undefined && limit.bytes !== undefined && limit.bytes > 0) {
    const share = (rss / limit.bytes) * 100;
    const verdict: Verdict = share > THRESHOLDS.memoryHeadroomCritPercent ? 'critical' : share > THRESHOLDS.memoryHeadroomWarnPercent ? 'warning' : 'ok';
    const cgroup = proc?.cgroup;
    const expectedCow = cows.length > 0 ? Math.max(...cows) : undefined;
    const room = cgroup?.memoryLimit != null && cgroup.memoryUsage !== undefined ? cgroup.memoryLimit - cgroup.memoryUsage : undefined;
    const cowDoesNotFit = limit.source === 'cgroup' && room !== undefined && expectedCow !== undefined && expectedCow > room;
    add({
      check: 'memory_headroom',
      title: limit.source === 'cgroup' ? 'Memory vs the container limit' : 'Memory vs RAM',
      verdict: cowDoesNotFit && verdict === 'ok' ? 'warning' : verdict,
      summary:
        `RSS is ${pct(share)} of the ${limit.source === 'cgroup' ? 'cgroup memory limit' : 'RAM'} (${mib(limit.bytes)}).` +
        (cowDoesNotFit ? ` The last save copied ${mib(expectedCow)} but only ${mib(room)} is left below the cgroup limit: the save child will likely be OOM-killed ("terminated by signal 9").` : ''),
      evidence: [`used_memory_rss = ${mib(rss)}`, `limit = ${mib(limit.bytes)} (${limit.source})`, ...(cgroup ? [`cgroup v${cgroup.version} ${cgroup.path}: usage ${cgroup.memoryUsage !== undefined ? mib(cgroup.memoryUsage) : '?'}`] : [])],
      remedy:
        verdict === 'ok' && !cowDoesNotFit
          ? []
          : limit.source === 'cgroup'
            ? ['raise the container memory limit to at least RSS + the COW of a save (about 2× used_memory when writes are heavy)', 'or set maxmemory well below the limit']
            : ['set maxmemory so that RSS + COW fits in RAM, or move to a larger host'],
    });
  }

  const fit = saveFitFinding(input, rss, limit);
  if (fit) add(fit);
  const oom = oomFinding(input);
  if (oom) add(oom);
  const tasks = taskLimitFinding(input);
  if (tasks) add(tasks);
  const hostTasks = hostTasksFinding(kernel);
  if (hostTasks) add(hostTasks);
  const userTasks = userTasksFinding(input);
  if (userTasks) add(userTasks);

  // --- transparent huge pages ---------------------------------------------------------------
  const hostThp = kernel && anonymousThp(kernel);
  if (kernel && hostThp !== undefined && proc) {
    const hostAlways = hostThp === 'always';
    // Sizes set on their own (not `never`, not `inherit`): they decide where the top level does not.
    const ownSizes = (kernel.thpSizes ?? []).filter((size) => size.mode !== 'never' && size.mode !== 'inherit');
    const anon = proc.anonHugePages ?? 0;
    const reachable = thpReachesProcess(kernel, proc, rss) === true;
    const disableThp = config?.['disable-thp'];
    add({
      check: 'thp',
      title: 'Transparent huge pages',
      verdict: reachable ? 'warning' : 'ok',
      summary: reachable
        ? `Transparent huge pages reach this Redis: ${thpCowCost(kernelVersionOf(kernel))}. ` +
          (kernel.thpEnabled === 'always'
            ? 'Redis warns about it in its log if the mode was already "always" when it started (it checks once, at start).'
            : 'Redis does not warn about it: it checks only the top-level mode, and only at start.')
        : hostAlways
          ? 'Host THP is "always" but this Redis opted out (THP_enabled: 0, disable-thp yes).'
          : `Host THP is "${hostThp}": it does not reach Redis's heap unless something asks for huge pages.`,
      evidence: [
        `transparent_hugepage/enabled = ${kernel.thpEnabled ?? '?'}`,
        ...ownSizes.map((size) => `transparent_hugepage/hugepages-${size.sizeKb}kB/enabled = ${size.mode}`),
        ...(kernel.thpSizes !== undefined ? [`anonymous memory gets (strongest size) = ${hostThp}`] : []),
        `transparent_hugepage/defrag = ${kernel.thpDefrag ?? '?'}`,
        `THP_enabled (process) = ${proc.thpEnabled === undefined ? '?' : proc.thpEnabled ? 1 : 0}`,
        `AnonHugePages = ${mib(anon)}`,
        ...(disableThp !== undefined ? [`disable-thp = ${disableThp}`] : []),
      ],
      remedy: reachable ? thpRemedy(kernel.thpEnabled, ownSizes) : [],
    });
  }

  return finish(input, findings, forkVerdict);
}

/**
 * What huge pages cost a fork on this kernel. Before 5.8 a write to a huge page shared with the fork
 * child copied all 2 MiB of it; since 5.8 ("thp: Change CoW semantics for anon-THP") the kernel
 * splits the huge page and copies 4 KiB, as without huge pages, plus a page table for the split
 * (seen on 6.18: 31 one-byte writes in 31 shared huge pages made 0.3 MiB private, and the writer's
 * huge pages were split; test/integration/thp-cow.test.ts checks it with Redis on the kernel it runs on).
 */
export function thpCowCost(kernelVersion: readonly [number, number] | undefined): string {
  if (kernelVersion === undefined) {
    return 'before kernel 5.8 a write to a huge page shared with the fork child copies all 2 MiB of it (COW grows, and latency with it); from 5.8 on the kernel splits the huge page and copies 4 KiB';
  }
  const release = kernelVersion.join('.');
  return kernelAtLeast(kernelVersion, 5, 8)
    ? `on this kernel (${release}) a write to a huge page shared with the fork child splits it and copies 4 KiB (and a page table), not 2 MiB, so COW grows little; what remains is memory held in partly used huge pages and, where defrag asks for it, page faults that wait for compaction`
    : `on this kernel (${release}, before 5.8) a write to a huge page shared with the fork child copies all 2 MiB of it: COW grows, and latency with it`;
}

/**
 * Whether huge pages may be what makes this Redis's COW large: they reach it, on a kernel before 5.8
 * (or one not known), where a write to a shared huge page copies all of it (see `thpCowCost`).
 */
function thpInflatesCow(kernel: KernelFacts | undefined, proc: ProcessFacts | undefined, rss: number | undefined): boolean {
  if (kernel === undefined || proc === undefined || thpReachesProcess(kernel, proc, rss) !== true) return false;
  const version = kernelVersionOf(kernel);
  return version === undefined || !kernelAtLeast(version, 5, 8);
}

/** The kernel's major.minor, as read or from its release string. */
function kernelVersionOf(kernel: KernelFacts): [number, number] | undefined {
  return kernel.kernelVersion ?? parseKernelRelease(kernel.kernelRelease);
}

/**
 * How to keep huge pages from Redis. Redis 6.2+ (`disable-thp yes`) opts out only when the
 * top-level mode is `always` (seen here with 7.0: under a top-level `never` and `hugepages-2048kB`
 * at `always` it kept `THP_enabled: 1` and got 50 MB of huge pages), so a size set to `always` on
 * its own must be reset on the host.
 */
function thpRemedy(topLevel: string | undefined, ownSizes: readonly ThpSizeMode[]): string[] {
  const sizesAlways = ownSizes.filter((size) => size.mode === 'always');
  const lines = sizesAlways.map(
    (size) => `echo inherit > /sys/kernel/mm/transparent_hugepage/hugepages-${size.sizeKb}kB/enabled   # this size is "always" on its own`,
  );
  if (topLevel !== 'always' && sizesAlways.length > 0) {
    lines.push('(disable-thp yes does not help here: Redis opts out only when transparent_hugepage/enabled says always)');
    return lines;
  }
  return [
    'echo never > /sys/kernel/mm/transparent_hugepage/enabled   # now; persist with transparent_hugepage=never on the kernel command line',
    ...lines,
    'redis.conf: disable-thp yes   # Redis 6.2+, takes effect at the next restart',
  ];
}

function finish(input: DoctorInput, findings: Finding[], forkVerdict: ForkVerdict | undefined): Diagnosis {
  const info = input.snapshot.info;
  return {
    job: input.job,
    url: input.url,
    engine: info?.engine,
    version: info?.version,
    locality: input.locality,
    ...(input.pid !== undefined ? { pid: input.pid } : {}),
    ...(input.container !== undefined ? { container: describeContainer(input.container) } : {}),
    forkRule: forkVerdict?.explanation,
    forkVerdict,
    forkCharge: input.snapshot.process?.charge
      ? { bytes: input.snapshot.process.charge.bytes, largestMappingBytes: input.snapshot.process.charge.largestMappingBytes, source: input.snapshot.process.charge.source }
      : undefined,
    verdict: worst(findings.map((f) => f.verdict)),
    findings,
  };
}

/** 0: nothing critical; 1: something critical; 2: an instance could not be looked at. */
export function doctorExitCode(diagnoses: Diagnosis[]): number {
  if (diagnoses.some((d) => d.verdict === 'critical')) return 1;
  if (diagnoses.length === 0 || diagnoses.some((d) => d.findings.some((f) => f.check === 'reachable'))) return 2;
  return 0;
}

const MARK: Record<Verdict, string> = { ok: 'OK  ', warning: 'WARN', critical: 'CRIT', unknown: '??  ' };

export function formatDiagnoses(diagnoses: Diagnosis[]): string {
  if (diagnoses.length === 0) return 'No Redis to diagnose: none configured, and none answered at 127.0.0.1:6379 or the usual sockets.\n';
  const out: string[] = [];
  for (const d of diagnoses) {
    out.push(`${d.job}${d.url ? ` (${d.url})` : ''}: ${d.engine ?? '?'} ${d.version ?? ''}, ${d.locality} — ${d.verdict.toUpperCase()}`);
    if (d.forkRule) out.push(`  rule: ${d.forkRule}`);
    for (const f of d.findings) {
      out.push(`  [${MARK[f.verdict]}] ${f.title}: ${f.summary}`);
      for (const e of f.evidence) out.push(`         · ${e}`);
      for (const r of f.remedy) out.push(`         → ${r}`);
    }
    out.push('');
  }
  return out.join('\n');
}

/**
 * What an OOM kill of the save child takes with it where Redis runs: on cgroup v2, every process of
 * a cgroup whose `memory.oom.group` is 1 (Kubernetes 1.28+ sets it on each container), or, for a
 * systemd service, the service itself (systemd's default OOMPolicy=stop stops the unit when the
 * kernel OOM-kills one of its processes). Undefined where only the chosen process dies.
 */
function oomTakesRedis(input: DoctorInput): { sentence: string; remedy: string } | undefined {
  const cgroup = input.snapshot.process?.cgroup;
  if (cgroup === undefined || cgroup.version !== 2) return undefined;
  if (cgroup.oomGroupPath !== undefined) {
    return {
      sentence: ` memory.oom.group is 1 on ${cgroup.oomGroupPath}: when the OOM killer picks the save child, the kernel kills every process there with it, Redis included (Kubernetes sets this on every container on cgroup v2 since 1.28).`,
      remedy:
        input.container?.podUid !== undefined
          ? "Kubernetes 1.32+: singleProcessOOMKill: true in the kubelet's configuration kills only the process the OOM killer picks"
          : `echo 0 > ${cgroup.mount ?? '/sys/fs/cgroup'}${cgroup.oomGroupPath}/memory.oom.group   # only the process the OOM killer picks dies`,
    };
  }
  const unit = cgroup.path.split('/').reverse().find((segment) => segment.endsWith('.service'));
  if (unit === undefined) return undefined;
  return {
    sentence: ` Redis runs in the systemd service ${unit}: under systemd's default OOMPolicy=stop the service manager stops the whole service when the kernel OOM-kills one of its processes, the save child included, unless the unit sets OOMPolicy=continue.`,
    remedy: `systemctl edit ${unit}   # [Service] OOMPolicy=continue keeps Redis running when its save child is OOM-killed`,
  };
}

/** Will the next save fit under the limit that applies? RSS + the largest recent copy-on-write. */
function saveFitFinding(input: DoctorInput, rss: number | undefined, limit: ReturnType<typeof applicableLimit>): Finding | undefined {
  const { snapshot } = input;
  const info = snapshot.info;
  if (info === undefined || !engineForks(info.engine) || rss === undefined || limit.bytes === undefined || limit.bytes <= 0) return undefined;
  const cow = snapshot.cowEstimate;
  const needed = saveNeeds(rss, cow);
  const cgroupPath = snapshot.process?.cgroup?.limitPath;
  const limitText = `${mib(limit.bytes)} (${limit.source === 'cgroup' ? `cgroup limit${cgroupPath ? ` on ${cgroupPath}` : ''}` : 'RAM'})`;
  if (needed === undefined) {
    return {
      check: 'save_fit',
      title: 'Will the next save fit?',
      verdict: 'unknown',
      summary: `No save has been seen yet, so its copy-on-write is unknown. In the worst case (every page written during the save) it needs RSS × 2 = ${mib(rss * 2)} against ${limitText}.`,
      evidence: [`used_memory_rss = ${mib(rss)}`, `limit = ${limitText}`],
      remedy: [],
    };
  }
  const share = (needed / limit.bytes) * 100;
  const verdict: Verdict = share > THRESHOLDS.saveFitCritPercent ? 'critical' : share > THRESHOLDS.saveFitWarnPercent ? 'warning' : 'ok';
  const missing = needed - limit.bytes;
  const container = input.container;
  const knob = container === undefined
    ? undefined
    : container.podUid !== undefined
      ? `raise the pod's resources.limits.memory to at least ${mib(needed * 1.1)}`
      : RUNTIME_UPDATE[container.runtime] && container.id
        ? `${RUNTIME_UPDATE[container.runtime]} --memory ${Math.ceil((needed * 1.1) / 2 ** 20)}m --memory-swap ${Math.ceil((needed * 1.1) / 2 ** 20)}m ${shortContainerId(container.id)}`
        : `raise the container's memory limit to at least ${mib(needed * 1.1)}`;
  const maxmemory = info.maxmemory;
  const takesRedis = verdict === 'critical' ? oomTakesRedis(input) : undefined;
  return {
    check: 'save_fit',
    title: 'Will the next save fit?',
    verdict,
    summary:
      `The next save needs about ${mib(needed)}: RSS ${mib(rss)} + ${mib(cow ?? 0)} of copy-on-write (the largest of the recent saves), ${pct(share)} of ${limitText}.` +
      (verdict === 'critical'
        ? ` That is ${mib(missing)} more than the limit: the save child will likely be OOM-killed ("Background saving terminated by signal 9").${takesRedis?.sentence ?? ''}`
        : verdict === 'warning'
          ? ` Less than ${100 - THRESHOLDS.saveFitWarnPercent}% of the limit is left for anything else.`
          : ''),
    evidence: [
      `used_memory_rss = ${mib(rss)}`,
      `copy-on-write of recent saves (max) = ${mib(cow ?? 0)}`,
      `limit = ${limitText}`,
      ...(maxmemory !== undefined ? [`maxmemory = ${maxmemory === 0 ? '0 (none)' : mib(maxmemory)}`] : []),
    ],
    remedy:
      verdict === 'ok'
        ? []
        : [
            ...(knob ? [knob] : limit.source === 'cgroup' ? [`raise the memory limit of ${cgroupPath ?? 'its cgroup'} to at least ${mib(needed * 1.1)}`] : []),
            `or lower maxmemory so that RSS + copy-on-write stays below ${mib(limit.bytes * (THRESHOLDS.saveFitWarnPercent / 100))} (e.g. CONFIG SET maxmemory ${Math.floor(Math.max(0, limit.bytes * 0.9 - (cow ?? 0)) * 0.8)})`,
            'save when writes are low: copy-on-write grows with the writes during the save',
            ...(takesRedis ? [takesRedis.remedy] : []),
          ],
  };
}

/** OOM kills that concern this Redis, and which process they took: the save child or Redis itself. */
function oomFinding(input: DoctorInput): Finding | undefined {
  const { snapshot } = input;
  const recent = (snapshot.recentOomKills?.cgroup ?? 0) + (snapshot.recentOomKills?.host ?? 0);
  const cgroup = snapshot.process?.cgroup;
  const sinceCreated = cgroup?.oomKills ?? 0;
  if (recent === 0 && sinceCreated === 0) return undefined;
  const info = snapshot.info;
  const saveFailed = info?.rdbLastBgsaveOk === false || info?.aofLastRewriteOk === false;
  // One-shot (the doctor command) there is no window yet: the kills since the cgroup was made
  // and the save status still tell the victim.
  const victim = snapshot.restartedRecently
      ? 'Redis itself was killed: it restarted (its uptime went back) within the same 10 minutes, and lost what was written since its last save.'
      : saveFailed
        ? 'The save child was killed: Redis kept running and its last save failed ("Background saving terminated by signal 9" in its log).'
        : 'Redis kept running and its last save did not fail: another process of its cgroup was killed, or the kill was elsewhere on the host.';
  const scoreAdj = snapshot.config?.['oom-score-adj'];
  const takesRedis = oomTakesRedis(input);
  return {
    check: 'oom_kill',
    title: 'OOM kills near this Redis',
    verdict: recent > 0 ? 'critical' : 'warning',
    summary:
      (recent > 0
        ? `${recent} OOM kill(s) in the last 10 minutes ${snapshot.recentOomKills?.cgroup ? 'in the Redis cgroup' : 'on the host (this Redis has no memory limit of its own)'}. ${victim}`
        : `${sinceCreated} process(es) of this cgroup were OOM-killed since it was created. ${victim}`) +
      (scoreAdj !== undefined && scoreAdj !== 'no' ? ` oom-score-adj is "${scoreAdj}": Redis makes the kernel prefer its save child over itself.` : '') +
      (takesRedis?.sentence ?? ''),
    evidence: [
      ...(cgroup ? [`cgroup ${cgroup.path}: oom_kill = ${cgroup.oomKills ?? '?'}`] : []),
      `OOM kills in the last 10 minutes: cgroup ${snapshot.recentOomKills?.cgroup ?? '?'}, host ${snapshot.recentOomKills?.host ?? '?'}`,
      ...(info ? [`rdb_last_bgsave_status = ${info.rdbLastBgsaveOk === undefined ? '?' : info.rdbLastBgsaveOk ? 'ok' : 'err'}`] : []),
      ...(scoreAdj !== undefined ? [`oom-score-adj = ${scoreAdj}`] : []),
    ],
    remedy: [
      'raise the memory limit (or lower maxmemory) so that RSS + the copy-on-write of a save fits; see "Will the next save fit?"',
      'check the Redis log for "terminated by signal 9"',
      ...(takesRedis ? [takesRedis.remedy] : []),
    ],
  };
}
