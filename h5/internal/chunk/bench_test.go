package chunk

import (
	"math/rand"
	"testing"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// Chunk index lookups, the cost every chunked read pays per chunk:
//
//	go test -run '^$' -bench . -benchmem ./h5/internal/chunk

// benchIndex builds an index of 100×100 chunks of a 2-D dataset in memory,
// the way the engine writes one.
func benchIndex(b *testing.B, indexType uint8, version uint8) Params {
	mem := &memFile{buf: make([]byte, 64)}
	reader := &format.Reader{R: mem, Size: 1 << 40, Sizes: format.Sizes{Offset: 8, Length: 8}}
	layout := &format.Layout{Version: version, Class: format.LayoutChunked, Addr: format.Undefined, IndexType: indexType,
		ChunkDims: []uint64{4, 5}, ElementSize: 8, BT2NodeSize: 2048, BT2SplitPercent: 100, BT2MergePercent: 40,
		// libhdf5's defaults
		FAPageBits: 10, EAMaxBits: 32, EAIndexElements: 4, EAMinPointers: 4, EAMinElements: 16, EAPageBits: 10}
	p := Params{R: reader, Layout: layout, Dims: []uint64{400, 500}, ElementSize: 8, Filtered: true,
		MaxDims: []uint64{format.Unlimited, format.Unlimited}}
	switch indexType {
	case format.IndexFixedArray:
		p.MaxDims = p.Dims
	case format.IndexExtensible:
		p.MaxDims = []uint64{format.Unlimited, 500} // one unlimited dimension
	}
	w, err := OpenWriter(p)
	if err != nil {
		b.Fatal(err)
	}
	grid := []uint64{100, 100}
	for _, i := range rand.New(rand.NewSource(1)).Perm(10000) {
		lin := uint64(i)
		addr, err := w.Put(mem, Chunk{Scaled: unlinear(lin, grid), Addr: 1<<30 + lin*4096, Size: 100 + lin%50})
		if err != nil {
			b.Fatal(err)
		}
		layout.Addr = addr
	}
	return p
}

func benchLookups(b *testing.B, p Params, fresh bool) {
	grid := []uint64{100, 100}
	scaled := make([][]uint64, 1024)
	rng := rand.New(rand.NewSource(2))
	for i := range scaled {
		scaled[i] = unlinear(uint64(rng.Intn(10000)), grid)
	}
	idx, err := Open(p)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if fresh {
			// A newly opened index: the nodes are read and decoded.
			if idx, err = Open(p); err != nil {
				b.Fatal(err)
			}
		}
		s := scaled[i%len(scaled)]
		c, ok, err := idx.Lookup(s)
		if err != nil || !ok || c.Addr != 1<<30+linearIndex(s, grid)*4096 {
			b.Fatalf("lookup %v: %+v %v %v", s, c, ok, err)
		}
	}
}

func BenchmarkLookupBTree1(b *testing.B) {
	p := benchIndex(b, format.IndexBTree1, 3)
	b.Run("warm", func(b *testing.B) { benchLookups(b, p, false) })
	b.Run("fresh", func(b *testing.B) { benchLookups(b, p, true) })
}

func BenchmarkLookupBTree2(b *testing.B) {
	p := benchIndex(b, format.IndexBTree2, 4)
	b.Run("warm", func(b *testing.B) { benchLookups(b, p, false) })
	b.Run("fresh", func(b *testing.B) { benchLookups(b, p, true) })
}

func BenchmarkLookupFixedArray(b *testing.B) {
	p := benchIndex(b, format.IndexFixedArray, 4)
	b.Run("warm", func(b *testing.B) { benchLookups(b, p, false) })
	b.Run("fresh", func(b *testing.B) { benchLookups(b, p, true) })
}

func BenchmarkLookupExtensibleArray(b *testing.B) {
	p := benchIndex(b, format.IndexExtensible, 4)
	b.Run("warm", func(b *testing.B) { benchLookups(b, p, false) })
}
