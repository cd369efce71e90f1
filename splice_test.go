package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
)

// TestVerbatimChunksAreSpliced: chunks the file holds verbatim (stored
// unfiltered, or by LZ4 as one block left as it was) go from the HDF5 file
// into the reply by splice on a read-only mount, also for reads across
// chunks stored apart (several ranges in one pipe), and read exactly what
// h5py reads: whole, and from offsets across chunk and page boundaries,
// up to the partial last chunk.
func TestVerbatimChunksAreSpliced(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "verbatim.h5")
	// Chunk sizes that are no multiple of a page: ranges start and end
	// inside pages. Random floats do not compress, so LZ4 keeps them as
	// they are.
	t.Setenv("HDF5_PLUGIN_PATH", "/usr/lib/x86_64-linux-gnu/hdf5/serial/plugins")
	h5py(t, `
import sys, h5py, numpy as np
rng = np.random.default_rng(5)
raw = rng.standard_normal(400000)
lz = rng.standard_normal(5 * 131072 + 777)
with h5py.File(sys.argv[1], "w") as f:
    f.create_dataset("raw", data=raw, chunks=(100003,))
    f.create_dataset("lz4", data=lz, chunks=(131072,), compression=32004)
    f.create_dataset("gzip", data=lz, chunks=(131072,), compression="gzip")
raw.tofile(sys.argv[2]); lz.tofile(sys.argv[3])
print("ok")
`, file, filepath.Join(dir, "raw.bin"), filepath.Join(dir, "lz4.bin"))
	for _, c := range []struct {
		dataset, want string
		chunk         int64
		spliced       bool
	}{{"raw", "raw.bin", 8 * 100003, true}, {"lz4", "lz4.bin", 8 * 131072, true}, {"gzip", "lz4.bin", 8 * 131072, false}} {
		want, err := os.ReadFile(filepath.Join(dir, c.want))
		if err != nil {
			t.Fatal(err)
		}
		// A mount each, so that its debug log holds one dataset's reads.
		logFile := filepath.Join(dir, c.dataset+".log")
		mnt := mountT(t, file, "-o", "ro", "--debug", "--log-file", logFile)
		got, err := os.ReadFile(filepath.Join(mnt, c.dataset))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s: %d bytes read (%v), want %d bytes h5py wrote", c.dataset, len(got), err, len(want))
		}
		fh, err := os.Open(filepath.Join(mnt, c.dataset))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range []struct {
			off int64
			n   int
		}{
			{0, 1 << 20}, {c.chunk - 4096, 1 << 20}, {c.chunk - 100, 8192}, {2*c.chunk - 7, 3 * int(c.chunk)},
			{int64(len(want)) - 5000, 1 << 20}, {12345, 1016 << 10},
		} {
			buf := make([]byte, r.n)
			n, _ := fh.ReadAt(buf, r.off)
			end := min(int64(len(want)), r.off+int64(r.n))
			if int64(n) != end-r.off || !bytes.Equal(buf[:n], want[r.off:end]) {
				t.Errorf("%s: %d bytes at %d: got %d, or other bytes", c.dataset, r.n, r.off, n)
			}
		}
		fh.Close()
		unmountCleanup(t, mnt) // the log is complete once the mount is gone
		if got := splicedAcross(t, logFile, c.chunk); got != c.spliced {
			t.Errorf("%s: a read across chunks spliced from the file: %v, want %v", c.dataset, got, c.spliced)
		}
	}
}

// splicedAcross reports whether a mount's debug log shows a read that
// crosses a chunk boundary answered with file data ("fd ...b data"): a
// pipe loaded with several ranges of the file.
func splicedAcross(t *testing.T, logFile string, chunk int64) bool {
	t.Helper()
	log, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	rx := regexp.MustCompile(`rx (\d+): READ n\d+ \{Fh \d+ \[(\d+) \+(\d+)\)`)
	tx := regexp.MustCompile(`tx (\d+): +OK,.*\(fd \d+b data\)`)
	across := map[string]bool{}
	for _, m := range rx.FindAllStringSubmatch(string(log), -1) {
		off, _ := strconv.ParseInt(m[2], 10, 64)
		n, _ := strconv.ParseInt(m[3], 10, 64)
		if off/chunk != (off+n-1)/chunk {
			across[m[1]] = true
		}
	}
	for _, m := range tx.FindAllStringSubmatch(string(log), -1) {
		if across[m[1]] {
			return true
		}
	}
	return false
}

// TestSplicedReadsAreWhole: a read spliced from the HDF5 file whose range
// starts inside a page needs one pipe buffer more than its bytes fill;
// where the pipe go-fuse sizes for the reply cannot hold it, the read goes
// the ordinary way instead of reaching the reader cut short. Contiguous
// datasets of every size around the pipe's power-of-two steps, at
// unaligned offsets in the file (h5py puts small ones at 2048), read
// whole and exactly.
func TestSplicedReadsAreWhole(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "sizes.h5")
	h5py(t, `
import sys, h5py, numpy as np
rng = np.random.default_rng(9)
with h5py.File(sys.argv[1], "w") as f:
    for n in (60000, 61000, 4096 * 7 - 16, 4096 * 15, 4096 * 31 - 100, 4096 * 63 + 5, 500000):
        d = rng.integers(0, 256, n, dtype="u1")
        f.create_dataset("d%d" % n, data=d)
        d.tofile("%s/d%d.bin" % (sys.argv[2], n))
print("ok")
`, file, dir)
	mnt := mountT(t, file, "-o", "ro")
	for _, n := range []int{60000, 61000, 4096*7 - 16, 4096 * 15, 4096*31 - 100, 4096*63 + 5, 500000} {
		name := filepath.Join(mnt, "d"+strconv.Itoa(n))
		got, err := os.ReadFile(name)
		if err != nil || len(got) != n {
			t.Errorf("d%d: %d bytes read (%v), want %d", n, len(got), err, n)
			continue
		}
		ref, err := os.ReadFile(filepath.Join(dir, "d"+strconv.Itoa(n)+".bin"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, ref) {
			t.Errorf("d%d: the bytes read differ from h5py's", n)
		}
	}
}
