package h5_test

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/h5mount/h5mount/h5"
)

var gzip1 = []h5.Filter{{ID: 1, Params: []uint32{1}}}

// sliceFixture writes one float64 dataset /d with the given shape, chunks,
// filters and fill (values i+0.5, or value(i) when given), leaving the
// elements from written on unwritten (so their chunks are never stored),
// and returns the file's name and the bytes a reader must see.
func sliceFixture(t *testing.T, dims, chunks []uint64, filters []h5.Filter, fill []byte, written int, value func(i int) float64) (string, []byte) {
	t.Helper()
	name := filepath.Join(t.TempDir(), "slices.h5")
	f, root := createFile(t, name)
	spec := &h5.DatasetSpec{Type: float64Type(), Dims: dims, Chunks: chunks, Filters: filters, Fill: fill}
	if value == nil {
		value = func(i int) float64 { return float64(i) + 0.5 }
	}
	d, err := root.CreateDataset("d", spec)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]byte, d.Size())
	for i := 0; i < len(want)/8; i++ {
		if i < written {
			binary.LittleEndian.PutUint64(want[8*i:], math.Float64bits(value(i)))
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
	var pins h5.Pins
	defer pins.Release()
	vec, ok, err := d.ReadSlices(off, n, nil, &pins)
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
	name, want := sliceFixture(t, []uint64{10*1024 + 512}, []uint64{1024}, gzip1, nil, 10*1024+512, nil)
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
	var pins h5.Pins
	defer pins.Release()
	if _, ok, err := d.ReadSlices(int64(len(want)), 10, nil, &pins); ok || err != nil {
		t.Errorf("at the end: ok %v, err %v", ok, err)
	}
	// Written through the library, the cache's chunks are no longer the
	// file's: no slices for a file open for writing.
	if _, ok, _ := openSliceDataset(t, name, true).ReadSlices(0, 4096, nil, &pins); ok {
		t.Error("slices from a file open for writing")
	}
}

func TestReadSlicesUnwrittenChunks(t *testing.T) {
	// Elements 3000 on were never written: chunks 3 to 7 are not stored.
	name, want := sliceFixture(t, []uint64{8 * 1024}, []uint64{1024}, gzip1, nil, 3000, nil)
	d := openSliceDataset(t, name, false)
	if !readSlices(t, d, want, 2900*8, 5000*8) {
		t.Error("no slices over never-written chunks of zero fill")
	}

	fill := make([]byte, 8)
	binary.LittleEndian.PutUint64(fill, math.Float64bits(-1))
	name, want = sliceFixture(t, []uint64{8 * 1024}, []uint64{1024}, gzip1, fill, 3000, nil)
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
	name, want := sliceFixture(t, []uint64{256, 64}, []uint64{16, 8}, gzip1, nil, 256*64, nil)
	d := openSliceDataset(t, name, false)
	if !readSlices(t, d, want, 512, 1024) {
		t.Error("no slices for a read of 16 runs")
	}
	if readSlices(t, d, want, 0, 64<<10) {
		t.Error("slices for a read of 1,024 runs")
	}
	name, want = sliceFixture(t, []uint64{4096}, nil, nil, nil, 4096, nil)
	if readSlices(t, openSliceDataset(t, name, false), want, 0, 4096) {
		t.Error("slices for a contiguous dataset")
	}
}

// storedRanges asks StoredRanges for [off, off+n) and, when it answers,
// checks the file holds exactly the dataset's bytes there.
func storedRanges(t *testing.T, d *h5.Dataset, file string, want []byte, off, n int64) bool {
	t.Helper()
	var pins h5.Pins
	defer pins.Release()
	ranges, ok, err := d.StoredRanges(off, n, nil, &pins)
	if err != nil {
		t.Fatalf("[%d, +%d): %v", off, n, err)
	}
	if !ok {
		return false
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	for _, r := range ranges {
		got = append(got, raw[r.Off:r.Off+r.N]...)
	}
	if !bytes.Equal(got, want[off:off+n]) {
		t.Fatalf("[%d, +%d): the file's %d ranges hold other bytes", off, n, len(ranges))
	}
	return true
}

func TestStoredRangesHoldTheDatasetsBytes(t *testing.T) {
	noise := rand.New(rand.NewSource(9))
	random := func(int) float64 { return noise.NormFloat64() }
	lz4 := []h5.Filter{{ID: 32004}}
	for _, c := range []struct {
		name     string
		filters  []h5.Filter
		value    func(int) float64
		verbatim bool
	}{
		{"unfiltered", nil, nil, true},
		{"lz4 of noise", lz4, random, true},
		{"lz4 that compresses", lz4, nil, false},
		{"gzip", gzip1, random, false},
	} {
		// 10.5 chunks of 8,008 bytes: ranges start and end inside pages.
		file, want := sliceFixture(t, []uint64{1001*10 + 500}, []uint64{1001}, c.filters, nil, 1001*10+500, c.value)
		d := openSliceDataset(t, file, false)
		spans := [][2]int64{{0, 100}, {8000, 16}, {5000, 40000}}
		if c.filters == nil {
			// The partial last chunk, stored whole (LZ4 compresses its
			// unwritten half).
			spans = append(spans, [2]int64{int64(len(want)) - 9000, 9000})
		}
		for _, r := range spans {
			if got := storedRanges(t, d, file, want, r[0], r[1]); got != c.verbatim {
				t.Errorf("%s: [%d, +%d): verbatim %v, want %v", c.name, r[0], r[1], got, c.verbatim)
			}
		}
		if got := storedRanges(t, openSliceDataset(t, file, true), file, want, 5000, 40000); got != c.verbatim {
			t.Errorf("%s: a file open for writing: verbatim %v, want %v", c.name, got, c.verbatim)
		}
	}
	// Chunks 8 elements wide across rows of 64: a range every 64 bytes.
	file, want := sliceFixture(t, []uint64{256, 64}, []uint64{16, 8}, nil, nil, 256*64, nil)
	d := openSliceDataset(t, file, false)
	if !storedRanges(t, d, file, want, 512, 512) {
		t.Error("no ranges for a read of 8 runs")
	}
	if storedRanges(t, d, file, want, 0, 64<<10) {
		t.Error("ranges for a read of 1,024 runs")
	}
	// Never-written chunks have no bytes in the file.
	file, want = sliceFixture(t, []uint64{8 * 1024}, []uint64{1024}, nil, nil, 3000, nil)
	if storedRanges(t, openSliceDataset(t, file, false), file, want, 2900*8, 2000*8) {
		t.Error("ranges over never-written chunks")
	}
	// Contiguous data is one range, on a writable file too.
	file, want = sliceFixture(t, []uint64{4096}, nil, nil, nil, 4096, nil)
	if !storedRanges(t, openSliceDataset(t, file, true), file, want, 100, 8000) {
		t.Error("no range for contiguous data")
	}
}

// TestStoredRangesOfAWritableFile: on a file open for writing, chunks a
// write changed are answered from memory until they are stored again, and
// an answer holds the dataset: a change waits until the caller has moved
// the bytes and released it, so that the ranges never hold other bytes
// than they were said to (a rewritten chunk, another's data in its freed
// space).
func TestStoredRangesOfAWritableFile(t *testing.T) {
	file, want := sliceFixture(t, []uint64{1001 * 8}, []uint64{1001}, nil, nil, 1001*8, nil)
	d := openSliceDataset(t, file, true)
	const chunkBytes = 8 * 1001
	if !storedRanges(t, d, file, want, 0, 3*chunkBytes) {
		t.Fatal("no ranges for stored chunks")
	}
	newer := bytes.Repeat([]byte{0x3f}, 800)
	if _, err := d.WriteAt(newer, 100); err != nil {
		t.Fatal(err)
	}
	copy(want[100:], newer)
	if storedRanges(t, d, file, want, 0, 2*chunkBytes) {
		t.Error("ranges for a chunk whose written bytes are not stored yet")
	}
	if !storedRanges(t, d, file, want, chunkBytes, 2*chunkBytes) {
		t.Error("no ranges for chunks no write touched")
	}
	if err := d.WriteBack(); err != nil {
		t.Fatal(err)
	}
	if !storedRanges(t, d, file, want, 0, 2*chunkBytes) {
		t.Error("no ranges for a chunk stored again")
	}

	var pins h5.Pins
	if _, ok, err := d.StoredRanges(0, chunkBytes, nil, &pins); !ok || err != nil {
		t.Fatalf("no ranges (%v)", err)
	}
	if _, ok, _ := d.StoredRanges(0, chunkBytes, nil, &pins); ok {
		t.Error("a second dataset held by the same pins")
	}
	if _, ok, _ := d.StoredRanges(0, chunkBytes, nil, nil); ok {
		t.Error("ranges of a writable file without pins to hold them")
	}
	wrote := make(chan error, 1)
	go func() {
		_, err := d.WriteAt(newer, 0)
		if err == nil {
			err = d.WriteBack()
		}
		wrote <- err
	}()
	select {
	case err := <-wrote:
		t.Fatalf("a write went through while the ranges were held (%v)", err)
	case <-time.After(200 * time.Millisecond):
	}
	pins.Release()
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	copy(want, newer)
	if !storedRanges(t, d, file, want, 0, 2*chunkBytes) {
		t.Error("no ranges after the write")
	}
}

// TestDecodedSpanOfAWritableFile: on a file open for writing, a cached
// chunk's decoded bytes are handed out while no write has changed it, not
// while a write waits in memory (the cache holds the bytes from before),
// and again, new, once the chunk is stored.
func TestDecodedSpanOfAWritableFile(t *testing.T) {
	file, want := sliceFixture(t, []uint64{1001 * 8}, []uint64{1001}, gzip1, nil, 1001*8, nil)
	d := openSliceDataset(t, file, true)
	const chunkBytes = 8 * 1001
	span := func(off int64) ([]byte, bool) {
		var pins h5.Pins
		defer pins.Release()
		start, data, ok := d.DecodedSpan(off, &pins)
		if ok && (start != off/chunkBytes*chunkBytes || !bytes.Equal(data, want[start:start+int64(len(data))])) {
			t.Fatalf("span at %d: other bytes than the dataset's", off)
		}
		return data, ok
	}
	if _, err := d.ReadAt(make([]byte, 16), 2*chunkBytes+40); err != nil {
		t.Fatal(err)
	}
	if _, ok := span(2*chunkBytes + 100); !ok {
		t.Fatal("no span of a cached chunk")
	}
	if _, ok := span(4 * chunkBytes); ok {
		t.Error("a span of a chunk not cached")
	}
	newer := bytes.Repeat([]byte{0x41}, 64)
	if _, err := d.WriteAt(newer, 2*chunkBytes+8); err != nil {
		t.Fatal(err)
	}
	copy(want[2*chunkBytes+8:], newer)
	if _, ok := span(2*chunkBytes + 100); ok {
		t.Error("a span of a chunk whose write waits in memory")
	}
	if err := d.WriteBack(); err != nil {
		t.Fatal(err)
	}
	if data, ok := span(2*chunkBytes + 100); !ok || len(data) != chunkBytes {
		t.Errorf("no span of the chunk stored again (%d bytes)", len(data))
	}
}
