/**
 * Pure parsers of procfs/sysfs text. No I/O here: the readers in `read.ts` fetch the text.
 * Every parser tolerates odd input (missing lines, junk) and answers `undefined` for what it
 * cannot read, never throws.
 */

/** `/proc/meminfo`-style `Key:   123 kB` lines; values in bytes (kB lines) or plain numbers. */
export function parseKeyValueKb(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const key = line.slice(0, colon).trim();
    const rest = line.slice(colon + 1).trim();
    const match = /^(-?\d+)(?:\s+(kB))?$/.exec(rest);
    if (!match) continue;
    const value = Number(match[1]);
    if (!Number.isFinite(value)) continue;
    out.set(key, match[2] === 'kB' ? value * 1024 : value);
  }
  return out;
}

/**
 * One regular expression for a procfs file whose lines the kernel always writes in the same order:
 * each wanted key's line with its value captured, any other lines between. It matches only when
 * every key is there, in that order, each the first line of its key, with a plain value; the
 * readers then take the line-by-line way (one regular expression call costs the interpreter about
 * as much as a dozen file lines: this runs every second).
 */
function inKernelOrder(fields: readonly (readonly [key: string, value: string])[]): RegExp {
  const otherLine = `(?:(?!(?:${fields.map(([key]) => key).join('|')}):)[^\\n]*\\n)*?`;
  return new RegExp(`^${fields.map(([key, value]) => `${otherLine}${key}:${value}\\n`).join('')}`);
}

const KB_LINE = '[ \\t]*(\\d+) kB';

/** The meminfo lines the kernel model and the charts use, in bytes. */
export interface MeminfoFields {
  memTotal: number | undefined;
  memFree: number | undefined;
  cached: number | undefined;
  sReclaimable: number | undefined;
  buffers: number | undefined;
  swapCached: number | undefined;
  shmem: number | undefined;
  kReclaimable: number | undefined;
  swapTotal: number | undefined;
  swapFree: number | undefined;
  commitLimit: number | undefined;
  committedAs: number | undefined;
}

/** The meminfo lines read, in the kernel's order (since 4.20, which added KReclaimable), with their fields. */
const MEMINFO_LINES = [
  ['MemTotal', 'memTotal'], ['MemFree', 'memFree'], ['Buffers', 'buffers'], ['Cached', 'cached'], ['SwapCached', 'swapCached'],
  ['SwapTotal', 'swapTotal'], ['SwapFree', 'swapFree'], ['Shmem', 'shmem'], ['KReclaimable', 'kReclaimable'],
  ['SReclaimable', 'sReclaimable'], ['CommitLimit', 'commitLimit'], ['Committed_AS', 'committedAs'],
] as const satisfies readonly (readonly [string, keyof MeminfoFields])[];

const MEMINFO_FIELD_OF: ReadonlyMap<string, keyof MeminfoFields> = new Map(MEMINFO_LINES);
const MEMINFO_ANY_LINE = new RegExp(`(?:^|\\n)(${MEMINFO_LINES.map(([key]) => key).join('|')}):([^\\n]*)`, 'g');
export const MEMINFO_IN_ORDER = inKernelOrder(MEMINFO_LINES.map(([key]) => [key, KB_LINE] as const));

function noMeminfo(): MeminfoFields {
  return {
    memTotal: undefined, memFree: undefined, cached: undefined, sReclaimable: undefined, buffers: undefined, swapCached: undefined,
    shmem: undefined, kReclaimable: undefined, swapTotal: undefined, swapFree: undefined, commitLimit: undefined, committedAs: undefined,
  };
}

/** The wanted lines of `/proc/meminfo` (it runs every second); the first line of a key counts. */
export function pickMeminfo(text: string): MeminfoFields {
  const out = noMeminfo();
  const m = MEMINFO_IN_ORDER.exec(text);
  if (m !== null) {
    for (let i = 0; i < MEMINFO_LINES.length; i++) out[MEMINFO_LINES[i]![1]] = Number(m[i + 1]) * 1024;
    return out;
  }
  // Line by line: another kernel's layout, or a file the kernel did not write.
  for (const [key, rest] of firstLines(text, MEMINFO_ANY_LINE)) out[MEMINFO_FIELD_OF.get(key)!] = kbValue(rest);
  return out;
}

/** `key -> rest of line` for the keys a global `(key):(rest)` pattern finds; the first line of a key counts, as the kernel writes each once. */
function firstLines(text: string, pattern: RegExp): Map<string, string> {
  const lines = new Map<string, string>();
  pattern.lastIndex = 0;
  for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
    if (!lines.has(match[1]!)) lines.set(match[1]!, match[2]!);
  }
  return lines;
}

/** One `key value` line of a vmstat-style text, without parsing the rest. */
export function pickSpaceSeparated(text: string, key: string): number | undefined {
  const at = text.startsWith(`${key} `) ? 0 : text.indexOf(`\n${key} `) + 1;
  if (at <= 0 && !text.startsWith(`${key} `)) return undefined;
  const end = text.indexOf('\n', at);
  const raw = text.slice(at + key.length + 1, end < 0 ? undefined : end).trim();
  return /^-?\d+$/.test(raw) ? Number(raw) : undefined;
}

/** `/proc/vmstat`-style `key value` lines. */
export function parseSpaceSeparated(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^(\S+)\s+(-?\d+)\s*$/.exec(line);
    if (!match || match[1] === undefined) continue;
    out.set(match[1], Number(match[2]));
  }
  return out;
}

/** A single integer file such as `/proc/sys/vm/overcommit_memory`. */
export function parseInteger(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  if (!/^-?\d+$/.test(trimmed)) return undefined;
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : undefined;
}

/** The bracketed word of a sysfs choice file: `always [madvise] never` -> `madvise`. */
export function parseBracketChoice(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const match = /\[([^\]\s]+)\]/.exec(text);
  return match?.[1];
}

/** `/proc/PID/status` fields that matter here. */
export interface ProcessStatus {
  name: string | undefined;
  vmRss: number | undefined;
  vmData: number | undefined;
  vmStk: number | undefined;
  vmSize: number | undefined;
  /** `THP_enabled:` (kernel 5.0+): 0 when the process opted out with prctl(PR_SET_THP_DISABLE). */
  thpEnabled: boolean | undefined;
  effectiveUid: number | undefined;
  /** `NSpid:` (Linux >= 4.1): the pid in each PID namespace, outermost (this /proc's) first, the container's last. */
  nsPids: number[];
  parentPid: number | undefined;
}

/** The status lines read, all found in one scan (this runs every second for each Redis process). */
const STATUS_FIELDS = /(?:^|\n)(Name|PPid|Uid|NSpid|VmSize|VmRSS|VmData|VmStk|THP_enabled):([^\n]*)/g;
const KB_VALUE = /^(-?\d+)(?:\s+(kB))?$/;

function kbValue(rest: string | undefined): number | undefined {
  if (rest === undefined) return undefined;
  const match = KB_VALUE.exec(rest.trim());
  if (!match) return undefined;
  const value = Number(match[1]);
  return match[2] === 'kB' ? value * 1024 : value;
}

/** The status lines in the kernel's order (NSpid since 4.1, THP_enabled since 5.0). */
export const STATUS_IN_ORDER = inKernelOrder([
  ['Name', '[ \\t]*([^\\n]*)'],
  ['PPid', '[ \\t]*(\\d+)'],
  ['Uid', '[ \\t]*\\d+[ \\t]+(\\d+)[^\\n]*'],
  ['NSpid', '[ \\t]*(\\d+(?:[ \\t]+\\d+)*)[ \\t]*'],
  ['VmSize', KB_LINE],
  ['VmRSS', KB_LINE],
  ['VmData', KB_LINE],
  ['VmStk', KB_LINE],
  ['THP_enabled', '[ \\t]*(\\d+)'],
]);

export function parseProcessStatus(text: string): ProcessStatus {
  const m = STATUS_IN_ORDER.exec(text);
  if (m !== null) {
    return {
      name: m[1]!.trim() || undefined,
      vmRss: Number(m[6]) * 1024,
      vmData: Number(m[7]) * 1024,
      vmStk: Number(m[8]) * 1024,
      vmSize: Number(m[5]) * 1024,
      thpEnabled: Number(m[9]) !== 0,
      effectiveUid: Number(m[3]),
      nsPids: m[4]!.split(/[ \t]+/).map(Number),
      parentPid: Number(m[2]),
    };
  }
  return parseProcessStatusLines(text);
}

function parseProcessStatusLines(text: string): ProcessStatus {
  const lines = firstLines(text, STATUS_FIELDS);
  const thpValue = kbValue(lines.get('THP_enabled'));
  const uid = lines.get('Uid');
  const nsPid = lines.get('NSpid');
  const ppid = lines.get('PPid');
  const uidMatch = uid === undefined ? null : /^\s*\d+\s+(\d+)/.exec(uid);
  const nsPidMatch = nsPid === undefined ? null : /^\s*([\d\s]+)$/.exec(nsPid);
  const ppidMatch = ppid === undefined ? null : /^\s*(\d+)/.exec(ppid);
  return {
    name: lines.get('Name')?.trim() || undefined,
    vmRss: kbValue(lines.get('VmRSS')),
    vmData: kbValue(lines.get('VmData')),
    vmStk: kbValue(lines.get('VmStk')),
    vmSize: kbValue(lines.get('VmSize')),
    thpEnabled: thpValue === undefined ? undefined : thpValue !== 0,
    effectiveUid: uidMatch ? Number(uidMatch[1]) : undefined,
    nsPids: nsPidMatch?.[1] ? nsPidMatch[1].trim().split(/\s+/).map(Number).filter(Number.isInteger) : [],
    parentPid: ppidMatch ? Number(ppidMatch[1]) : undefined,
  };
}

/** What a fork of this process would be charged, from `/proc/PID/smaps`. */
export interface SmapsSummary {
  /** Sum of `Size` over mappings whose VmFlags hold `ac` (VM_ACCOUNT) and not `dc` (VM_DONTCOPY). */
  accountableBytes: number;
  /** The largest such mapping: what the mode-0 heuristic compares against RAM + swap. */
  largestAccountableBytes: number;
  anonHugePagesBytes: number;
  mappings: number;
}

const MAPPING_HEADER = /^[0-9a-f]+-[0-9a-f]+\s/;

export function parseSmaps(text: string): SmapsSummary | undefined {
  let accountable = 0;
  let largest = 0;
  let anonHuge = 0;
  let mappings = 0;
  let size: number | undefined;
  let sawVmFlags = false;
  for (const line of text.split('\n')) {
    if (MAPPING_HEADER.test(line)) {
      mappings++;
      size = undefined;
      continue;
    }
    if (line.startsWith('Size:')) {
      size = kbField(line);
    } else if (line.startsWith('AnonHugePages:')) {
      anonHuge += kbField(line) ?? 0;
    } else if (line.startsWith('VmFlags:')) {
      sawVmFlags = true;
      const flags = line.slice('VmFlags:'.length).trim().split(/\s+/);
      if (size !== undefined && flags.includes('ac') && !flags.includes('dc')) {
        accountable += size;
        if (size > largest) largest = size;
      }
    }
  }
  // Without VmFlags (kernels before 3.8) nothing can be said about accounting.
  if (mappings === 0 || !sawVmFlags) return undefined;
  return { accountableBytes: accountable, largestAccountableBytes: largest, anonHugePagesBytes: anonHuge, mappings };
}

function kbField(line: string): number | undefined {
  const match = /:\s*(\d+)\s*kB/.exec(line);
  return match ? Number(match[1]) * 1024 : undefined;
}

/** One line of `/proc/PID/cgroup`. */
export interface CgroupMembership {
  /** cgroup v1 memory controller path, if the process is in one. */
  v1MemoryPath: string | undefined;
  /** cgroup v1 pids controller path: its hierarchy is separate from memory's and may differ. */
  v1PidsPath?: string | undefined;
  /** cgroup v2 unified path (`0::/...`). */
  v2Path: string | undefined;
}

export function parseProcCgroup(text: string): CgroupMembership {
  let v1MemoryPath: string | undefined;
  let v1PidsPath: string | undefined;
  let v2Path: string | undefined;
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const hierarchy = line.slice(0, first);
    const controllers = line.slice(first + 1, second);
    const path = line.slice(second + 1).trim();
    if (!path.startsWith('/')) continue;
    if (hierarchy === '0' && controllers === '') {
      v2Path = path;
      continue;
    }
    const names = controllers.split(',');
    if (names.includes('memory')) v1MemoryPath = path;
    if (names.includes('pids')) v1PidsPath = path;
  }
  return { v1MemoryPath, v1PidsPath, v2Path };
}

/**
 * A cgroup memory limit: `max` (v2) or a huge page-aligned number (v1's "unlimited",
 * 9223372036854771712) both mean no limit.
 */
export function parseCgroupLimit(text: string | undefined): number | null | undefined {
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  if (trimmed === 'max') return null;
  const value = parseInteger(trimmed);
  if (value === undefined) return undefined;
  return value >= 2 ** 60 ? null : value;
}

/** `/proc/PID/stat` field 22 (starttime, clock ticks after boot). The comm field may hold spaces. */
export function parseStatStartTicks(text: string): number | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const rest = text.slice(close + 2).split(' ');
  // rest[0] is field 3 (state); starttime is field 22.
  const value = Number(rest[22 - 3]);
  return Number.isFinite(value) ? value : undefined;
}

/** `/proc/uptime`: seconds since boot. */
export function parseUptime(text: string): number | undefined {
  const value = Number(text.trim().split(/\s+/)[0]);
  return Number.isFinite(value) ? value : undefined;
}

/** Who owns a task for RLIMIT_NPROC, from /proc/PID/status: the real uid, its thread count, its effective capabilities. */
export interface TaskOwner {
  realUid: number;
  threads: number;
  capEff: bigint | undefined;
}

export function parseTaskOwner(text: string | undefined): TaskOwner | undefined {
  if (text === undefined) return undefined;
  const uid = /^Uid:[ \t]*(\d+)/m.exec(text);
  const threads = /^Threads:[ \t]*(\d+)/m.exec(text);
  if (!uid || !threads) return undefined;
  const cap = /^CapEff:[ \t]*([0-9a-f]+)/m.exec(text);
  return { realUid: Number(uid[1]), threads: Number(threads[1]), capEff: cap ? BigInt(`0x${cap[1]}`) : undefined };
}

/** `/proc/PID/limits` "Max processes": the soft limit, null for unlimited. */
export function parseMaxProcesses(text: string | undefined): number | null | undefined {
  const match = /^Max processes[ \t]+(\S+)/m.exec(text ?? '');
  if (!match) return undefined;
  return match[1] === 'unlimited' ? null : parseInteger(match[1]);
}

/** `/proc/loadavg`'s fourth field, `running/total`: the total is every task on the host (the kernel's nr_threads). */
export function parseLoadavgTasks(text: string | undefined): number | undefined {
  const match = /^\S+ \S+ \S+ \d+\/(\d+) /.exec(text ?? '');
  return match ? Number(match[1]) : undefined;
}

/** `6.18.44-fc-v782` -> [6, 18]. */
export function parseKernelRelease(text: string | undefined): [number, number] | undefined {
  const match = /^(\d+)\.(\d+)/.exec(text?.trim() ?? '');
  return match ? [Number(match[1]), Number(match[2])] : undefined;
}

/** Whether a kernel of `version` (major, minor) is `major.minor` or later. */
export function kernelAtLeast(version: readonly [number, number], major: number, minor: number): boolean {
  return version[0] > major || (version[0] === major && version[1] >= minor);
}

/** A kernel CPU list (`0-3,8-11`, `0`) -> how many CPUs it names. */
export function parseCpuCount(text: string | undefined): number | undefined {
  const trimmed = text?.trim();
  if (!trimmed || !/^[\d,-]+$/.test(trimmed)) return undefined;
  let count = 0;
  for (const part of trimmed.split(',')) {
    const [from, to = from] = part.split('-').map(Number);
    if (from === undefined || to === undefined || !Number.isInteger(from) || !Number.isInteger(to) || to < from) return undefined;
    count += to - from + 1;
  }
  return count;
}

/**
 * The kernel's totalreserve_pages, rebuilt from `/proc/zoneinfo` as calculate_totalreserve_pages()
 * adds it up: per zone, its largest lowmem reserve (`protection:`) plus its high watermark, at most
 * its managed pages. Pages; undefined when the text has no zones.
 */
export function parseZoneinfoTotalReserve(text: string): number | undefined {
  let total = 0;
  let zones = 0;
  let zone: { high?: number; managed?: number; protection?: number } | undefined;
  const finish = () => {
    if (zone?.high === undefined) return;
    zones++;
    const reserve = zone.high + (zone.protection ?? 0);
    total += zone.managed === undefined ? reserve : Math.min(reserve, zone.managed);
  };
  for (const line of text.split('\n')) {
    if (line.startsWith('Node ')) {
      finish();
      zone = {};
      continue;
    }
    if (zone === undefined) continue;
    const field = /^\s+(high|managed)\s+(\d+)\s*$/.exec(line);
    if (field) zone[field[1] as 'high' | 'managed'] = Number(field[2]);
    const protection = /^\s+protection:\s*\(([\d,\s]+)\)/.exec(line);
    if (protection?.[1]) zone.protection = Math.max(0, ...protection[1].split(',').map((v) => Number(v.trim())).filter(Number.isFinite));
  }
  finish();
  return zones > 0 ? total : undefined;
}
