package h5_test

import (
	"bytes"
	"math/rand"
	"runtime"
	"sync"
	"testing"

	"github.com/h5mount/h5mount/h5"
)

// TestHeldChunksAreNeverReused reads a dataset whose chunks are evicted and
// their memory reused all the time (a cache of four chunks) from several
// goroutines at once, each holding what ReadSlices and DecodedSpan hand out
// across reads of its own and others'. Recycled memory is overwritten in
// this package's tests, so a chunk reused while still held shows as wrong
// bytes.
func TestHeldChunksAreNeverReused(t *testing.T) {
	const chunkElems, chunks = 1024, 64
	shuffleGzip := []h5.Filter{{ID: 2, Params: []uint32{8}}, {ID: 1, Params: []uint32{1}}}
	for _, c := range []struct {
		name    string
		filters []h5.Filter
	}{{"shuffle+gzip", shuffleGzip}, {"gzip", gzip1}, {"unfiltered", nil}} {
		t.Run(c.name, func(t *testing.T) {
			name, want := sliceFixture(t, []uint64{chunks * chunkElems}, []uint64{chunkElems}, c.filters, nil, chunks*chunkElems, nil)
			f, err := h5.OpenFile(name, &h5.Options{CacheBytes: 4 * chunkElems * 8})
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			d := openDatasetRW(t, f, "/d")
			before := h5.RecycledChunks()
			var wg sync.WaitGroup
			for w := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := holdAndRead(d, want, rand.New(rand.NewSource(int64(w)))); err != "" {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			if n := h5.RecycledChunks() - before; n < 100 {
				t.Errorf("%d chunks' memory reused: the test did not exercise reuse", n)
			}
		})
	}
}

// holdAndRead pins chunks through ReadSlices and DecodedSpan, reads other
// ranges while holding them, then checks the pinned bytes; it returns what
// went wrong, if anything.
func holdAndRead(d *h5.Dataset, want []byte, rng *rand.Rand) string {
	size := int64(len(want))
	other := make([]byte, 3*8192)
	readOther := func() string {
		off := rng.Int63n(size)
		n, err := d.ReadAt(other[:rng.Intn(len(other))+1], off)
		if err != nil && n == 0 {
			return err.Error()
		}
		if !bytes.Equal(other[:n], want[off:off+int64(n)]) {
			return "ReadAt read other bytes"
		}
		return ""
	}
	for range 300 {
		var pins h5.Pins
		off := rng.Int63n(size)
		vec, ok, err := d.ReadSlices(off, rng.Intn(3*8192)+1, nil, &pins)
		if err != nil {
			return err.Error()
		}
		// A random reader's small reads come with the rest of their chunk.
		start, span, spanOK := d.DecodedSpan(rng.Int63n(size), &pins)
		for range 3 {
			if msg := readOther(); msg != "" {
				return msg
			}
			runtime.Gosched()
		}
		if ok {
			got := bytes.Join(vec, nil)
			if !bytes.Equal(got, want[off:off+int64(len(got))]) {
				return "slices changed while pinned"
			}
		}
		if spanOK && !bytes.Equal(span, want[start:start+int64(len(span))]) {
			return "a decoded span changed while pinned"
		}
		pins.Release()
	}
	return ""
}

// TestCacheCountsTheMemoryItHolds: a chunk lies in a pooled buffer larger
// than itself, and the cache must count the buffer, not the chunk: 1,500
// chunks of 4 bytes each held a 64 KiB buffer while the cache counted 6 KB
// (a damaged file's walk through the mount grew past 512 MiB).
func TestCacheCountsTheMemoryItHolds(t *testing.T) {
	for _, c := range []struct {
		name    string
		filters []h5.Filter
	}{{"unfiltered", nil}, {"gzip", gzip1}} {
		t.Run(c.name, func(t *testing.T) {
			// 1,500 chunks of one float64 each.
			name, want := sliceFixture(t, []uint64{1500}, []uint64{1}, c.filters, nil, 1500, nil)
			const budget = 1 << 20
			f, err := h5.OpenFile(name, &h5.Options{CacheBytes: budget})
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			d := openDatasetRW(t, f, "/d")
			got := make([]byte, 8)
			for i := range 1500 {
				if _, err := d.ReadAt(got, int64(8*i)); err != nil || !bytes.Equal(got, want[8*i:8*i+8]) {
					t.Fatalf("element %d: %v", i, err)
				}
			}
			counted, held := h5.CacheMemory(f)
			if held > counted || counted > budget {
				t.Errorf("the cache counts %d bytes against a budget of %d and holds %d", counted, budget, held)
			}
			if held < 1500*8 {
				t.Errorf("the cache holds %d bytes: it kept fewer than the 1,500 chunks read", held)
			}
		})
	}
}
