package chunk

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// TestBTree2WriteInsertUpdate builds chunk v2 B-trees from nothing in
// memory: thousands of chunks of a 2-D dataset in random order through tiny
// nodes (so the tree grows several levels through leaf, internal and root
// splits and 2- and 3-node redistribution), then updates of existing
// chunks, and reads every record back through the reader.
func TestBTree2WriteInsertUpdate(t *testing.T) {
	for _, tc := range []struct {
		name         string
		filtered     bool
		nodeSize     uint32
		split, merge uint8
		n            int
	}{
		{"unfiltered", false, 128, 100, 40, 3000},
		{"filtered", true, 160, 100, 40, 3000},
		{"split80", false, 256, 80, 30, 2500},
		{"default-node", true, 2048, 100, 40, 6000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testBTree2Write(t, tc.filtered, tc.nodeSize, tc.split, tc.merge, tc.n)
		})
	}
}

func testBTree2Write(t *testing.T, filtered bool, nodeSize uint32, split, merge uint8, n int) {
	mem := &memFile{buf: make([]byte, 64)}
	sizes := format.Sizes{Offset: 8, Length: 8}
	reader := &format.Reader{R: mem, Size: 1 << 40, Sizes: sizes}
	layout := &format.Layout{Version: 4, Class: format.LayoutChunked, IndexType: format.IndexBTree2,
		Addr: format.Undefined, ChunkDims: []uint64{4, 5},
		BT2NodeSize: nodeSize, BT2SplitPercent: split, BT2MergePercent: merge}
	grid := []uint64{100, 90}
	p := Params{R: reader, Layout: layout, Dims: []uint64{400, 450}, ElementSize: 8, Filtered: filtered,
		MaxDims: []uint64{format.Unlimited, format.Unlimited}}
	w, err := OpenWriter(p)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(int64(nodeSize)))
	total := grid[0] * grid[1]
	want := map[uint64]Chunk{}
	chunkAt := func(lin uint64, gen uint64) Chunk {
		c := Chunk{Scaled: unlinear(lin, grid), Addr: 1<<32 + lin*4096 + gen, Size: 160}
		if filtered {
			c.Size = 1 + (lin*7+gen)%200
			c.FilterMask = uint32(gen % 3)
		}
		return c
	}
	put := func(c Chunk) {
		t.Helper()
		addr, err := w.Put(mem, c)
		if err != nil {
			t.Fatalf("put %v: %v", c.Scaled, err)
		}
		if layout.Addr == format.Undefined {
			layout.Addr = addr
		} else if addr != layout.Addr {
			t.Fatalf("index moved from 0x%x to 0x%x", layout.Addr, addr)
		}
		want[linearIndex(c.Scaled, grid)] = c
	}
	perm := rng.Perm(int(total))
	for i := 0; i < n; i++ {
		put(chunkAt(uint64(perm[i]), 0))
		if i < 64 || i%500 == 0 {
			check(t, p, w, grid, want, false)
		}
	}
	check(t, p, w, grid, want, true)
	// Updates: moved and resized chunks, in random order; then more
	// inserts among them.
	for i, j := range rng.Perm(n) {
		if i%3 == 0 {
			put(chunkAt(uint64(perm[j]), 1+uint64(i)))
		}
	}
	check(t, p, w, grid, want, true)
	for i := n; i < n+n/4 && i < int(total); i++ {
		put(chunkAt(uint64(perm[i]), 7))
		lin := uint64(perm[rng.Intn(i)])
		put(chunkAt(lin, 9+want[lin].Addr%4096))
	}
	check(t, p, w, grid, want, true)
	bt := w.(*btree2Index).bt
	if bt.Depth < 2 {
		t.Errorf("depth %d: want >= 2", bt.Depth)
	}
	t.Logf("%d records, depth %d, root %d records, %d bytes", bt.TotalRecords, bt.Depth, bt.RootRecords, len(mem.buf))
}

// check reads every grid position through the writer's own index (its
// cache) and through a freshly opened one (the file), walks both in order,
// and verifies the tree's structure from the file.
func check(t *testing.T, p Params, w Writer, grid []uint64, want map[uint64]Chunk, full bool) {
	t.Helper()
	fresh, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	x := fresh.(*btree2Index)
	less := func(a, b []byte) bool { return x.compare(x.scaledOf(a))(b) < 0 }
	if err := x.bt.Verify(less); err != nil {
		t.Fatal(err)
	}
	if x.bt.TotalRecords != uint64(len(want)) {
		t.Fatalf("header: %d records, want %d", x.bt.TotalRecords, len(want))
	}
	for _, idx := range []Index{w.(Index), fresh} {
		if full {
			for lin := uint64(0); lin < grid[0]*grid[1]; lin++ {
				c, ok, err := idx.Lookup(unlinear(lin, grid))
				if err != nil {
					t.Fatal(err)
				}
				wc, exists := want[lin]
				if ok != exists || ok && !sameChunk(c, wc) {
					t.Fatalf("lookup %v: %v %+v, want %v %+v", unlinear(lin, grid), ok, c, exists, wc)
				}
			}
		}
		var prev []uint64
		n := 0
		err := idx.Walk(func(c Chunk) error {
			if prev != nil && compareOffsets(prev, c.Scaled) >= 0 {
				return fmt.Errorf("walk out of order: %v after %v", c.Scaled, prev)
			}
			prev = c.Scaled
			if wc := want[linearIndex(c.Scaled, grid)]; !sameChunk(c, wc) {
				return fmt.Errorf("walk: %+v, want %+v", c, wc)
			}
			n++
			return nil
		})
		if err != nil || n != len(want) {
			t.Fatalf("walk: %d chunks (%v), want %d", n, err, len(want))
		}
	}
}

func sameChunk(a, b Chunk) bool {
	return a.Addr == b.Addr && a.Size == b.Size && a.FilterMask == b.FilterMask && compareOffsets(a.Scaled, b.Scaled) == 0
}

func (x *btree2Index) scaledOf(rec []byte) []uint64 {
	s := make([]uint64, x.rank)
	for i := range s {
		s[i] = x.scaledAt(rec, i)
	}
	return s
}

// TestBTree2WriteExisting updates and extends the v2 B-tree indexes libhdf5
// wrote in testdata/dense/chunks.h5 (in a copy in memory) until every chunk
// of a grid larger than the dataset is there, and reads them back.
func TestBTree2WriteExisting(t *testing.T) {
	data, sets := bt2LoadTest(t)
	for _, path := range []string{"/unfiltered", "/filtered", "/sparse", "/deep"} {
		t.Run(path[1:], func(t *testing.T) {
			mem := &memFile{buf: append([]byte(nil), data...)}
			r := bt2OpenReader(data, mem)
			r.Size = 1 << 40
			p, err := bt2DatasetParams(r, sets[path].Addr)
			if err != nil {
				t.Fatal(err)
			}
			idx, err := Open(p)
			if err != nil {
				t.Fatal(err)
			}
			grid := make([]uint64, len(p.Layout.ChunkDims))
			for i := range grid {
				grid[i] = (p.Dims[i]+p.Layout.ChunkDims[i]-1)/p.Layout.ChunkDims[i] + 3
			}
			want := map[uint64]Chunk{}
			if err := idx.Walk(func(c Chunk) error { want[linearIndex(c.Scaled, grid)] = c; return nil }); err != nil {
				t.Fatal(err)
			}
			before := len(want)
			w, err := OpenWriter(p)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewSource(3))
			for i, lin := range rng.Perm(int(grid[0] * grid[1])) {
				c := Chunk{Scaled: unlinear(uint64(lin), grid), Addr: 1<<33 + uint64(i)*64, Size: p.ChunkBytes()}
				if p.Filtered {
					c.Size, c.FilterMask = uint64(10+i%50), uint32(i%2)
				}
				addr, err := w.Put(mem, c)
				if err != nil || addr != p.Layout.Addr {
					t.Fatalf("put: 0x%x %v", addr, err)
				}
				want[uint64(lin)] = c
			}
			check(t, p, w, grid, want, true)
			t.Logf("%d records before, %d after, depth %d", before, len(want), w.(*btree2Index).bt.Depth)
		})
	}
}
