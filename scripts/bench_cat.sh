#!/usr/bin/env bash
# Sequential read throughput: `cat` of a 1 GiB contiguous float64 dataset through
# h5mount against `cat` of the same bytes as a plain file, and h5py's ds[()] as a
# second reference.  Each case: one warm-up, then 3 runs; the median is reported.
# "warm" reads from the page cache; "cold" drops the caches before every run (and
# remounts h5mount, emptying its own caches) when /proc/sys/vm/drop_caches is
# writable (root), and is skipped otherwise.
#
#   scripts/bench_cat.sh                 1 GiB in a temporary directory under /tmp
#   SIZE_MIB=256 scripts/bench_cat.sh    a smaller dataset
#   TMPDIR=/var/tmp scripts/bench_cat.sh elsewhere (needs 2 x SIZE of free space)
#
# Everything it makes is removed at exit.
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

PY=/usr/bin/python3
SIZE_MIB=${SIZE_MIB:-1024}
RUNS=3
BYTES=$(( SIZE_MIB * 1024 * 1024 ))

WORK=$(mktemp -d "${TMPDIR:-/tmp}/h5mount-bench.XXXXXX")
MNT="$WORK/mnt"
mounted=0
cleanup() {
    if [ "$mounted" = 1 ]; then
        bin/h5mount unmount "$MNT" 2>/dev/null || fusermount3 -u "$MNT" 2>/dev/null ||
            umount "$MNT" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

avail_kib=$(df -Pk "$WORK" | awk 'NR==2 {print $4}')
if [ "$avail_kib" -lt $(( 2 * BYTES / 1024 + 65536 )) ]; then
    echo "bench_cat.sh: need $(( 2 * SIZE_MIB + 64 )) MiB free in $WORK, have $(( avail_kib / 1024 )) MiB" >&2
    exit 1
fi

echo "making a ${SIZE_MIB} MiB float64 dataset in $WORK ..."
"$PY" - "$WORK" "$BYTES" <<'EOF'
import sys, numpy as np, h5py
work, nbytes = sys.argv[1], int(sys.argv[2])
n = nbytes // 8
slab = 1 << 21                                # 2 Mi elements = 16 MiB per write
rng = np.random.RandomState(1)
with h5py.File(work + "/data.h5", "w") as f:
    ds = f.create_dataset("data", shape=(n,), dtype="<f8")   # contiguous
    for i in range(0, n, slab):
        m = min(slab, n - i)
        t = np.arange(i, i + m, dtype=np.float64)
        ds[i:i + m] = np.sin(t * 1e-4) + rng.standard_normal(m) * 0.01
with h5py.File(work + "/data.h5", "r") as f, open(work + "/raw.bin", "wb") as out:
    ds = f["data"]
    for i in range(0, n, slab):
        out.write(ds[i:i + slab].tobytes())
EOF
[ "$(stat -c %s "$WORK/raw.bin")" = "$BYTES" ] || { echo "bench_cat.sh: raw.bin has the wrong size" >&2; exit 1; }

go build -o bin/h5mount .

# (their output goes to stderr: bench runs inside $(...))
do_mount() { bin/h5mount -o ro "$WORK/data.h5" "$MNT" >&2; mounted=1; }
do_unmount() { bin/h5mount unmount "$MNT" >&2; mounted=0; }
can_drop=0
if [ -w /proc/sys/vm/drop_caches ] && (sync; echo 3 >/proc/sys/vm/drop_caches) 2>/dev/null; then
    can_drop=1
fi
drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }

mkdir -p "$MNT"
do_mount
mnt_size=$(stat -c %s "$MNT/data")
[ "$mnt_size" = "$BYTES" ] || { echo "bench_cat.sh: $MNT/data has size $mnt_size, want $BYTES" >&2; exit 1; }

# seconds one command takes
seconds() {
    local t0 t1
    t0=$(date +%s%N)
    "$@"
    t1=$(date +%s%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", (b - a) / 1e9 }'
}
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
mbps() { awk -v s="$1" -v b="$BYTES" 'BEGIN { if (s > 0) printf "%.0f", b / 1e6 / s; else print "-" }'; }

cat_file() { cat "$1" >/dev/null; }
h5py_read() {
    "$PY" -c 'import sys, h5py, time
with h5py.File(sys.argv[1], "r") as f:
    ds = f["data"]
    t = time.perf_counter(); a = ds[()]; print("%.6f" % (time.perf_counter() - t))' "$WORK/data.h5"
}

# case warm|cold -> median seconds
bench() {
    local what=$1 mode=$2 i s times=()
    if [ "$mode" = warm ]; then
        case $what in
            plain) seconds cat_file "$WORK/raw.bin" >/dev/null ;;
            h5mount) seconds cat_file "$MNT/data" >/dev/null ;;
            h5py) h5py_read >/dev/null ;;
        esac
    fi
    for ((i = 0; i < RUNS; i++)); do
        if [ "$mode" = cold ]; then
            if [ "$what" = h5mount ]; then do_unmount; drop_caches; do_mount; else drop_caches; fi
        fi
        case $what in
            plain) s=$(seconds cat_file "$WORK/raw.bin") ;;
            h5mount) s=$(seconds cat_file "$MNT/data") ;;
            h5py) s=$(h5py_read) ;;
        esac
        times+=("$s")
    done
    printf '%s\n' "${times[@]}" | median
}

declare -A T
for what in plain h5mount h5py; do
    T[$what,warm]=$(bench "$what" warm)
    if [ "$can_drop" = 1 ]; then
        T[$what,cold]=$(bench "$what" cold)
    else
        T[$what,cold]=""
    fi
done

ratio() {
    [ -n "$1" ] && [ -n "$2" ] || { echo "-"; return; }
    awk -v p="$1" -v h="$2" 'BEGIN { printf "%.2f", p / h }'   # h5mount MB/s / plain MB/s
}
cell() { [ -n "$1" ] && mbps "$1" || echo "-"; }

echo
echo "sequential read of ${SIZE_MIB} MiB (median of $RUNS runs, MB/s = 10^6 bytes/s)"
printf '%-32s %10s %10s\n' "case" "warm MB/s" "cold MB/s"
printf '%-32s %10s %10s\n' "cat raw.bin (plain file)" "$(cell "${T[plain,warm]}")" "$(cell "${T[plain,cold]}")"
printf '%-32s %10s %10s\n' "cat MNT/data (h5mount -o ro)" "$(cell "${T[h5mount,warm]}")" "$(cell "${T[h5mount,cold]}")"
printf '%-32s %10s %10s\n' "h5py ds[()]" "$(cell "${T[h5py,warm]}")" "$(cell "${T[h5py,cold]}")"
printf '%-32s %10s %10s\n' "ratio h5mount/plain" \
    "$(ratio "${T[plain,warm]}" "${T[h5mount,warm]}")" \
    "$(ratio "${T[plain,cold]:-}" "${T[h5mount,cold]:-}")"
[ "$can_drop" = 1 ] || echo "(cold runs skipped: /proc/sys/vm/drop_caches is not writable; run as root)"

do_unmount
