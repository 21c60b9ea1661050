#!/usr/bin/env bash
# Restores host settings that a test changed and could not put back (a killed test runner).
# Tests that change a sysctl or THP mode first save the old value under this directory.
set -u
state=${REDISFORK_STATE_DIR:-/var/tmp/redisfork-test-state}
[ -d "$state" ] || exit 0
for saved in "$state"/*.saved; do
  [ -e "$saved" ] || continue
  target=$(head -n1 "$saved")
  value=$(tail -n +2 "$saved")
  if [ -w "$target" ]; then
    printf '%s\n' "$value" > "$target" && echo "restored $target to $value (left by an interrupted run)" >&2
  fi
  rm -f "$saved"
done
exit 0
