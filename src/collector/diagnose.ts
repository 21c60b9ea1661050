/** The doctor's view of a live job: its latest snapshot, locality and CONFIG availability. */
import { diagnose, type Diagnosis } from '../analysis/doctor.ts';
import type { InstanceJob } from './job.ts';
import { hostPidsVisible } from '../host/locality.ts';
import { readUserTasks } from '../host/user-tasks.ts';

export function diagnoseJob(job: InstanceJob): Diagnosis {
  const snapshot = job.lastSnapshot ?? { state: 'down' as const, info: undefined, config: undefined, kernel: undefined, process: undefined };
  return diagnose({
    job: job.name,
    url: job.settings.displayUrl,
    snapshot,
    locality: job.locality?.locality ?? 'unknown',
    configProblem: job.configProblem,
    container: job.locality?.container,
    pid: job.locality?.pid,
    candidates: job.locality?.candidates,
    hostPidsHidden: !hostPidsVisible(job.hostFsForDoctor),
    // Read now, not every second: counting a user's tasks reads every /proc/PID/status.
    userTasks: job.locality?.locality === 'local' && job.locality.pid !== undefined ? readUserTasks(job.hostFsForDoctor, job.locality.pid) : undefined,
  });
}
