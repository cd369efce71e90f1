#!/usr/bin/env bash
# h5mount's benchmark suite (scripts/bench.py): one table of medians and
# ratios against references measured in the same run.
#   scripts/bench.sh                   full sizes
#   BENCH_SCALE=0.05 scripts/bench.sh  a quick run
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
exec /usr/bin/python3 scripts/bench.py "$@"
