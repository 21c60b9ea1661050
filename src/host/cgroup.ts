/**
 * The memory cgroup of a process and the limit that really applies to it: the smallest along the
 * path to the root (Kubernetes puts a pod's limit on the pod cgroup, a container's on its own; a
 * v1 child shows "unlimited" under a limited parent). cgroup v1 and v2 (SPEC §11).
 */
import { join, posix } from 'node:path';
import type { CgroupFacts } from './facts.ts';
import type { HostFs } from './read.ts';
import { parseCgroupLimit, parseInteger, parseProcCgroup, pickSpaceSeparated } from './parse.ts';

/** The memory controller's files: cgroup v1 and v2 name them differently. */
const FILES = {
  1: { limit: 'memory.limit_in_bytes', usage: 'memory.usage_in_bytes', events: 'memory.oom_control', swap: 'memory.memsw.limit_in_bytes' },
  2: { limit: 'memory.max', usage: 'memory.current', events: 'memory.events', swap: 'memory.swap.max' },
} as const;

/** Where a process's memory cgroup is: the version, its path in the hierarchy, and the mount. */
export interface CgroupLocation {
  version: 1 | 2;
  path: string;
  mount: string;
}

export function locateMemoryCgroup(fs: HostFs, pid: number): CgroupLocation | undefined {
  const membership = parseProcCgroup(fs.read(`/proc/${pid}/cgroup`) ?? '');
  if (membership.v1MemoryPath !== undefined) {
    const mount = '/sys/fs/cgroup/memory';
    if (fs.exists(join(mount, membership.v1MemoryPath))) return { version: 1, path: membership.v1MemoryPath, mount };
  }
  if (membership.v2Path !== undefined) {
    const mount = fs.exists('/sys/fs/cgroup/cgroup.controllers') ? '/sys/fs/cgroup' : '/sys/fs/cgroup/unified';
    const dir = join(mount, membership.v2Path);
    if (fs.exists(join(dir, 'memory.max')) || fs.exists(join(dir, 'memory.current'))) return { version: 2, path: membership.v2Path, mount };
  }
  return undefined;
}

/** `/a/b/c` -> [`/a/b/c`, `/a/b`, `/a`, `/`]. */
export function cgroupAncestry(path: string): string[] {
  const out: string[] = [];
  let current = posix.normalize(path.startsWith('/') ? path : `/${path}`);
  for (;;) {
    out.push(current);
    if (current === '/') return out;
    current = posix.dirname(current);
  }
}

/** The files read every second for one location, joined once (a location lives for a minute or more). */
interface CgroupFilePaths {
  ancestry: { path: string; limit: string; high: string }[];
  own: { swap: string; events: string };
  usage: Map<string, string>;
}

/** Keyed by the location's text: each read is handed a new location object. Bounded: cleared when full. */
const filePathsByLocation = new Map<string, CgroupFilePaths>();
const MAX_LOCATIONS = 1024;

/** The last location asked for: most seconds ask for the same one, and its strings are the same objects. */
let lastLocation: { version: 1 | 2; mount: string; path: string; paths: CgroupFilePaths } | undefined;

function filePaths(location: CgroupLocation): CgroupFilePaths {
  const last = lastLocation;
  if (last !== undefined && last.path === location.path && last.mount === location.mount && last.version === location.version) return last.paths;
  const key = `${location.version}${location.mount}\0${location.path}`;
  let paths = filePathsByLocation.get(key);
  if (paths) {
    lastLocation = { version: location.version, mount: location.mount, path: location.path, paths };
    return paths;
  }
  if (filePathsByLocation.size >= MAX_LOCATIONS) filePathsByLocation.clear();
  const files = FILES[location.version];
  const own = join(location.mount, location.path);
  paths = {
    ancestry: cgroupAncestry(location.path).map((path) => {
      const dir = join(location.mount, path);
      return { path, limit: join(dir, files.limit), high: join(dir, 'memory.high') };
    }),
    own: { swap: join(own, files.swap), events: join(own, files.events) },
    usage: new Map(),
  };
  filePathsByLocation.set(key, paths);
  lastLocation = { version: location.version, mount: location.mount, path: location.path, paths };
  return paths;
}

function usageFile(location: CgroupLocation, paths: CgroupFilePaths, cgroupPath: string): string {
  let file = paths.usage.get(cgroupPath);
  if (file === undefined) {
    file = join(location.mount, cgroupPath, FILES[location.version].usage);
    paths.usage.set(cgroupPath, file);
  }
  return file;
}

/** Reads the cgroup facts at `location`: its own OOM kills, the smallest limit above it and that cgroup's usage. */
export function readCgroupMemory(fs: HostFs, location: CgroupLocation, locatedAt?: number): CgroupFacts {
  const paths = filePaths(location);
  let limit: number | null | undefined;
  let limitPath: string | undefined;
  let high: number | null | undefined;
  for (const { path, limit: limitFile, high: highFile } of paths.ancestry) {
    const value = parseCgroupLimit(fs.readRepeated(limitFile));
    if (value === undefined) continue;
    if (limit === undefined) limit = null;
    if (value !== null && (limit === null || value < limit)) {
      limit = value;
      limitPath = path;
    }
    if (location.version === 2) {
      const highHere = parseCgroupLimit(fs.readRepeated(highFile));
      if (highHere !== undefined && highHere !== null && (high === undefined || high === null || highHere < high)) high = highHere;
      else if (high === undefined && highHere === null) high = null;
    }
  }
  // The usage that the limit is compared with is the usage of the cgroup that holds it (a pod's
  // limit counts every container in the pod).
  const facts: CgroupFacts = {
    version: location.version,
    path: location.path,
    mount: location.mount,
    memoryLimit: limit,
    limitPath,
    memoryUsage: parseInteger(fs.readRepeated(usageFile(location, paths, limitPath ?? location.path))),
    memoryHigh: high,
    swapLimit: parseCgroupLimit(fs.readRepeated(paths.own.swap)),
    // Both files carry an `oom_kill N` line (v1 since kernel 4.13): kills in Redis's own cgroup.
    oomKills: pickSpaceSeparated(fs.readRepeated(paths.own.events) ?? '', 'oom_kill'),
  };
  // Set after, not spread in: a spread in a literal is the interpreter's slowest way to build it.
  if (locatedAt !== undefined) facts.locatedAt = locatedAt;
  return facts;
}

/** How long a process's cgroup membership is taken as known (processes are rarely moved). */
export const CGROUP_RELOCATE_MS = 60_000;

/**
 * The cgroup facts of `pid`. With `previous` facts of the same process located less than a minute
 * ago, its membership is not read again: only the limits, usage and events are.
 */
export function readCgroup(fs: HostFs, pid: number, previous?: CgroupFacts, now?: number): CgroupFacts | undefined {
  if (previous?.mount !== undefined && previous.locatedAt !== undefined && now !== undefined && now - previous.locatedAt < CGROUP_RELOCATE_MS && now >= previous.locatedAt) {
    const facts = readCgroupMemory(fs, { version: previous.version, path: previous.path, mount: previous.mount }, previous.locatedAt);
    if (previous.oomGroupPath !== undefined) facts.oomGroupPath = previous.oomGroupPath;
    return facts;
  }
  const location = locateMemoryCgroup(fs, pid);
  if (location === undefined) return undefined;
  const facts = readCgroupMemory(fs, location, now);
  const oomGroupPath = location.version === 2 ? readOomGroupPath(fs, location) : undefined;
  if (oomGroupPath !== undefined) facts.oomGroupPath = oomGroupPath;
  return facts;
}

/**
 * The highest cgroup on the path (not the root) whose `memory.oom.group` is 1: the kernel walks
 * from the victim's cgroup up to the one whose limit ran out and kills the highest such group whole
 * (mm/memcontrol.c, mem_cgroup_get_oom_group). v2 only.
 */
export function readOomGroupPath(fs: HostFs, location: CgroupLocation): string | undefined {
  let highest: string | undefined;
  for (const path of cgroupAncestry(location.path)) {
    if (path !== '/' && fs.read(join(location.mount, path, 'memory.oom.group'))?.trim() === '1') highest = path;
  }
  return highest;
}
