#!/usr/bin/env bash
# The plugin's main job, shown on a throwaway Redis: installs what is missing, builds, starts a
# redis-server on a free port with 200k keys, runs a real BGSAVE, then runs
#   dist/redisfork.plugin --once --url redis://127.0.0.1:PORT
# and prints the protocol Netdata would read, followed by a short summary of the values.
set -euo pipefail
cd "$(dirname "$0")/.."
REDISFORK_SKIP_NETDATA=1 bash scripts/ensure-deps.sh
dir=$(mktemp -d /tmp/redisfork-demo.XXXXXX)
port=$(node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --save '' --daemonize yes \
  --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --enable-debug-command local >/dev/null
trap 'kill "$(cat "$dir/redis.pid" 2>/dev/null)" 2>/dev/null; sleep 0.2; rm -rf "$dir"' EXIT
for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-cli -p "$port" debug populate 200000 key 100 >/dev/null
redis-cli -p "$port" bgsave >/dev/null
while redis-cli -p "$port" info persistence | grep -q 'rdb_bgsave_in_progress:1'; do sleep 0.1; done

echo "== dist/redisfork.plugin --once --url redis://127.0.0.1:$port  (what Netdata reads) =="
./dist/redisfork.plugin --once --url "redis://127.0.0.1:$port" --log-level warn | tee "$dir/out.txt"
echo
echo "== the same values, in the units a person reads =="
awk '
  /^DIMENSION/ { gsub(/\x27/, ""); div[chart "/" $2] = $6 }
  /^CHART/     { chart = $2 }
  /^BEGIN/     { cur = $2 }
  /^SET/       { gsub(/\x27/, ""); if ($4 != "") { d = div[cur "/" $2]; printf "  %-58s %-16s %s\n", cur, $2, (d > 1 ? $4 / d : $4) } }
' FS=' ' "$dir/out.txt" | grep -E 'fork_duration|cow_size|memory |memory\.|bgsave_status|commit_|overcommit|thp_enabled|writes' || true
echo
echo "INFO says: $(redis-cli -p "$port" info stats | grep latest_fork_usec | tr -d '\r'), $(redis-cli -p "$port" info persistence | grep rdb_last_cow_size | tr -d '\r')"
echo
echo "== dist/redisfork.plugin doctor --url redis://127.0.0.1:$port  (the diagnosis) =="
./dist/redisfork.plugin doctor --url "redis://127.0.0.1:$port" || true
