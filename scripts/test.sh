#!/usr/bin/env bash
# The full test suite: installs what it needs, type-checks, builds, then runs unit, integration
# and end-to-end tests with Node's test runner (which prints the closing counts CI reads).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
# Put back host settings an interrupted earlier run may have left changed (see scripts/with-sysctl.sh).
bash scripts/restore-host-state.sh
npx tsc --noEmit -p .
exec node --import tsx --test --test-concurrency=1 --test-timeout=300000 \
  test/unit/*.test.ts test/integration/*.test.ts test/e2e/*.test.ts
