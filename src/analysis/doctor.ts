/**
 * The fork doctor: each check of the operators' guide, with its evidence, a verdict and the exact
 * remedy. Pure: it reads one instance snapshot and says what it means, in plain words.
 */
import type { InstanceSnapshot } from './metrics.ts';
import { applicableLimit } from './metrics.ts';
import { forkModelInput, mib, predictFork, type ForkVerdict } from './kernel-model.ts';
import { failureMasked, savePointsSet, writesRefused } from './persistence.ts';
import { THRESHOLDS } from './thresholds.ts';
import { thpReachesProcess } from './thp.ts';
import { engineForks, versionMajorMinor } from '../redis/info.ts';

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
}

const RANK: Record<Verdict, number> = { ok: 0, unknown: 1, warning: 2, critical: 3 };
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
      summary: 'The last RDB background save failed. Redis logs the reason ("Can\'t save in background: fork: Cannot allocate memory", "Background saving terminated by signal 9", or a write error).',
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
        `fork charge = ${mib(modelInput.chargeBytes)} (${proc.charge?.source === 'smaps' ? 'accountable mappings in /proc/PID/smaps' : 'VmData + VmStk: smaps unreadable, likely too high'})`,
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
      const tight = forkVerdict.headroomPercent !== null && forkVerdict.headroomPercent < THRESHOLDS.commitHeadroomWarnPercent;
      add({
        check: 'fork_commit',
        title: 'Next fork vs kernel commit accounting',
        verdict: !forkVerdict.allowed ? 'critical' : tight ? 'warning' : 'ok',
        summary: !forkVerdict.allowed
          ? `The kernel would refuse the next fork now ("fork: Cannot allocate memory"): overcommit and the commit limit are the cause. ${forkVerdict.explanation}`
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
      summary: 'This Redis runs on another host: its kernel facts (overcommit, commit limit, THP, cgroup) are unknown here. Run the plugin on that host to check them.',
      evidence: [`locality = ${input.locality}`],
      remedy: [],
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
      remedy: verdict === 'ok' ? [] : ['disable transparent huge pages (see the THP finding)', 'use smaller instances (fork time grows with the page tables), or a host/VM type with fast fork (avoid Xen PV)'],
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
      remedy: share > THRESHOLDS.cowRatioWarnPercent ? ['save when writes are low (adjust `save` points), disable THP, and keep free memory ≥ the COW size'] : [],
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

  if (proc?.cgroup?.oomKills !== undefined && proc.cgroup.oomKills > 0) {
    add({
      check: 'oom_kill',
      title: 'OOM kills in the Redis cgroup',
      verdict: 'warning',
      summary: `${proc.cgroup.oomKills} process(es) of this cgroup were OOM-killed since it was created; during a save that is usually the fork child.`,
      evidence: [`cgroup ${proc.cgroup.path}: oom_kill = ${proc.cgroup.oomKills}`],
      remedy: ['raise the memory limit or lower maxmemory; check the Redis log for "terminated by signal 9"'],
    });
  }

  // --- transparent huge pages ---------------------------------------------------------------
  if (kernel?.thpEnabled !== undefined && proc) {
    const hostAlways = kernel.thpEnabled === 'always';
    const anon = proc.anonHugePages ?? 0;
    const reachable = thpReachesProcess(kernel, proc, rss) === true;
    const disableThp = config?.['disable-thp'];
    add({
      check: 'thp',
      title: 'Transparent huge pages',
      verdict: reachable ? 'warning' : 'ok',
      summary: reachable
        ? 'Transparent huge pages reach this Redis: fork latency and COW grow (a 4 KiB write copies 2 MiB), and Redis warns about it in its log.'
        : hostAlways
          ? 'Host THP is "always" but this Redis opted out (THP_enabled: 0, disable-thp yes).'
          : `Host THP is "${kernel.thpEnabled}": it does not reach Redis's heap unless something asks for huge pages.`,
      evidence: [
        `transparent_hugepage/enabled = ${kernel.thpEnabled}`,
        `transparent_hugepage/defrag = ${kernel.thpDefrag ?? '?'}`,
        `THP_enabled (process) = ${proc.thpEnabled === undefined ? '?' : proc.thpEnabled ? 1 : 0}`,
        `AnonHugePages = ${mib(anon)}`,
        ...(disableThp !== undefined ? [`disable-thp = ${disableThp}`] : []),
      ],
      remedy: reachable
        ? [
            'echo never > /sys/kernel/mm/transparent_hugepage/enabled   # now; persist with transparent_hugepage=never on the kernel command line',
            'redis.conf: disable-thp yes   # Redis 6.2+, takes effect at the next restart',
          ]
        : [],
    });
  }

  return finish(input, findings, forkVerdict);
}

function finish(input: DoctorInput, findings: Finding[], forkVerdict: ForkVerdict | undefined): Diagnosis {
  const info = input.snapshot.info;
  return {
    job: input.job,
    url: input.url,
    engine: info?.engine,
    version: info?.version,
    locality: input.locality,
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
