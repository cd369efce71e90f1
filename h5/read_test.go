package h5_test

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/h5mount/h5mount/h5"
)

// bigOffset is the byte offset of big[344,678,23,36] in the seed's 2 TiB
// dataset of shape (1024,1024,1024,512) float32.
const bigOffset = int64((((344*1024+678)*1024+23)*512 + 36) * 4)

func openBig(t *testing.T, file string) *h5.Dataset {
	t.Helper()
	f, err := h5.OpenFile(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	o, err := f.OpenPath("/big")
	if err != nil {
		t.Fatal(err)
	}
	d, err := o.AsDataset()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestSparseReadsAreCheap: one element, or any 1 MiB window, of the 2 TiB
// dataset reads at once and allocates nothing in proportion to its size.
func TestSparseReadsAreCheap(t *testing.T) {
	for _, file := range []string{"../testdata/weather.h5", "../testdata/weather_latest.h5"} {
		t.Run(file, func(t *testing.T) {
			d := openBig(t, file)
			if d.Size() != 2<<40 {
				t.Fatalf("size %d, want 2 TiB", d.Size())
			}
			var v [4]byte
			if _, err := d.ReadAt(v[:], bigOffset); err != nil {
				t.Fatal(err)
			}
			if got := math.Float32frombits(binary.LittleEndian.Uint32(v[:])); got != 42 {
				t.Fatalf("big[344,678,23,36] = %v, want 42", got)
			}
			buf := make([]byte, 1<<20)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			start := time.Now()
			for _, off := range []int64{0, 1 << 40, d.Size() - 1<<20, bigOffset &^ (1<<20 - 1), 123456789} {
				n, err := d.ReadAt(buf, off)
				if err != nil || n != len(buf) {
					t.Fatalf("ReadAt(%d) = %d, %v", off, n, err)
				}
			}
			elapsed := time.Since(start)
			runtime.ReadMemStats(&after)
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
				t.Errorf("five 1 MiB reads allocated %d bytes", alloc)
			}
			if elapsed > 2*time.Second {
				t.Errorf("five 1 MiB reads took %v", elapsed)
			}
		})
	}
}

func TestHyperslabMatchesByteReads(t *testing.T) {
	d := openBig(t, "../testdata/weather.h5")
	start := []uint64{344, 677, 20, 30}
	count := []uint64{1, 3, 5, 10}
	dst := make([]byte, 4*1*3*5*10)
	if err := d.ReadHyperslab(start, count, dst); err != nil {
		t.Fatal(err)
	}
	nonzero := 0
	for i := 0; i < len(dst); i += 4 {
		if v := math.Float32frombits(binary.LittleEndian.Uint32(dst[i:])); v != 0 {
			nonzero++
			// [0, 1, 3, 6] inside the slab is the written element.
			if want := ((1*5+3)*10 + 6) * 4; i != want || v != 42 {
				t.Errorf("value %v at slab byte %d, want 42 at %d", v, i, want)
			}
		}
	}
	if nonzero != 1 {
		t.Errorf("%d non-zero elements in the slab, want 1", nonzero)
	}
	if err := d.ReadHyperslab([]uint64{1023, 0, 0, 0}, []uint64{2, 1, 1, 1}, dst); err == nil {
		t.Error("slab past the end accepted")
	}
}

// TestChunksLargerThanTheCacheDecodeOnce: a sequential reader of chunks
// larger than the whole cache decodes each once: the cache keeps the chunk
// last used whatever its size, and lets it go for the next.
func TestChunksLargerThanTheCacheDecodeOnce(t *testing.T) {
	const chunk, chunks = 1 << 20, 4
	want := make([]byte, chunk*chunks)
	rand.New(rand.NewSource(5)).Read(want[:len(want)/2]) // half noise, half zeros
	name := gzipU8File(t, []uint64{chunk * chunks}, []uint64{chunk}, want)
	f := readInOrder(t, name, 256<<10, want)
	defer f.Close()
	if n := h5.ChunkDecodes(f); n != chunks {
		t.Fatalf("%d chunk decodes for %d chunks larger than the cache, read in order", n, chunks)
	}
	if held := f.CachedBytes(); held < chunk || held > chunk+chunk/4 {
		t.Fatalf("the cache holds %d bytes; want the last chunk, %d", held, chunk)
	}
}

// TestRowsOfChunksLargerThanTheCacheDecodeOnce: a reader going through a
// dataset in order crosses every chunk of a row of chunks with each read;
// when that row is larger than the cache, the cache grows to hold it while
// the reader goes on (each chunk decoded once), and gives the memory back
// once the reader has stopped.
func TestRowsOfChunksLargerThanTheCacheDecodeOnce(t *testing.T) {
	const rows, cols, chunkRows, chunkCols = 1024, 4096, 256, 1024 // chunks of 256 KiB, four to a row
	const budget = 512 << 10
	want := make([]byte, rows*cols)
	for i := 0; i < rows*cols; i += 4 {
		binary.LittleEndian.PutUint32(want[i:], uint32(i*2654435761))
	}
	name := gzipU8File(t, []uint64{rows, cols}, []uint64{chunkRows, chunkCols}, want)
	f := readInOrder(t, name, budget, want)
	defer f.Close()
	chunks := uint64(rows / chunkRows * (cols / chunkCols))
	if n := h5.ChunkDecodes(f); n != chunks {
		t.Fatalf("%d chunk decodes for %d chunks, read in order through a cache smaller than a row of them", n, chunks)
	}
	deadline := time.Now().Add(10 * time.Second)
	for f.CachedBytes() > budget {
		if time.Now().After(deadline) {
			t.Fatalf("the cache still holds %d bytes after the reader stopped; its size is %d", f.CachedBytes(), budget)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// readInOrder opens the file with a cache of cacheBytes and reads its
// dataset /d from start to end, 64 KiB at a time, which must give want.
func readInOrder(t *testing.T, name string, cacheBytes int64, want []byte) *h5.File {
	t.Helper()
	f, err := h5.OpenFile(name, &h5.Options{CacheBytes: cacheBytes})
	if err != nil {
		t.Fatal(err)
	}
	d := openDatasetRW(t, f, "/d")
	got := make([]byte, len(want))
	const step = 64 << 10
	for off := 0; off < len(got); off += step {
		if _, err := d.ReadAt(got[off:min(off+step, len(got))], int64(off)); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got, want) {
		t.Fatal("the bytes read differ from those written")
	}
	return f
}

// TestRowsOfChunksBeyondTheCacheKeepWhatFits: a row of chunks larger than
// the cache can grow to is read in a cycle; the chunks the cache holds stay
// for the next read instead of each new chunk pushing out the one needed
// next, so a read decodes only the chunks that do not fit, not the row.
func TestRowsOfChunksBeyondTheCacheKeepWhatFits(t *testing.T) {
	const rows, cols, chunkCols = 512, 8192, 512 // sixteen chunks of 256 KiB to a row
	want := make([]byte, rows*cols)
	rand.New(rand.NewSource(8)).Read(want)
	name := gzipU8File(t, []uint64{rows, cols}, []uint64{rows, chunkCols}, want)
	// A 256 KiB cache grows to 1 MiB at most: four of the sixteen chunks.
	f := readInOrder(t, name, 256<<10, want)
	defer f.Close()
	const reads, perRow = rows * cols / (64 << 10), cols / chunkCols
	if n := h5.ChunkDecodes(f); n >= reads*perRow {
		t.Fatalf("%d chunk decodes for %d reads of a row of %d chunks: every read decoded the whole row", n, reads, perRow)
	}
}

// gzipU8File makes a file whose dataset /d, of bytes in gzip chunks of the
// given shape, holds want.
func gzipU8File(t *testing.T, dims, chunks []uint64, want []byte) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "d.h5")
	f, root := createFile(t, name)
	d, err := root.CreateDataset("d", &h5.DatasetSpec{Type: h5.Uint8Type(), Dims: dims, Chunks: chunks,
		Filters: []h5.Filter{{ID: 1, Params: []uint32{1}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.WriteAt(want, 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return name
}
