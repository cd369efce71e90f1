#!/usr/bin/env bash
# Write throughput: dd of SIZE_MIB (default 1024) MiB into a contiguous and
# into a gzip-chunked float64 dataset through h5mount, against h5py writing
# the same bytes into the same kind of dataset, measured in the same run;
# and appends: 64 KiB at a time (dd oflag=append) to a dataset of unlimited
# rows in chunks of 64 KiB, which each write grows, against h5py's resize
# and write of each block.
# Each h5mount time includes mount and unmount (which writes back every chunk
# and fsyncs); each h5py time includes closing the file and an fsync.
# Each case runs RUNS (default 3) times; the median is reported.
#
#   scripts/bench_write.sh
#   SIZE_MIB=256 RUNS=1 scripts/bench_write.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
PY=/usr/bin/python3
SIZE_MIB=${SIZE_MIB:-1024}
RUNS=${RUNS:-3}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/h5mount-wbench.XXXXXX")
MNT="$WORK/mnt"
cleanup() {
    mountpoint -q "$MNT" 2>/dev/null && { bin/h5mount unmount "$MNT" 2>/dev/null || fusermount3 -u "$MNT" || true; }
    rm -rf "$WORK"
}
trap cleanup EXIT

go build -o bin/h5mount .

echo "making $SIZE_MIB MiB of smooth float64 data with noise in $WORK ..."
"$PY" - "$WORK/raw.bin" "$SIZE_MIB" <<'PYEOF'
import sys, numpy as np
path, mib = sys.argv[1], int(sys.argv[2])
n = mib * 1024 * 1024 // 8
rng = np.random.RandomState(3)
with open(path, "wb") as out:
    for i in range(0, n, 1 << 21):
        m = min(1 << 21, n - i)
        t = np.arange(i, i + m, dtype=np.float64)
        out.write((np.sin(t * 1e-4) + rng.standard_normal(m) * 1e-3).tobytes())
PYEOF

# make_empty KIND FILE: a fresh HDF5 file with one empty dataset /d of the size.
make_empty() {
    "$PY" - "$1" "$2" "$SIZE_MIB" <<'PYEOF'
import sys, h5py
kind, path, mib = sys.argv[1], sys.argv[2], int(sys.argv[3])
n = mib * 1024 * 1024 // 8
with h5py.File(path, "w") as f:
    if kind == "contig":
        f.create_dataset("d", shape=(n,), dtype="<f8")
    elif kind == "append":
        f.create_dataset("d", shape=(0,), maxshape=(None,), dtype="<f8", chunks=(8192,))
    else:
        f.create_dataset("d", shape=(n,), dtype="<f8", chunks=(131072,), compression="gzip", compression_opts=4)
PYEOF
}

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

run_h5mount() { # KIND -> seconds
    make_empty "$1" "$WORK/m.h5"
    sync
    local t0 t1
    t0=$(now)
    bin/h5mount "$WORK/m.h5" "$MNT"
    if [ "$1" = append ]; then
        dd if="$WORK/raw.bin" of="$MNT/d" bs=64k oflag=append conv=notrunc status=none
    else
        dd if="$WORK/raw.bin" of="$MNT/d" bs=1M conv=notrunc status=none
    fi
    bin/h5mount unmount "$MNT"
    t1=$(now)
    "$PY" -c "
import sys, h5py, numpy as np
d = h5py.File(sys.argv[1], 'r')['d']
raw = np.memmap(sys.argv[2], dtype='<f8', mode='r')
step = 1 << 22
assert all(np.array_equal(d[i:i+step], raw[i:i+step]) for i in range(0, len(raw), step)), 'mismatch'
" "$WORK/m.h5" "$WORK/raw.bin"
    echo "$t1 - $t0" | bc
}

run_h5py() { # KIND -> seconds
    make_empty "$1" "$WORK/p.h5"
    sync
    "$PY" - "$WORK/p.h5" "$WORK/raw.bin" "$1" <<'PYEOF'
import sys, time, h5py, numpy as np
raw = np.memmap(sys.argv[2], dtype="<f8", mode="r")
t0 = time.time()
with h5py.File(sys.argv[1], "r+") as f:
    d = f["d"]
    if sys.argv[3] == "append":
        step = 1 << 13   # 64 KiB, as dd bs=64k
        for i in range(0, len(raw), step):
            d.resize((i + min(step, len(raw) - i),))
            d[i:i + step] = raw[i:i + step]
    else:
        step = 1 << 17   # 1 MiB, as dd bs=1M
        for i in range(0, len(raw), step):
            d[i:i + step] = raw[i:i + step]
# h5mount's unmount makes the data durable: so does the reference.
fd = __import__("os").open(sys.argv[1], __import__("os").O_RDONLY)
__import__("os").fsync(fd)
print(time.time() - t0)
PYEOF
}

printf '\nwrite of %d MiB (median of %d runs; MB/s = 10^6 bytes/s)\n' "$SIZE_MIB" "$RUNS"
printf '%-46s %12s %12s %8s\n' "dataset" "h5mount" "h5py" "ratio"
for kind in contig gzip append; do
    hm=$(for i in $(seq "$RUNS"); do run_h5mount "$kind"; done | median)
    hp=$(for i in $(seq "$RUNS"); do run_h5py "$kind"; done | median)
    mb=$(echo "$SIZE_MIB * 1048576 / 1000000" | bc -l)
    how="dd bs=1M | h5py"
    [ "$kind" = append ] && how="dd bs=64k oflag=append | h5py resize"
    printf '%-46s %9.0f MB/s %7.0f MB/s %7.2fx\n' "$kind ($how)" \
        "$(echo "$mb / $hm" | bc -l)" "$(echo "$mb / $hp" | bc -l)" "$(echo "$hp / $hm" | bc -l)"
done
