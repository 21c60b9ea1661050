#!/usr/bin/env bash
# npm run bench: installs what it needs (redis-server, prometheus-redis-exporter), builds, measures.
set -euo pipefail
cd "$(dirname "$0")/.."
REDISFORK_SKIP_NETDATA=1 bash scripts/ensure-deps.sh
# The standalone build, measured next to the bundle.
if [ "$(uname -m)" = x86_64 ]; then node scripts/build-standalone.mjs; fi
if ! command -v prometheus-redis-exporter >/dev/null && [ ! -x /usr/bin/prometheus-redis-exporter ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus-redis-exporter >/dev/null
fi
# Debian's package starts its own exporter where an init system runs; the bench starts its own.
exec node --import tsx bench/bench.ts
