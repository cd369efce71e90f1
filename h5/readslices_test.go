package h5_test

import (
	"bytes"
	"encoding/binary"
	"math"
	"path/filepath"
	"testing"

	"github.com/h5mount/h5mount/h5"
)

// sliceFixture writes one float64 dataset /d (values i+0.5) with the given
// shape, chunks and fill, leaving the elements from written on unwritten
// (so their chunks are never stored), and returns the file's name and the
// bytes a reader must see.
func sliceFixture(t *testing.T, dims, chunks []uint64, fill []byte, written int) (string, []byte) {
	t.Helper()
	name := filepath.Join(t.TempDir(), "slices.h5")
	f, err := h5.Create(name, nil)
	if err != nil {
		t.Fatal(err)
	}
	root, err := f.Root()
	if err != nil {
		t.Fatal(err)
	}
	spec := &h5.DatasetSpec{Type: float64Type(), Dims: dims, Chunks: chunks, Fill: fill}
	if chunks != nil {
		spec.Filters = []h5.Filter{{ID: 1, Params: []uint32{1}}}
	}
	d, err := root.CreateDataset("d", spec)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]byte, d.Size())
	for i := 0; i < len(want)/8; i++ {
		if i < written {
			binary.LittleEndian.PutUint64(want[8*i:], math.Float64bits(float64(i)+0.5))
		} else if fill != nil {
			copy(want[8*i:], fill)
		}
	}
	if _, err := d.WriteAt(want[:8*written], 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return name, want
}

func openSliceDataset(t *testing.T, name string, rw bool) *h5.Dataset {
	t.Helper()
	open := h5.OpenFile
	if rw {
		open = h5.OpenFileRW
	}
	f, err := open(name, &h5.Options{CacheBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return openDatasetRW(t, f, "/d")
}

// readSlices asks ReadSlices for [off, off+n) and, when it answers, checks
// its slices hold exactly what ReadAt reads.
func readSlices(t *testing.T, d *h5.Dataset, want []byte, off int64, n int) bool {
	t.Helper()
	vec, ok, err := d.ReadSlices(off, n, nil)
	if err != nil {
		t.Fatalf("[%d, +%d): %v", off, n, err)
	}
	if !ok {
		return false
	}
	end := min(int64(len(want)), off+int64(n))
	if got := bytes.Join(vec, nil); !bytes.Equal(got, want[off:end]) {
		t.Fatalf("[%d, +%d): %d bytes in %d slices differ from the %d bytes stored", off, n, len(got), len(vec), end-off)
	}
	return true
}

func TestReadSlicesHoldWhatReadAtReads(t *testing.T) {
	// 10.5 chunks of 8 KiB, the last partial.
	name, want := sliceFixture(t, []uint64{10*1024 + 512}, []uint64{1024}, nil, 10*1024+512)
	d := openSliceDataset(t, name, false)
	for _, r := range []struct {
		off int64
		n   int
	}{
		{0, 1}, {0, 8192}, {8191, 2}, {100, 40000}, {5000, 1 << 20}, {int64(len(want)) - 10, 4096}, {0, len(want)},
	} {
		if !readSlices(t, d, want, r.off, r.n) {
			t.Errorf("[%d, +%d): no slices for a read-only 1-D chunked dataset", r.off, r.n)
		}
	}
	if _, ok, err := d.ReadSlices(int64(len(want)), 10, nil); ok || err != nil {
		t.Errorf("at the end: ok %v, err %v", ok, err)
	}
	// Written through the library, the cache's chunks are no longer the
	// file's: no slices for a file open for writing.
	if _, ok, _ := openSliceDataset(t, name, true).ReadSlices(0, 4096, nil); ok {
		t.Error("slices from a file open for writing")
	}
}

func TestReadSlicesUnwrittenChunks(t *testing.T) {
	// Elements 3000 on were never written: chunks 3 to 7 are not stored.
	name, want := sliceFixture(t, []uint64{8 * 1024}, []uint64{1024}, nil, 3000)
	d := openSliceDataset(t, name, false)
	if !readSlices(t, d, want, 2900*8, 5000*8) {
		t.Error("no slices over never-written chunks of zero fill")
	}

	fill := make([]byte, 8)
	binary.LittleEndian.PutUint64(fill, math.Float64bits(-1))
	name, want = sliceFixture(t, []uint64{8 * 1024}, []uint64{1024}, fill, 3000)
	d = openSliceDataset(t, name, false)
	if readSlices(t, d, want, 2900*8, 2000*8) {
		t.Error("slices for never-written chunks of a non-zero fill value")
	}
	got := make([]byte, 2000*8)
	if _, err := d.ReadAt(got, 2900*8); err != nil || !bytes.Equal(got, want[2900*8:4900*8]) {
		t.Errorf("ReadAt after the refusal: %v", err)
	}
	if !readSlices(t, d, want, 0, 3000*8) {
		t.Error("no slices for written chunks of a dataset with a fill value")
	}
}

func TestReadSlicesFewRunsOnly(t *testing.T) {
	// Chunks 8 elements wide across rows of 64: each run is 64 bytes.
	name, want := sliceFixture(t, []uint64{256, 64}, []uint64{16, 8}, nil, 256*64)
	d := openSliceDataset(t, name, false)
	if !readSlices(t, d, want, 512, 1024) {
		t.Error("no slices for a read of 16 runs")
	}
	if readSlices(t, d, want, 0, 64<<10) {
		t.Error("slices for a read of 1,024 runs")
	}
	name, want = sliceFixture(t, []uint64{4096}, nil, nil, 4096)
	if readSlices(t, openSliceDataset(t, name, false), want, 0, 4096) {
		t.Error("slices for a contiguous dataset")
	}
}
