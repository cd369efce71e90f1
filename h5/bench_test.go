package h5_test

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand"
	"path/filepath"
	"testing"
	"time"

	"github.com/h5mount/h5mount/h5"
)

// Read- and write-path microbenchmarks, on files made here:
//
//	go test -run '^$' -bench . -benchmem ./h5

func float64Type() *h5.Datatype {
	return &h5.Datatype{Class: h5.ClassFloat, Version: 1, Size: 8, Precision: 64, MantNorm: 2,
		SignLoc: 63, ExpLoc: 52, ExpSize: 11, MantSize: 52, ExpBias: 1023}
}

// writeFloat64Dataset makes a file holding one float64 dataset "/d" of the
// given shape, chunks and filters, element i holding the bits value(i),
// and returns the bytes written.
func writeFloat64Dataset(tb testing.TB, name string, dims, chunks []uint64, filters []h5.Filter, value func(i int) uint64) []byte {
	tb.Helper()
	f, root := createFile(tb, name)
	d, err := root.CreateDataset("d", &h5.DatasetSpec{Type: float64Type(), Dims: dims, Chunks: chunks, Filters: filters})
	if err != nil {
		tb.Fatal(err)
	}
	data := make([]byte, d.Size())
	for i := 0; i < len(data)/8; i++ {
		binary.LittleEndian.PutUint64(data[8*i:], value(i))
	}
	if _, err := d.WriteAt(data, 0); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return data
}

// createFile makes a new HDF5 file and returns it with its root group.
func createFile(tb testing.TB, name string) (*h5.File, *h5.Group) {
	tb.Helper()
	f, err := h5.Create(name, nil)
	if err != nil {
		tb.Fatal(err)
	}
	root, err := f.Root()
	if err != nil {
		tb.Fatal(err)
	}
	return f, root
}

// benchDataset writes a float64 dataset of the given shape and chunks
// (gzip level 4 when compressed) and opens it read-only with a cache of
// cache bytes.
func benchDataset(b *testing.B, dims, chunks []uint64, compressed bool, cache int64) (*h5.Dataset, []byte) {
	b.Helper()
	name := filepath.Join(b.TempDir(), "bench.h5")
	var filters []h5.Filter
	if compressed {
		filters = []h5.Filter{{ID: 1, Params: []uint32{4}}}
	}
	rng := rand.New(rand.NewSource(1))
	data := writeFloat64Dataset(b, name, dims, chunks, filters, func(i int) uint64 {
		return math.Float64bits(math.Sin(float64(i)*1e-4) + rng.NormFloat64()*0.01)
	})
	r, err := h5.OpenFile(name, &h5.Options{CacheBytes: cache})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { r.Close() })
	return openDatasetRW(b, r, "/d"), data
}

// BenchmarkReadAtRandom4K is the random pread case: 4 KiB at random
// offsets of a compressed dataset whose chunks are all in the cache.
func BenchmarkReadAtRandom4K(b *testing.B) {
	d, data := benchDataset(b, []uint64{1 << 20}, []uint64{1 << 14}, true, 64<<20)
	buf := make([]byte, 4096)
	rng := rand.New(rand.NewSource(2))
	offs := make([]int64, 4096)
	for i := range offs {
		offs[i] = rng.Int63n(int64(len(data))-4096) &^ 7
	}
	for _, o := range offs { // warm the cache
		d.ReadAt(buf, o)
	}
	b.SetBytes(4096)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		o := offs[i%len(offs)]
		if _, err := d.ReadAt(buf, o); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	o := offs[0]
	d.ReadAt(buf, o)
	if string(buf) != string(data[o:o+4096]) {
		b.Fatal("bytes differ")
	}
}

// BenchmarkReadHyperslab2D reads a 100×100 block, not chunk-aligned (it
// spans four 128×128 chunks), of a cached 2-D chunked dataset: the cost of
// the hyperslab copy, row by row.
func BenchmarkReadHyperslab2D(b *testing.B) {
	for _, compressed := range []bool{false, true} {
		name := "raw"
		if compressed {
			name = "gzip"
		}
		b.Run(name, func(b *testing.B) {
			d, data := benchDataset(b, []uint64{1024, 1024}, []uint64{128, 128}, compressed, 64<<20)
			start, count := []uint64{70, 90}, []uint64{100, 100}
			buf := make([]byte, 100*100*8)
			if err := d.ReadHyperslab(start, count, buf); err != nil {
				b.Fatal(err)
			}
			for r := uint64(0); r < 100; r++ {
				at := ((70+r)*1024 + 90) * 8
				if string(buf[r*800:(r+1)*800]) != string(data[at:at+800]) {
					b.Fatalf("row %d differs", r)
				}
			}
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := d.ReadHyperslab(start, count, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// readThrough reads the first size bytes of d in requests of len(buf), as
// a sequential reader through a mount does; buf ends with the last one.
func readThrough(b *testing.B, d *h5.Dataset, buf []byte, size int64) {
	for off := int64(0); off < size; off += int64(len(buf)) {
		if _, err := d.ReadAt(buf, off); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadSequential reads a 64 MiB gzip dataset in 1 MiB requests
// through a cache too small to keep it: chunk decoding and read-ahead.
func BenchmarkReadSequential(b *testing.B) {
	d, data := benchDataset(b, []uint64{8 << 20}, []uint64{1 << 17}, true, 16<<20)
	buf := make([]byte, 1<<20)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		readThrough(b, d, buf, int64(len(data)))
	}
	b.StopTimer()
	if string(buf) != string(data[len(data)-len(buf):]) {
		b.Fatal("bytes differ")
	}
}

// BenchmarkWriteAtContiguous is dd's write into a contiguous dataset, 1 MiB
// at a time, as the mount passes it on: the engine's cost around the
// pwrite (which is most of it), and no allocation.
// BenchmarkAppendRows appends one 4 KiB chunk a write to a dataset of
// unlimited rows already holding 1,000 or 40,000 chunks, each write growing
// it: the cost of an append must not grow with the dataset.
func BenchmarkAppendRows(b *testing.B) {
	for _, held := range []int{1000, 40000} {
		b.Run(fmt.Sprintf("after-%d-chunks", held), func(b *testing.B) {
			f, err := h5.Create(filepath.Join(b.TempDir(), "append.h5"), nil)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { f.Close() })
			root, _ := f.Root()
			d, err := root.CreateDataset("a", &h5.DatasetSpec{Type: h5.Uint8Type(), Dims: []uint64{0},
				MaxDims: []uint64{h5.Unlimited}, Chunks: []uint64{4096}})
			if err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, 4096)
			for i := 0; i < held; i++ {
				if _, err := d.WriteAt(buf, int64(i)*4096); err != nil {
					b.Fatal(err)
				}
			}
			if err := f.Flush(); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(buf)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := d.WriteAt(buf, int64(held+i)*4096); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkWriteAtContiguous(b *testing.B) {
	name := filepath.Join(b.TempDir(), "write.h5")
	f, err := h5.Create(name, nil)
	if err != nil {
		b.Fatal(err)
	}
	root, _ := f.Root()
	const size = 64 << 20
	d, err := root.CreateDataset("d", &h5.DatasetSpec{Type: float64Type(), Dims: []uint64{size / 8}})
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	if _, err := d.WriteAt(buf, 0); err != nil { // storage allocated here
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := d.WriteAt(buf, int64(i%(size/len(buf)))*int64(len(buf))); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSequentialReadDecodesEachChunkOnce: a sequential pass in 128 KiB
// reads, read-ahead on all cores, through a cache that holds a fraction of
// the dataset, decodes every chunk exactly once; random 4 KiB reads start
// no read-ahead.
func TestSequentialReadDecodesEachChunkOnce(t *testing.T) {
	name := filepath.Join(t.TempDir(), "seq.h5")
	const n, chunk = 4 << 20, 1 << 16 // 32 MiB of float64 in 512 KiB chunks
	data := writeFloat64Dataset(t, name, []uint64{n}, []uint64{chunk}, []h5.Filter{{ID: 1, Params: []uint32{1}}}, func(i int) uint64 {
		return math.Float64bits(float64(i%1000) + 0.25)
	})
	r, err := h5.OpenFile(name, &h5.Options{CacheBytes: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	o, _ := r.OpenPath("/d")
	rd, err := o.AsDataset()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 128<<10)
	for off := 0; off < len(data); off += len(buf) {
		if _, err := rd.ReadAt(buf, int64(off)); err != nil {
			t.Fatal(err)
		}
		if string(buf) != string(data[off:off+len(buf)]) {
			t.Fatalf("bytes at %d differ", off)
		}
	}
	if got, want := h5.ChunkDecodes(r), uint64(n/chunk); got != want {
		t.Errorf("sequential pass decoded %d chunks, want %d", got, want)
	}

	// Random reads far apart: each decodes at most the chunk it reads.
	r2, err := h5.OpenFile(name, &h5.Options{CacheBytes: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	o2, _ := r2.OpenPath("/d")
	rd2, _ := o2.AsDataset()
	small := make([]byte, 4096)
	for i, c := range []int{40, 3, 17, 60, 29, 50, 8} {
		if _, err := rd2.ReadAt(small, int64(c*chunk*8+100*8)); err != nil {
			t.Fatal(err)
		}
		if got := h5.ChunkDecodes(r2); got != uint64(i+1) {
			t.Fatalf("after %d random reads, %d chunks decoded", i+1, got)
		}
	}
}

// TestReadAheadFollowsChunkGrid: a sequential reader of a 3-D dataset whose
// chunks are smaller than its planes first needs the chunks in their grid
// order, so read-ahead decodes along that order: after the first plane,
// the chunks of the next planes' blocks decode in the background, and a
// whole pass still decodes each chunk once.
func TestReadAheadFollowsChunkGrid(t *testing.T) {
	name := filepath.Join(t.TempDir(), "grid.h5")
	dims, chunks := []uint64{16, 64, 256}, []uint64{4, 16, 32} // 128 chunks of 16 KiB
	data := writeFloat64Dataset(t, name, dims, chunks, []h5.Filter{{ID: 1, Params: []uint32{1}}}, func(i int) uint64 {
		return math.Float64bits(float64(i%977) * 0.5)
	})
	const total = 4 * 4 * 8
	r, err := h5.OpenFile(name, &h5.Options{CacheBytes: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	o, _ := r.OpenPath("/d")
	rd, err := o.AsDataset()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	read := func(off int) {
		t.Helper()
		if _, err := rd.ReadAt(buf, int64(off)); err != nil {
			t.Fatal(err)
		}
		if string(buf) != string(data[off:off+len(buf)]) {
			t.Fatalf("bytes at %d differ", off)
		}
	}
	// The first plane (two reads) touches the 32 chunks of the first
	// block of planes; the next chunks in grid order are the other
	// blocks', which read-ahead decodes without being asked.
	read(0)
	read(len(buf))
	deadline := time.Now().Add(10 * time.Second)
	for h5.ChunkDecodes(r) < total && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := h5.ChunkDecodes(r); got != total {
		t.Fatalf("after the first plane, %d chunks decoded, want all %d decoded ahead", got, total)
	}
	for off := 2 * len(buf); off < len(data); off += len(buf) {
		read(off)
	}
	if got := h5.ChunkDecodes(r); got != total {
		t.Errorf("a sequential pass decoded %d chunks, want %d", got, total)
	}
}

// BenchmarkReadCubeCached reads a (16, 256, 512) float64 cube whose chunks
// (4, 32, 32) are narrower than its rows, in 1 MiB requests, with every
// chunk cached: the cost of walking thousands of short runs per request
// and copying them.
func BenchmarkReadCubeCached(b *testing.B) {
	d, data := benchDataset(b, []uint64{16, 256, 512}, []uint64{4, 32, 32}, false, 64<<20)
	buf := make([]byte, 1<<20)
	readThrough(b, d, buf, int64(len(data))) // fill the cache
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		readThrough(b, d, buf, int64(len(data)))
	}
	b.StopTimer()
	if string(buf) != string(data[len(data)-len(buf):]) {
		b.Fatal("bytes differ")
	}
}
