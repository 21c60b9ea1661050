/**
 * The doctor's findings on the limits of tasks that refuse a fork with EAGAIN ("fork: Resource
 * temporarily unavailable") whatever the memory: the pids cgroup on Redis's path, the host's
 * kernel.threads-max and kernel.pid_max, and RLIMIT_NPROC of Redis's user. Pure, as the rest of
 * the doctor.
 */
import type { DoctorInput, Finding, Verdict } from './doctor.ts';
import type { KernelFacts } from '../host/facts.ts';
import { THRESHOLDS } from './thresholds.ts';
import { RUNTIME_UPDATE, shortContainerId } from '../host/container.ts';

/** How tight `room` under `limit` is for a fork, which needs one task more: none left, or under the warning share. */
function tightness(room: number, limit: number): 'none' | 'low' | undefined {
  if (room < 1) return 'none';
  return room < (limit * THRESHOLDS.tasksRoomWarnPercent) / 100 ? 'low' : undefined;
}

/**
 * The pids limit on Redis's cgroup path: a fork needs one task of room at every level, and the
 * kernel refuses it with EAGAIN where there is none. Said only where a limit applies or refused.
 */
export function taskLimitFinding(input: DoctorInput): Finding | undefined {
  const facts = input.snapshot.process?.tasks;
  if (facts === undefined) return undefined;
  const { limit, tasks, limitPath } = facts;
  const recent = input.snapshot.recentRefusedTasks ?? 0;
  const sinceCreated = facts.refused ?? 0;
  if (limit === null && sinceCreated === 0) return undefined;
  const room = limit === null || tasks === undefined ? undefined : limit - tasks;
  const tight = room === undefined || limit === null ? undefined : tightness(room, limit);
  const where = `${facts.mount}${limitPath === '/' ? '' : limitPath}`;
  const saveFailed = input.snapshot.info?.rdbLastBgsaveOk === false || input.snapshot.info?.aofLastRewriteOk === false;
  const refusedText = 'the kernel refuses a fork there with EAGAIN, which Redis logs as "Can\'t save in background: fork: Resource temporarily unavailable"; new threads fail too';
  let verdict: Verdict;
  let summary: string;
  if (tight === 'none') {
    verdict = 'critical';
    summary = `The pids limit of ${where} is reached: ${tasks} tasks of ${limit}; ${refusedText}.${saveFailed ? ' That is likely why the last save failed.' : ''}`;
  } else if (recent > 0) {
    verdict = 'critical';
    summary = `The pids limit refused ${recent} task(s) (a fork or a new thread) in the last 10 minutes: ${refusedText}.${saveFailed ? ' That is likely why the last save failed.' : ''}`;
  } else if (tight === 'low') {
    verdict = 'warning';
    summary = `Only ${room} task(s) of room are left under the pids limit of ${where} (${tasks} of ${limit}); at none, ${refusedText}.`;
  } else if (sinceCreated > 0) {
    verdict = 'warning';
    summary = `The pids limit refused ${sinceCreated} task(s) since the cgroup was made (a fork or a new thread): at that moment ${refusedText}.${saveFailed ? ' If that was the last save, it is why it failed.' : ''}`;
  } else {
    verdict = 'ok';
    summary = `A fork has room under the pids limit of ${where}: ${tasks ?? '?'} tasks of ${limit}.`;
  }
  const container = input.container;
  const wanted = limit === null ? undefined : Math.max(limit * 2, (tasks ?? limit) + 64);
  const knob =
    wanted === undefined
      ? 'find what took the tasks: ps -eLf | wc -l in the container, and Redis\'s own threads (io-threads)'
      : container?.podUid !== undefined
        ? `raise the pod's PID limit (the kubelet's podPidsLimit) to at least ${wanted}`
        : container !== undefined && RUNTIME_UPDATE[container.runtime] && container.id
          ? `${RUNTIME_UPDATE[container.runtime]} --pids-limit ${wanted} ${shortContainerId(container.id)}`
          : limitPath.endsWith('.service') || limitPath.endsWith('.scope') || limitPath.endsWith('.slice')
            ? `systemctl set-property ${limitPath.slice(limitPath.lastIndexOf('/') + 1)} TasksMax=${wanted}`
            : `echo ${wanted} > ${where}/pids.max`;
  return {
    check: 'tasks_limit',
    title: 'Room for a fork under the pids limit',
    verdict,
    summary,
    evidence: [
      ...(limit === null ? [`pids.max on the path of ${facts.mount}${facts.path} = max (none)`] : [`pids.max of ${where} = ${limit}`, `pids.current of ${where} = ${tasks ?? '?'}`]),
      `pids.events max = ${facts.refused ?? '?'} (${facts.version === 1 ? 'counted in Redis\'s own cgroup' : 'counted in the cgroup whose limit refused'})`,
      `tasks refused in the last 10 minutes = ${recent}`,
    ],
    remedy: verdict === 'ok' ? [] : [knob, 'every thread is a task: io-threads and the other processes of the container or pod count too'],
  };
}

/**
 * The host-wide limits on tasks, which refuse a fork with the same EAGAIN as a pids cgroup:
 * `kernel.threads-max`, and `kernel.pid_max` (pid numbers run from 1 to pid_max - 1, one per task).
 * Said only when little room is left: on most hosts they are far away.
 */
export function hostTasksFinding(kernel: KernelFacts | undefined): Finding | undefined {
  const facts = kernel?.hostTasks;
  if (facts?.tasks === undefined) return undefined;
  const limits = [
    ...(facts.threadsMax !== undefined ? [{ name: 'kernel.threads-max', limit: facts.threadsMax }] : []),
    ...(facts.pidMax !== undefined ? [{ name: 'kernel.pid_max', limit: facts.pidMax - 1 }] : []),
  ];
  if (limits.length === 0) return undefined;
  const tightest = limits.reduce((a, b) => (b.limit < a.limit ? b : a));
  const room = tightest.limit - facts.tasks;
  const tight = tightness(room, tightest.limit);
  if (tight === undefined) return undefined;
  const critical = tight === 'none';
  const raise =
    tightest.name === 'kernel.pid_max'
      ? ['sysctl -w kernel.pid_max=4194304   # the most a 64-bit kernel allows', "echo 'kernel.pid_max = 4194304' > /etc/sysctl.d/60-pid-max.conf   # keeps it after a reboot"]
      : [`sysctl -w kernel.threads-max=${Math.max(tightest.limit * 2, facts.tasks + 1000)}`];
  return {
    check: 'host_tasks',
    title: 'Room for a fork under the host\'s task limits',
    verdict: critical ? 'critical' : 'warning',
    summary: critical
      ? `The host has ${facts.tasks} tasks, ${facts.tasks > tightest.limit ? 'more than' : 'as many as'} ${tightest.name} allows (${tightest.limit}): every fork on the host fails with EAGAIN ("fork: Resource temporarily unavailable"), Redis's saves included.`
      : `Only ${room} task(s) of room are left on the host under ${tightest.name} (${facts.tasks} of ${tightest.limit}); at none, every fork fails with EAGAIN ("fork: Resource temporarily unavailable").`,
    evidence: [`tasks on the host = ${facts.tasks} (/proc/loadavg)`, `kernel.threads-max = ${facts.threadsMax ?? '?'}`, `kernel.pid_max = ${facts.pidMax ?? '?'}`],
    remedy: [...raise, 'find what holds the tasks: ps -eo nlwp,pid,comm --sort=-nlwp | head'],
  };
}

/**
 * RLIMIT_NPROC of the Redis process against its real user's tasks. Said only when it can refuse a
 * fork (a finite limit, a user that is not root, no CAP_SYS_RESOURCE or CAP_SYS_ADMIN) and little
 * room is left.
 */
export function userTasksFinding(input: DoctorInput): Finding | undefined {
  const facts = input.userTasks;
  if (facts === undefined || facts.limit === null || facts.exempt || facts.tasks === undefined) return undefined;
  const room = facts.limit - facts.tasks;
  const tight = tightness(room, facts.limit);
  if (tight === undefined) return undefined;
  const critical = tight === 'none';
  const pid = input.pid ?? input.snapshot.process?.pid;
  const wanted = Math.max(facts.limit * 2, facts.tasks + 64);
  const shared = input.container !== undefined ? ' Containers that run as the same uid without a user namespace of their own share this count.' : '';
  return {
    check: 'user_tasks',
    title: 'Room for a fork under the process limit of its user (RLIMIT_NPROC)',
    verdict: critical ? 'critical' : 'warning',
    summary:
      (critical
        ? `Redis's user (uid ${facts.uid}) has ${facts.tasks} tasks, ${facts.tasks > facts.limit ? 'more than' : 'as many as'} Redis's "Max processes" allows (${facts.limit}): the kernel refuses its fork with EAGAIN ("fork: Resource temporarily unavailable").`
        : `Only ${room} task(s) of room are left under Redis's "Max processes" (${facts.tasks} tasks of uid ${facts.uid}, limit ${facts.limit}); at none, its fork fails with EAGAIN ("fork: Resource temporarily unavailable").`) +
      ` Every thread of every process of that user counts.${shared}`,
    evidence: [`Max processes (soft) = ${facts.limit}`, `tasks of uid ${facts.uid} = ${facts.tasks}`],
    remedy: [
      ...(pid !== undefined ? [`prlimit --pid ${pid} --nproc=${wanted}:${wanted}   # takes effect at once`] : []),
      'and where Redis is started: LimitNPROC= in its systemd unit, docker run --ulimit nproc=N, or limits.conf for its user',
    ],
  };
}

