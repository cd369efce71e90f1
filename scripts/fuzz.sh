#!/usr/bin/env bash
# Runs every go test -fuzz target of the project for a while each: the
# decoders of superblocks, object headers and their messages, B-trees, heaps,
# chunk indexes and filters, the whole-file walk over damaged real files, and
# the xattr text parser.  An input that makes a target fail is saved by Go
# under the package's testdata/fuzz/<Target>/, where plain `go test` runs it
# from then on: commit it with the fix.
#
#   scripts/fuzz.sh              # 60 s per target (about 30 minutes)
#   FUZZTIME=1s scripts/fuzz.sh  # the short run scripts/test.sh makes
#   scripts/fuzz.sh 10m          # longer; the argument wins over FUZZTIME
#   FUZZ_ONLY=OpenAndWalk scripts/fuzz.sh 5m   # targets whose name matches
#   FUZZ_PARALLEL=1 scripts/fuzz.sh   # fuzzing workers (default: one per core)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin:$HOME/go/bin"
fuzztime="${1:-${FUZZTIME:-60s}}"
only="${FUZZ_ONLY:-}"
parallel=()
if [ -n "${FUZZ_PARALLEL:-}" ]; then
    parallel=(-parallel "$FUZZ_PARALLEL")
fi

targets=0
execs=0
start=$(date +%s)
for pkg in $(go list ./...); do
    for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
        if [ -n "$only" ] && [[ "$target" != *"$only"* ]]; then
            continue
        fi
        log=$(mktemp)
        for try in 1 2 3; do
            if go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" ${parallel[@]+"${parallel[@]}"} "$pkg" >"$log" 2>&1; then
                break
            fi
            # Go's fuzzing coordinator can miss its own deadline on a busy
            # machine ("context deadline exceeded") without any input
            # failing: run that target again. A failing input is always
            # written to testdata/fuzz and is never retried away.
            if grep -q 'Failing input written' "$log" || ! grep -q 'context deadline exceeded' "$log" || [ "$try" = 3 ]; then
                cat "$log" >&2
                rm -f "$log"
                echo "fuzz.sh: $pkg $target FAILED (a failing input is under that package's testdata/fuzz/$target/)" >&2
                exit 1
            fi
            echo "fuzz.sh: $target: the fuzzing engine missed its deadline with no failing input; again" >&2
        done
        n=$(grep -o 'execs: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo 0)
        rm -f "$log"
        printf 'fuzz.sh: %-28s %-48s %10s execs\n' "$target" "${pkg#github.com/h5mount/h5mount}" "$n"
        targets=$((targets + 1))
        execs=$((execs + n))
    done
done
if [ "$targets" -eq 0 ]; then
    echo "fuzz.sh: no fuzz target matched" >&2
    exit 1
fi
echo "fuzz.sh: OK - $targets targets, $execs inputs, ${fuzztime} each, no failure ($(( $(date +%s) - start ))s)"
