/**
 * RLIMIT_NPROC for a process, read when the doctor asks (never every second): the soft limit from
 * /proc/PID/limits and, where it can refuse a fork, the tasks of the process's real user, counted
 * over /proc (kernel/fork.c, copy_process: every task, threads included, counts for its real uid).
 */
import type { UserTaskFacts } from './facts.ts';
import type { HostFs } from './read.ts';
import { parseMaxProcesses, parseTaskOwner } from './parse.ts';

const CAP_SYS_ADMIN = 21n;
const CAP_SYS_RESOURCE = 24n;
const DIGITS = /^\d+$/;

export function readUserTasks(fs: HostFs, pid: number): UserTaskFacts | undefined {
  const owner = parseTaskOwner(fs.read(`/proc/${pid}/status`));
  const limit = parseMaxProcesses(fs.read(`/proc/${pid}/limits`));
  if (owner === undefined || limit === undefined) return undefined;
  const caps = owner.capEff ?? 0n;
  const exempt = owner.realUid === 0 || ((caps >> CAP_SYS_ADMIN) & 1n) === 1n || ((caps >> CAP_SYS_RESOURCE) & 1n) === 1n;
  if (limit === null || exempt) return { uid: owner.realUid, limit, tasks: undefined, exempt };
  let tasks = 0;
  for (const name of fs.list('/proc')) {
    if (!DIGITS.test(name)) continue;
    const other = parseTaskOwner(fs.read(`/proc/${name}/status`));
    if (other?.realUid === owner.realUid) tasks += other.threads;
  }
  return { uid: owner.realUid, limit, tasks, exempt };
}
