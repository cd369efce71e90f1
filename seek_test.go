package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
)

const (
	seekData = 3
	seekHole = 4
)

// extents lists a file's data extents by SEEK_DATA/SEEK_HOLE.
func extents(t *testing.T, path string) [][2]int64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	var out [][2]int64
	for pos := int64(0); pos < st.Size(); {
		d, err := f.Seek(pos, seekData)
		if errors.Is(err, syscall.ENXIO) {
			break
		}
		if err != nil {
			t.Fatalf("SEEK_DATA %d: %v", pos, err)
		}
		h, err := f.Seek(d, seekHole)
		if err != nil {
			t.Fatalf("SEEK_HOLE %d: %v", d, err)
		}
		if h <= d {
			t.Fatalf("SEEK_HOLE from data at %d gave %d", d, h)
		}
		// Merge extents that touch (a stepping limit may split one).
		if n := len(out); n > 0 && out[n-1][1] == d {
			out[n-1][1] = h
		} else {
			out = append(out, [2]int64{d, h})
		}
		pos = h
		if len(out) > 10000 {
			t.Fatal("more than 10000 extents")
		}
	}
	return out
}

// TestSparseSeek: chunks never written are holes to SEEK_DATA/SEEK_HOLE,
// exactly, so cp --sparse copies the seed's 2 TiB dataset as its one chunk;
// datasets whose unwritten parts do not read as zeros have no holes.
func TestSparseSeek(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "sparse.h5")
	h5py(t, `
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "w") as f:
    d = f.create_dataset("grid", shape=(100, 100), dtype="<i4", chunks=(10, 10))
    d[20:30, 40:50] = 1
    d[95, 5] = 2
    f.create_dataset("filled", shape=(100,), dtype="<i4", chunks=(10,), fillvalue=7)[50] = 1
    f.create_dataset("contig_empty", shape=(1000,), dtype="<f8")
    f.create_dataset("contig", data=np.arange(10.0))
    f.create_dataset("gzip", shape=(1000,), dtype="<f8", chunks=(100,), compression="gzip")[150] = 1
print("ok")
`, file)
	mnt := mountT(t, file, "-o", "rw")

	var want [][2]int64
	for r := int64(20); r < 30; r++ {
		want = append(want, [2]int64{(r*100 + 40) * 4, (r*100 + 50) * 4})
	}
	for r := int64(90); r < 100; r++ {
		want = append(want, [2]int64{r * 100 * 4, (r*100 + 10) * 4})
	}
	for name, w := range map[string][][2]int64{
		"grid":         want,
		"filled":       {{0, 400}},
		"contig_empty": nil,
		"contig":       {{0, 80}},
		"gzip":         {{800, 1600}},
	} {
		if got := extents(t, filepath.Join(mnt, name)); !slices.Equal(got, w) {
			t.Errorf("%s: data extents %v, want %v", name, got, w)
		}
	}
	// A chunk written through the mount is data at once, before any
	// write-back.
	f, err := os.OpenFile(filepath.Join(mnt, "grid"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{9, 0, 0, 0}, (0*100+99)*4); err != nil {
		t.Fatal(err)
	}
	f.Close()
	got := extents(t, filepath.Join(mnt, "grid"))
	if len(got) != 30 || got[0] != [2]int64{90 * 4, 100 * 4} {
		t.Errorf("after a write into chunk (0, 9): %d extents starting %v, want 30 starting [360 400]", len(got), got[:min(3, len(got))])
	}
	unmountCleanup(t, mnt)

	// The seed's dataset: one 128 KiB chunk of 2 TiB.
	weather := mountT(t, fixture(t, "weather.h5"))
	big := filepath.Join(weather, "big")
	ext := extents(t, big)
	if len(ext) != 1 || ext[0][1]-ext[0][0] != 128<<10 || ext[0][0] > seedOffset*4 || ext[0][1] <= seedOffset*4 {
		t.Fatalf("big: extents %v, want one 128 KiB chunk holding byte %d", ext, seedOffset*4)
	}
	copyPath := filepath.Join(dir, "big.copy")
	sh(t, "cp --sparse=always "+big+" "+copyPath)
	var st syscall.Stat_t
	if err := syscall.Stat(copyPath, &st); err != nil {
		t.Fatal(err)
	}
	if st.Size != 2<<40 || st.Blocks*512 > 1<<20 {
		t.Errorf("cp --sparse copy: %d bytes, %d allocated; want 2 TiB in at most 1 MiB", st.Size, st.Blocks*512)
	}
	got42 := sh(t, fmt.Sprintf("dd if=%s bs=4 skip=%d count=1 status=none | od -An -tf4", copyPath, seedOffset))
	if want := sh(t, fmt.Sprintf("dd if=%s bs=4 skip=%d count=1 status=none | od -An -tf4", big, seedOffset)); got42 != want {
		t.Errorf("the copy holds %q at the seed's element, the mount %q", got42, want)
	}
}

// TestStatfs: df shows the HDF5 file as used space and, read-write, the
// free space of the file system under it; read-only, nothing free.
func TestStatfs(t *testing.T) {
	dir := t.TempDir()
	file := copyFixture(t, "weather.h5", dir)
	size := fileSize(t, file)
	for _, ro := range []bool{false, true} {
		opt := "rw"
		if ro {
			opt = "ro"
		}
		mnt := mountT(t, file, "-o", opt)
		var st syscall.Statfs_t
		if err := syscall.Statfs(mnt, &st); err != nil {
			t.Fatal(err)
		}
		used := int64(st.Blocks-st.Bfree) * st.Bsize
		if used < size || used > size+st.Bsize {
			t.Errorf("%s: df shows %d bytes used, the file has %d", opt, used, size)
		}
		if ro != (st.Bavail == 0) {
			t.Errorf("%s: %d blocks available", opt, st.Bavail)
		}
		unmountCleanup(t, mnt)
	}
}
