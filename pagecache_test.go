package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/h5mount/h5mount/h5"
)

// TestSmallReadFillsPageCache: on a read-only mount, a small read of a
// compressed chunk hands the kernel the whole decoded chunk, so that the
// reader's next reads in it need neither a request nor a decode. The
// chunk's pages become resident (mincore over a mapping of the file, which
// reads nothing) and hold the dataset's bytes; other chunks stay out. A
// writable mount pushes nothing: a push could overtake a write.
func TestSmallReadFillsPageCache(t *testing.T) {
	const n, chunk = 1 << 20, 1 << 16 // 8 MiB of int64 in 512 KiB chunks
	name := filepath.Join(t.TempDir(), "pages.h5")
	f, err := h5.Create(name, nil)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := f.Root()
	i64 := &h5.Datatype{Class: h5.ClassInteger, Version: 1, Size: 8, Precision: 64, Signed: true}
	d, err := root.CreateDataset("d", &h5.DatasetSpec{Type: i64, Dims: []uint64{n}, Chunks: []uint64{chunk},
		Filters: []h5.Filter{{ID: 1, Params: []uint32{4}}}})
	if err != nil {
		t.Fatal(err)
	}
	want := make([]byte, 8*n)
	for i := 0; i < n; i++ {
		binary.LittleEndian.PutUint64(want[8*i:], uint64(i*i)^0x5a5a)
	}
	if _, err := d.WriteAt(want, 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	const chunkBytes = 8 * chunk
	for _, mode := range []string{"ro", "rw"} {
		mnt := mountT(t, name, "-o", mode)
		fh, err := os.Open(filepath.Join(mnt, "d"))
		if err != nil {
			t.Fatal(err)
		}
		// A 4 KiB read in the middle of chunk 3.
		at := int64(3*chunkBytes + 37*4096)
		got := make([]byte, 4096)
		if _, err := fh.ReadAt(got, at); err != nil || !bytes.Equal(got, want[at:at+4096]) {
			t.Fatalf("%s: read at %d: %v", mode, at, err)
		}
		mem, err := unix.Mmap(int(fh.Fd()), 0, len(want), unix.PROT_READ, unix.MAP_SHARED)
		if err != nil {
			t.Fatal(err)
		}
		resident := func(off, size int) int {
			vec := make([]byte, size/4096)
			if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&mem[off])), uintptr(size), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
				t.Fatal(errno)
			}
			c := 0
			for _, v := range vec {
				c += int(v & 1)
			}
			return c
		}
		pages := chunkBytes / 4096
		deadline := time.Now().Add(5 * time.Second)
		for mode == "ro" && resident(3*chunkBytes, chunkBytes) < pages && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if mode == "rw" {
			time.Sleep(200 * time.Millisecond) // what a push would take
		}
		inChunk, elsewhere := resident(3*chunkBytes, chunkBytes), resident(6*chunkBytes, chunkBytes)
		switch {
		case mode == "ro" && inChunk != pages:
			t.Errorf("ro: %d of chunk 3's %d pages resident after a read in it", inChunk, pages)
		case mode == "rw" && inChunk > pages/2:
			t.Errorf("rw: %d of chunk 3's %d pages resident after a 4 KiB read: pushed on a writable mount", inChunk, pages)
		}
		if elsewhere != 0 {
			t.Errorf("%s: %d pages of chunk 6, never read, resident", mode, elsewhere)
		}
		if !bytes.Equal(mem[3*chunkBytes:4*chunkBytes], want[3*chunkBytes:4*chunkBytes]) {
			t.Errorf("%s: chunk 3 through the page cache differs from the data written", mode)
		}
		unix.Munmap(mem)
		fh.Close()
		unmountCleanup(t, mnt)
	}
}

// TestMmapWrites: a dataset mapped shared and written through the mapping
// (numpy.memmap mode "r+") keeps what was written, whether the writer
// msyncs (then another descriptor reads it at once) or only unmaps and
// lets the unmount write the pages back; libhdf5 reads the result. One
// dataset is contiguous, the other gzip-chunked, and the writes straddle
// chunk and page boundaries.
func TestMmapWrites(t *testing.T) {
	requireFUSE(t)
	const n, chunk = 1 << 17, 1 << 13 // 1 MiB of int64 in 64 KiB chunks
	name := filepath.Join(t.TempDir(), "mapped.h5")
	f, err := h5.Create(name, nil)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := f.Root()
	i64 := &h5.Datatype{Class: h5.ClassInteger, Version: 1, Size: 8, Precision: 64, Signed: true}
	initial := make([]byte, 8*n)
	for i := 0; i < n; i++ {
		binary.LittleEndian.PutUint64(initial[8*i:], uint64(i)*2654435761)
	}
	specs := map[string]*h5.DatasetSpec{
		"contiguous": {Type: i64, Dims: []uint64{n}},
		"gzip":       {Type: i64, Dims: []uint64{n}, Chunks: []uint64{chunk}, Filters: []h5.Filter{{ID: 1, Params: []uint32{4}}}},
	}
	for dsName, spec := range specs {
		d, err := root.CreateDataset(dsName, spec)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.WriteAt(initial, 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	writes := []struct{ off, n int }{{0, 3}, {4090, 20}, {8*chunk - 5, 10}, {300000, 70000}, {8*n - 7, 7}}
	want := map[string][]byte{}
	mnt := mountT(t, name)
	for dsName, msync := range map[string]bool{"contiguous": true, "gzip": false} {
		fh, err := os.OpenFile(filepath.Join(mnt, dsName), os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		mem, err := unix.Mmap(int(fh.Fd()), 0, len(initial), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
		if err != nil {
			t.Fatal(err)
		}
		// As numpy.memmap does: the descriptor is closed before the writes.
		fh.Close()
		w := bytes.Clone(initial)
		for k, wr := range writes {
			for i := wr.off; i < wr.off+wr.n; i++ {
				mem[i] = byte(k*31 + i)
				w[i] = mem[i]
			}
		}
		want[dsName] = w
		if msync {
			if err := unix.Msync(mem, unix.MS_SYNC); err != nil {
				t.Fatalf("%s: msync: %v", dsName, err)
			}
			// The pages, clean after the msync, are dropped: what is read
			// then is what the mount holds.
			rd, err := os.Open(filepath.Join(mnt, dsName))
			if err != nil {
				t.Fatal(err)
			}
			if err := unix.Fadvise(int(rd.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
				t.Fatal(err)
			}
			got := make([]byte, len(w))
			_, err = rd.ReadAt(got, 0)
			rd.Close()
			if err != nil || !bytes.Equal(got, w) {
				t.Errorf("%s: read after msync differs from the mapping's writes (%v)", dsName, err)
			}
		}
		if err := unix.Munmap(mem); err != nil {
			t.Fatal(err)
		}
	}
	if r := h5mountT(t, "unmount", mnt); r.code != 0 {
		t.Fatalf("unmount: %v", r)
	}
	dump, err := corpusDump(name)
	if err != nil {
		t.Fatalf("dump_ref.py: %v", err)
	}
	for dsName, w := range want {
		e := dump["/"+dsName]
		if e == nil || e.SHA256 == nil || *e.SHA256 != sha256Hex(w) {
			t.Errorf("libhdf5 reads /%s other than the mapping's writes left it", dsName)
		}
	}
}

// TestRepliesFromATinyCache: on a read-only mount, replies are sent from
// the decoded chunks' own memory, which is reused for other chunks once
// nothing holds it. Through a cache of four chunks, readers at once read
// random ranges, small and spanning many chunks, dropping the kernel's
// pages as they go so that the reads reach the mount: a chunk's memory
// reused while a reply from it was still on its way would show another
// chunk's bytes.
func TestRepliesFromATinyCache(t *testing.T) {
	const n, chunk = 1 << 20, 1 << 13 // 8 MiB of int64 in 64 KiB chunks
	name := filepath.Join(t.TempDir(), "tiny.h5")
	f, err := h5.Create(name, nil)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := f.Root()
	i64 := &h5.Datatype{Class: h5.ClassInteger, Version: 1, Size: 8, Precision: 64, Signed: true}
	want := make([]byte, 8*n)
	for i := 0; i < n; i++ {
		binary.LittleEndian.PutUint64(want[8*i:], uint64(i)*0x9e3779b97f4a7c15)
	}
	for dsName, filters := range map[string][]h5.Filter{
		"gzip":    {{ID: 1, Params: []uint32{1}}},
		"shuffle": {{ID: 2, Params: []uint32{8}}, {ID: 1, Params: []uint32{1}}},
	} {
		d, err := root.CreateDataset(dsName, &h5.DatasetSpec{Type: i64, Dims: []uint64{n}, Chunks: []uint64{chunk}, Filters: filters})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.WriteAt(want, 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	mnt := mountT(t, name, "-o", "ro", "--cache-size", "256KiB")
	defer unmountCleanup(t, mnt)
	rounds := 150 * stressFactor()
	errs := make(chan error, 8)
	for w := range 8 {
		go func() {
			errs <- readRandomRanges(filepath.Join(mnt, []string{"gzip", "shuffle"}[w%2]), want, rand.New(rand.NewSource(int64(w))), rounds)
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// readRandomRanges reads random ranges of path, from a byte to 2 MiB,
// comparing each with want, and drops the file's cached pages every few
// reads.
func readRandomRanges(path string, want []byte, rng *rand.Rand, rounds int) error {
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	buf := make([]byte, 2<<20)
	for i := range rounds {
		if i%4 == 0 {
			if err := unix.Fadvise(int(fh.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
				return err
			}
		}
		size := 1 + rng.Intn(len(buf))
		if rng.Intn(2) == 0 {
			size = 1 + rng.Intn(8192)
		}
		off := rng.Int63n(int64(len(want)))
		got, err := fh.ReadAt(buf[:size], off)
		if err != nil && got == 0 {
			return fmt.Errorf("%s: read [%d, +%d): %v", path, off, size, err)
		}
		if !bytes.Equal(buf[:got], want[off:off+int64(got)]) {
			return fmt.Errorf("%s: read [%d, +%d): other bytes", path, off, got)
		}
	}
	return nil
}

// TestReadOnlyClosesSendNoFlush: on a read-only mount the first close
// answers the kernel's FLUSH with ENOSYS, and the kernel sends no more
// (it waited for one at every close: a third of the requests of a program
// that opens, reads and closes many small datasets); a writable mount
// keeps flushing at close, where a write's pending chunk may fail.
func TestReadOnlyClosesSendNoFlush(t *testing.T) {
	requireFUSE(t)
	for _, ro := range []bool{true, false} {
		dir := t.TempDir()
		file := copyFixture(t, "weather.h5", dir)
		logFile := filepath.Join(dir, "debug.log")
		opts := []string{"--debug", "--log-file", logFile}
		if ro {
			opts = append(opts, "-o", "ro")
		}
		mnt := mountT(t, file, opts...)
		for range 5 {
			for _, p := range []string{"15/temperature", "15/wind", "comp"} {
				if _, err := os.ReadFile(filepath.Join(mnt, p)); err != nil {
					t.Fatal(err)
				}
			}
		}
		if r := h5mountT(t, "unmount", mnt); r.code != 0 {
			t.Fatalf("unmount: %v", r)
		}
		log, err := os.ReadFile(logFile)
		if err != nil {
			t.Fatal(err)
		}
		// go-fuse's own file, opened once at mount, has the largest node ID.
		flushes := 0
		for _, line := range bytes.Split(log, []byte("\n")) {
			if bytes.Contains(line, []byte(": FLUSH n")) && !bytes.Contains(line, []byte("FLUSH n18446744073709551615")) {
				flushes++
			}
		}
		switch {
		case ro && flushes != 1:
			t.Errorf("a read-only mount got %d FLUSH requests for 15 closes, want the first alone", flushes)
		case !ro && flushes < 15:
			t.Errorf("a writable mount got %d FLUSH requests for 15 closes, want one each", flushes)
		}
	}
}
