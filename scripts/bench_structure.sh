#!/usr/bin/env bash
# Structure through the mount: a group of N datasets made with touch and an
# object with M attributes made with setfattr, in a new file of each form,
# timed; h5py then reads everything back (and its own time to make the same
# structure is printed beside, as the reference).
#   scripts/bench_structure.sh            N=10000 M=1000
#   N=2000 M=300 scripts/bench_structure.sh
set -euo pipefail
N=${N:-10000}
M=${M:-1000}
repo=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d /tmp/h5mount-bench-structure.XXXXXX)
trap 'for m in "$tmp"/mnt*; do [ -d "$m" ] && "$tmp/h5mount" unmount "$m" >/dev/null 2>&1 || true; done; rm -rf "$tmp"' EXIT
(cd "$repo" && go build -o "$tmp/h5mount" .)
py=/usr/bin/python3
secs() { local s=$(date +%s.%N); "$@"; echo "$(date +%s.%N) - $s" | bc; }

printf '%-10s %12s %12s %12s %12s\n' form "touch N" "setfattr M" "h5py N" "h5py M"
for form in earliest latest; do
  opt=()
  [ "$form" = latest ] && opt=(-o libver=latest)
  f="$tmp/$form.h5"; mnt="$tmp/mnt-$form"
  "$tmp/h5mount" --create "${opt[@]}" "$f" "$mnt"
  mkdir "$mnt/g" "$mnt/a"
  t_ds=$(secs sh -c "cd '$mnt/g' && i=0; while [ \$i -lt $N ]; do : > d\$i; i=\$((i+1)); done")
  t_at=$(secs sh -c "i=0; while [ \$i -lt $M ]; do setfattr -n user.a\$i -v \$i '$mnt/a'; i=\$((i+1)); done")
  "$tmp/h5mount" unmount "$mnt"
  $py - "$f" "$N" "$M" <<'PY'
import sys, h5py
f = h5py.File(sys.argv[1], "r"); n, m = int(sys.argv[2]), int(sys.argv[3])
assert len(f["g"]) == n and sorted(f["g"]) == sorted("d%d" % i for i in range(n))
assert dict(f["a"].attrs) == {"a%d" % i: i for i in range(m)}
PY
  h5dump -H "$f" >/dev/null
  ref=$($py - "$tmp/ref-$form.h5" "$N" "$M" "$form" <<'PY'
import sys, time, h5py, numpy as np
n, m = int(sys.argv[2]), int(sys.argv[3])
f = h5py.File(sys.argv[1], "w", libver=sys.argv[4])
g = f.create_group("g"); a = f.create_group("a")
t = time.time()
for i in range(n):
    g.create_dataset("d%d" % i, shape=(0,), maxshape=(None,), chunks=(262144,), dtype="u1")
t1 = time.time()
for i in range(m):
    a.attrs["a%d" % i] = np.int64(i)
t2 = time.time()
f.close()
print("%.2f %.2f" % (t1 - t, t2 - t1))
PY
)
  printf '%-10s %11.2fs %11.2fs %11.2fs %11.2fs\n' "$form" "$t_ds" "$t_at" ${ref% *} ${ref#* }
done
