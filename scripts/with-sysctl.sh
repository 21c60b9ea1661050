#!/usr/bin/env bash
# with-sysctl.sh NAME=VALUE [NAME=VALUE...] -- COMMAND [ARGS...]
#
# NAME is a sysctl (vm.overcommit_memory) or an absolute sysfs path whose file shows its choice in
# brackets (/sys/kernel/mm/transparent_hugepage/enabled: "always [madvise] never").
# Sets them in order, runs COMMAND, and puts every old value back when it exits,
# whatever happens (trap on EXIT, INT, TERM). Each old value is also written to a state file first,
# so that scripts/restore-host-state.sh can put it back if even this script was killed.
#
# Strict overcommit with a tight limit makes every new allocation on the machine fail: keep COMMAND
# to a second or two.
#
# Kernel quirk handled here: writing vm.overcommit_kbytes sets vm.overcommit_ratio to 0 and writing
# overcommit_ratio sets overcommit_kbytes to 0. So when overcommit_kbytes is touched, overcommit_ratio
# is saved too and restored last, after overcommit_memory is already back.
# Exit code: COMMAND's, or 77 when a sysctl is not writable here (the caller reports SKIP).
set -u
state=${REDISFORK_STATE_DIR:-/var/tmp/redisfork-test-state}
mkdir -p "$state"

# The whole path in the name: the top-level THP `enabled` and a per-size `hugepages-2048kB/enabled` share a basename.
state_file() { local name=${1#/}; printf '%s/%s.saved' "$state" "${name//\//_}"; }

paths=()
olds=()
save() { # save PATH: remember its value, in memory and on disk
  local path=$1 i old
  for i in "${!paths[@]}"; do [ "${paths[$i]}" = "$path" ] && return 0; done
  old=$(cat "$path")
  # A sysfs choice file reads "always [madvise] never"; what is written back is the bracketed word.
  if [[ $old =~ \[([^]]+)\] ]]; then old=${BASH_REMATCH[1]}; fi
  paths+=("$path")
  olds+=("$old")
  printf '%s\n%s\n' "$path" "${olds[-1]}" > "$(state_file "$path")"
}
restore() {
  local i
  for ((i = ${#paths[@]} - 1; i >= 0; i--)); do
    printf '%s\n' "${olds[$i]}" > "${paths[$i]}" || echo "with-sysctl: could not restore ${paths[$i]}" >&2
    rm -f "$(state_file "${paths[$i]}")"
  done
  # Restoring overcommit_ratio last zeroed overcommit_kbytes; put back a non-zero kbytes.
  for i in "${!paths[@]}"; do
    if [ "${paths[$i]}" = /proc/sys/vm/overcommit_kbytes ] && [ "${olds[$i]}" != 0 ]; then
      printf '%s\n' "${olds[$i]}" > /proc/sys/vm/overcommit_kbytes
    fi
  done
}
trap restore EXIT
trap 'exit 130' INT TERM

settings=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do settings+=("$1"); shift; done
[ "${1:-}" = "--" ] || { echo "usage: with-sysctl.sh NAME=VALUE... -- COMMAND" >&2; exit 2; }
shift

path_of() { case $1 in /*) printf '%s' "$1" ;; *) printf '/proc/sys/%s' "${1//.//}" ;; esac; }
for setting in "${settings[@]}"; do
  path=$(path_of "${setting%%=*}")
  if [ ! -w "$path" ]; then echo "SKIP: $path is not writable on this machine" >&2; exit 77; fi
done
# Saved first, restored last.
for setting in "${settings[@]}"; do
  [ "${setting%%=*}" = vm.overcommit_kbytes ] && save /proc/sys/vm/overcommit_ratio
done
for setting in "${settings[@]}"; do save "$(path_of "${setting%%=*}")"; done
for setting in "${settings[@]}"; do
  printf '%s\n' "${setting#*=}" > "$(path_of "${setting%%=*}")" || { echo "with-sysctl: cannot set ${setting%%=*}" >&2; exit 1; }
done
"$@"
