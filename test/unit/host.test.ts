import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import {
  parseBracketChoice, parseCgroupLimit, parseKeyValueKb, parseProcCgroup, parseProcessStatus, parseSmaps,
  parseStatStartTicks, parseKernelRelease,
} from '../../src/host/parse.ts';
import {
  HostFs, KernelFactsReader, readKernelFacts, readProcessFacts, readThpSizeModes, smapsWalkDue, SMAPS_IDLE_REFRESH_MS, SMAPS_MAX_DUTY, SMAPS_MIN_GAP_MS,
  SMAPS_REFRESH_MS,
} from '../../src/host/read.ts';
import { anonymousThp, anonymousThpMode, hugePagesMayGrow } from '../../src/host/facts.ts';
import { readCgroup } from '../../src/host/cgroup.ts';
import { matchesServer, decideLocality } from '../../src/host/locality.ts';
import { parseRedisUrl } from '../../src/config/url.ts';
import { parseRedisInfo } from '../../src/redis/info.ts';
import type { JobConfig } from '../../src/config/types.ts';
import { FIXTURES, fixture } from '../helpers/fixtures.ts';

const TREE = `${FIXTURES}host/redis-7.0-mode0`;
const PID = Number(readdirSync(`${TREE}/proc`).find((d) => /^\d+$/.test(d)));

describe('procfs and sysfs parsers', () => {
  it('reads meminfo in bytes', () => {
    const kv = parseKeyValueKb('MemTotal:       24683656 kB\nHugePages_Total:       0\nbad line\n');
    assert.equal(kv.get('MemTotal'), 24683656 * 1024);
    assert.equal(kv.get('HugePages_Total'), 0, 'lines without kB are plain numbers');
    assert.equal(kv.size, 2);
  });

  it('takes the bracketed word of a THP file', () => {
    assert.equal(parseBracketChoice('always [madvise] never\n'), 'madvise');
    assert.equal(parseBracketChoice('[always] defer defer+madvise madvise never'), 'always');
    assert.equal(parseBracketChoice('always defer+madvise [defer+madvise]'), 'defer+madvise');
    assert.equal(parseBracketChoice('no brackets'), undefined);
  });

  it('sums only accountable mappings (ac without dc) of smaps', () => {
    const smaps = [
      '55d0a0000000-55d0a0400000 rw-p 00000000 00:00 0',
      'Size:               4096 kB',
      'AnonHugePages:      2048 kB',
      'VmFlags: rd wr mr mw me ac sd',
      '7f0000000000-7f0008000000 rw-p 00000000 00:00 0',
      'Size:             131072 kB',
      'AnonHugePages:         0 kB',
      'VmFlags: rd wr mr mw me nr sd',
      '7f1000000000-7f1000100000 rw-p 00000000 00:00 0',
      'Size:               1024 kB',
      'VmFlags: rd wr mr mw me ac dc sd',
      '7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]',
      'Size:                132 kB',
      'VmFlags: rd wr mr mw me gd ac',
    ].join('\n');
    const summary = parseSmaps(smaps);
    assert.ok(summary);
    assert.equal(summary.accountableBytes, (4096 + 132) * 1024, 'MAP_NORESERVE (nr) and MADV_DONTFORK (dc) are not charged');
    assert.equal(summary.largestAccountableBytes, 4096 * 1024);
    assert.equal(summary.anonHugePagesBytes, 2048 * 1024);
    assert.equal(summary.mappings, 4);
  });

  it('refuses to guess from smaps without VmFlags', () => {
    assert.equal(parseSmaps('00400000-00500000 r-xp 0 0 0\nSize: 4 kB\n'), undefined);
    assert.equal(parseSmaps(''), undefined);
  });

  it('reads /proc/PID/status', () => {
    const status = parseProcessStatus('Name:\tredis-server\nUid:\t998\t998\t998\t998\nVmRSS:\t  100 kB\nVmData:\t 200 kB\nVmStk:\t 132 kB\nTHP_enabled:\t0\n');
    assert.equal(status.name, 'redis-server');
    assert.equal(status.effectiveUid, 998);
    assert.equal(status.vmRss, 102400);
    assert.equal(status.thpEnabled, false);
  });

  it('reads cgroup v1 and v2 membership', () => {
    const v1 = parseProcCgroup('12:memory:/redis\n11:cpu,cpuacct:/\n0::/system.slice/redis.service\n');
    assert.equal(v1.v1MemoryPath, '/redis');
    assert.equal(v1.v2Path, '/system.slice/redis.service');
    const v2 = parseProcCgroup('0::/system.slice/redis-server.service\n');
    assert.equal(v2.v1MemoryPath, undefined);
    assert.equal(v2.v2Path, '/system.slice/redis-server.service');
  });

  it('treats "max" and v1 "unlimited" as no limit', () => {
    assert.equal(parseCgroupLimit('max\n'), null);
    assert.equal(parseCgroupLimit('9223372036854771712\n'), null);
    assert.equal(parseCgroupLimit('104857600\n'), 104857600);
    assert.equal(parseCgroupLimit('junk'), undefined);
  });

  it('finds starttime in /proc/PID/stat even when comm holds spaces and parentheses', () => {
    const fields = Array.from({ length: 50 }, (_, i) => String(i + 3));
    const stat = `123 (redis server (x)) ${fields.join(' ')}`;
    assert.equal(parseStatStartTicks(stat), 22);
  });

  it('parses kernel releases', () => {
    assert.deepEqual(parseKernelRelease('6.18.44-fc-v782\n'), [6, 18]);
    assert.deepEqual(parseKernelRelease('4.19.0-25-amd64'), [4, 19]);
    assert.equal(parseKernelRelease('weird'), undefined);
  });
});

describe('readers on a host tree captured from a real Redis 7.0 (mode 0, jemalloc)', () => {
  const fs = new HostFs(TREE);

  it('reads the kernel facts', () => {
    const kernel = readKernelFacts(fs);
    const meminfo = parseKeyValueKb(fixture(`host/redis-7.0-mode0/proc/meminfo`));
    assert.equal(kernel.overcommitMemory, 0);
    assert.equal(kernel.memTotal, meminfo.get('MemTotal'));
    assert.equal(kernel.commitLimit, meminfo.get('CommitLimit'));
    assert.equal(kernel.committedAs, meminfo.get('Committed_AS'));
    assert.equal(kernel.thpEnabled, 'madvise');
    assert.ok(kernel.kernelRelease?.startsWith('6.'));
    assert.equal(typeof kernel.hostOomKills, 'number');
  });

  it('reads the per-size THP modes of a 6.8+ kernel (2048 kB inherits the top level, the others never)', () => {
    const sizes = readThpSizeModes(fs);
    assert.deepEqual(sizes?.map((size) => size.sizeKb), [16, 32, 64, 128, 256, 512, 1024, 2048], 'not 8 kB: shmem only, no enabled file');
    assert.deepEqual(sizes?.filter((size) => size.mode !== 'never'), [{ sizeKb: 2048, mode: 'inherit' }]);
    const kernel = readKernelFacts(fs);
    assert.equal(anonymousThp(kernel), 'madvise', 'the top level, through 2048 kB');
    assert.equal(readThpSizeModes(new HostFs(`${FIXTURES}host/none`)), undefined, 'a kernel without per-size controls');
  });

  it('reads the per-size THP modes once a minute with the kernel release', () => {
    const reads: string[] = [];
    const counting = new (class extends HostFs {
      override readRepeated(absolute: string, enough?: string): string | undefined {
        reads.push(absolute);
        return super.readRepeated(absolute, enough);
      }
    })(TREE);
    const reader = new KernelFactsReader(counting);
    const sizeReads = () => reads.filter((file) => /hugepages-\d+kB\/enabled$/.test(file)).length;
    reader.read(1_000_000);
    const once = sizeReads();
    assert.equal(once, 8, 'each size with an enabled file');
    for (let second = 1; second < 60; second++) assert.equal(anonymousThp(reader.read(1_000_000 + second * 1000)), 'madvise');
    assert.equal(sizeReads(), once, 'not again within the minute');
    reader.read(1_000_000 + 60_000);
    assert.equal(sizeReads(), 2 * once);
  });

  it('reads the kernel release and the CPUs present once a minute, not every second', () => {
    const reads: string[] = [];
    const counting = new (class extends HostFs {
      override read(absolute: string): string | undefined {
        reads.push(absolute);
        return super.read(absolute);
      }
    })(TREE);
    const reader = new KernelFactsReader(counting);
    const first = reader.read(1_000_000);
    for (let second = 1; second < 60; second++) assert.equal(reader.read(1_000_000 + second * 1000).kernelRelease, first.kernelRelease);
    assert.deepEqual(reads.filter((file) => file === '/proc/sys/kernel/osrelease').length, 1);
    assert.deepEqual(reads.filter((file) => file === '/sys/devices/system/cpu/present').length, 1);
    reader.read(1_000_000 + 60_000);
    assert.deepEqual(reads.filter((file) => file === '/proc/sys/kernel/osrelease').length, 2);
  });

  it('reads the other commit sysctls again only when they could matter or have moved: strict mode, a new CommitLimit, or a minute on', async () => {
    const { cpSync, mkdtempSync, readFileSync: readText, rmSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const root = mkdtempSync(`${tmpdir()}/redisfork-sysctl-`);
    try {
      cpSync(`${TREE}/proc/meminfo`, `${root}/proc/meminfo`);
      cpSync(`${TREE}/proc/sys`, `${root}/proc/sys`, { recursive: true });
      const reads = new Map<string, number>();
      const counting = new (class extends HostFs {
        override readRepeated(absolute: string): string | undefined {
          reads.set(absolute, (reads.get(absolute) ?? 0) + 1);
          return super.readRepeated(absolute);
        }
        override readRepeatedSysctl(absolute: string): string | undefined {
          reads.set(absolute, (reads.get(absolute) ?? 0) + 1);
          return super.readRepeatedSysctl(absolute);
        }
      })(root);
      const ratioReads = () => reads.get('/proc/sys/vm/overcommit_ratio') ?? 0;
      const reader = new KernelFactsReader(counting);
      let now = 1_000_000;
      const second = () => reader.read((now += 1000));
      const first = second();
      assert.equal(first.overcommitMemory, 0);
      for (let i = 0; i < 30; i++) assert.deepEqual(second(), { ...first }, 'the same facts, carried');
      assert.equal(ratioReads(), 1, 'mode 0, nothing moved: read once');
      assert.equal(reads.get('/proc/sys/vm/overcommit_memory'), 31, 'the mode itself every second');

      const meminfo = readText(`${root}/proc/meminfo`, 'latin1');
      writeFileSync(`${root}/proc/sys/vm/overcommit_ratio`, '80\n');
      writeFileSync(`${root}/proc/meminfo`, meminfo.replace(/^CommitLimit:.*$/m, 'CommitLimit:    99999999 kB'));
      assert.equal(second().overcommitRatio, 80, 'a new CommitLimit: the ratio read again at once');

      writeFileSync(`${root}/proc/sys/vm/overcommit_memory`, '2\n');
      writeFileSync(`${root}/proc/sys/vm/user_reserve_kbytes`, '4096\n');
      assert.equal(second().userReserveBytes, 4096 * 1024, 'strict mode: the reserves read the same second');
      const before = ratioReads();
      for (let i = 0; i < 5; i++) second();
      assert.equal(ratioReads(), before + 5, 'strict mode: every second');

      writeFileSync(`${root}/proc/sys/vm/overcommit_memory`, '0\n');
      second();
      const settled = ratioReads();
      writeFileSync(`${root}/proc/sys/vm/admin_reserve_kbytes`, '1234\n');
      for (let i = 0; i < 15; i++) assert.notEqual(second().adminReserveBytes, 1234 * 1024, 'carried: nothing that shows it moved');
      assert.equal(ratioReads(), settled, 'back in mode 0: carried again');
      now += 60_000;
      assert.equal(second().adminReserveBytes, 1234 * 1024, 'a minute on: read again whatever moved');

      // Mode 0 before 5.2: the admin reserve enters the old guess, so every second.
      writeFileSync(`${root}/proc/sys/kernel/osrelease`, '4.19.0-25-amd64\n');
      now += 60_000;
      assert.equal(second().kernelRelease, '4.19.0-25-amd64');
      const legacy = ratioReads();
      for (let i = 0; i < 3; i++) second();
      assert.equal(ratioReads(), legacy + 3, 'mode 0 before 5.2: every second');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('reads the process: the fork charge from smaps is far below VmData (MAP_NORESERVE heap)', () => {
    const proc = readProcessFacts(fs, PID, undefined, 1_000_000);
    assert.ok(proc);
    assert.equal(proc.charge?.source, 'smaps');
    assert.ok(proc.vmData !== undefined && proc.charge !== undefined);
    assert.ok(proc.charge.bytes > 0);
    assert.ok(proc.charge.bytes < proc.vmData / 2, `charge ${proc.charge.bytes} vs VmData ${proc.vmData}`);
    assert.equal(proc.thpEnabled, true);
  });

  it('reads its cgroup v1 memory controller', () => {
    const cgroup = readCgroup(fs, PID);
    assert.equal(cgroup?.version, 1);
    assert.equal(cgroup?.oomKills, 0);
    assert.ok(cgroup?.memoryUsage !== undefined);
  });

  it('walks smaps again after a minute, or after 10 s when VmData + VmStk moved, reusing the last walk before', () => {
    const first = readProcessFacts(fs, PID, undefined, 1_000_000)!;
    assert.equal(first.charge?.dataAndStackAtMeasure, first.vmData! + first.vmStk!);
    assert.ok(first.charge!.walkMs! >= 0, 'the walk is timed');
    // A cheap walk, so that only the fixed gaps count here (the cost rule has its own test).
    const stale = { ...first, charge: { ...first.charge!, bytes: 1, walkMs: 0 } };
    const soon = readProcessFacts(fs, PID, stale, 1_000_000 + SMAPS_MIN_GAP_MS)!;
    assert.equal(soon.charge?.bytes, 1, 'within the minute, with nothing moved, the previous walk is reused');
    const later = readProcessFacts(fs, PID, stale, 1_000_000 + SMAPS_REFRESH_MS)!;
    assert.equal(later.charge?.bytes, first.charge?.bytes, 'after a minute smaps is read again');
    const moved = { ...stale, charge: { ...stale.charge, dataAndStackAtMeasure: 1 } };
    assert.equal(readProcessFacts(fs, PID, moved, 1_000_000 + 1000)!.charge?.bytes, 1, 'a second after a walk, a move waits');
    assert.equal(readProcessFacts(fs, PID, moved, 1_000_000 + SMAPS_MIN_GAP_MS)!.charge?.bytes, first.charge?.bytes, '10 s after it, a move brings a walk');
  });

  it('spaces the walks by their cost: at most 0.1% of the time, and anew when the clock went back', () => {
    const walk = (walkMs: number, dataAndStackAtMeasure = 100) => ({ bytes: 1, largestMappingBytes: 1, source: 'smaps' as const, measuredAt: 0, dataAndStackAtMeasure, walkMs });
    assert.equal(SMAPS_MAX_DUTY, 0.001);
    // 15 ms (a Redis of ~4 GB): the fixed gaps are longer.
    assert.equal(smapsWalkDue(walk(15), 200, SMAPS_MIN_GAP_MS), false, 'moved, 10 s: 15 s of cost gap not yet over');
    assert.equal(smapsWalkDue(walk(15), 200, 15_000), true);
    assert.equal(smapsWalkDue(walk(15), 100, SMAPS_REFRESH_MS), true, 'still once a minute when nothing moved');
    // 150 ms (~40 GB): 150 s between walks, moved or not.
    assert.equal(smapsWalkDue(walk(150), 100, SMAPS_REFRESH_MS), false);
    assert.equal(smapsWalkDue(walk(150), 200, 149_999), false);
    assert.equal(smapsWalkDue(walk(150), 100, 150_000), true);
    assert.equal(smapsWalkDue(undefined, 100, 0), true, 'no walk yet');
    assert.equal(smapsWalkDue(walk(150), 100, -1), true, 'the wall clock went back');
    assert.equal(smapsWalkDue({ ...walk(0), dataAndStackAtMeasure: undefined, walkMs: undefined }, undefined, SMAPS_MIN_GAP_MS), false, 'unknown on both sides is no move');
  });

  it('gives anonymous memory the strongest per-size THP mode, inherit taking the top level', () => {
    const sizes = (m2048: string | undefined, m64 = 'never') => [{ sizeKb: 64, mode: m64 }, { sizeKb: 2048, mode: m2048 }];
    assert.equal(anonymousThpMode('madvise', undefined), 'madvise', 'no per-size controls: the top level');
    assert.equal(anonymousThpMode('always', []), 'always');
    assert.equal(anonymousThpMode('never', sizes('always')), 'always', '2 MB huge pages under a top-level never');
    assert.equal(anonymousThpMode('always', sizes('never')), 'never', 'top-level always with every size off gives none');
    assert.equal(anonymousThpMode('always', sizes('inherit')), 'always');
    assert.equal(anonymousThpMode('madvise', sizes('inherit')), 'madvise');
    assert.equal(anonymousThpMode('never', sizes('inherit', 'always')), 'always', 'a small size (64 kB folios) on its own');
    assert.equal(anonymousThpMode('never', sizes('madvise')), 'madvise');
    assert.equal(anonymousThpMode(undefined, sizes('inherit')), undefined, 'inherit from an unknown top level');
    assert.equal(anonymousThpMode(undefined, sizes('inherit', 'always')), 'always', 'always decides whatever else is unknown');
    assert.equal(anonymousThpMode('never', sizes(undefined)), undefined, 'an unreadable size');
    const kernel = { thpEnabled: 'never', thpSizes: sizes('always') } as const;
    assert.equal(anonymousThp({ ...readKernelFacts(new HostFs(TREE)), ...kernel }), 'always', 'per-size rule on the facts');
    assert.equal(anonymousThp({ ...readKernelFacts(new HostFs(TREE)), thpEnabled: 'always', thpSizes: undefined }), 'always');
  });

  it('answers anew when the top level or the per-size modes change, though it keeps its last answer', () => {
    const base = readKernelFacts(new HostFs(TREE));
    const held = [{ sizeKb: 64, mode: 'never' }, { sizeKb: 2048, mode: 'inherit' }];
    assert.equal(anonymousThp({ ...base, thpEnabled: 'never', thpSizes: held }), 'never');
    assert.equal(anonymousThp({ ...base, thpEnabled: 'never', thpSizes: held }), 'never', 'asked again: the same');
    assert.equal(anonymousThp({ ...base, thpEnabled: 'always', thpSizes: held }), 'always', 'the top level changed, the same size list');
    held[1]!.mode = 'never';
    const fresh = held.map((size) => ({ ...size }));
    assert.equal(anonymousThp({ ...base, thpEnabled: 'always', thpSizes: fresh }), 'never', 'a new size list (as read each minute)');
    assert.equal(anonymousThp({ ...base, thpEnabled: 'always', thpSizes: undefined }), 'always', 'a kernel without per-size files');
  });

  it('tells when huge pages can grow in place: host always and no opt-out, or madvise for a process that has some', () => {
    assert.equal(hugePagesMayGrow('always', true, 0), true);
    assert.equal(hugePagesMayGrow('always', undefined, 0), true, 'a kernel without THP_enabled: no opt-out known');
    assert.equal(hugePagesMayGrow('always', false, 4 << 20), false, 'opted out (Redis 6.2+ under always): what it has can only shrink');
    assert.equal(hugePagesMayGrow('madvise', true, 0), false, 'madvise reaches only memory the process asks for; Redis asks for none');
    assert.equal(hugePagesMayGrow('madvise', true, 2 << 20), true, 'a process with huge pages under madvise asks for them');
    assert.equal(hugePagesMayGrow('madvise', true, undefined), true, 'not walked yet');
    assert.equal(hugePagesMayGrow('never', true, 2 << 20), false);
    assert.equal(hugePagesMayGrow(undefined, true, 0), true, 'host mode unknown');
  });

  it('walks smaps every 10 minutes while nothing can move, and at once when huge pages can grow again', () => {
    const walk = (hugePagesMayGrowAtMeasure: boolean | undefined) => ({
      bytes: 1, largestMappingBytes: 1, source: 'smaps' as const, measuredAt: 0, dataAndStackAtMeasure: 100, walkMs: 1, hugePagesMayGrowAtMeasure,
    });
    assert.equal(SMAPS_IDLE_REFRESH_MS, 600_000);
    assert.equal(smapsWalkDue(walk(false), 100, SMAPS_REFRESH_MS, false), false, 'a minute, nothing can move: the walk stands');
    assert.equal(smapsWalkDue(walk(false), 100, SMAPS_IDLE_REFRESH_MS - 1, false), false);
    assert.equal(smapsWalkDue(walk(false), 100, SMAPS_IDLE_REFRESH_MS, false), true, 'ten minutes: walked anyway');
    assert.equal(smapsWalkDue(walk(false), 200, SMAPS_MIN_GAP_MS, false), true, 'VmData moved: 10 s, as before');
    assert.equal(smapsWalkDue(walk(false), 100, 1000, true), true, 'huge pages can grow now (THP set to always): at once');
    assert.equal(smapsWalkDue(walk(true), 100, 1000, false), true, 'and when they no longer can (set to never): at once');
    assert.equal(smapsWalkDue(walk(true), 100, SMAPS_REFRESH_MS, true), true, 'they can grow: once a minute');
    assert.equal(smapsWalkDue(walk(undefined), 100, 1000, false), false, 'a walk from before the rule: no change seen');
  });

  it('reads smaps of a Redis under THP never every 10 minutes, and again when the host mode becomes always', () => {
    const first = readProcessFacts(fs, PID, undefined, 1_000_000, 'never')!;
    assert.equal(first.charge?.hugePagesMayGrowAtMeasure, false);
    const stale = { ...first, charge: { ...first.charge!, bytes: 1, walkMs: 0 } };
    assert.equal(readProcessFacts(fs, PID, stale, 1_000_000 + SMAPS_REFRESH_MS, 'never')!.charge?.bytes, 1, 'a minute: the walk stands');
    assert.equal(readProcessFacts(fs, PID, stale, 1_000_000 + SMAPS_REFRESH_MS, 'madvise')!.charge?.bytes, 1, 'madvise, no huge pages: the same');
    assert.equal(readProcessFacts(fs, PID, stale, 1_000_000 + SMAPS_IDLE_REFRESH_MS, 'never')!.charge?.bytes, first.charge?.bytes, 'ten minutes: walked');
    const always = readProcessFacts(fs, PID, stale, 1_000_000 + 1000, 'always')!;
    assert.equal(always.charge?.bytes, first.charge?.bytes, 'THP set to always: walked at once');
    assert.equal(always.charge?.hugePagesMayGrowAtMeasure, true);
  });

  it('falls back to VmData + VmStk, marked approximate, when smaps is unreadable', () => {
    const noSmaps = new (class extends HostFs {
      override read(path: string) {
        return path.endsWith('/smaps') ? undefined : super.read(path);
      }
    })(TREE);
    const proc = readProcessFacts(noSmaps, PID, undefined)!;
    assert.equal(proc.charge?.source, 'vmdata');
    assert.equal(proc.charge?.bytes, proc.vmData! + proc.vmStk!);
  });

  it('answers undefined for a process that is gone', () => {
    assert.equal(readProcessFacts(fs, 999999999, undefined), undefined);
  });
});

describe('locality', () => {
  it('accepts a Redis-named process whose age matches uptime', () => {
    assert.equal(matchesServer('/usr/bin/redis-server 127.0.0.1:6379', 100.4, 100), true);
    assert.equal(matchesServer('valkey-server *:6379', 3600, 3599), true);
  });
  it('rejects another program, or a Redis of another age (a reused pid)', () => {
    assert.equal(matchesServer('/usr/sbin/sshd', 100, 100), false);
    assert.equal(matchesServer('redis-server *:6379', 5000, 100), false);
    assert.equal(matchesServer(undefined, 100, 100), false);
  });
});

describe('cgroup v2', () => {
  it('reads memory.max, memory.current and memory.events of a unified-hierarchy cgroup', async () => {
    const { mkdtempSync, mkdirSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const root = mkdtempSync(`${tmpdir()}/redisfork-v2-`);
    try {
      mkdirSync(`${root}/proc/77`, { recursive: true });
      mkdirSync(`${root}/sys/fs/cgroup/system.slice/redis.service`, { recursive: true });
      writeFileSync(`${root}/sys/fs/cgroup/cgroup.controllers`, 'cpu memory pids\n');
      writeFileSync(`${root}/proc/77/cgroup`, '0::/system.slice/redis.service\n');
      const dir = `${root}/sys/fs/cgroup/system.slice/redis.service`;
      writeFileSync(`${dir}/memory.max`, '536870912\n');
      writeFileSync(`${dir}/memory.current`, '123456789\n');
      writeFileSync(`${dir}/memory.events`, 'low 0\nhigh 0\nmax 12\noom 2\noom_kill 2\noom_group_kill 0\n');
      assert.deepEqual(readCgroup(new HostFs(root), 77), {
        version: 2,
        path: '/system.slice/redis.service',
        mount: '/sys/fs/cgroup',
        memoryLimit: 536870912,
        limitPath: '/system.slice/redis.service',
        memoryUsage: 123456789,
        memoryHigh: undefined,
        swapLimit: undefined,
        oomKills: 2,
      });
      writeFileSync(`${dir}/memory.max`, 'max\n');
      assert.equal(readCgroup(new HostFs(root), 77)?.memoryLimit, null, '"max" is no limit');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('locality decision', () => {
  const root = `${FIXTURES}host/redis-7.0-mode0`;
  const fs = new HostFs(root);
  const job = (pid: JobConfig['pid'], url = 'redis://10.0.0.9:6379'): JobConfig => ({
    name: 'j', displayUrl: url, target: parseRedisUrl(url).target, username: undefined, password: undefined,
    passwordSource: 'none', db: 0, tls: undefined, timeoutMs: 1000, pid,
  });
  const info = (processId: number | undefined, uptime: number) => ({ ...parseRedisInfo(''), processId, uptimeSeconds: uptime });

  it('takes a pid, or a pidfile, named in the job', async () => {
    const { mkdtempSync, mkdirSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    assert.deepEqual(decideLocality(fs, job(PID), info(undefined, 0)), { locality: 'local', pid: PID, reason: `pid ${PID} set in the job`, container: undefined });
    // The pidfile is read under the host root (NETDATA_HOST_PREFIX, doctor --host-root), like every host file.
    const root = mkdtempSync(`${tmpdir()}/redisfork-pidfile-`);
    mkdirSync(`${root}/run/redis`, { recursive: true });
    writeFileSync(`${root}/run/redis/redis.pid`, `${PID}\n`);
    assert.equal(decideLocality(new HostFs(root), job('/run/redis/redis.pid'), info(undefined, 0)).pid, PID);
    assert.equal(decideLocality(fs, job('/run/redis/redis.pid'), info(999999, 10)).locality, 'remote', 'not read outside the root');
    rmSync(root, { recursive: true, force: true });
  });

  it('is remote when INFO names a process this host does not have, local for a unix socket', () => {
    assert.equal(decideLocality(fs, job('auto'), info(999999, 10)).locality, 'remote');
    const socket = decideLocality(fs, job('auto', 'unix:///run/redis/redis.sock'), info(999999, 10));
    assert.deepEqual([socket.locality, socket.pid], ['local', undefined]);
  });
});

describe('files read every second', () => {
  it('are kept open and read again from the start, and reopened when they go away', async () => {
    const { mkdtempSync, writeFileSync, rmSync, mkdirSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const root = mkdtempSync(`${tmpdir()}/redisfork-repeated-`);
    try {
      mkdirSync(`${root}/proc`);
      const fs = new HostFs(root);
      writeFileSync(`${root}/proc/meminfo`, 'MemTotal:  100 kB\n');
      assert.equal(fs.readRepeated('/proc/meminfo'), 'MemTotal:  100 kB\n');
      writeFileSync(`${root}/proc/meminfo`, `MemTotal:  200 kB\n${'x'.repeat(40_000)}\n`);
      const bigger = fs.readRepeated('/proc/meminfo');
      assert.equal(bigger?.length, 'MemTotal:  200 kB\n'.length + 40_001, 'a file larger than the buffer is read whole');
      rmSync(`${root}/proc/meminfo`);
      writeFileSync(`${root}/proc/meminfo`, 'MemTotal:  300 kB\n');
      // The old file is still open: a regular file keeps its old text (procfs would fail the read).
      assert.match(fs.readRepeated('/proc/meminfo') ?? '', /200 kB/);
      fs.closeHeld();
      assert.equal(fs.readRepeated('/proc/meminfo'), 'MemTotal:  300 kB\n');
      assert.equal(fs.readRepeated('/proc/nosuch'), undefined);
      // A sysctl is read with a small first read: longer text is still read whole, and the small
      // read lands where the text is taken from after the buffer has grown.
      mkdirSync(`${root}/proc/sys/vm`, { recursive: true });
      writeFileSync(`${root}/proc/sys/vm/overcommit_memory`, '2\n');
      assert.equal(fs.readRepeatedSysctl('/proc/sys/vm/overcommit_memory'), '2\n');
      writeFileSync(`${root}/proc/sys/vm/long`, `${'9'.repeat(300)}\n`);
      assert.equal(fs.readRepeatedSysctl('/proc/sys/vm/long'), `${'9'.repeat(300)}\n`);
      assert.equal(fs.readRepeatedSysctl('/proc/sys/vm/overcommit_memory'), '2\n');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('on real /proc/vmstat: stops reading once the wanted line is in, with the same value as a whole read', async () => {
    const { readFileSync: readWhole } = await import('node:fs');
    const { parseSpaceSeparated } = await import('../../src/host/parse.ts');
    // Read system calls of this process, from the kernel's own count.
    const reads = () => Number(/^syscr: (\d+)$/m.exec(readWhole('/proc/self/io', 'utf8'))?.[1]);
    const readsOf = (work: () => void) => {
      const idle = -reads() + reads();
      const before = reads();
      work();
      return reads() - before - idle;
    };
    const fs = new HostFs('');
    let early: string | undefined;
    let whole: string | undefined;
    fs.readRepeated('/proc/vmstat');
    const readsEarly = readsOf(() => (early = fs.readRepeated('/proc/vmstat', '\noom_kill ')));
    const readsWhole = readsOf(() => (whole = fs.readRepeated('/proc/vmstat')));
    assert.ok(whole !== undefined && whole.length >= 2048, 'vmstat is longer than one short read');
    assert.equal(readsEarly, 1, 'one read when the line is in it');
    assert.ok(readsWhole >= 2, `${readsWhole} reads to be sure of the end`);
    assert.equal(parseSpaceSeparated(early ?? '').get('oom_kill'), parseSpaceSeparated(whole).get('oom_kill'));
  });

  it('on real procfs: a process that ended fails the read instead of showing another', async () => {
    const { spawn } = await import('node:child_process');
    const fs = new HostFs('');
    const child = spawn('sleep', ['30']);
    const pid = child.pid!;
    assert.match(fs.readRepeated(`/proc/${pid}/status`) ?? '', /Name:\s+sleep/);
    child.kill('SIGKILL');
    await new Promise((r) => child.on('close', r));
    assert.equal(fs.readRepeated(`/proc/${pid}/status`), undefined);
    assert.match(fs.readRepeated('/proc/meminfo') ?? '', /^MemTotal:/);
  });
});

describe('picking one field without parsing the rest', () => {
  it('agrees with the full parsers on the captured host files', async () => {
    const { pickMeminfo, pickSpaceSeparated, parseSpaceSeparated } = await import('../../src/host/parse.ts');
    const meminfo = fixture('host/redis-7.0-mode0/proc/meminfo');
    const all = parseKeyValueKb(meminfo);
    const picked = pickMeminfo(meminfo);
    const keys = { memTotal: 'MemTotal', memFree: 'MemFree', cached: 'Cached', sReclaimable: 'SReclaimable', buffers: 'Buffers', swapCached: 'SwapCached', shmem: 'Shmem', kReclaimable: 'KReclaimable', swapTotal: 'SwapTotal', swapFree: 'SwapFree', commitLimit: 'CommitLimit', committedAs: 'Committed_AS' } as const;
    for (const [field, key] of Object.entries(keys)) {
      assert.equal(picked[field as keyof typeof keys], all.get(key), key);
      assert.notEqual(picked[field as keyof typeof keys], undefined, key);
    }
    assert.equal(pickMeminfo('Cached:  1 kB\nSwapCached:  2 kB\n').cached, 1024, 'a key is not the end of another');
    const vmstat = fixture('host/redis-7.0-mode0/proc/vmstat');
    assert.equal(pickSpaceSeparated(vmstat, 'oom_kill'), parseSpaceSeparated(vmstat).get('oom_kill'));
    assert.equal(pickSpaceSeparated(vmstat, 'nr_free_pages'), parseSpaceSeparated(vmstat).get('nr_free_pages'), 'the first line');
    assert.equal(pickSpaceSeparated(vmstat, 'oom'), undefined, 'a prefix of a key is not the key');
  });
});

describe('CPU lists', () => {
  it('counts the CPUs a kernel list names', async () => {
    const { parseCpuCount } = await import('../../src/host/parse.ts');
    assert.equal(parseCpuCount('0-1\n'), 2);
    assert.equal(parseCpuCount('0'), 1);
    assert.equal(parseCpuCount('0-3,8-11'), 8);
    assert.equal(parseCpuCount('junk'), undefined);
    assert.equal(parseCpuCount(''), undefined);
  });
});
