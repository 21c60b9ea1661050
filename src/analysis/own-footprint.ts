/**
 * What a new process like this doctor needs under strict overcommit, and whether the host leaves
 * it (issue 13). Under vm.overcommit_memory=2 every new process is charged its accountable
 * mappings, and __vm_enough_memory also keeps min(total_vm / 32, user_reserve_kbytes) back from
 * non-root ones. Pure: facts in, a note out.
 */
import type { KernelFacts } from '../host/facts.ts';
import { mib } from './kernel-model.ts';

export interface OwnFootprint {
  /** What this process is charged (its VM_ACCOUNT mappings; VmData + VmStk where smaps is unreadable). */
  chargeBytes: number;
  /** VmSize: the user reserve is total_vm / 32 of the process asking. */
  totalVmBytes: number;
}

/** Under strict overcommit with little room: the room, what a process like this one needs, and what to say. */
export interface TightRoom {
  roomBytes: number;
  /** Its accountable memory plus the user reserve the kernel keeps back from it. */
  neededBytes: number;
  note: string;
}

/** Room under the commit limit, and the least a process like this one needs, when it is tight. */
export function strictRoom(kernel: KernelFacts | undefined, self: OwnFootprint | undefined): TightRoom | undefined {
  if (kernel?.overcommitMemory !== 2 || self === undefined || kernel.commitLimit === undefined || kernel.committedAs === undefined) return undefined;
  const room = kernel.commitLimit - kernel.committedAs;
  const needed = self.chargeBytes + Math.min(self.totalVmBytes / 32, kernel.userReserveBytes ?? Infinity);
  if (room > 2 * needed) return undefined;
  return {
    roomBytes: room,
    neededBytes: needed,
    note:
      `vm.overcommit_memory=2 leaves ${mib(Math.max(room, 0))} under the commit limit; this doctor (a Node process) needs up to ` +
      `${mib(needed)} to start (its accountable memory ${mib(self.chargeBytes)} + the user reserve). With less, it ` +
      '(and any new process) fails to start — the running plugin\'s charts (redis.fork_commit_headroom) and the ' +
      'redisfork:doctor function of the running Netdata still answer.',
  };
}
