/**
 * What a new process like this doctor needs under strict overcommit, and whether the host leaves
 * it (issue 13). Under vm.overcommit_memory=2 every new process is charged its accountable
 * mappings, and __vm_enough_memory also keeps min(total_vm / 32, user_reserve_kbytes) back from
 * non-root ones. Pure: facts in, a note out.
 */
import type { KernelFacts } from '../host/facts.ts';
import { mib } from './kernel-model.ts';

export interface OwnFootprint {
  /** VmData + VmStk of this process: an upper bound of what starting one like it is charged. */
  chargeBytes: number;
  /** VmSize: the user reserve is total_vm / 32 of the process asking. */
  totalVmBytes: number;
}

/** Room under the commit limit, and the least a process like this one needs, when it is tight. */
export function strictRoomNote(kernel: KernelFacts | undefined, self: OwnFootprint | undefined): string | undefined {
  if (kernel?.overcommitMemory !== 2 || self === undefined || kernel.commitLimit === undefined || kernel.committedAs === undefined) return undefined;
  const room = kernel.commitLimit - kernel.committedAs;
  const needed = self.chargeBytes + Math.min(self.totalVmBytes / 32, kernel.userReserveBytes ?? Infinity);
  if (room > 2 * needed) return undefined;
  return (
    `vm.overcommit_memory=2 leaves ${mib(Math.max(room, 0))} under the commit limit; this doctor (a Node process) needs about ` +
    `${mib(needed)} to start (its accountable memory ${mib(self.chargeBytes)} + the user reserve). With less, it ` +
    '(and any new process) fails to start — the running plugin\'s charts (redis.fork_commit_headroom) and the ' +
    'redisfork:doctor function of the running Netdata still answer.'
  );
}
