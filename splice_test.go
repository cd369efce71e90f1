package main

import (
	"bytes"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// TestVerbatimChunksAreSpliced: chunks the file holds verbatim (stored
// unfiltered, or by LZ4 as one block left as it was) go from the HDF5 file
// into the reply by splice, on read-only and writable mounts, also for reads across
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
		dataset, want, mode string
		chunk               int64
		spliced             bool
	}{
		{"raw", "raw.bin", "ro", 8 * 100003, true}, {"lz4", "lz4.bin", "ro", 8 * 131072, true}, {"gzip", "lz4.bin", "ro", 8 * 131072, false},
		{"raw", "raw.bin", "rw", 8 * 100003, true}, {"lz4", "lz4.bin", "rw", 8 * 131072, true},
	} {
		want, err := os.ReadFile(filepath.Join(dir, c.want))
		if err != nil {
			t.Fatal(err)
		}
		// A mount each, so that its debug log holds one dataset's reads.
		logFile := filepath.Join(dir, c.dataset+"-"+c.mode+".log")
		mnt := mountT(t, file, "-o", c.mode, "--debug", "--log-file", logFile)
		got, err := os.ReadFile(filepath.Join(mnt, c.dataset))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s, %s: %d bytes read (%v), want %d bytes h5py wrote", c.dataset, c.mode, len(got), err, len(want))
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
				t.Errorf("%s, %s: %d bytes at %d: got %d, or other bytes", c.dataset, c.mode, r.n, r.off, n)
			}
		}
		fh.Close()
		unmountCleanup(t, mnt) // the log is complete once the mount is gone
		if got := splicedAcross(t, logFile, c.chunk); got != c.spliced {
			t.Errorf("%s, %s: a read across chunks spliced from the file: %v, want %v", c.dataset, c.mode, got, c.spliced)
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

// TestSplicedReadsFollowWrites: on a writable mount, a chunk a write
// changed reads its new bytes before and after they reach the file (from
// memory, then spliced from where the chunk now is), chunks no write
// touched are still spliced, and what the reads showed is what h5py reads
// after the unmount. Reads and writes go on at once through two handles
// (the dataset held by a reply in flight makes a write wait, and the other
// way round): every read sees each chunk whole, old or new, never bytes
// of some other place.
func TestSplicedReadsFollowWrites(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "follow.h5")
	const chunk = 8 * 65536
	t.Setenv("HDF5_PLUGIN_PATH", "/usr/lib/x86_64-linux-gnu/hdf5/serial/plugins")
	h5py(t, `
import sys, h5py, numpy as np
rng = np.random.default_rng(11)
with h5py.File(sys.argv[1], "w") as f:
    f.create_dataset("raw", data=rng.standard_normal(16 * 65536), chunks=(65536,))
    f.create_dataset("lz4", data=rng.standard_normal(16 * 65536), chunks=(65536,), compression=32004)
print("ok")
`, file)
	logFile := filepath.Join(dir, "follow.log")
	mnt := mountT(t, file, "--debug", "--log-file", logFile)
	for _, name := range []string{"raw", "lz4"} {
		path := filepath.Join(mnt, name)
		want, err := os.ReadFile(path)
		if err != nil || len(want) != 16*chunk {
			t.Fatalf("%s: %d bytes (%v)", name, len(want), err)
		}
		wr, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		rd, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewSource(3))
		for round := 0; round < 6; round++ {
			c := rng.Intn(16)
			patch := bytes.Repeat([]byte{byte(round + 1)}, chunk/2)
			if _, err := wr.WriteAt(patch, int64(c*chunk+chunk/4)); err != nil {
				t.Fatal(err)
			}
			copy(want[c*chunk+chunk/4:], patch)
			if round%2 == 1 {
				if err := wr.Sync(); err != nil {
					t.Fatal(err)
				}
			}
			// The kernel's page cache would answer from what it kept: the
			// reads below must reach the mount.
			if err := unix.Fadvise(int(rd.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
				t.Fatal(err)
			}
			got := make([]byte, len(want))
			if n, err := rd.ReadAt(got, 0); n != len(got) {
				t.Fatalf("%s: round %d: %d bytes read (%v)", name, round, n, err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%s: round %d: the bytes read differ from those written", name, round)
			}
		}
		// At once: a writer filling each chunk with its own byte, twice
		// over, a reader checking every page it sees is either the
		// chunk's bytes before or its fill.
		before := slices.Clone(want)
		fill := func(c int) byte { return byte(1 + 15*c) }
		done := make(chan error, 1)
		go func() {
			for round := 0; round < 32; round++ {
				c := round % 16
				if _, err := wr.WriteAt(bytes.Repeat([]byte{fill(c)}, chunk), int64(c*chunk)); err != nil {
					done <- err
					return
				}
				if round%8 == 7 {
					if err := wr.Sync(); err != nil {
						done <- err
						return
					}
				}
			}
			done <- nil
		}()
		buf := make([]byte, 2*chunk)
		for reads, writing := 0, true; writing || reads < 8; reads++ {
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
				writing = false
			default:
			}
			if err := unix.Fadvise(int(rd.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
				t.Fatal(err)
			}
			at := rng.Intn(15) * chunk
			if n, err := rd.ReadAt(buf, int64(at)); n != len(buf) {
				t.Fatalf("%s: %d bytes read (%v)", name, n, err)
			}
			for p := 0; p < len(buf); p += 4096 {
				page, old := buf[p:p+4096], before[at+p:at+p+4096]
				if !bytes.Equal(page, old) && bytes.Count(page, []byte{fill((at + p) / chunk)}) != len(page) {
					t.Fatalf("%s: the page at %d holds neither its bytes before nor its chunk's fill", name, at+p)
				}
			}
		}
		for c := 0; c < 16; c++ {
			copy(want[c*chunk:(c+1)*chunk], bytes.Repeat([]byte{fill(c)}, chunk))
		}
		if err := unix.Fadvise(int(rd.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
			t.Fatal(err)
		}
		if got, err := io.ReadAll(io.NewSectionReader(rd, 0, int64(len(want)))); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s: after the writes, other bytes read (%v)", name, err)
		}
		wr.Close()
		rd.Close()
	}
	unmountCleanup(t, mnt)
	if !splicedAcross(t, logFile, chunk) {
		t.Error("no read across chunks spliced from the file on a writable mount")
	}
	h5py(t, `
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    for name in ("raw", "lz4"):
        d = f[name][()].view("u1").reshape(16, -1)
        for c in range(16):
            assert (d[c] == 1 + 15 * c).all(), (name, c)
print("ok")
`, file)
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
