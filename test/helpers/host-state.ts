/** Host settings for fault tests: whether they can be changed here, and the helper that changes them. */
import { accessSync, constants, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { WITH_SYSCTL } from './redis-server.ts';

export function canWrite(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** Why overcommit faults cannot be set here, or undefined when they can. */
export function overcommitSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: cannot change vm.overcommit_* sysctls';
  if (!canWrite('/proc/sys/vm/overcommit_memory')) return '/proc/sys/vm is read-only here (container without privileges)';
  return undefined;
}

export function meminfoKb(key: string): number {
  const match = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/meminfo', 'utf8'));
  if (!match) throw new Error(`no ${key} in /proc/meminfo`);
  return Number(match[1]);
}

/** Runs a bash snippet while the sysctls hold; they are restored when it ends, whatever happens. */
export function withSysctl(settings: string[], script: string, env: NodeJS.ProcessEnv = {}): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(WITH_SYSCTL, [...settings, '--', 'bash', '-c', script], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

export function overcommitSettings(): string {
  return ['overcommit_memory', 'overcommit_ratio', 'overcommit_kbytes'].map((f) => `${f}=${readFileSync(`/proc/sys/vm/${f}`, 'utf8').trim()}`).join(' ');
}

/**
 * Holds a /proc/sys file at `value` while `during` runs, in this process: for a setting under which
 * the host cannot fork (kernel.threads-max), where scripts/with-sysctl.sh, a process, could not run
 * its command. The old value goes first to the same state file as with-sysctl.sh's, so that
 * scripts/restore-host-state.sh puts it back if this process is killed in the window. Keep
 * `during` to milliseconds: nothing on the host can fork while it runs.
 */
export async function holdProcSys<T>(path: string, value: string, during: () => Promise<T>): Promise<T> {
  const state = process.env.REDISFORK_STATE_DIR ?? '/var/tmp/redisfork-test-state';
  const stateFile = `${state}/${path.replace(/^\//, '').replace(/\//g, '_')}.saved`;
  const old = readFileSync(path, 'utf8').trim();
  mkdirSync(state, { recursive: true });
  writeFileSync(stateFile, `${path}\n${old}\n`);
  try {
    writeFileSync(path, value);
    return await during();
  } finally {
    writeFileSync(path, old);
    rmSync(stateFile, { force: true });
  }
}
