#!/usr/bin/env bash
# The long run of the damaged-file test: thousands of randomly damaged
# copies of the test files, each mounted and walked with find, head/tail,
# ls -laR, du and getfattr -d (see TestMutatedFilesWalk).
#   scripts/mutate.sh            2000 files
#   N=10000 scripts/mutate.sh
#   H5MOUNT_MUTATION_SEED=... H5MOUNT_MUTATION_KEEP=/tmp/bad.h5 scripts/mutate.sh   replay, keep the culprit
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
H5MOUNT_MUTATIONS=${N:-2000} exec go test -count=1 -timeout 0 -run TestMutatedFilesWalk -v . 
