#!/usr/bin/env bash
# Instructions per call of one stage of bench/stages.ts, counted by callgrind (user space; from run to
# run within about 1% for most stages, 5% for the chart text, whatever else the machine does): the
# stage run A and B times after the same start,
# the difference divided by B - A. The harness is bundled first, as the plugin is, and run with the
# plugin's own V8 flags.
#   bash bench/stage-instructions.sh STAGE [A B]     e.g. bash bench/stage-instructions.sh render
set -euo pipefail
cd "$(dirname "$0")/.."
stage=${1:?a stage: kernel, process, parse, values, host-values, text, render, iteration}
a=${2:-200}
b=${3:-2200}
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
work=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
npx esbuild bench/stages.ts --bundle --platform=node --format=esm --target=node18 --minify-whitespace --log-level=error \
  --outfile="$work/stages.mjs" --banner:js="import { createRequire } from 'module'; const require = createRequire(import.meta.url);"
flags=$(node -e "import('./scripts/node-flags.mjs').then((m) => console.log(m.NODE_FLAGS))")
count() {
  # shellcheck disable=SC2086
  STAGE=$stage valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.$1" node $flags "$work/stages.mjs" "$1" 2>&1 \
    | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
x=$(count "$a")
y=$(count "$b")
[ -n "${KEEP:-}" ] && echo "callgrind files in $work" >&2
echo "$stage: $(( (y - x) / (b - a) )) instructions per call"
