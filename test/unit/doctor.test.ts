import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { diagnose, doctorExitCode, formatDiagnoses, type DoctorInput } from '../../src/analysis/doctor.ts';
import { parseRedisInfo } from '../../src/redis/info.ts';
import type { KernelFacts, ProcessFacts } from '../../src/host/facts.ts';
import { doctorFunctionBody } from '../../src/collector/doctor-function.ts';
import { functionRegistration, functionResult, parseFunctionCall } from '../../src/protocol/functions.ts';
import { fixture } from '../helpers/fixtures.ts';
import { parseProtocol } from '../helpers/protocol.ts';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

function kernel(over: Partial<KernelFacts> = {}): KernelFacts {
  return {
    kernelRelease: '6.1.0', overcommitMemory: 0, overcommitRatio: 50, overcommitKbytes: 0, adminReserveBytes: 8 * MiB,
    userReserveBytes: 128 * MiB, memTotal: 16 * GiB, memFree: 8 * GiB, cached: 1 * GiB,
    sReclaimable: 100 * MiB, swapTotal: 0, swapFree: 0, commitLimit: 8 * GiB, committedAs: 5 * GiB,
    thpEnabled: 'madvise', thpDefrag: 'madvise', hostOomKills: 0, ...over,
  };
}

function proc(over: Partial<ProcessFacts> = {}): ProcessFacts {
  return {
    pid: 42, vmRss: 2 * GiB, vmData: 3 * GiB, vmStk: 132 * 1024, vmSize: 3 * GiB, thpEnabled: true, effectiveUid: 998,
    anonHugePages: 0, charge: { bytes: 2 * GiB, largestMappingBytes: 1 * GiB, source: 'smaps', measuredAt: 0 }, cgroup: undefined, ...over,
  };
}

const failedInfo = `redis_version:7.0.15\r\nrole:master\r\nused_memory:${2 * GiB}\r\nused_memory_rss:${2 * GiB}\r\nrdb_last_bgsave_status:err\r\naof_enabled:0\r\nlatest_fork_usec:20000\r\nrdb_last_cow_size:${100 * MiB}\r\n`;

function input(over: Partial<DoctorInput> & { k?: Partial<KernelFacts>; p?: Partial<ProcessFacts> } = {}): DoctorInput {
  return {
    job: 'main',
    locality: 'local',
    snapshot: {
      state: 'up',
      info: parseRedisInfo(failedInfo),
      config: { save: '3600 1 300 100', 'stop-writes-on-bgsave-error': 'yes', 'disable-thp': 'yes' },
      kernel: kernel(over.k),
      process: proc(over.p),
    },
    ...over,
  };
}

const find = (d: ReturnType<typeof diagnose>, check: string) => d.findings.find((f) => f.check === check);

describe('doctor', () => {
  it('names overcommit and the commit limit when the kernel would refuse the fork, with numbers and the remedy', () => {
    const d = diagnose(input({ k: { overcommitMemory: 2, commitLimit: 6 * GiB } }));
    const commit = find(d, 'fork_commit')!;
    assert.equal(commit.verdict, 'critical');
    assert.match(commit.summary, /would refuse the next fork/);
    assert.match(commit.summary, /overcommit and the commit limit are the cause/);
    assert.ok(commit.evidence.includes('CommitLimit = 6144 MiB'));
    assert.ok(commit.evidence.includes('Committed_AS = 5120 MiB'));
    assert.ok(commit.remedy.some((r) => r.startsWith('sysctl -w vm.overcommit_memory=1')));
    assert.ok(commit.remedy.some((r) => r.includes('/etc/sysctl.d/')), 'says how to persist it');
    assert.equal(find(d, 'writes_refused')?.verdict, 'critical', 'and says writes are being refused');
    assert.equal(d.verdict, 'critical');
    assert.equal(doctorExitCode([d]), 1);
  });

  it('says which rule applies under mode 0 and that the 50% rule does not', () => {
    const d = diagnose(input({ p: { vmRss: 12 * GiB }, snapshot: { ...input().snapshot, info: parseRedisInfo(failedInfo.replace(`used_memory_rss:${2 * GiB}`, `used_memory_rss:${12 * GiB}`)) } }));
    assert.match(d.forkRule ?? '', /refuses a fork only when one mapping is larger than RAM \+ swap/);
    const risk = find(d, 'overcommit_risk')!;
    assert.equal(risk.verdict, 'warning', 'the guide rule still warns: 75% of RAM without overcommit 1');
    assert.match(risk.summary, /the rule that applies is/);
    assert.equal(find(d, 'fork_commit')?.verdict, 'ok');
  });

  it('warns when less than 10% headroom is left', () => {
    const d = diagnose(input({ k: { overcommitMemory: 2, commitLimit: 5 * GiB + 2 * GiB + 2 * GiB * 0.05 + 128 * MiB + 8 * MiB } }));
    assert.equal(find(d, 'fork_commit')?.verdict, 'warning');
  });

  it('says the charge is an estimate when smaps was unreadable', () => {
    const d = diagnose(input({ k: { overcommitMemory: 2 }, p: { charge: { bytes: 3 * GiB, largestMappingBytes: 3 * GiB, source: 'vmdata', measuredAt: 0 } } }));
    assert.match(find(d, 'fork_commit')!.evidence.join('\n'), /VmData \+ VmStk: smaps unreadable, likely too high/);
  });

  it('under mode 2 adds the growth since smaps was read to the charge, and says so', () => {
    // Charged 2 GiB at the walk, VmData + VmStk 1 GiB larger since: 3 GiB against 3 GiB of room.
    const grown = { charge: { bytes: 2 * GiB, largestMappingBytes: 1 * GiB, source: 'smaps' as const, measuredAt: 0, dataAndStackAtMeasure: 2 * GiB + 132 * 1024 } };
    const d = diagnose(input({ k: { overcommitMemory: 2 }, p: grown }));
    const evidence = find(d, 'fork_commit')!.evidence.join('\n');
    assert.match(evidence, /fork charge = 3072 MiB \(accountable mappings in \/proc\/PID\/smaps, \+ 1024 MiB that VmData \+ VmStk grew by since it was read, all charged under mode 2\)/);
    assert.equal(find(d, 'fork_commit')?.verdict, 'critical');
    assert.equal(find(diagnose(input({ k: { overcommitMemory: 2 } })), 'fork_commit')?.verdict, 'ok', 'without the growth the 2 GiB fits');
  });

  it('flags masked failures, THP reaching Redis, slow forks and big COW', () => {
    const info = parseRedisInfo(`redis_version:6.2.0\r\nused_memory:${1 * GiB}\r\nused_memory_rss:${1 * GiB}\r\nrdb_last_bgsave_status:ok\r\nlatest_fork_usec:1200000\r\nrdb_last_cow_size:${600 * MiB}\r\n`);
    const d = diagnose(input({
      snapshot: { state: 'up', info, config: { save: '900 1', 'stop-writes-on-bgsave-error': 'no' }, kernel: kernel({ thpEnabled: 'always' }), process: proc({ vmRss: 1 * GiB }) },
    }));
    assert.equal(find(d, 'save_masked')?.verdict, 'warning');
    assert.equal(find(d, 'thp')?.verdict, 'warning');
    assert.equal(find(d, 'fork_latency')?.verdict, 'critical');
    assert.equal(find(d, 'cow_ratio')?.verdict, 'warning');
  });

  it('sees THP reach Redis through a per-size mode under a top-level never, and says which size to reset', () => {
    const thpSizes = [{ sizeKb: 64, mode: 'never' }, { sizeKb: 2048, mode: 'always' }];
    const d = diagnose(input({ k: { thpEnabled: 'never', thpSizes }, p: { thpEnabled: true } }));
    const thp = find(d, 'thp')!;
    assert.equal(thp.verdict, 'warning');
    assert.match(thp.summary, /Redis does not warn about it/);
    assert.ok(thp.evidence.includes('transparent_hugepage/hugepages-2048kB/enabled = always'));
    assert.ok(thp.evidence.includes('anonymous memory gets (strongest size) = always'));
    assert.ok(thp.remedy.some((line) => line.startsWith('echo inherit > /sys/kernel/mm/transparent_hugepage/hugepages-2048kB/enabled')));
    assert.ok(!thp.remedy.some((line) => line.startsWith('redis.conf: disable-thp yes')), 'Redis opts out only under a top-level always');
    assert.ok(thp.remedy.some((line) => /disable-thp yes does not help here/.test(line)));
    const both = find(diagnose(input({ k: { thpEnabled: 'always', thpSizes }, p: { thpEnabled: true } })), 'thp')!;
    assert.ok(both.remedy.some((line) => line.startsWith('echo never > /sys/kernel/mm/transparent_hugepage/enabled')));
    assert.ok(both.remedy.some((line) => line.startsWith('redis.conf: disable-thp yes')), 'under a top-level always, disable-thp does act');
    const off = find(diagnose(input({ k: { thpEnabled: 'always', thpSizes: [{ sizeKb: 2048, mode: 'never' }] }, p: { thpEnabled: true } })), 'thp')!;
    assert.equal(off.verdict, 'ok', 'top-level always with the only size at never');
    assert.match(off.summary, /"never"/);
  });

  it('says what a write to a shared huge page copies on this kernel: all 2 MiB before 5.8, 4 KiB from 5.8 on', () => {
    const thpSummary = (k: Partial<KernelFacts>) => find(diagnose(input({ k: { thpEnabled: 'always', ...k }, p: { thpEnabled: true, anonHugePages: 1 * GiB } })), 'thp')!.summary;
    assert.match(thpSummary({ kernelRelease: '4.19.0-27-amd64' }), /this kernel \(4\.19, before 5\.8\) a write to a huge page shared with the fork child copies all 2 MiB/);
    assert.match(thpSummary({ kernelRelease: '5.4.0-150-generic' }), /copies all 2 MiB/);
    assert.match(thpSummary({ kernelRelease: '5.8.0' }), /this kernel \(5\.8\) a write to a huge page shared with the fork child splits it and copies 4 KiB/);
    assert.match(thpSummary({ kernelRelease: '6.1.0', kernelVersion: [6, 1] }), /this kernel \(6\.1\)[^.]*copies 4 KiB/);
    assert.doesNotMatch(thpSummary({ kernelRelease: '6.1.0' }), /copies all 2 MiB/);
    assert.match(thpSummary({ kernelRelease: undefined }), /before kernel 5\.8 [^;]*2 MiB[^;]*; from 5\.8 on [^.]*4 KiB/, 'an unknown kernel gets both');
    assert.match(thpSummary({ kernelRelease: '6.1.0' }), /Redis warns about it in its log/);
  });

  it('names THP among the remedies for a large COW only where huge pages reach Redis on a kernel before 5.8', () => {
    const cowRemedy = (k: Partial<KernelFacts>, p: Partial<ProcessFacts>) => {
      const info = parseRedisInfo(failedInfo.replace(`rdb_last_cow_size:${100 * MiB}`, `rdb_last_cow_size:${1536 * MiB}`));
      const d = diagnose(input({ k, p, snapshot: { ...input({ k, p }).snapshot, info } }));
      assert.equal(find(d, 'cow_ratio')?.verdict, 'warning');
      return find(d, 'cow_ratio')!.remedy.join(' ');
    };
    const reaching = { thpEnabled: true, anonHugePages: 1 * GiB };
    assert.match(cowRemedy({ thpEnabled: 'always', kernelRelease: '4.19.0' }, reaching), /disable THP/);
    assert.match(cowRemedy({ thpEnabled: 'always', kernelRelease: undefined }, reaching), /disable THP/, 'an unknown kernel may copy whole huge pages');
    assert.doesNotMatch(cowRemedy({ thpEnabled: 'always', kernelRelease: '6.1.0' }, reaching), /THP/, 'from 5.8 on a write copies 4 KiB');
    assert.doesNotMatch(cowRemedy({ thpEnabled: 'madvise', kernelRelease: '4.19.0' }, { thpEnabled: true, anonHugePages: 0 }), /THP/, 'THP does not reach Redis');
    assert.match(cowRemedy({ thpEnabled: 'madvise', kernelRelease: '4.19.0' }, { thpEnabled: true, anonHugePages: 0 }), /save when writes are low/);
  });

  it('does not count the few MB of huge pages mapped before Redis opts out', () => {
    const d = diagnose(input({ k: { thpEnabled: 'always' }, p: { thpEnabled: false, anonHugePages: 4 * MiB } }));
    assert.equal(find(d, 'thp')?.verdict, 'ok');
    assert.match(find(d, 'thp')!.summary, /opted out/);
  });

  it('warns when the container limit leaves less room than the last COW', () => {
    const d = diagnose(input({ p: { cgroup: { version: 1, path: '/redis', memoryLimit: 2 * GiB + 200 * MiB, memoryUsage: 2 * GiB + 180 * MiB, oomKills: 1 } } }));
    const headroom = find(d, 'memory_headroom')!;
    assert.equal(headroom.title, 'Memory vs the container limit');
    assert.notEqual(headroom.verdict, 'ok');
    assert.match(headroom.summary, /OOM-killed/);
    assert.equal(find(d, 'oom_kill')?.verdict, 'warning', 'a kill since the cgroup was made, none in the window');
  });

  it('in a container: names the host pid, says overcommit is the host\'s, and whether the next save fits, with the knob', () => {
    const container = { runtime: 'docker' as const, id: 'ab'.repeat(32), name: 'cache', podUid: undefined };
    const base = input({ container, pid: 4711, p: { cgroup: { version: 1, path: `/docker/${'ab'.repeat(32)}`, memoryLimit: 2 * GiB + 50 * MiB, limitPath: `/docker/${'ab'.repeat(32)}`, memoryUsage: 2 * GiB, oomKills: 0 } } });
    const d = diagnose({ ...base, snapshot: { ...base.snapshot, cowEstimate: 300 * MiB } });
    assert.equal(d.pid, 4711);
    assert.match(d.container ?? '', /docker container cache \(ababababab/);
    assert.match(find(d, 'container')!.summary, /process 4711 on this host[\s\S]*those of the host/);
    const fit = find(d, 'save_fit')!;
    assert.equal(fit.verdict, 'critical');
    assert.match(fit.summary, /needs about 2348 MiB: RSS 2048 MiB \+ 300 MiB/);
    assert.match(fit.summary, /250 MiB more than the limit/);
    assert.match(fit.remedy[0] ?? '', /^docker update --memory \d+m --memory-swap \d+m abababababab$/);
    const pod = diagnose({ ...base, container: { ...container, runtime: 'containerd', podUid: 'p-1' }, snapshot: { ...base.snapshot, cowEstimate: 300 * MiB } });
    assert.match(find(pod, 'save_fit')!.remedy[0] ?? '', /resources\.limits\.memory/);
    assert.match(find(pod, 'container')!.summary, /Kubernetes node/);
    const unknown = diagnose({ ...base, snapshot: { ...base.snapshot, cowEstimate: undefined } });
    assert.match(find(unknown, 'save_fit')!.summary, /worst case[\s\S]*4096 MiB/);
  });

  it('after an OOM kill, tells a killed save child from a killed Redis', () => {
    const cgroup = { version: 2 as const, path: '/redis', memoryLimit: 4 * GiB, memoryUsage: 2 * GiB, oomKills: 1 };
    const child = diagnose({ ...input({ p: { cgroup } }), snapshot: { ...input({ p: { cgroup } }).snapshot, recentOomKills: { cgroup: 1, host: 0 } } });
    assert.equal(find(child, 'oom_kill')?.verdict, 'critical');
    assert.match(find(child, 'oom_kill')!.summary, /save child was killed/);
    const restarted = diagnose({ ...input({ p: { cgroup } }), snapshot: { ...input({ p: { cgroup } }).snapshot, recentOomKills: { cgroup: 1, host: 0 }, restartedRecently: true } });
    assert.match(find(restarted, 'oom_kill')!.summary, /Redis itself was killed/);
  });

  it('says kernel facts are unknown for a remote Redis', () => {
    const d = diagnose({ ...input(), locality: 'remote', snapshot: { ...input().snapshot, kernel: undefined, process: undefined } });
    assert.equal(find(d, 'fork_commit')?.verdict, 'unknown');
    assert.match(find(d, 'fork_commit')!.summary, /another host/);
  });

  it('reports Dragonfly as fork-free, and a down Redis as could-not-look (exit 2)', () => {
    const df = diagnose({ ...input(), snapshot: { ...input().snapshot, info: parseRedisInfo(fixture('info/hand-dragonfly-1.21.txt')) } });
    assert.deepEqual(df.findings.map((f) => f.check), ['engine']);
    const down = diagnose({ ...input(), snapshot: { state: 'down', info: undefined, config: undefined, kernel: undefined, process: undefined } });
    assert.equal(doctorExitCode([df, down]), 2);
    assert.equal(doctorExitCode([df]), 0);
  });

  it('prints for people', () => {
    const text = formatDiagnoses([diagnose(input({ k: { overcommitMemory: 2, commitLimit: 6 * GiB } }))]);
    assert.match(text, /\[CRIT\] Next fork vs kernel commit accounting/);
    assert.match(text, /→ sysctl -w vm.overcommit_memory=1/);
  });
});

describe('the redisfork:doctor function', () => {
  it('registers with the 1.37 syntax', () => {
    const line = functionRegistration('redisfork:doctor', 10, 'Explains "things"');
    assert.equal(line, `FUNCTION GLOBAL "redisfork:doctor" 10 "Explains 'things'"\n`);
    assert.deepEqual(parseProtocol(line).problems, []);
  });
  it('parses 1.37 and 2.x calls', () => {
    assert.deepEqual(parseFunctionCall('FUNCTION tx1 10 "redisfork:doctor"'), { transaction: 'tx1', timeoutSeconds: 10, name: 'redisfork:doctor', args: [] });
    assert.deepEqual(parseFunctionCall('FUNCTION tx2 10 "redisfork:doctor info" 0x0013 "method=api,role=test"')?.args, ['info']);
    assert.equal(parseFunctionCall('FUNCTION tx3'), undefined);
  });
  it('answers as JSON for 1.37 and as a table for 2.x', () => {
    const diagnoses = [diagnose(input())];
    const v1 = doctorFunctionBody(diagnoses, 'v1.37.1') as { instances: unknown[] };
    assert.equal(v1.instances.length, 1);
    const v2 = doctorFunctionBody(diagnoses, 'v2.1.0') as { type: string; data: unknown[][]; columns: Record<string, { index: number }> };
    assert.equal(v2.type, 'table');
    assert.equal(v2.data.length, diagnoses[0]!.findings.length + 1, 'a summary row, then each finding');
    assert.equal(v2.data[0]?.length, Object.keys(v2.columns).length);
    const block = functionResult('tx1', 200, v1);
    assert.match(block, /^FUNCTION_RESULT_BEGIN tx1 200 application\/json 0\n\{.*\}\nFUNCTION_RESULT_END\n$/s);
    assert.equal(block.split('\n').length, 4, 'the JSON is on one line');
  });

  it('gives Netdata 2.x a table: a summary row per instance, findings worst first, rows coloured by severity', () => {
    const bad = diagnose(input({ k: { overcommitMemory: 2, commitLimit: 6 * GiB } }));
    const good = diagnose({ ...input(), job: 'calm', snapshot: { ...input().snapshot, info: parseRedisInfo(failedInfo.replace('rdb_last_bgsave_status:err', 'rdb_last_bgsave_status:ok')), kernel: kernel({ overcommitMemory: 1 }) } });
    const table = doctorFunctionBody([good, bad], 'v2.11.0') as { data: unknown[][]; columns: Record<string, { index: number; unique_key: boolean; dummy?: boolean; wrap?: boolean }> };
    const col = (id: string) => table.columns[id]!.index;
    assert.equal(Object.values(table.columns).filter((c) => c.unique_key).length, 1, 'exactly one unique key');
    assert.equal(table.columns.rowOptions?.dummy, true);
    assert.equal(table.columns.remedy?.wrap, true, 'remedies readable without widening');
    const first = table.data[0]!;
    assert.equal(first[col('job')], 'main', 'the critical instance first');
    assert.equal(first[col('check')], 'overall');
    assert.deepEqual(first[col('rowOptions')], { rowOptions: { severity: 'critical' } });
    const mainRows = table.data.filter((r) => r[col('job')] === 'main');
    const ranks = mainRows.slice(1).map((r) => ['critical', 'warning', 'unknown', 'ok'].indexOf(String(r[col('verdict')])));
    assert.deepEqual(ranks, [...ranks].sort((a, b) => a - b), 'findings worst first');
    const calm = table.data.find((r) => r[col('job')] === 'calm' && r[col('check')] === 'overall');
    assert.notEqual((calm?.[col('rowOptions')] as { rowOptions: { severity: string } }).rowOptions.severity, 'critical');
  });

  it('registers with tags, access and priority where the agent knows them, plainly on 1.37', async () => {
    const { agentHasExtendedFunctions, SENSITIVE_FUNCTION_ACCESS } = await import('../../src/protocol/functions.ts');
    assert.equal(agentHasExtendedFunctions('v1.37.1'), false);
    assert.equal(agentHasExtendedFunctions('v1.45.0'), true);
    assert.equal(agentHasExtendedFunctions('v2.11.0-12-gabcdef'), true);
    assert.equal(agentHasExtendedFunctions(undefined), false);
    assert.equal(
      functionRegistration('redisfork:doctor', 10, 'Explains', { tags: 'redis', access: SENSITIVE_FUNCTION_ACCESS, priority: 100, version: 1 }),
      'FUNCTION GLOBAL "redisfork:doctor" 10 "Explains" "redis" "0x13" 100 1\n',
    );
  });
});
