package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/h5mount/h5mount/h5"
)

// TestSmallReadFillsPageCache: a small read of a compressed chunk hands
// the kernel the whole decoded chunk, so that the reader's next reads in
// it need neither a request nor a decode. The chunk's pages become
// resident (mincore over a mapping of the file, which reads nothing) and
// hold the dataset's bytes; other chunks stay out. On a writable mount
// nothing is pushed while a handle that can write is open: a push could
// overtake a write.
func TestSmallReadFillsPageCache(t *testing.T) {
	const n, chunk = 1 << 20, 1 << 16 // 8 MiB of int64 in 512 KiB chunks
	name, want := gzipInt64File(t, n, chunk, func(i int) uint64 { return uint64(i*i) ^ 0x5a5a })
	const chunkBytes = 8 * chunk
	for _, c := range []struct {
		mode           string
		writer, pushed bool
	}{{"ro", false, true}, {"rw", false, true}, {"rw", true, false}} {
		mode := c.mode
		if c.writer {
			mode += " with a writer"
		}
		mnt := mountT(t, name, "-o", c.mode)
		fh, err := os.Open(filepath.Join(mnt, "d"))
		if err != nil {
			t.Fatal(err)
		}
		var wr *os.File
		if c.writer {
			if wr, err = os.OpenFile(filepath.Join(mnt, "d"), os.O_RDWR, 0); err != nil {
				t.Fatal(err)
			}
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
		for c.pushed && resident(3*chunkBytes, chunkBytes) < pages && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if !c.pushed {
			time.Sleep(200 * time.Millisecond) // what a push would take
		}
		inChunk, elsewhere := resident(3*chunkBytes, chunkBytes), resident(6*chunkBytes, chunkBytes)
		switch {
		case c.pushed && inChunk != pages:
			t.Errorf("%s: %d of chunk 3's %d pages resident after a read in it", mode, inChunk, pages)
		case !c.pushed && inChunk > pages/2:
			t.Errorf("%s: %d of chunk 3's %d pages resident after a 4 KiB read: pushed", mode, inChunk, pages)
		}
		if elsewhere != 0 {
			t.Errorf("%s: %d pages of chunk 6, never read, resident", mode, elsewhere)
		}
		if !bytes.Equal(mem[3*chunkBytes:4*chunkBytes], want[3*chunkBytes:4*chunkBytes]) {
			t.Errorf("%s: chunk 3 through the page cache differs from the data written", mode)
		}
		unix.Munmap(mem)
		fh.Close()
		if wr != nil {
			wr.Close()
		}
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

// TestPushesNeverOvertakeWrites: on a writable mount, readers' small reads
// push whole decoded chunks into the kernel's page cache while a writer
// opens, writes and closes, over and over, in the chunk the readers are
// reading; after each close the bytes just written read back, never a
// push's older ones (a push that landed after a write would leave them in
// the page cache for good).
func TestPushesNeverOvertakeWrites(t *testing.T) {
	const n, chunk = 1 << 18, 1 << 15 // 2 MiB of int64 in 256 KiB chunks
	const chunkBytes = 8 * chunk
	name, want := gzipInt64File(t, n, chunk, func(i int) uint64 { return uint64(i) * 0x9e3779b97f4a7c15 })
	mnt := mountT(t, name)
	path := filepath.Join(mnt, "d")
	var target atomic.Int64 // the chunk the readers read and the writer writes; -1: none
	target.Store(-1)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for r := 0; r < 3; r++ {
		wg.Add(1)
		go func(seed int64) {
			defer wg.Done()
			fh, err := os.Open(path)
			if err != nil {
				t.Error(err)
				return
			}
			defer fh.Close()
			rng := rand.New(rand.NewSource(seed))
			buf := make([]byte, 4096)
			for {
				select {
				case <-stop:
					return
				default:
				}
				c := target.Load()
				if c < 0 {
					time.Sleep(100 * time.Microsecond)
					continue
				}
				// Pages gone make the next read reach the mount, and push.
				at := c * chunkBytes
				unix.Fadvise(int(fh.Fd()), at, chunkBytes, unix.FADV_DONTNEED)
				if _, err := fh.ReadAt(buf, at+rng.Int63n(chunkBytes/4096)*4096); err != nil {
					t.Error(err)
					return
				}
			}
		}(int64(r))
	}
	var once sync.Once
	stopReaders := func() { once.Do(func() { close(stop); wg.Wait() }) }
	defer stopReaders() // before the unmount
	check, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer check.Close()
	rng := rand.New(rand.NewSource(7))
	got := make([]byte, 4096)
	for round := 0; round < 400 && !t.Failed(); round++ {
		c := rng.Int63n(n / chunk)
		target.Store(c)
		time.Sleep(time.Duration(rng.Intn(500)) * time.Microsecond)
		at := c*chunkBytes + rng.Int63n(chunkBytes/4096)*4096
		patch := bytes.Repeat([]byte{byte(round), byte(round >> 8), 0xa5, 0x5a}, 1024)
		flags := os.O_WRONLY
		if round%2 == 1 {
			flags = os.O_RDWR // writes through the page cache
		}
		wr, err := os.OpenFile(path, flags, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := wr.WriteAt(patch, at); err != nil {
			t.Fatal(err)
		}
		if err := wr.Close(); err != nil {
			t.Fatal(err)
		}
		copy(want[at:], patch)
		// The readers pause (their page drops would hide a stale page),
		// and pushes under way land meanwhile.
		target.Store(-1)
		time.Sleep(2 * time.Millisecond)
		if _, err := check.ReadAt(got, at); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want[at:at+4096]) {
			t.Fatalf("round %d: the page at %d does not hold the bytes just written", round, at)
		}
	}
	stopReaders()
	unix.Fadvise(int(check.Fd()), 0, 0, unix.FADV_DONTNEED)
	all, err := io.ReadAll(check)
	if err != nil || !bytes.Equal(all, want) {
		t.Fatalf("the dataset read whole differs from what was written (%v)", err)
	}
}

// gzipInt64File writes a file of one dataset /d of n int64 values, value(i),
// in gzip chunks of chunk values, and returns its name and the dataset's
// bytes.
func gzipInt64File(t *testing.T, n, chunk int, value func(i int) uint64) (string, []byte) {
	t.Helper()
	name := filepath.Join(t.TempDir(), "d.h5")
	f, err := h5.Create(name, nil)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := f.Root()
	i64 := &h5.Datatype{Class: h5.ClassInteger, Version: 1, Size: 8, Precision: 64, Signed: true}
	d, err := root.CreateDataset("d", &h5.DatasetSpec{Type: i64, Dims: []uint64{uint64(n)}, Chunks: []uint64{uint64(chunk)},
		Filters: []h5.Filter{{ID: 1, Params: []uint32{4}}}})
	if err != nil {
		t.Fatal(err)
	}
	want := make([]byte, 8*n)
	for i := 0; i < n; i++ {
		binary.LittleEndian.PutUint64(want[8*i:], value(i))
	}
	if _, err := d.WriteAt(want, 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return name, want
}
