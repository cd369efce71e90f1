#!/usr/bin/env bash
# Structures that grow with what a file holds, not with the data read: a
# big dense group listed (ls -f, ls -l), an object of many attributes read
# whole (getfattr -d), a big dense group removed (rm -r), many small
# datasets archived (tar), and the mount's peak memory reading many
# variable-length string datasets. Each is timed through the mount beside
# h5py doing the same work where it can, in the same run.
#   scripts/bench_shapes.sh               full sizes
#   SCALE=0.1 scripts/bench_shapes.sh     a quick run
set -euo pipefail
SCALE=${SCALE:-1}
repo=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d /tmp/h5mount-bench-shapes.XXXXXX)
mnt="$tmp/mnt"
trap '"$tmp/h5mount" unmount "$mnt" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
(cd "$repo" && go build -o "$tmp/h5mount" .)
py=/usr/bin/python3
n() { $py -c "print(max(1, int($1 * $SCALE)))"; }
LINKS=$(n 300000) ATTRS=$(n 2000) DATASETS=$(n 20000) SMALL=$(n 100000) TEXTS=$(n 20)
secs() { local s=$(date +%s.%N); "$@" >/dev/null; echo "$(date +%s.%N) - $s" | bc; }

$py - "$tmp" "$LINKS" "$ATTRS" "$DATASETS" "$SMALL" "$TEXTS" <<'PY'
import sys, h5py, numpy as np
tmp, links, attrs, datasets, small, texts = sys.argv[1], *map(int, sys.argv[2:])
with h5py.File(tmp + "/links.h5", "w", libver="latest") as f:
    d = f.create_dataset("x", data=[1, 2, 3])
    g = f.create_group("g")
    for i in range(links):
        g["link_with_a_name_%07d" % i] = d
with h5py.File(tmp + "/attrs.h5", "w") as f:
    for name, kw in (("compact", {}), ("dense", {"track_order": True})):
        g = f.create_group(name, **kw)
        for i in range(attrs):
            g.attrs["a%05d" % i] = "value %d" % i
with h5py.File(tmp + "/rm.h5", "w", libver="latest") as f:
    g = f.create_group("g")
    for i in range(datasets):
        g.create_dataset("d%05d" % i, data=[i])
with h5py.File(tmp + "/small.h5", "w") as f:
    per = 100
    for i in range(0, small, per):
        grp = f.create_group("g%d" % (i // per))
        for j in range(min(per, small - i)):
            grp.create_dataset("d%d" % j, shape=(4,), dtype="<i4")
with h5py.File(tmp + "/texts.h5", "w") as f:
    s = np.array(["row %d of the log, value %f" % (j, j * 0.5) for j in range(300000)], dtype=object)
    for i in range(texts):
        f.create_dataset("s%d" % i, data=s, dtype=h5py.string_dtype(), chunks=(65536,), compression="gzip")
PY

mount() { "$tmp/h5mount" "$@" "$mnt"; }
unmount() { "$tmp/h5mount" unmount "$mnt" >/dev/null; }
ref() { $py -c "import h5py, time, sys
f = h5py.File(sys.argv[1], 'r'); t = time.time()
$2
print('%.3f' % (time.time() - t))" "$1"; }

printf '| case | h5mount | h5py |\n|---|---|---|\n'
mount -o ro "$tmp/links.h5"
t1=$(secs ls -f "$mnt/g"); unmount; mount -o ro "$tmp/links.h5"
t2=$(secs ls -l "$mnt/g"); unmount
r=$(ref "$tmp/links.h5" "list(f['g'])")
printf '| ls -f, then (remounted) ls -l, a dense group of %d links | %.2f s, %.2f s | %s s |\n' "$LINKS" "$t1" "$t2" "$r"
mount -o ro "$tmp/attrs.h5"
t1=$(secs getfattr -d --absolute-names "$mnt/compact"); t2=$(secs getfattr -d --absolute-names "$mnt/dense"); unmount
r=$(ref "$tmp/attrs.h5" "dict(f['compact'].attrs); dict(f['dense'].attrs)")
printf '| getfattr -d, %d attributes in a header, then %d dense | %.2f s, %.2f s | %s s (both) |\n' "$ATTRS" "$ATTRS" "$t1" "$t2" "$r"
cp "$tmp/rm.h5" "$tmp/rm-ref.h5"
mount "$tmp/rm.h5"
t1=$(secs rm -r "$mnt/g"); unmount
r=$($py -c "import h5py, time, sys
f = h5py.File(sys.argv[1], 'a'); t = time.time(); del f['g']; f.close()
print('%.3f' % (time.time() - t))" "$tmp/rm-ref.h5")
printf '| rm -r of a dense group of %d datasets (until unmount) | %.2f s | del f["g"], which unlinks the group alone: %s s |\n' "$DATASETS" "$t1" "$r"
mount -o ro "$tmp/small.h5"
t1=$(secs sh -c "tar cf - -C '$mnt' . | wc -c"); unmount
r=$(ref "$tmp/small.h5" "ds = []; f.visititems(lambda n, o: ds.append(o) if isinstance(o, h5py.Dataset) else None); [d[()] for d in ds]")
printf '| tar of %d small datasets, read-only | %.2f s | reading each: %s s |\n' "$SMALL" "$t1" "$r"
"$tmp/h5mount" -f -o ro "$tmp/texts.h5" "$mnt" &
pid=$!
for _ in $(seq 50); do mountpoint -q "$mnt" && break; sleep 0.1; done
t1=$(secs sh -c "cat '$mnt'/* | wc -c")
peak=$(awk '/VmHWM/ {print int($2 / 1024)}' "/proc/$pid/status")
unmount; wait "$pid" || true
printf '| cat of %d datasets of 300,000 strings (text), default cache | %.2f s, peak RSS %s MiB | |\n' "$TEXTS" "$t1" "$peak"
