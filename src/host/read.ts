/**
 * Reads the procfs/sysfs files of SPEC §3, honouring NETDATA_HOST_PREFIX (Netdata in a container
 * sees the host under a prefix). All parsing lives in `parse.ts`.
 */
import { closeSync, existsSync, openSync, readFileSync, readSync, readdirSync, readlinkSync, readvSync } from 'node:fs';
import { join } from 'node:path';
import { dataAndStack, hugePagesMayGrow, type ChargeEstimate, type HostTaskFacts, type KernelFacts, type ProcessFacts, type ThpSizeMode } from './facts.ts';
import { readCgroup } from './cgroup.ts';
import { readTaskLimit } from './cgroup-pids.ts';
import {
  parseBracketChoice,
  parseCpuCount,
  parseKernelRelease,
  parseLoadavgTasks,
  kernelAtLeast,
  parseZoneinfoTotalReserve,
  parseInteger,
  pickMeminfo,
  pickSpaceSeparated,
  parseProcessStatus,
  parseSmaps,
  parseStatStartTicks,
  parseUptime,
} from './parse.ts';

/**
 * A read that came back short of what was asked, with less than this in hand, got the whole file:
 * procfs's seq_file ends a read early only when its one-page buffer overflows (so with more than
 * half a page already given), and sysctl and sysfs files come whole in one read. It saves the
 * second, empty read per file every second.
 */
const WHOLE_IF_SHORT_BELOW = 2048;

/** Buffer's own latin1Slice: toString('latin1') less its argument checks (Node 18-24 have it; checked all the same). */
interface Latin1Slicing {
  latin1Slice(start: number, end: number): string;
}
const LATIN1_SLICE = typeof (Buffer.prototype as unknown as Partial<Latin1Slicing>).latin1Slice === 'function';

/** How many files `readRepeated` keeps open at most (then it starts over). */
const MAX_HELD_FILES = 512;

/** Where the host's / is: `NETDATA_HOST_PREFIX` or an explicit root (tests, `doctor --host-root`). */
export class HostFs {
  private readonly held = new Map<string, number>();
  /** One buffer, in the array readvSync takes. */
  private readonly buffers: Buffer[] = [Buffer.allocUnsafe(16 * 1024)];
  /** The start of the same buffer, for the sysctls. */
  private readonly smallBuffers: Buffer[] = [this.buffers[0]!.subarray(0, 64)];

  constructor(readonly root: string = process.env.NETDATA_HOST_PREFIX ?? '') {}

  /**
   * For a procfs/sysfs file read every iteration: opened once and re-read from offset 0 into one
   * reused buffer — procfs and sysfs make a file's text anew on each read from its start — instead
   * of open, stat, read and close every second. A file that went away (its process ended, its
   * cgroup was removed) fails to read; it is closed and opened afresh next time.
   *
   * `enough`: text whose presence ends the reading early. A read of a multi-record procfs file
   * (/proc/vmstat) gives at most a page of whole lines, so a file longer than WHOLE_IF_SHORT_BELOW
   * needs another read to be sure of its end, and that read makes the kernel compute every counter
   * again; a caller that wants one line says which.
   */
  readRepeated(absolute: string, enough?: string): string | undefined {
    return this.readHeld(absolute, this.buffers, enough);
  }

  /**
   * The same for a /proc/sys file (a number or a word): the kernel allocates and zeroes as many
   * bytes as a read asks for before it formats a sysctl, so this asks for a few dozen, not 16 KiB.
   */
  readRepeatedSysctl(absolute: string): string | undefined {
    return this.readHeld(absolute, this.smallBuffers);
  }

  private readHeld(absolute: string, buffers: Buffer[], enough?: string): string | undefined {
    const fd = this.held.get(absolute) ?? this.hold(absolute);
    if (fd === undefined) return undefined;
    try {
      // readvSync: the same read(2) as readSync, with a fraction of its argument checks.
      const length = readvSync(fd, buffers, 0);
      // A buffer filled to the brim may have left more (readRest goes on in the whole buffer).
      if (length < buffers[0]!.length) {
        const text = this.text(length);
        if (length < WHOLE_IF_SHORT_BELOW || (enough !== undefined && text.indexOf(enough) >= 0)) return text;
      }
      return this.text(this.readRest(fd, length));
    } catch {
      closeSync(fd);
      this.held.delete(absolute);
      return undefined;
    }
  }

  private hold(absolute: string): number | undefined {
    let fd: number;
    try {
      fd = openSync(this.path(absolute), 'r');
    } catch {
      return undefined;
    }
    if (this.held.size >= MAX_HELD_FILES) this.closeHeld();
    this.held.set(absolute, fd);
    return fd;
  }

  /** Reads on until the end of the file, the buffer doubled when full. */
  private readRest(fd: number, length: number): number {
    let buffer = this.buffers[0]!;
    for (;;) {
      if (length === buffer.length) {
        const bigger = Buffer.allocUnsafe(buffer.length * 2);
        buffer.copy(bigger);
        this.buffers[0] = buffer = bigger;
        this.smallBuffers[0] = bigger.subarray(0, this.smallBuffers[0]!.length);
      }
      const n = readSync(fd, buffer, length, buffer.length - length, length);
      if (n === 0) return length;
      length += n;
    }
  }

  private text(length: number): string {
    const buffer = this.buffers[0]!;
    return LATIN1_SLICE ? (buffer as unknown as Latin1Slicing).latin1Slice(0, length) : buffer.toString('latin1', 0, length);
  }

  /** Closes the files `readRepeated` holds. */
  closeHeld(): void {
    for (const fd of this.held.values()) {
      try {
        closeSync(fd);
      } catch {
        // already closed
      }
    }
    this.held.clear();
  }

  path(absolute: string): string {
    return this.root ? join(this.root, absolute) : absolute;
  }

  read(absolute: string): string | undefined {
    try {
      return readFileSync(this.path(absolute), 'utf8');
    } catch {
      return undefined;
    }
  }

  exists(absolute: string): boolean {
    return existsSync(this.path(absolute));
  }

  /** The target of a symbolic link, e.g. `/proc/PID/ns/net` -> `net:[4026531840]`. */
  readLink(absolute: string): string | undefined {
    try {
      return readlinkSync(this.path(absolute));
    } catch {
      return undefined;
    }
  }

  list(absolute: string): string[] {
    try {
      return readdirSync(this.path(absolute));
    } catch {
      return [];
    }
  }
}

const THP_DIR = '/sys/kernel/mm/transparent_hugepage';

/**
 * The kernel facts read once a minute (see `KernelFactsReader`): those that change only with a
 * reboot or a CPU hotplug, and the per-size THP modes, which an administrator sets rarely and which
 * are eight to a dozen files (read every second, a tenth of an iteration's cost at one job).
 */
export interface SlowKernelFacts {
  release: string | undefined;
  version: [number, number] | undefined;
  cpus: number | undefined;
  totalReserve: number | undefined;
  thpSizes: ThpSizeMode[] | undefined;
  tasks: HostTaskFacts | undefined;
}

export function readSlowKernelFacts(fs: HostFs, thpSizeFiles: readonly ThpSizeFile[] = findThpSizeFiles(fs)): SlowKernelFacts {
  const release = readKernelRelease(fs);
  const version = parseKernelRelease(release);
  return { release, version, cpus: readPresentCpus(fs), totalReserve: readTotalReserveBytes(fs, version), thpSizes: readThpSizeModes(fs, thpSizeFiles), tasks: readHostTasks(fs) };
}

/** The host's tasks and its limits on them: they move slowly, and only the doctor reads them. */
export function readHostTasks(fs: HostFs): HostTaskFacts | undefined {
  const tasks = parseLoadavgTasks(fs.read('/proc/loadavg'));
  const threadsMax = parseInteger(fs.read('/proc/sys/kernel/threads-max'));
  const pidMax = parseInteger(fs.read('/proc/sys/kernel/pid_max'));
  return tasks === undefined && threadsMax === undefined && pidMax === undefined ? undefined : { tasks, threadsMax, pidMax };
}

/** One `hugepages-<size>kB/enabled`. */
export interface ThpSizeFile {
  sizeKb: number;
  path: string;
}

const THP_SIZE_DIR = /^hugepages-(\d+)kB$/;

/**
 * The per-size `enabled` files of a 6.8+ kernel, smallest size first (none before 6.8). A size
 * for files and shmem only (8 kB, order 1, has just `shmem_enabled`) has none: anonymous memory
 * cannot get it. The sizes are the kernel's and the CPU's: found once, their modes read again.
 */
export function findThpSizeFiles(fs: HostFs): ThpSizeFile[] {
  const files: ThpSizeFile[] = [];
  for (const name of fs.list(THP_DIR)) {
    const size = THP_SIZE_DIR.exec(name);
    const path = `${THP_DIR}/${name}/enabled`;
    if (size && fs.exists(path)) files.push({ sizeKb: Number(size[1]), path });
  }
  return files.sort((a, b) => a.sizeKb - b.sizeKb);
}

/** Each size's mode (always, inherit, madvise or never); undefined on a kernel without per-size controls. */
export function readThpSizeModes(fs: HostFs, files: readonly ThpSizeFile[] = findThpSizeFiles(fs)): ThpSizeMode[] | undefined {
  if (files.length === 0) return undefined;
  return files.map((file) => ({ sizeKb: file.sizeKb, mode: parseBracketChoice(fs.readRepeated(file.path)) }));
}

/**
 * The host's kernel facts. `vm.overcommit_memory`, meminfo, the THP modes and the OOM counter are
 * read every time (they decide the next fork and may change any second); the slow facts are read
 * when not given. (An object rather than optional parameters: a parameter's default runs again for
 * every `undefined` passed, so a kernel without totalreserve had its release parsed every second.)
 *
 * The other four commit sysctls are taken from `previous` (the facts of the last iteration) while
 * they cannot matter or cannot have moved unseen: the mode is the same and neither strict (where the
 * reserves decide a fork) nor the pre-5.2 guess (where the admin reserve does), and CommitLimit and
 * MemTotal are unchanged (a new overcommit_ratio or overcommit_kbytes moves CommitLimit at once, and
 * the kernel sizes the reserves by memory). The caller bounds how long they are carried.
 */
export function readKernelFacts(fs: HostFs, slow: SlowKernelFacts = readSlowKernelFacts(fs), previous?: KernelFacts): KernelFacts {
  const { release: kernelRelease, cpus: presentCpus, totalReserve: totalReserveBytes } = slow;
  const meminfo = pickMeminfo(fs.readRepeated('/proc/meminfo') ?? '');
  const overcommitMemory = readSysctl(fs, 'overcommit_memory');
  const carry =
    previous !== undefined &&
    overcommitMemory !== undefined &&
    overcommitMemory === previous.overcommitMemory &&
    overcommitMemory !== 2 &&
    !(overcommitMemory === 0 && kernelBefore52(slow.version)) &&
    meminfo.commitLimit === previous.commitLimit &&
    meminfo.memTotal === previous.memTotal;
  const kb = (value: number | undefined) => (value === undefined ? undefined : value * 1024);
  return {
    kernelRelease,
    kernelVersion: slow.version,
    overcommitMemory,
    overcommitRatio: carry ? previous.overcommitRatio : readSysctl(fs, 'overcommit_ratio'),
    overcommitKbytes: carry ? previous.overcommitKbytes : readSysctl(fs, 'overcommit_kbytes'),
    adminReserveBytes: carry ? previous.adminReserveBytes : kb(readSysctl(fs, 'admin_reserve_kbytes')),
    userReserveBytes: carry ? previous.userReserveBytes : kb(readSysctl(fs, 'user_reserve_kbytes')),
    // Field by field, not spread: a spread in a literal is the interpreter's slowest way to build it.
    memTotal: meminfo.memTotal,
    memFree: meminfo.memFree,
    cached: meminfo.cached,
    sReclaimable: meminfo.sReclaimable,
    buffers: meminfo.buffers,
    swapCached: meminfo.swapCached,
    shmem: meminfo.shmem,
    kReclaimable: meminfo.kReclaimable,
    totalReserveBytes,
    swapTotal: meminfo.swapTotal,
    swapFree: meminfo.swapFree,
    commitLimit: meminfo.commitLimit,
    committedAs: meminfo.committedAs,
    thpEnabled: parseBracketChoice(fs.readRepeated(`${THP_DIR}/enabled`)),
    thpDefrag: parseBracketChoice(fs.readRepeated(`${THP_DIR}/defrag`)),
    thpSizes: slow.thpSizes,
    hostOomKills: pickSpaceSeparated(fs.readRepeated('/proc/vmstat', '\noom_kill ') ?? '', 'oom_kill'),
    presentCpus,
    hostTasks: slow.tasks,
  };
}

function readSysctl(fs: HostFs, name: string): number | undefined {
  return parseInteger(fs.readRepeatedSysctl(`/proc/sys/vm/${name}`));
}

/** totalreserve_pages matters only to the pre-5.2 mode-0 guess: /proc/zoneinfo is read only for those kernels. */
export function readTotalReserveBytes(fs: HostFs, kernelVersion: [number, number] | undefined): number | undefined {
  if (!kernelBefore52(kernelVersion)) return undefined;
  const pages = parseZoneinfoTotalReserve(fs.read('/proc/zoneinfo') ?? '');
  return pages === undefined ? undefined : pages * 4096;
}

/** Kernels before 5.2 decide a fork under mode 0 by the old guess (see kernel-model.ts). */
function kernelBefore52(version: [number, number] | undefined): boolean {
  return version !== undefined && !kernelAtLeast(version, 5, 2);
}

export function readPresentCpus(fs: HostFs): number | undefined {
  return parseCpuCount(fs.read('/sys/devices/system/cpu/present'));
}

export function readKernelRelease(fs: HostFs): string | undefined {
  return fs.read('/proc/sys/kernel/osrelease')?.trim() || undefined;
}

/** How long the commit sysctls other than overcommit_memory are carried at most (see readKernelFacts). */
export const COMMIT_SYSCTLS_MAX_AGE_MS = 60_000;

/**
 * Reads the kernel facts each iteration; the kernel release, the CPUs present and the per-size THP modes once a minute,
 * the commit sysctls beyond overcommit_memory when they could have moved, and once a minute anyway.
 * Owned by the collector.
 */
export class KernelFactsReader {
  private slow: SlowKernelFacts | undefined;
  private slowAt = 0;
  private previous: KernelFacts | undefined;
  private thpSizeFiles: ThpSizeFile[] | undefined;
  constructor(private readonly fs: HostFs) {}

  read(now: number): KernelFacts {
    const fresh = this.slow === undefined || now - this.slowAt >= COMMIT_SYSCTLS_MAX_AGE_MS || now < this.slowAt;
    if (fresh) {
      this.thpSizeFiles ??= findThpSizeFiles(this.fs);
      this.slow = readSlowKernelFacts(this.fs, this.thpSizeFiles);
      this.slowAt = now;
    }
    this.previous = readKernelFacts(this.fs, this.slow, fresh ? undefined : this.previous);
    return this.previous;
  }
}

/** Process age in seconds from /proc/PID/stat and /proc/uptime (USER_HZ is 100 on Linux). */
export function readProcessAgeSeconds(fs: HostFs, pid: number): number | undefined {
  const stat = fs.read(`/proc/${pid}/stat`);
  const uptime = parseUptime(fs.read('/proc/uptime') ?? '');
  if (stat === undefined || uptime === undefined) return undefined;
  const ticks = parseStatStartTicks(stat);
  return ticks === undefined ? undefined : uptime - ticks / 100;
}

export function readProcessCommand(fs: HostFs, pid: number): string | undefined {
  const cmdline = fs.read(`/proc/${pid}/cmdline`);
  if (cmdline) return cmdline.replace(/\0+$/, '').replace(/\0/g, ' ');
  return fs.read(`/proc/${pid}/comm`)?.trim();
}

/**
 * When smaps is walked again (SPEC §3). A walk makes the kernel walk the process's page tables with
 * its mmap lock held — about 3.6 ms per GB of Redis measured here, 15 ms at 4 GB, so 150 ms at
 * 40 GB, and a fork of Redis waits for it — and costs the plugin more than a whole iteration once
 * Redis has a few hundred MB. What a walk finds moves only when mappings are made, grown or removed
 * (VmData and VmStk move with them) or when khugepaged turns pages into huge pages in place. So:
 * at most every 10 s while VmData and VmStk move (a growing Redis moves them every few seconds);
 * once a minute while they stay put and huge pages can grow (`hugePagesMayGrow`); every 10 minutes
 * while nothing can move; at once when whether huge pages can grow changed (the host's THP mode was
 * set anew); and never more than 0.1% of the time, which spaces the walks of a Redis above ~16 GB
 * further.
 */
export const SMAPS_REFRESH_MS = 60_000;
export const SMAPS_IDLE_REFRESH_MS = 600_000;
export const SMAPS_MIN_GAP_MS = 10_000;
export const SMAPS_MAX_DUTY = 0.001;

/**
 * Whether smaps is due again, given the last walk's charge, VmData + VmStk now, the time, and
 * whether huge pages can grow now (taken as yes when not given).
 */
export function smapsWalkDue(last: ChargeEstimate | undefined, dataAndStackNow: number | undefined, now: number, hugePagesMayGrowNow = true): boolean {
  if (last === undefined) return true;
  const since = now - last.measuredAt;
  // The wall clock went back: no telling how old the walk is.
  if (since < 0) return true;
  if (last.hugePagesMayGrowAtMeasure !== undefined && last.hugePagesMayGrowAtMeasure !== hugePagesMayGrowNow) return true;
  const moved = dataAndStackNow !== last.dataAndStackAtMeasure;
  const gap = moved ? SMAPS_MIN_GAP_MS : hugePagesMayGrowNow ? SMAPS_REFRESH_MS : SMAPS_IDLE_REFRESH_MS;
  return since >= Math.max(gap, (last.walkMs ?? 0) / SMAPS_MAX_DUTY);
}

/**
 * Reads the process facts. `previous` carries the last smaps walk, which is reused until
 * `smapsWalkDue` says otherwise; `hostThpMode` (the host's THP `enabled` word) tells it whether
 * huge pages can grow (unknown: they can).
 */
export function readProcessFacts(
  fs: HostFs,
  pid: number,
  previous: ProcessFacts | undefined,
  now: number = Date.now(),
  hostThpMode?: string,
): ProcessFacts | undefined {
  const statusText = fs.readRepeated(`/proc/${pid}/status`);
  if (statusText === undefined) return undefined;
  const status = parseProcessStatus(statusText);

  const last = previous?.pid === pid ? previous : undefined;
  const dataAndStackNow = dataAndStack(status);
  let charge = last?.charge;
  let anonHugePages = last?.anonHugePages;
  if (smapsWalkDue(charge, dataAndStackNow, now, hugePagesMayGrow(hostThpMode, status.thpEnabled, anonHugePages))) {
    // process.hrtime, not performance.now: the first use of `performance` loads perf_hooks (RSS).
    const started = process.hrtime.bigint();
    const smapsText = fs.read(`/proc/${pid}/smaps`);
    const smaps = smapsText === undefined ? undefined : parseSmaps(smapsText);
    const walkMs = Number(process.hrtime.bigint() - started) / 1e6;
    if (smaps) {
      charge = {
        bytes: smaps.accountableBytes,
        largestMappingBytes: smaps.largestAccountableBytes,
        source: 'smaps',
        measuredAt: now,
        dataAndStackAtMeasure: dataAndStackNow,
        walkMs,
        hugePagesMayGrowAtMeasure: hugePagesMayGrow(hostThpMode, status.thpEnabled, smaps.anonHugePagesBytes),
      };
      anonHugePages = smaps.anonHugePagesBytes;
    } else if (dataAndStackNow !== undefined) {
      // smaps unreadable (Netdata's own user may not ptrace-read Redis): VmData + VmStk counts
      // MAP_NORESERVE memory too, so it over-states the charge.
      charge = {
        bytes: dataAndStackNow,
        largestMappingBytes: dataAndStackNow,
        source: 'vmdata',
        measuredAt: now,
        dataAndStackAtMeasure: dataAndStackNow,
        walkMs,
        hugePagesMayGrowAtMeasure: hugePagesMayGrow(hostThpMode, status.thpEnabled, anonHugePages),
      };
    }
  }

  return {
    pid,
    vmRss: status.vmRss,
    vmData: status.vmData,
    vmStk: status.vmStk,
    vmSize: status.vmSize,
    thpEnabled: status.thpEnabled,
    effectiveUid: status.effectiveUid,
    anonHugePages,
    charge,
    cgroup: readCgroup(fs, pid, last?.cgroup, now),
    tasks: readTaskLimit(fs, pid, last?.tasks, now),
  };
}
