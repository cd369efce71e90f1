package main

import (
	"fmt"
	"path/filepath"
	"testing"
)

// TestFileSpaceAfterEdits: files whose space libhdf5 manages in ways the
// mount must keep to are edited through a mount, then by libhdf5, twice
// over, each step checking every dataset, the mount's and libhdf5's:
//   - free space libhdf5 persists (h5py's fs_persist, with the "page" and
//     "fsm" strategies): libhdf5 1.10 had taken the free space it persisted
//     as still free and the end of allocated space as where it left it, and
//     wrote over what the mount had added ("duplicate entry in cache",
//     "addr overflow");
//   - a user block (MATLAB v7.3 files have one of 512 bytes): the
//     superblock's end of file counts from the file's first byte, and the
//     mount had written it as counted from the base address, so libhdf5
//     found the mount's last objects "past end of allocation".
func TestFileSpaceAfterEdits(t *testing.T) {
	for _, c := range []struct{ name, options string }{
		{"page", `fs_strategy="page", fs_persist=True, fs_threshold=1`},
		{"fsm", `fs_strategy="fsm", fs_persist=True, fs_threshold=1`},
		{"aggregate", `fs_strategy="aggregate", fs_persist=True`},
		{"userblock", `userblock_size=512`},
		{"userblock-latest", `userblock_size=1024, libver="latest"`},
		{"userblock-fsm", `userblock_size=4096, fs_strategy="fsm", fs_persist=True, fs_threshold=1`},
	} {
		t.Run(c.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "f.h5")
			h5py(t, `
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "w", `+c.options+`) as f:
    for i in range(20):
        f.create_dataset("d%d" % i, data=np.arange(1000 * (i + 1), dtype="f8"), chunks=(500,), compression="gzip")
with h5py.File(sys.argv[1], "a") as f:
    for i in range(0, 20, 2):
        del f["d%d" % i]
print("ok")`, file)
			for round := 1; round <= 2; round++ {
				mnt := mountT(t, file)
				sh(t, fmt.Sprintf(`set -e
cd %s
mkdir mount%[2]d
head -c 100000 /dev/zero | tr '\0' '\%[2]d' > mount%[2]d/blob
setfattr -n user.round -v %[2]d d1
dd if=/dev/zero of=d3 bs=8 seek=100 count=50 conv=notrunc status=none
rm d%[3]d
`, mnt, round, 3+2*round))
				if r := h5mountT(t, "unmount", mnt); r.code != 0 {
					t.Fatalf("unmount: %v", r)
				}
				h5dumpOK(t, file)
				h5py(t, `
import sys, h5py, numpy as np
name, r = sys.argv[1], int(sys.argv[2])
def check(f, made):
    assert f["d1"].attrs["round"] == r
    d3 = f["d3"][()]
    assert (d3[100:150] == 0).all() and d3[99] == 99 and d3[150] == 150
    for i in range(1, r + 1):
        assert bytes(f["mount%d/blob" % i][()]) == bytes([i]) * 100000, i
        assert "d%d" % (3 + 2 * i) not in f
        assert "h5py%d" % i not in f or (f["h5py%d" % i][()] == np.arange(3000) * i).all()
    for i in range(9 + 2 * r, 20, 2):
        assert (f["d%d" % i][()] == np.arange(1000 * (i + 1))).all(), i
with h5py.File(name, "a") as f:
    check(f, False)
    f.create_dataset("h5py%d" % r, data=np.arange(3000) * r, chunks=(500,), compression="gzip")
    for j in range(20):
        f.create_dataset("tmp%d_%d" % (r, j), data=np.ones(2000))
    for j in range(0, 20, 2):
        del f["tmp%d_%d" % (r, j)]
with h5py.File(name, "r") as f:
    check(f, True)
    for j in range(1, 20, 2):
        assert (f["tmp%d_%d" % (r, j)][()] == 1).all()
print("ok")`, file, fmt.Sprint(round))
				h5dumpOK(t, file)
			}
		})
	}
}

// TestBTreeKFromSuperblockExtension: a version 2 superblock keeps B-tree K
// values other than libhdf5's defaults in its extension. The mount read
// them only from version 0 and 1 superblocks, so its chunk B-tree nodes in
// such a file were half the size libhdf5 reads (and writes back): libhdf5
// read past the end of allocation. Chunks and links are added through the
// mount past the default node sizes, then by libhdf5 into the same nodes.
func TestBTreeKFromSuperblockExtension(t *testing.T) {
	file := filepath.Join(t.TempDir(), "k.h5")
	h5py(t, `
import sys, ctypes, h5py, numpy as np
# h5py has no setter for the K values: libhdf5's own, on h5py's list.
lib = ctypes.CDLL("libhdf5_serial.so.103")
fcpl = h5py.h5p.create(h5py.h5p.FILE_CREATE)
assert lib.H5Pset_istore_k(ctypes.c_int64(fcpl.id), ctypes.c_uint(64)) >= 0
assert lib.H5Pset_sym_k(ctypes.c_int64(fcpl.id), ctypes.c_uint(8), ctypes.c_uint(8)) >= 0
# A threshold other than the default puts the free-space settings, and the
# K values with them, in a superblock extension: superblock version 2.
fcpl.set_file_space_strategy(h5py.h5f.FSPACE_STRATEGY_FSM_AGGR, False, 2)
with h5py.File(h5py.h5f.create(sys.argv[1].encode(), h5py.h5f.ACC_TRUNC, fcpl=fcpl)) as f:
    f.create_dataset("grow", data=np.arange(100, dtype="i4"), maxshape=(None,), chunks=(10,))
    f.create_group("g")
with h5py.File(sys.argv[1], "r") as f:
    assert f.id.get_create_plist().get_version()[0] == 2, f.id.get_create_plist().get_version()
print("ok")`, file)
	mnt := mountT(t, file)
	sh(t, fmt.Sprintf(`set -e
cd %s
touch g/new && setfattr -n user.h5.dtype -v '<i4' g/new && setfattr -n user.h5.chunks -v 4 g/new
/usr/bin/python3 -c "import numpy as np; np.arange(3000, dtype='<i4').tofile('g/new')"
/usr/bin/python3 -c "import numpy as np; f = open('grow', 'r+b'); f.seek(400); np.arange(100, 2000, dtype='<i4').tofile(f)"
for i in $(seq 1 60); do mkdir g/sub$i; done
`, mnt))
	if r := h5mountT(t, "unmount", mnt); r.code != 0 {
		t.Fatalf("unmount: %v", r)
	}
	h5dumpOK(t, file)
	h5py(t, `
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "a") as f:
    assert (f["g/new"][()] == np.arange(3000)).all()
    assert (f["grow"][()] == np.concatenate([np.arange(100), np.arange(100, 2000)])).all()
    f["g/new"].resize((6000,)) if f["g/new"].maxshape[0] is None else None
    f["g/new"][3000:6000] = -np.arange(3000)
    f["grow"].resize((4000,))
    f["grow"][2000:] = 7
    for i in range(61, 120):
        f.create_group("g/sub%d" % i)
with h5py.File(sys.argv[1], "r") as f:
    assert (f["g/new"][:3000] == np.arange(3000)).all() and (f["g/new"][3000:] == -np.arange(3000)).all()
    assert (f["grow"][2000:] == 7).all() and (f["grow"][:100] == np.arange(100)).all()
    assert sorted(k for k in f["g"] if k.startswith("sub")) == sorted("sub%d" % i for i in range(1, 120))
print("ok")`, file)
	h5dumpOK(t, file)
}
