/**
 * A fresh Debian 12 for the install tests: a copy of a minbase debootstrap (the one
 * ../shared/tools/fresh-debian.sh uses, made here when missing), entered with chroot inside new
 * PID and mount namespaces, so that every process started in it dies with the call and every mount
 * vanishes with it; optionally in a network namespace of its own (only loopback), where its
 * Netdata and Redis use their stock ports without meeting this machine's.
 * Downloaded .debs are kept between runs in APT_ARCHIVES (apt's own cache, bind-mounted).
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const BASE = process.env.FRESH_ROOT ?? '/tmp/fresh-root';
const APT_ARCHIVES = '/tmp/redisfork-apt-archives';

export interface ShellResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Why a fresh Debian cannot be made here, or undefined. Makes the base root when it is missing. */
export function debianRootSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'chroot and namespaces need root';
  // Inside a chroot whose / is not a mount point (../shared/tools/fresh-debian.sh), a new mount
  // namespace cannot be made private, and mounts made in it would reach the host's.
  const privateMounts = spawnSync('unshare', ['--mount', '--propagation', 'private', '--', 'true'], { encoding: 'utf8' });
  if (privateMounts.status !== 0) return `no private mount namespace here (is / a chroot?): ${privateMounts.stderr.trim() || privateMounts.error?.message}`;
  if (existsSync(join(BASE, 'usr/bin/apt-get'))) return undefined;
  if (spawnSync('sh', ['-c', 'command -v debootstrap']).status !== 0) return 'debootstrap is missing (scripts/ensure-deps.sh installs it)';
  const made = spawnSync('debootstrap', ['--variant=minbase', 'bookworm', BASE], { encoding: 'utf8', timeout: 900_000 });
  if (made.status !== 0) return `debootstrap failed: ${(made.stderr || made.stdout).trim().split('\n').slice(-3).join(' | ')}`;
  return undefined;
}

export class DebianRoot {
  private constructor(readonly dir: string) {}

  static create(): DebianRoot {
    const dir = mkdtempSync('/tmp/redisfork-debian-');
    const copied = spawnSync('cp', ['-a', `${BASE}/.`, `${dir}/`]);
    if (copied.status !== 0) throw new Error(`copying ${BASE} failed: ${copied.stderr}`);
    copyFileSync('/etc/resolv.conf', join(dir, 'etc/resolv.conf'));
    // Debian's way to keep packages' services from starting while they install in a chroot.
    writeFileSync(join(dir, 'usr/sbin/policy-rc.d'), '#!/bin/sh\nexit 101\n', { mode: 0o755 });
    return new DebianRoot(dir);
  }

  /** Copies a file of this machine into the root. */
  copyIn(hostPath: string, pathInRoot: string, mode?: number): void {
    const target = join(this.dir, pathInRoot);
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(hostPath, target);
    if (mode !== undefined) chmodSync(target, mode);
  }

  /**
   * Runs a bash script as root inside the root. `isolated`: in a network namespace of its own with
   * loopback only (nothing can be downloaded then).
   */
  sh(script: string, options: { isolated?: boolean; timeoutMs?: number } = {}): Promise<ShellResult> {
    const enter = [
      'set -e',
      'mount -t proc proc "$ROOT/proc"',
      'mount --bind /dev "$ROOT/dev"',
      'mount --bind /dev/pts "$ROOT/dev/pts"',
      'mount --bind /sys "$ROOT/sys"',
      'mkdir -p "$APT_ARCHIVES/partial" "$ROOT/var/cache/apt/archives"',
      'mount --bind "$APT_ARCHIVES" "$ROOT/var/cache/apt/archives"',
      ...(options.isolated ? ['ip link set lo up'] : []),
      'exec chroot "$ROOT" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb DEBIAN_FRONTEND=noninteractive ' +
        'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin SCRIPT="$SCRIPT" /bin/bash -c "cd /root && $SCRIPT"',
    ].join('\n');
    const args = ['--pid', '--fork', '--kill-child', '--mount', '--propagation', 'private', ...(options.isolated ? ['--net'] : []), '--', 'bash', '-c', enter];
    return new Promise((resolve) => {
      const child = spawn('unshare', args, { env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', ROOT: this.dir, SCRIPT: script, APT_ARCHIVES }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 600_000);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  /** Removes the root. Its processes and mounts ended with each `sh`. */
  destroy(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Bash functions for scripts run in the root: Netdata's API over bash's /dev/tcp (no curl there). */
export const NETDATA_SHELL = String.raw`
# The executables of the running redisfork.plugin processes (minbase has no procps).
plugin_exes() { for d in /proc/[0-9]*; do tr '\0' ' ' < $d/cmdline 2>/dev/null | grep -q 'plugins.d/redisfork.plugin 1' && readlink $d/exe; done | grep -v -E '/(ba|da)?sh$' | sort -u | tr '\n' ' '; }
api() { exec 3<>/dev/tcp/127.0.0.1/19999 || return 1; printf 'GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n' "$1" >&3; cat <&3; exec 3<&-; }
start_redis() { redis-server --port 6379 --save '' --daemonize yes --dir /tmp --logfile /tmp/redis.log; for i in $(seq 50); do redis-cli -p 6379 ping 2>/dev/null | grep -q PONG && return 0; sleep 0.1; done; return 1; }
# Starts Netdata as Debian's package configures it (/etc/netdata/netdata.conf: 127.0.0.1:19999,
# runs as the netdata user) and waits for a chart context; prints CHART_AFTER <seconds> or NO_CHART.
start_netdata_and_wait_for() {
  /usr/sbin/netdata -D > /tmp/netdata.out 2>&1 &
  local started=$SECONDS
  for i in $(seq 120); do
    if api /api/v1/charts 2>/dev/null | grep -q "\"$1\""; then echo "CHART_AFTER $((SECONDS - started))"; return 0; fi
    sleep 1
  done
  echo NO_CHART; tail -20 /var/log/netdata/error.log 2>/dev/null; return 1
}
# Waits (Netdata 1.37 starts its health engine ~30 s after start) until the alarms name the pack.
wait_for_alerts() {
  for i in $(seq 120); do
    if api '/api/v1/alarms?all' 2>/dev/null | grep -o '"name": *"redis_fork_[a-z_]*"' | sort -u > /tmp/alerts && [ -s /tmp/alerts ]; then
      sed 's/.*"\(redis_fork_[a-z_]*\)"/ALERT \1/' /tmp/alerts; return 0
    fi
    sleep 1
  done
  echo NO_ALERTS; return 1
}
`;
