#!/usr/bin/env bash
# capture-host.sh PID DIR — copies the /proc and /sys files redisfork reads (SPEC §3) for Redis
# process PID into DIR, laid out as on the host. Used to make test fixtures, and by operators to
# send their host context with a support ticket (`doctor --info FILE --host-root DIR`).
set -euo pipefail
pid=${1:?usage: capture-host.sh PID DIR}
dir=${2:?usage: capture-host.sh PID DIR}
copy() { # copy a file if it is readable; keep the host layout
  local src=$1
  [ -r "$src" ] || return 0
  mkdir -p "$dir$(dirname "$src")"
  cat "$src" > "$dir$src" 2>/dev/null || rm -f "$dir$src"
}
for f in meminfo vmstat uptime loadavg sys/kernel/osrelease sys/kernel/threads-max sys/kernel/pid_max; do copy "/proc/$f"; done
for f in overcommit_memory overcommit_ratio overcommit_kbytes admin_reserve_kbytes user_reserve_kbytes; do copy "/proc/sys/vm/$f"; done
thp=/sys/kernel/mm/transparent_hugepage
copy "$thp/enabled"; copy "$thp/defrag"
for d in "$thp"/hugepages-*; do [ -e "$d/enabled" ] && copy "$d/enabled"; done
for f in status smaps smaps_rollup cgroup stat cmdline comm; do copy "/proc/$pid/$f"; done
pids_up() { # the pids files of a cgroup and of every cgroup above it (a fork is charged at each)
  local base=$1 path=$2
  while :; do
    for f in pids.max pids.current pids.events; do copy "$base$path/$f"; done
    [ "$path" = / ] || [ -z "$path" ] && break
    path=$(dirname "$path")
  done
}
while IFS=: read -r _ controllers path; do
  if [ -z "$controllers" ]; then
    base=/sys/fs/cgroup; [ -e $base/cgroup.controllers ] || base=/sys/fs/cgroup/unified
    for f in memory.max memory.current memory.events; do copy "$base$path/$f"; done
    pids_up "$base" "$path"
  elif [[ ",$controllers," == *,memory,* ]]; then
    for f in memory.limit_in_bytes memory.usage_in_bytes memory.oom_control; do copy "/sys/fs/cgroup/memory$path/$f"; done
  elif [[ ",$controllers," == *,pids,* ]]; then
    pids_up /sys/fs/cgroup/pids "$path"
  fi
done < "/proc/$pid/cgroup"
echo "captured host files for pid $pid into $dir" >&2
