import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chargeNow, predictFork, type ForkModelInput } from '../../src/analysis/kernel-model.ts';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** A 16 GiB host without swap, a Redis charged 4 GiB with a 3 GiB largest mapping. */
function input(over: Partial<ForkModelInput> = {}): ForkModelInput {
  return {
    overcommitMemory: 0,
    kernelRelease: '6.1.0-13-amd64',
    memTotal: 16 * GiB,
    swapTotal: 0,
    swapFree: 0,
    memFree: 2 * GiB,
    cached: 1 * GiB,
    sReclaimable: 256 * MiB,
    commitLimit: 8 * GiB,
    committedAs: 6 * GiB,
    adminReserveBytes: 8 * MiB,
    userReserveBytes: 128 * MiB,
    chargeBytes: 4 * GiB,
    largestMappingBytes: 3 * GiB,
    totalVmBytes: 5 * GiB,
    privileged: false,
    approximate: false,
    ...over,
  };
}

describe('kernel fork model', () => {
  it('mode 1 never refuses, whatever the numbers', () => {
    const v = predictFork(input({ overcommitMemory: 1, committedAs: 100 * GiB, chargeBytes: 100 * GiB }));
    assert.equal(v.rule, 'always');
    assert.equal(v.allowed, true);
    assert.equal(v.roomBytes, null);
  });

  describe('mode 0 on kernel >= 5.2: one mapping against RAM + swap', () => {
    const cases: [string, Partial<ForkModelInput>, boolean][] = [
      ['a 3 GiB mapping on 16 GiB RAM', {}, true],
      ['RSS far above 50% of RAM still forks', { chargeBytes: 14 * GiB, largestMappingBytes: 12 * GiB }, true],
      ['a mapping larger than RAM, no swap', { largestMappingBytes: 17 * GiB, chargeBytes: 17 * GiB }, false],
      ['the same mapping with enough swap', { largestMappingBytes: 17 * GiB, swapTotal: 2 * GiB }, true],
      ['kernel 5.2 exactly uses the new rule', { kernelRelease: '5.2.0', largestMappingBytes: 12 * GiB, memFree: 1 * GiB }, true],
    ];
    for (const [name, over, allowed] of cases) {
      it(name, () => {
        const v = predictFork(input(over));
        assert.equal(v.rule, 'heuristic');
        assert.equal(v.allowed, allowed);
        assert.equal(v.roomBytes, (over.memTotal ?? 16 * GiB) + (over.swapTotal ?? 0));
        assert.match(v.explanation, /50% of RAM" rule does not apply/);
      });
    }
  });

  describe('mode 0 before kernel 5.2: one mapping against free + cache + swap + reclaimable slab', () => {
    it('refuses a 4 GiB mapping with 3.25 GiB reclaimable', () => {
      const v = predictFork(input({ kernelRelease: '4.19.0-25-amd64', largestMappingBytes: 4 * GiB }));
      assert.equal(v.rule, 'heuristic-legacy');
      assert.equal(v.allowed, false);
      assert.equal(v.roomBytes, 2 * GiB + 1 * GiB + 256 * MiB - 8 * MiB);
    });
    it('allows a 3 GiB mapping with the same memory', () => {
      const v = predictFork(input({ kernelRelease: '4.19.0', largestMappingBytes: 3 * GiB }));
      assert.equal(v.allowed, true);
    });
    it('lets root use the admin reserve', () => {
      const room = 2 * GiB + 1 * GiB + 256 * MiB;
      const edge = room - 4 * MiB;
      assert.equal(predictFork(input({ kernelRelease: '4.9.0', largestMappingBytes: edge })).allowed, false);
      assert.equal(predictFork(input({ kernelRelease: '4.9.0', largestMappingBytes: edge, privileged: true })).allowed, true);
    });
  });

  describe('mode 2 (strict): Committed_AS + charge against CommitLimit less reserves', () => {
    // limit = 8 GiB - 8 MiB admin - min(5 GiB/32 = 160 MiB, 128 MiB) = 8 GiB - 136 MiB
    const limit = 8 * GiB - 136 * MiB;
    const cases: [string, Partial<ForkModelInput>, boolean, number][] = [
      ['4 GiB charge with 2 GiB of room: refused', {}, false, limit - 6 * GiB],
      ['1 GiB charge with 2 GiB of room: allowed', { chargeBytes: 1 * GiB }, true, limit - 6 * GiB],
      ['charge exactly filling the room is refused (committed must stay below the limit)', { chargeBytes: limit - 6 * GiB }, false, limit - 6 * GiB],
      ['overcommit_kbytes-style limit of 20 GiB', { commitLimit: 20 * GiB }, true, 20 * GiB - 136 * MiB - 6 * GiB],
      ['a small total_vm takes a smaller user reserve', { totalVmBytes: 32 * MiB, chargeBytes: 2 * GiB - 10 * MiB }, true, 8 * GiB - 8 * MiB - 1 * MiB - 6 * GiB],
    ];
    for (const [name, over, allowed, room] of cases) {
      it(name, () => {
        const v = predictFork(input({ overcommitMemory: 2, ...over }));
        assert.equal(v.rule, 'strict');
        assert.equal(v.allowed, allowed);
        assert.equal(v.roomBytes, room);
        assert.equal(v.neededBytes, over.chargeBytes ?? 4 * GiB);
      });
    }
    it('root does not lose the admin reserve', () => {
      const v = predictFork(input({ overcommitMemory: 2, privileged: true }));
      assert.equal(v.roomBytes, 8 * GiB - 128 * MiB - 6 * GiB);
    });
    it('the case seen here: started under mode 0, 36 MiB accountable of 204 MiB VmData, ~100 MiB of room: allowed', () => {
      const v = predictFork(input({ overcommitMemory: 2, commitLimit: 6 * GiB + 100 * MiB + 136 * MiB, chargeBytes: 36 * MiB, totalVmBytes: 300 * MiB }));
      // user reserve = min(300/32 MiB, 128 MiB) = 9.375 MiB, not 128: recompute the room honestly.
      assert.equal(v.allowed, true);
      assert.ok(v.headroomPercent! > 10);
    });
    it('says the estimate is approximate when it came from VmData', () => {
      const v = predictFork(input({ overcommitMemory: 2, approximate: true }));
      assert.equal(v.approximate, true);
      assert.match(v.explanation, /estimated from VmData/);
    });
    it('headroom is negative when refused and capped when huge', () => {
      assert.ok(predictFork(input({ overcommitMemory: 2 })).headroomPercent! < 0);
      assert.equal(predictFork(input({ overcommitMemory: 2, chargeBytes: 1 })).headroomPercent, 1000);
    });
  });
});

describe('the charge between two smaps walks', () => {
  const proc = (vmData: number) => ({ vmData, vmStk: 1 * MiB, charge: { bytes: 36 * MiB, largestMappingBytes: 30 * MiB, source: 'smaps' as const, measuredAt: 0, dataAndStackAtMeasure: 205 * MiB } });
  it('under mode 2 adds what VmData + VmStk grew by since the walk: every new mapping is charged then', () => {
    assert.deepEqual(chargeNow(2, proc(304 * MiB)), { bytes: 136 * MiB, grownBytes: 100 * MiB });
  });
  it('under mode 0 and 1 keeps the walk: jemalloc\'s new mappings are MAP_NORESERVE', () => {
    assert.deepEqual(chargeNow(0, proc(304 * MiB)), { bytes: 36 * MiB, grownBytes: 0 });
    assert.deepEqual(chargeNow(1, proc(304 * MiB)), { bytes: 36 * MiB, grownBytes: 0 });
  });
  it('takes nothing off for a shrink (what was unmapped may not have been charged), and nothing is added without a baseline', () => {
    assert.deepEqual(chargeNow(2, proc(100 * MiB)), { bytes: 36 * MiB, grownBytes: 0 });
    const noBaseline = proc(304 * MiB);
    assert.deepEqual(chargeNow(2, { ...noBaseline, charge: { ...noBaseline.charge, dataAndStackAtMeasure: undefined } }), { bytes: 36 * MiB, grownBytes: 0 });
    assert.equal(chargeNow(2, { vmData: 1, vmStk: 1, charge: undefined }), undefined);
  });
});

describe('the commit counter\'s slack (strict mode)', () => {
  it('is the per-CPU batch mm_compute_batch() sets for OVERCOMMIT_NEVER, times the CPUs', async () => {
    const { committedSlackBytes } = await import('../../src/analysis/kernel-model.ts');
    const PAGE = 4096;
    const cases: [string, number, number, number][] = [
      // [name, RAM, CPUs, expected batch in pages]
      ['this machine: 24 GiB, 2 CPUs (RAM pages / CPUs / 256)', 24 * GiB, 2, Math.floor((24 * GiB) / PAGE / 2 / 256)],
      ['tiny: 32 MiB, 2 CPUs (the floor of 32 pages)', 32 * MiB, 2, 32],
      ['small VM: 1 GiB, 2 CPUs', 1 * GiB, 2, 512],
      ['many CPUs, little RAM: 4 GiB, 64 CPUs (2 × CPUs)', 4 * GiB, 64, 128],
      ['big host: 512 GiB, 64 CPUs', 512 * GiB, 64, Math.floor((512 * GiB) / PAGE / 64 / 256)],
    ];
    for (const [name, ram, cpus, batch] of cases) assert.equal(committedSlackBytes(ram, cpus), batch * cpus * PAGE, name);
    assert.equal(committedSlackBytes(24 * GiB, 2) / MiB, 96, '±48 MiB per CPU on this machine, as measured in issue 13');
  });

  it('makes a margin within it borderline, and one beyond it allowed or refused', () => {
    const slack = 96 * MiB; // 24 GiB, 2 CPUs
    const strict = (spare: number) => predictFork(input({
      overcommitMemory: 2, memTotal: 24 * GiB, cpus: 2, commitLimit: 20 * GiB, committedAs: 10 * GiB,
      adminReserveBytes: 0, userReserveBytes: 0, chargeBytes: 10 * GiB - spare, privileged: true,
    }));
    const table: [number, string][] = [
      [slack + 1 * MiB, 'allowed'],
      [12 * MiB, 'borderline'],
      [-12 * MiB, 'borderline'],
      [-(slack + 1 * MiB), 'refused'],
    ];
    for (const [spare, outcome] of table) {
      const verdict = strict(spare);
      assert.equal(verdict.outcome, outcome, `${spare / MiB} MiB to spare`);
      assert.equal(verdict.allowed, outcome !== 'refused');
      assert.equal(verdict.slackBytes, slack);
    }
    assert.match(strict(12 * MiB).explanation, /too close to call[\s\S]*±96 MiB \(2 CPUs/);
    assert.equal(predictFork(input({ overcommitMemory: 2, cpus: undefined })).slackBytes, 0, 'no CPU count: no slack assumed');
  });
});

describe('the doctor in a tight spot', () => {
  it('says how much room it needs itself when strict overcommit leaves little, and what still answers', async () => {
    const { strictRoom } = await import('../../src/analysis/own-footprint.ts');
    const strictRoomNote = (...args: Parameters<typeof strictRoom>) => strictRoom(...args)?.note;
    const self = { chargeBytes: 45 * MiB, totalVmBytes: 1000 * MiB };
    const kernel = (room: number, mode = 2) => ({
      kernelRelease: '6.1.0', overcommitMemory: mode, overcommitRatio: 50, overcommitKbytes: 0, adminReserveBytes: 8 * MiB,
      userReserveBytes: 128 * MiB, memTotal: 16 * GiB, memFree: 8 * GiB, cached: 1 * GiB, sReclaimable: 0, swapTotal: 0, swapFree: 0,
      commitLimit: 8 * GiB, committedAs: 8 * GiB - room, thpEnabled: 'never', thpDefrag: 'never', hostOomKills: 0,
    });
    const note = strictRoomNote(kernel(100 * MiB), self);
    // 45 MiB accountable + min(1000 MiB / 32, 128 MiB) = 45 + 31.25
    assert.match(note ?? '', /leaves 100 MiB[\s\S]*needs up to 76 MiB/);
    assert.match(note ?? '', /redisfork:doctor function/);
    assert.deepEqual(
      (({ roomBytes, neededBytes }) => ({ roomBytes, neededBytes }))(strictRoom(kernel(100 * MiB), self)!),
      { roomBytes: 100 * MiB, neededBytes: 45 * MiB + (1000 * MiB) / 32 },
    );
    assert.equal(strictRoomNote(kernel(1 * GiB), self), undefined, 'room to spare: nothing to say');
    assert.equal(strictRoomNote(kernel(10 * MiB, 0), self), undefined, 'only strict mode charges every new process');
  });
});

describe('mode 0 before 5.2, per kernel line (__vm_enough_memory, OVERCOMMIT_GUESS)', () => {
  // MemFree 2 GiB + file pages (Cached 1 GiB + Buffers 128 MiB + SwapCached 0) − Shmem 256 MiB
  // + SwapFree 0 + reclaimable slab 256 MiB − totalreserve 64 MiB − admin reserve 8 MiB.
  const legacy = { memFree: 2 * GiB, cached: 1 * GiB, buffers: 128 * MiB, swapCached: 0, shmem: 256 * MiB, sReclaimable: 256 * MiB, totalReserveBytes: 64 * MiB };
  const free = 2 * GiB + 1 * GiB + 128 * MiB - 256 * MiB + 256 * MiB - 64 * MiB - 8 * MiB;
  const table: [string, string, Partial<ForkModelInput>, number][] = [
    ['RHEL 7', '3.10.0-1160.el7.x86_64', {}, free],
    ['Ubuntu 18.04', '4.15.0-213-generic', {}, free],
    ['RHEL 8', '4.18.0-513.el8.x86_64', {}, free],
    ['Debian 10', '4.19.0-27-amd64', {}, free],
    ['4.20–5.1: KReclaimable replaces SReclaimable', '5.1.21', { kReclaimable: 300 * MiB }, free + 44 * MiB],
    ['root keeps the admin reserve', '4.19.0', { privileged: true }, free + 8 * MiB],
    ['totalreserve unknown: taken as 0', '4.19.0', { totalReserveBytes: undefined }, free + 64 * MiB],
  ];
  for (const [name, release, over, room] of table) {
    it(`${name} (${release})`, () => {
      const v = predictFork(input({ ...legacy, kernelRelease: release, ...over }));
      assert.equal(v.rule, 'heuristic-legacy');
      assert.equal(v.roomBytes, room);
      assert.equal(predictFork(input({ ...legacy, kernelRelease: release, ...over, largestMappingBytes: room - 1 })).allowed, true, 'fewer pages than free: allowed');
      assert.equal(predictFork(input({ ...legacy, kernelRelease: release, ...over, largestMappingBytes: room })).allowed, false, 'as many as free: refused');
      assert.match(v.explanation, /MemFree \+ file pages − Shmem \+ SwapFree \+ (S|K)Reclaimable − totalreserve_pages/);
    });
  }
  it('refuses everything when free is under totalreserve_pages', () => {
    assert.equal(predictFork(input({ ...legacy, kernelRelease: '4.19.0', totalReserveBytes: 8 * GiB, largestMappingBytes: 4096 })).allowed, false);
  });

  it('rebuilds totalreserve_pages from /proc/zoneinfo as calculate_totalreserve_pages() does', async () => {
    const { parseZoneinfoTotalReserve } = await import('../../src/host/parse.ts');
    const zoneinfo = [
      'Node 0, zone      DMA', '  per-node stats', '  pages free     3840', '        min      0', '        low      1', '        high     63',
      '        spanned  4095', '        present  3999', '        managed  3840', '        protection: (0, 3019, 5835, 5835, 5835)',
      'Node 0, zone    DMA32', '  pages free     772915', '        high     13077', '        managed  772915', '        protection: (0, 0, 2816, 2816, 2816)',
      'Node 0, zone   Normal', '  pages free     620372', '        high     12198', '        managed  720896', '        protection: (0, 0, 0, 0, 0)',
      'Node 0, zone  Movable', '  pages free     0', '        high     32', '        managed  0', '        protection: (0, 0, 0, 0, 0)',
    ].join('\n');
    // DMA: min(63 + 5835, 3840) = 3840; DMA32: 13077 + 2816; Normal: 12198; Movable: min(32, 0) = 0.
    assert.equal(parseZoneinfoTotalReserve(zoneinfo), 3840 + 13077 + 2816 + 12198);
    assert.equal(parseZoneinfoTotalReserve('nothing here'), undefined);
  });
});
