package h5_test

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/h5mount/h5mount/h5"
)

// hintingReader records the ranges it is told will be read soon.
type hintingReader struct {
	*os.File
	mu    sync.Mutex
	hints [][2]int64
}

func (r *hintingReader) WillNeed(off, n int64) {
	r.mu.Lock()
	r.hints = append(r.hints, [2]int64{off, n})
	r.mu.Unlock()
}

// TestSequentialReadHintsStoredChunks: a sequential reader of compressed
// chunks has the stored bytes of the chunks ahead of it asked of the
// reader (the disk, for a local file) before it gets to them, each once;
// random reads ask for nothing.
func TestSequentialReadHintsStoredChunks(t *testing.T) {
	name := filepath.Join(t.TempDir(), "hint.h5")
	const n, chunk = 1 << 21, 1 << 15 // 16 MiB of float64 in 256 KiB chunks
	writeFloat64Dataset(t, name, []uint64{n}, []uint64{chunk}, []h5.Filter{{ID: 1, Params: []uint32{1}}}, func(i int) uint64 {
		return uint64(i) * 2654435761
	})
	open := func() (*hintingReader, *h5.Dataset) {
		fh, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { fh.Close() })
		st, _ := fh.Stat()
		hr := &hintingReader{File: fh}
		r, err := h5.Open(hr, st.Size(), &h5.Options{CacheBytes: 4 << 20})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		return hr, openDatasetRW(t, r, "/d")
	}

	hr, ds := open()
	buf := make([]byte, 128<<10)
	for off := 0; off < 4<<20; off += len(buf) {
		if _, err := ds.ReadAt(buf, int64(off)); err != nil {
			t.Fatal(err)
		}
	}
	// Hints are asked in the background: wait for the last.
	var hints [][2]int64
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		hr.mu.Lock()
		hints = append(hints[:0], hr.hints...)
		hr.mu.Unlock()
		if len(hints) >= 32 || time.Now().After(deadline) {
			break
		}
	}
	// After 4 MiB read, the hints reach 16 MiB of the dataset further
	// (64 chunks of 256 KiB, at most 32 of them, each once).
	seen := map[int64]bool{}
	for _, h := range hints {
		if seen[h[0]] {
			t.Errorf("stored chunk at %d hinted twice", h[0])
		}
		seen[h[0]] = true
		if h[1] <= 0 || h[1] > 2*chunk*8 {
			t.Errorf("hint of %d bytes for a chunk of %d", h[1], chunk*8)
		}
	}
	if len(seen) < 16+16 {
		t.Errorf("%d chunks hinted after a 4 MiB sequential read of 256 KiB chunks, want those of the next 16 MiB ahead", len(seen))
	}

	hr2, ds2 := open()
	small := make([]byte, 4096)
	for _, off := range []int64{9 << 20, 1 << 20, 14 << 20, 5 << 20} {
		if _, err := ds2.ReadAt(small, off); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(100 * time.Millisecond)
	hr2.mu.Lock()
	defer hr2.mu.Unlock()
	if len(hr2.hints) != 0 {
		t.Errorf("random reads hinted %d ranges", len(hr2.hints))
	}
}

// TestHintsFollowChunkGrid: with the first plane of a cube read (its block
// of planes' chunks decoded), the chunks a reader of the next plane will
// want stored next are the next block's, not the decoded ones its bytes
// run through: those are hinted, in the grid's order.
func TestHintsFollowChunkGrid(t *testing.T) {
	name := filepath.Join(t.TempDir(), "gridhint.h5")
	dims, chunks := []uint64{16, 64, 256}, []uint64{4, 16, 32} // blocks of 32 chunks of 16 KiB
	writeFloat64Dataset(t, name, dims, chunks, []h5.Filter{{ID: 1, Params: []uint32{1}}}, func(i int) uint64 {
		return uint64(i) * 2654435761
	})
	fh, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	st, _ := fh.Stat()
	hr := &hintingReader{File: fh}
	r, err := h5.Open(hr, st.Size(), &h5.Options{CacheBytes: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	o, _ := r.OpenPath("/d")
	ds, err := o.AsDataset()
	if err != nil {
		t.Fatal(err)
	}
	plane := 64 * 256 * 8
	if _, err := ds.ReadAt(make([]byte, plane), 0); err != nil { // one read: no read-ahead
		t.Fatal(err)
	}
	if err := h5.HintStored(ds, uint64(plane)); err != nil {
		t.Fatal(err)
	}
	want := map[int64]bool{}
	for y := range uint64(4) {
		for x := range uint64(8) {
			addr, err := h5.ChunkAddr(ds, []uint64{1, y, x})
			if err != nil {
				t.Fatal(err)
			}
			want[int64(addr)] = true
		}
	}
	hr.mu.Lock()
	defer hr.mu.Unlock()
	got := map[int64]bool{}
	for _, h := range hr.hints {
		got[h[0]] = true
	}
	for a := range want {
		if !got[a] {
			t.Errorf("chunk of the next block at 0x%x not hinted", a)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d ranges hinted, want the next block's %d chunks", len(got), len(want))
	}
}
