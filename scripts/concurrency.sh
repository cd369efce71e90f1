#!/usr/bin/env bash
# Long run of the concurrency tests (concurrency_test.go): parallel dd and
# overlapping writers with readers checked against a model, and find/ls -laR
# during structure edits, with the mount process under the race detector.
# The test command runs them at N=1.
#
#   scripts/concurrency.sh        # N=20: 1,200 overlapping writes per writer, 1,200 rounds of edits
#   N=100 scripts/concurrency.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
H5MOUNT_STRESS=${N:-20} exec go test -race -count=1 -timeout 0 -run 'TestConcurrentWriters|TestFindDuringStructureEdits' -v .
