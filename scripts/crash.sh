#!/usr/bin/env bash
# The long run of the crash test: the mount is killed (SIGKILL) hundreds of
# times during random writes, fsyncs and structure edits; after each kill
# the file must open in libhdf5 and hold everything an fsync acknowledged
# (see TestKillDuringWrites).
#   scripts/crash.sh           300 kills
#   N=1000 scripts/crash.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
H5MOUNT_CRASH_ROUNDS=${N:-300} exec go test -count=1 -timeout 0 -run TestKillDuringWrites -v .
