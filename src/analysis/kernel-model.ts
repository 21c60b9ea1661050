/**
 * The kernel's rule for charging a fork (SPEC §6). Pure: facts in, verdict out.
 *
 * dup_mmap() charges the child, VMA by VMA, for every accountable mapping of the parent
 * (VM_ACCOUNT: private writable, not MAP_NORESERVE, not MADV_DONTFORK) through
 * __vm_enough_memory():
 *  - overcommit_memory=1: always allowed.
 *  - =0 on kernel >= 5.2 (commit 8c7829b04c523): refused only if one mapping is larger than
 *    totalram + total swap. Before 5.2 it compared one mapping with free + file pages − shmem +
 *    free swap + reclaimable slab − totalreserve_pages − the admin reserve.
 *  - =2: refused when Committed_AS + charge exceeds CommitLimit, less admin_reserve_kbytes for a
 *    process without CAP_SYS_ADMIN and less min(total_vm / 32, user_reserve_kbytes).
 */
import { dataAndStack, type KernelFacts, type ProcessFacts } from '../host/facts.ts';
import { kernelAtLeast, parseKernelRelease } from '../host/parse.ts';

export type ForkRule = 'always' | 'heuristic' | 'heuristic-legacy' | 'strict';

export interface ForkModelInput {
  overcommitMemory: number;
  kernelRelease: string | undefined;
  /** The release's major and minor number when already parsed (the collector does it once a minute). */
  kernelVersion?: [number, number] | undefined;
  memTotal: number;
  swapTotal: number;
  swapFree: number;
  memFree: number;
  cached: number;
  sReclaimable: number;
  /** What the pre-5.2 guess adds or takes away besides (0 when unknown). */
  buffers?: number | undefined;
  swapCached?: number | undefined;
  shmem?: number | undefined;
  /** meminfo KReclaimable (4.20+): reclaimable slab plus other reclaimable kernel memory. */
  kReclaimable?: number | undefined;
  /** totalreserve_pages in bytes (/proc/zoneinfo); unknown: 0, which over-states the room. */
  totalReserveBytes?: number | undefined;
  commitLimit: number;
  committedAs: number;
  adminReserveBytes: number;
  userReserveBytes: number;
  /** What the fork will be charged (sum of accountable mappings). */
  chargeBytes: number;
  /** Its largest accountable mapping. */
  largestMappingBytes: number;
  /** The parent's total_vm (VmSize), for the user reserve. */
  totalVmBytes: number;
  /** Root processes (CAP_SYS_ADMIN) may eat into the admin reserve. */
  privileged: boolean;
  /** The charge is VmData+VmStk rather than smaps: an upper bound. */
  approximate: boolean;
  /** CPUs present (num_present_cpus): the commit counter's slack grows with them. */
  cpus?: number | undefined;
}

/** Linux's base page size on x86-64 and most arm64 kernels, in which the commit counter counts. */
const PAGE_BYTES = 4096;

/**
 * How far the strict-mode check may be from what /proc/meminfo shows. __vm_enough_memory compares
 * `percpu_counter_read_positive(&vm_committed_as)`, which leaves up to `vm_committed_as_batch`
 * pages unfolded on each CPU, while Committed_AS (since 5.8) is the exact sum. Under
 * overcommit_memory=2, mm_compute_batch() sets the batch to max(RAM pages / CPUs / 256,
 * max(2 × CPUs, 32)) (mm/mm_init.c; the same 0.4% before 5.8): the check may be off by the batch
 * times the CPUs, either way.
 */
export function committedSlackBytes(memTotalBytes: number, cpus: number): number {
  const cpuCount = Math.max(1, Math.floor(cpus));
  const ramPages = Math.floor(memTotalBytes / PAGE_BYTES);
  const batchPages = Math.max(Math.floor(ramPages / cpuCount / 256), Math.max(2 * cpuCount, 32));
  return batchPages * cpuCount * PAGE_BYTES;
}

/** allowed / refused with a clear margin; borderline within the commit counter's slack. */
export type ForkOutcome = 'allowed' | 'borderline' | 'refused';

export interface ForkVerdict {
  rule: ForkRule;
  /** Not refused: allowed, or too close to call (see `outcome`). */
  allowed: boolean;
  outcome: ForkOutcome;
  /** The counter's slack the outcome allowed for (strict mode), in bytes. */
  slackBytes?: number | undefined;
  /** What is compared with the limit: the whole charge (strict) or the largest mapping (heuristic). */
  neededBytes: number;
  /** How much the kernel will grant now for that comparison; null when there is no limit. */
  roomBytes: number | null;
  /** (room - needed) / needed * 100, clamped to [-100, 1000]; null when there is no limit. */
  headroomPercent: number | null;
  approximate: boolean;
  /** One sentence that states the rule and the numbers. */
  explanation: string;
}

const HEADROOM_CAP = 1000;

export function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(bytes < 10 * 1048576 ? 1 : 0)} MiB`;
}

export function predictFork(input: ForkModelInput): ForkVerdict {
  const approximate = input.approximate;
  if (input.overcommitMemory === 1) {
    return {
      rule: 'always',
      allowed: true,
      outcome: 'allowed',
      neededBytes: input.chargeBytes,
      roomBytes: null,
      headroomPercent: null,
      approximate,
      explanation: 'vm.overcommit_memory=1: the kernel never refuses a fork for lack of commit.',
    };
  }

  if (input.overcommitMemory === 2) {
    let limit = input.commitLimit;
    if (!input.privileged) limit -= input.adminReserveBytes;
    limit -= Math.min(input.totalVmBytes / 32, input.userReserveBytes);
    const room = limit - input.committedAs;
    // __vm_enough_memory adds the charge first and allows when committed < allowed.
    const margin = limit - (input.committedAs + input.chargeBytes);
    const slack = input.cpus === undefined ? 0 : committedSlackBytes(input.memTotal, input.cpus);
    const outcome: ForkOutcome = slack > 0 && Math.abs(margin) <= slack ? 'borderline' : margin > 0 ? 'allowed' : 'refused';
    return {
      rule: 'strict',
      allowed: outcome !== 'refused',
      outcome,
      slackBytes: slack,
      neededBytes: input.chargeBytes,
      roomBytes: room,
      headroomPercent: headroom(room, input.chargeBytes),
      approximate,
      explanation:
        `vm.overcommit_memory=2 (strict): a fork is charged ${mib(input.chargeBytes)}` +
        `${approximate ? ' (estimated from VmData, likely too high)' : ''}; ` +
        `the kernel allows ${mib(Math.max(room, 0))} more above Committed_AS ${mib(input.committedAs)} ` +
        `(CommitLimit ${mib(input.commitLimit)} less reserves), so the fork ` +
        (outcome === 'borderline'
          ? `is too close to call: the ${mib(Math.abs(margin))} ${margin > 0 ? 'to spare' : 'too few'} are within the commit counter's slack of ±${mib(slack)} (${input.cpus} CPUs × the per-CPU batch the kernel leaves unfolded), so it may be refused or not.`
          : `${outcome === 'allowed' ? 'fits' : 'is refused'}${slack > 0 ? ` (beyond the commit counter's slack of ±${mib(slack)})` : ''}.`),
    };
  }

  const release = input.kernelVersion ?? parseKernelRelease(input.kernelRelease);
  const modern = release === undefined || kernelAtLeast(release, 5, 2);
  if (modern) {
    const room = input.memTotal + input.swapTotal;
    const allowed = input.largestMappingBytes <= room;
    return {
      rule: 'heuristic',
      allowed,
      outcome: allowed ? 'allowed' : 'refused',
      neededBytes: input.largestMappingBytes,
      roomBytes: room,
      headroomPercent: headroom(room, input.largestMappingBytes),
      approximate,
      explanation:
        `vm.overcommit_memory=0 on kernel ${input.kernelRelease ?? '>= 5.2'} refuses a fork only when one mapping ` +
        `is larger than RAM + swap (${mib(room)}); the largest here is ${mib(input.largestMappingBytes)}` +
        `, so the fork ${allowed ? 'is allowed' : 'is refused'}. The "50% of RAM" rule does not apply.`,
    };
  }

  // __vm_enough_memory's OVERCOMMIT_GUESS before 5.2 (mm/util.c, the same in 3.10, 4.15, 4.18 and
  // 4.19): free pages + file pages (NR_FILE_PAGES = Cached + Buffers + SwapCached) − shmem + free
  // swap + reclaimable slab (4.20+: KReclaimable, which adds the other reclaimable kernel memory
  // meminfo shows from then on) − totalreserve_pages − the admin reserve (non-root); the mapping's
  // pages must be fewer.
  const filePages = input.cached + (input.buffers ?? 0) + (input.swapCached ?? 0);
  const reclaimable = input.kReclaimable ?? input.sReclaimable;
  let free = input.memFree + filePages - (input.shmem ?? 0) + input.swapFree + reclaimable;
  const reserve = input.totalReserveBytes ?? 0;
  free = free <= reserve ? 0 : free - reserve;
  if (!input.privileged) free -= input.adminReserveBytes;
  const allowed = free > 0 && input.largestMappingBytes < free;
  return {
    rule: 'heuristic-legacy',
    allowed,
    outcome: allowed ? 'allowed' : 'refused',
    neededBytes: input.largestMappingBytes,
    roomBytes: free,
    headroomPercent: headroom(free, input.largestMappingBytes),
    approximate: true,
    explanation:
      `vm.overcommit_memory=0 on kernel ${input.kernelRelease} (before 5.2) refuses a fork when one mapping ` +
      `(${mib(input.largestMappingBytes)}) is not smaller than what it guesses is free: MemFree + file pages − Shmem + ` +
      `SwapFree + ${input.kReclaimable !== undefined ? 'KReclaimable' : 'SReclaimable'} − totalreserve_pages` +
      `${input.totalReserveBytes === undefined ? ' (unknown here, taken as 0)' : ` (${mib(reserve)})`}` +
      `${input.privileged ? '' : ' − admin_reserve_kbytes'} = about ${mib(Math.max(free, 0))}, so the fork ${allowed ? 'is allowed' : 'is refused'}. ` +
      'The guide\'s "50% of RAM" rule comes from this guess.',
  };
}

function headroom(room: number, needed: number): number {
  if (needed <= 0) return room > 0 ? HEADROOM_CAP : 0;
  const percent = ((room - needed) / needed) * 100;
  return Math.max(-100, Math.min(HEADROOM_CAP, percent));
}

/**
 * What a fork would be charged now: the last smaps walk's sum, plus, under mode 2, what VmData +
 * VmStk grew by since that walk. Under mode 2 every new private writable mapping is charged (the
 * kernel ignores MAP_NORESERVE then), so that growth is charge; under 0 and 1 jemalloc's new
 * mappings are MAP_NORESERVE and charge nothing, and the walk (at most 10 s old while they move)
 * stands. What shrank is not taken off: an unmapped region may have been MAP_NORESERVE.
 */
export function chargeNow(overcommitMemory: number | undefined, proc: Pick<ProcessFacts, 'charge' | 'vmData' | 'vmStk'>): { bytes: number; grownBytes: number } | undefined {
  const charge = proc.charge;
  if (charge === undefined) return undefined;
  const atMeasure = charge.dataAndStackAtMeasure;
  const nowBytes = dataAndStack(proc);
  const grownBytes = overcommitMemory === 2 && atMeasure !== undefined && nowBytes !== undefined ? Math.max(0, nowBytes - atMeasure) : 0;
  return { bytes: charge.bytes + grownBytes, grownBytes };
}

/** Builds the model's input from collected facts; undefined when a needed fact is missing. */
export function forkModelInput(kernel: KernelFacts, proc: ProcessFacts): ForkModelInput | undefined {
  const charge = proc.charge;
  const charged = chargeNow(kernel.overcommitMemory, proc);
  if (kernel.overcommitMemory === undefined || charge === undefined || charged === undefined) return undefined;
  const { memTotal, commitLimit, committedAs } = kernel;
  if (memTotal === undefined || commitLimit === undefined || committedAs === undefined) return undefined;
  return {
    overcommitMemory: kernel.overcommitMemory,
    kernelRelease: kernel.kernelRelease,
    kernelVersion: kernel.kernelVersion,
    memTotal,
    swapTotal: kernel.swapTotal ?? 0,
    swapFree: kernel.swapFree ?? 0,
    memFree: kernel.memFree ?? 0,
    cached: kernel.cached ?? 0,
    sReclaimable: kernel.sReclaimable ?? 0,
    buffers: kernel.buffers,
    swapCached: kernel.swapCached,
    shmem: kernel.shmem,
    kReclaimable: kernel.kReclaimable,
    totalReserveBytes: kernel.totalReserveBytes,
    commitLimit,
    committedAs,
    adminReserveBytes: kernel.adminReserveBytes ?? 0,
    userReserveBytes: kernel.userReserveBytes ?? 0,
    chargeBytes: charged.bytes,
    largestMappingBytes: charge.largestMappingBytes,
    totalVmBytes: proc.vmSize ?? 0,
    privileged: proc.effectiveUid === 0,
    approximate: charge.source !== 'smaps',
    cpus: kernel.presentCpus,
  };
}
