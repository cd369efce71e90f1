#!/usr/bin/env bash
# Remote reads: h5mount (s3://) against libhdf5's ROS3 driver (h5py), both
# on one local versitygw behind a proxy that adds latency to every request
# and counts requests and bytes (scripts/bench_remote.py). One table, one run.
#   scripts/bench_remote.sh                          full size, 20 ms a request
#   BENCH_SCALE=0.1 scripts/bench_remote.sh          a quick run
#   BENCH_LATENCY_MS=50 scripts/bench_remote.sh      another latency
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin:$HOME/go/bin"
command -v versitygw >/dev/null || go install github.com/versity/versitygw/cmd/versitygw@v1.8.0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/h5mount" .
/usr/bin/python3 scripts/bench_remote.py "$work"
