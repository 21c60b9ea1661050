#!/usr/bin/env bash
# The full test suite: installs what it needs, type-checks, builds, then runs unit, integration
# and end-to-end tests with Node's test runner (which prints the closing counts CI reads).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
# The Debian package and the standalone executable, for the install tests on a fresh Debian.
node scripts/package-deb.mjs
if [ "$(uname -m)" = x86_64 ]; then node scripts/build-standalone.mjs; fi
# Put back host settings an interrupted earlier run may have left changed (see scripts/with-sysctl.sh).
bash scripts/restore-host-state.sh
npx tsc --noEmit -p .
exec node --import tsx --test --test-concurrency=1 --test-timeout=300000 \
  test/unit/*.test.ts test/integration/*.test.ts test/e2e/*.test.ts
