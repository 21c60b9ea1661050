/**
 * The pids cgroup of a process and the room a fork has under its limits (cgroup v1 and v2). A
 * fork is charged one task at every level of the path to the root and refused with EAGAIN where
 * that would pass a level's `pids.max` (kernel/cgroup/pids.c, pids_try_charge): Docker's
 * `--pids-limit`, a Kubernetes pod's PID limit and systemd's `TasksMax=` are all this limit.
 */
import { join } from 'node:path';
import type { TaskLimitFacts } from './facts.ts';
import type { HostFs } from './read.ts';
import { CGROUP_RELOCATE_MS, cgroupAncestry } from './cgroup.ts';
import { parseCgroupLimit, parseInteger, parseProcCgroup, pickSpaceSeparated } from './parse.ts';

const V1_MOUNT = '/sys/fs/cgroup/pids';

interface PidsLocation {
  version: 1 | 2;
  path: string;
  mount: string;
}

function locatePidsCgroup(fs: HostFs, pid: number): PidsLocation | undefined {
  const membership = parseProcCgroup(fs.read(`/proc/${pid}/cgroup`) ?? '');
  if (membership.v1PidsPath !== undefined && fs.exists(V1_MOUNT)) return { version: 1, path: membership.v1PidsPath, mount: V1_MOUNT };
  if (membership.v2Path !== undefined) {
    const mount = fs.exists('/sys/fs/cgroup/cgroup.controllers') ? '/sys/fs/cgroup' : '/sys/fs/cgroup/unified';
    return { version: 2, path: membership.v2Path, mount };
  }
  return undefined;
}

/** The files of one pids cgroup, joined once (the same few cgroups are read every second). */
interface PidsFiles {
  max: string;
  current: string;
  events: string;
}
const filesByDir = new Map<string, PidsFiles>();
const MAX_DIRS = 4096;

function filesOf(mount: string, path: string): PidsFiles {
  const dir = join(mount, path);
  let files = filesByDir.get(dir);
  if (files === undefined) {
    if (filesByDir.size >= MAX_DIRS) filesByDir.clear();
    files = { max: join(dir, 'pids.max'), current: join(dir, 'pids.current'), events: join(dir, 'pids.events') };
    filesByDir.set(dir, files);
  }
  return files;
}

/** The cgroups on the path that have pids files (not the root; on v2, only where the controller is enabled), innermost first. */
function levelsWithFiles(fs: HostFs, location: PidsLocation): string[] {
  return cgroupAncestry(location.path).filter((path) => path !== '/' && fs.exists(filesOf(location.mount, path).max));
}

/**
 * The pids facts of `pid`. With `previous` facts of the same process read less than a minute ago,
 * its membership is not read again. Limits are read every second, as the memory limits are: a
 * limit raised a minute late would be a refused fork charted for that minute.
 */
export function readTaskLimit(fs: HostFs, pid: number, previous: TaskLimitFacts | undefined, now: number): TaskLimitFacts | undefined {
  let location: PidsLocation;
  let levels: readonly string[];
  let locatedAt: number;
  if (previous?.locatedAt !== undefined && now >= previous.locatedAt && now - previous.locatedAt < CGROUP_RELOCATE_MS) {
    // No pids files on the path (a bare host's root cgroup): nothing can have changed.
    if (previous.levels.length === 0) return previous;
    location = previous;
    levels = previous.levels;
    locatedAt = previous.locatedAt;
  } else {
    const found = locatePidsCgroup(fs, pid);
    if (found === undefined) return undefined;
    location = found;
    // Found once here, not tried every second: the root has no pids files.
    levels = levelsWithFiles(fs, found);
    locatedAt = now;
  }
  let limitPath = location.path;
  let limit: number | null = null;
  let tasks: number | undefined;
  let room = Infinity;
  for (let i = 0; i < levels.length; i++) {
    const files = filesOf(location.mount, levels[i]!);
    const max = parseCgroupLimit(fs.readRepeated(files.max));
    if (typeof max !== 'number') continue;
    const current = parseInteger(fs.readRepeated(files.current));
    if (current === undefined || max - current >= room) continue;
    room = max - current;
    limitPath = levels[i]!;
    limit = max;
    tasks = current;
  }
  const own = levels[0] === location.path;
  if (limit === null && own) tasks = parseInteger(fs.readRepeated(filesOf(location.mount, location.path).current));
  const countedIn = location.version === 1 ? location.path : limitPath;
  return {
    version: location.version,
    path: location.path,
    mount: location.mount,
    locatedAt,
    levels,
    limitPath,
    limit,
    tasks,
    refused: countedIn !== location.path || own ? pickSpaceSeparated(fs.readRepeated(filesOf(location.mount, countedIn).events) ?? '', 'max') : undefined,
  };
}
