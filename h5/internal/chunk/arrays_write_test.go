package chunk

import (
	"errors"
	"fmt"
	"math/rand"
	"sync"
	"testing"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// In-memory round trips of the fixed array, extensible array and implicit
// index writers: chunks put in random order, read back through Lookup
// and Walk, on the writer and on an index opened afresh from the bytes.

// arrayRig is a dataset's index parameters over a memFile.
type arrayRig struct {
	mem    *memFile
	layout *format.Layout
	p      Params
}

func newArrayRig(indexType uint8, dims, maxDims, chunkDims []uint64, elemSize uint32, filtered bool) *arrayRig {
	mem := &memFile{buf: make([]byte, 64)}
	reader := &format.Reader{R: mem, Size: 1 << 40, Sizes: format.Sizes{Offset: 8, Length: 8}}
	l := &format.Layout{Version: 4, Class: format.LayoutChunked, Addr: format.Undefined, IndexType: indexType,
		ChunkDims: chunkDims, ElementSize: elemSize}
	return &arrayRig{mem: mem, layout: l, p: Params{R: reader, Layout: l, Dims: dims, MaxDims: maxDims,
		ElementSize: elemSize, Filtered: filtered}}
}

// put records c through w as the engine does: a new index address goes to
// the layout message.
func (r *arrayRig) put(t *testing.T, w Writer, c Chunk) {
	t.Helper()
	addr, err := w.Put(r.mem, c)
	if err != nil {
		t.Fatalf("put %v: %v", c.Scaled, err)
	}
	if r.layout.Addr != format.Undefined && addr != r.layout.Addr {
		t.Fatalf("put %v: index moved from 0x%x to 0x%x", c.Scaled, r.layout.Addr, addr)
	}
	r.layout.Addr = addr
}

func scaledKey(s []uint64) string { return fmt.Sprint(s) }

// check compares an index with the model through Lookup of every grid
// position and through Walk.
func checkIndex(t *testing.T, name string, idx Index, grid []uint64, want map[string]Chunk) {
	t.Helper()
	n := uint64(1)
	for _, g := range grid {
		n *= g
	}
	for lin := uint64(0); lin < n; lin++ {
		s := unlinear(lin, grid)
		c, ok, err := idx.Lookup(s)
		if err != nil {
			t.Fatalf("%s: lookup %v: %v", name, s, err)
		}
		w, exists := want[scaledKey(s)]
		if ok != exists || ok && (c.Addr != w.Addr || c.Size != w.Size || c.FilterMask != w.FilterMask || scaledKey(c.Scaled) != scaledKey(s)) {
			t.Fatalf("%s: lookup %v: %v %+v, want %v %+v", name, s, ok, c, exists, w)
		}
	}
	seen := map[string]bool{}
	err := idx.Walk(func(c Chunk) error {
		k := scaledKey(c.Scaled)
		w, ok := want[k]
		if !ok || seen[k] || c.Addr != w.Addr || c.Size != w.Size || c.FilterMask != w.FilterMask {
			return fmt.Errorf("walk: unexpected %+v (want %+v, seen %v)", c, w, seen[k])
		}
		seen[k] = true
		return nil
	})
	if err != nil || len(seen) != len(want) {
		t.Fatalf("%s: walk saw %d of %d chunks: %v", name, len(seen), len(want), err)
	}
}

// putAll puts chunks at the given grid positions (row-major indexes) in
// random order, then overwrites a few, checking along the way.
func (r *arrayRig) putAll(t *testing.T, w Writer, grid []uint64, lins []uint64, rng *rand.Rand, want map[string]Chunk, chunkBytes uint64) {
	t.Helper()
	rng.Shuffle(len(lins), func(i, j int) { lins[i], lins[j] = lins[j], lins[i] })
	for i, lin := range lins {
		s := unlinear(lin, grid)
		c := Chunk{Scaled: s, Addr: 1<<32 + lin*0x100 + uint64(rng.Intn(16)), Size: chunkBytes}
		if r.p.Filtered {
			c.Size = 1 + uint64(rng.Intn(int(chunkBytes)+50))
			c.FilterMask = uint32(rng.Intn(4))
		}
		r.put(t, w, c)
		want[scaledKey(s)] = c
		if i == len(lins)/2 {
			r.reopenCheck(t, "halfway", grid, want)
		}
	}
	for _, lin := range lins[:len(lins)/5] {
		s := unlinear(lin, grid)
		c := want[scaledKey(s)]
		c.Addr += 8
		if r.p.Filtered {
			c.Size, c.FilterMask = c.Size/2+1, c.FilterMask^1
		}
		r.put(t, w, c)
		want[scaledKey(s)] = c
	}
}

// reopenCheck opens the index afresh from the bytes and checks it, and
// checks that its writer carries on from there.
func (r *arrayRig) reopenCheck(t *testing.T, name string, grid []uint64, want map[string]Chunk) {
	t.Helper()
	idx, err := Open(r.p)
	if err != nil {
		t.Fatalf("%s: open: %v", name, err)
	}
	checkIndex(t, name+" (reopened)", idx, grid, want)
}

func allLins(grid []uint64) []uint64 {
	n := uint64(1)
	for _, g := range grid {
		n *= g
	}
	l := make([]uint64, n)
	for i := range l {
		l[i] = uint64(i)
	}
	return l
}

func TestFixedArrayWrite(t *testing.T) {
	for _, tc := range []struct {
		name       string
		dims, maxd []uint64
		chunk      []uint64
		pageBits   uint8
		filtered   bool
		wantPaged  bool
		wantPages  uint64
	}{
		{"small", []uint64{10, 7}, nil, []uint64{3, 2}, 10, false, false, 0},
		{"small_filtered", []uint64{10, 7}, nil, []uint64{3, 2}, 10, true, false, 0},
		{"maxgt", []uint64{10, 10}, []uint64{20, 30}, []uint64{3, 4}, 10, true, false, 0},
		// 35 elements in pages of 8: five pages, the last of 3.
		{"paged", []uint64{13, 10}, nil, []uint64{2, 2}, 3, false, true, 5},
		{"paged_filtered", []uint64{13, 10}, nil, []uint64{2, 2}, 3, true, true, 5},
		// 2100 elements in pages of 1024, as libhdf5's default.
		{"paged_default", []uint64{4200}, nil, []uint64{2}, 10, true, true, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			maxd := tc.maxd
			if maxd == nil {
				maxd = tc.dims
			}
			r := newArrayRig(format.IndexFixedArray, tc.dims, maxd, tc.chunk, 4, tc.filtered)
			r.layout.FAPageBits = tc.pageBits
			grid := gridDims(maxd, tc.chunk)
			chunkBytes := r.p.ChunkBytes()
			w, err := OpenWriter(r.p)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewSource(int64(len(tc.name))))
			want := map[string]Chunk{}
			lins := allLins(grid)
			// First a sparse subset (pages left untouched), then all.
			var some []uint64
			for _, l := range lins {
				if l%7 == 3 || l == uint64(len(lins))-1 {
					some = append(some, l)
				}
			}
			r.putAll(t, w, grid, some, rng, want, chunkBytes)
			checkIndex(t, "writer", w.(Index), grid, want)
			r.reopenCheck(t, "sparse", grid, want)
			idx, err := Open(r.p)
			if err != nil {
				t.Fatal(err)
			}
			fa := idx.(*fixedArray)
			if fa.paged != tc.wantPaged || fa.npages != tc.wantPages {
				t.Fatalf("paged %v with %d pages, want %v with %d", fa.paged, fa.npages, tc.wantPaged, tc.wantPages)
			}
			if fa.paged {
				for pg := uint64(0); pg < fa.npages; pg++ {
					used := false
					for _, l := range some {
						used = used || l/fa.pageNelmts == pg
					}
					if bitSet(fa.pageInit, pg) != used {
						t.Fatalf("page %d initialized %v, used %v", pg, bitSet(fa.pageInit, pg), used)
					}
				}
			}
			// The reopened index is the writer now, as the engine uses it.
			r.putAll(t, idx.(Writer), grid, allLins(grid), rng, want, chunkBytes)
			checkIndex(t, "all", idx, grid, want)
			r.reopenCheck(t, "all", grid, want)
		})
	}
}

// TestFixedArrayHeaderOnly: a header without a data block (libhdf5 makes
// the header when the index is created, the data block at the first set).
func TestFixedArrayHeaderOnly(t *testing.T) {
	r := newArrayRig(format.IndexFixedArray, []uint64{9, 9}, []uint64{9, 9}, []uint64{2, 2}, 8, true)
	r.layout.FAPageBits = 4
	fa, err := newFixedArray(r.p)
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := r.mem.Alloc(faHeaderSize(r.p.R.Sizes))
	fa.hdrAddr = addr
	if err := r.mem.WriteAt(fa.encodeHeader(format.Undefined), addr); err != nil {
		t.Fatal(err)
	}
	r.layout.Addr = addr
	idx, err := Open(r.p)
	if err != nil {
		t.Fatal(err)
	}
	grid := gridDims(r.p.Dims, r.layout.ChunkDims)
	checkIndex(t, "empty", idx, grid, map[string]Chunk{})
	w, err := OpenWriter(r.p)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Chunk{}
	r.putAll(t, w, grid, []uint64{0, 17, 24}, rand.New(rand.NewSource(3)), want, r.p.ChunkBytes())
	r.reopenCheck(t, "header only", grid, want)
}

func TestArrayWriteErrors(t *testing.T) {
	r := newArrayRig(format.IndexFixedArray, []uint64{10}, []uint64{10}, []uint64{1 << 20}, 1<<10, true)
	r.layout.FAPageBits = 10
	w, err := OpenWriter(r.p)
	if err != nil {
		t.Fatal(err)
	}
	// A 1 GiB chunk: 5-byte sizes (libhdf5's chunk_size_len); 2^40 does not fit.
	if _, err := w.Put(r.mem, Chunk{Scaled: []uint64{0}, Addr: 100, Size: 1 << 40}); !errors.Is(err, format.ErrUnsupported) {
		t.Fatalf("oversized filtered chunk: %v", err)
	}
	if _, err := w.Put(r.mem, Chunk{Scaled: []uint64{1}, Addr: 100, Size: 1}); !errors.Is(err, format.ErrCorrupt) {
		t.Fatalf("chunk outside the grid: %v", err)
	}
	r.layout.FAPageBits = 0
	if _, err := OpenWriter(r.p); !errors.Is(err, format.ErrCorrupt) {
		t.Fatalf("page bits 0: %v", err)
	}
}

// eaRig makes an extensible array rig: the unlimited dimension is unlim.
func eaRig(dims, maxd, chunk []uint64, filtered bool, maxBits, ibe, minPtrs, minElmts, pageBits uint8) *arrayRig {
	r := newArrayRig(format.IndexExtensible, dims, maxd, chunk, 2, filtered)
	l := r.layout
	l.EAMaxBits, l.EAIndexElements, l.EAMinPointers, l.EAMinElements, l.EAPageBits = maxBits, ibe, minPtrs, minElmts, pageBits
	return r
}

// eaExpectStats recomputes the header statistics from the indexes set:
// the blocks libhdf5 would have created for them.
func eaExpectStats(ea *extensibleArray, idxs []uint64) [6]uint64 {
	var st [6]uint64
	st[5] = ea.idxBlkElmts
	sblocks, dblocks := map[int]bool{}, map[[2]uint64]bool{}
	for _, idx := range idxs {
		if idx+1 > st[4] {
			st[4] = idx + 1
		}
		if idx < ea.idxBlkElmts {
			continue
		}
		s, off, _ := ea.sblkOf(idx)
		info := ea.sblks[s]
		if s >= ea.iblkNsblks && !sblocks[s] {
			sblocks[s] = true
			_, _, size := ea.superBlockGeometry(s)
			st[0]++
			st[1] += size
		}
		key := [2]uint64{uint64(s), off / info.dblkNelmts}
		if !dblocks[key] {
			dblocks[key] = true
			size, _ := ea.dataBlockSize(info.dblkNelmts)
			st[2]++
			st[3] += size
			st[5] += info.dblkNelmts
		}
	}
	return st
}

func TestExtensibleArrayWrite(t *testing.T) {
	for _, tc := range []struct {
		name                                     string
		dims, maxd, chunk                        []uint64
		filtered                                 bool
		maxBits, ibe, minPtrs, minElmts, pageBit uint8
		lins                                     func(grid []uint64) []uint64
	}{
		// Tiny parameters: every structure within 2^10 elements. Data
		// blocks of the index block hold 2 and 4 elements; super blocks
		// from 2 on, paged (pages of 4) from super block 3 on.
		{"tiny_1d", []uint64{50}, []uint64{format.Unlimited}, []uint64{1}, false, 10, 2, 2, 2, 2, nil},
		{"tiny_1d_filtered", []uint64{50}, []uint64{format.Unlimited}, []uint64{1}, true, 10, 2, 2, 2, 2, nil},
		// The unlimited dimension last: swizzled to the front.
		{"tiny_2d_unlim_last", []uint64{3, 5}, []uint64{3, format.Unlimited}, []uint64{1, 1}, true, 10, 3, 4, 4, 4, nil},
		// 3-D, unlimited in the middle, index block of no element.
		{"tiny_3d_mid", []uint64{2, 5, 3}, []uint64{2, format.Unlimited, 3}, []uint64{1, 1, 2}, false, 9, 0, 2, 2, 2, nil},
		// libhdf5's defaults, a sample reaching paged super blocks
		// (data blocks of 2048 elements from index 131060 on).
		{"default_sample", []uint64{10}, []uint64{format.Unlimited}, []uint64{1}, true, 32, 4, 4, 16, 10,
			func([]uint64) []uint64 {
				l := []uint64{0, 1, 3, 4, 19, 20, 51, 52, 115, 116, 243, 244, 600, 1011, 1012, 5000, 20000, 70000,
					131059, 131060, 131061, 132100, 133107, 133108, 135000, 139999, 262131, 262132, 600000, 1 << 22}
				return l
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := eaRig(tc.dims, tc.maxd, tc.chunk, tc.filtered, tc.maxBits, tc.ibe, tc.minPtrs, tc.minElmts, tc.pageBit)
			w, err := OpenWriter(r.p)
			if err != nil {
				t.Fatal(err)
			}
			ea := w.(*extensibleArray)
			maxIdx := uint64(1) << tc.maxBits
			var lins []uint64
			if tc.lins != nil {
				lins = tc.lins(nil)
			} else {
				for i := uint64(0); i < maxIdx; i++ {
					lins = append(lins, i)
				}
			}
			// Array index -> scaled coordinates through the linearizer.
			toScaled := func(idx uint64) []uint64 { return ea.lin.coords(idx) }
			rng := rand.New(rand.NewSource(int64(len(tc.name))))
			want := map[string]Chunk{}
			chunkBytes := r.p.ChunkBytes()
			var set []uint64
			put := func(idxs []uint64) {
				rng.Shuffle(len(idxs), func(i, j int) { idxs[i], idxs[j] = idxs[j], idxs[i] })
				for _, idx := range idxs {
					s := toScaled(idx)
					if got, ok := ea.lin.index(s); !ok || got != idx {
						t.Fatalf("index %d -> %v -> %d", idx, s, got)
					}
					c := Chunk{Scaled: s, Addr: 1<<33 + idx*64, Size: chunkBytes}
					if tc.filtered {
						c.Size, c.FilterMask = 1+idx%200, uint32(idx%3)
					}
					r.put(t, w, c)
					want[scaledKey(s)] = c
					set = append(set, idx)
				}
			}
			// Lookup over the grid up to the last index set.
			check := func(name string, idx Index) {
				t.Helper()
				hi := uint64(0)
				for _, i := range set {
					hi = max(hi, i+1)
				}
				for _, i := range set {
					c, ok, err := idx.Lookup(toScaled(i))
					if w := want[scaledKey(toScaled(i))]; err != nil || !ok || c.Addr != w.Addr || c.Size != w.Size || c.FilterMask != w.FilterMask {
						t.Fatalf("%s: lookup %d: %v %+v %v, want %+v", name, i, ok, c, err, w)
					}
				}
				// Unset indexes below the maximum read as unwritten.
				for i := uint64(0); i < hi && i < 1<<12; i++ {
					if _, isSet := want[scaledKey(toScaled(i))]; isSet {
						continue
					}
					if _, ok, err := idx.Lookup(toScaled(i)); ok || err != nil {
						t.Fatalf("%s: lookup of unset %d: %v %v", name, i, ok, err)
					}
				}
				seen := 0
				if err := idx.Walk(func(c Chunk) error {
					w, ok := want[scaledKey(c.Scaled)]
					if !ok || w.Addr != c.Addr || w.Size != c.Size || w.FilterMask != c.FilterMask {
						return fmt.Errorf("walk: %+v, want %+v", c, w)
					}
					seen++
					return nil
				}); err != nil || seen != len(want) {
					t.Fatalf("%s: walk %d of %d: %v", name, seen, len(want), err)
				}
			}
			half := len(lins) / 3
			put(append([]uint64(nil), lins[:half]...))
			check("writer", ea)
			idx, err := Open(r.p)
			if err != nil {
				t.Fatal(err)
			}
			check("reopened", idx)
			// Carry on through the reopened index, as the engine does.
			w = idx.(Writer)
			put(append([]uint64(nil), lins[half:]...))
			// Overwrite some.
			for _, i := range lins[:len(lins)/4] {
				c := want[scaledKey(toScaled(i))]
				c.Addr += 16
				r.put(t, w, c)
				want[scaledKey(toScaled(i))] = c
			}
			check("writer, all", idx)
			fresh, err := readExtensibleArrayHeader(r.p)
			if err != nil {
				t.Fatal(err)
			}
			check("reopened, all", fresh)
			got := [6]uint64{fresh.nsuperBlks, fresh.superBlkSize, fresh.ndataBlks, fresh.dataBlkSize, fresh.maxIdxSet, fresh.nelmts}
			if exp := eaExpectStats(fresh, set); got != exp {
				t.Fatalf("header statistics %v, want %v", got, exp)
			}
			t.Logf("statistics %v", got)
		})
	}
}

// TestExtensibleArrayHeaderOnly: a header without an index block, as
// libhdf5 leaves a dataset whose index was created but never written.
func TestExtensibleArrayHeaderOnly(t *testing.T) {
	r := eaRig([]uint64{5}, []uint64{format.Unlimited}, []uint64{1}, false, 32, 4, 4, 16, 10)
	ea, err := newExtensibleArray(r.p)
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := r.mem.Alloc(eaHeaderSize(r.p.R.Sizes))
	ea.hdrAddr = addr
	if err := r.mem.WriteAt(ea.encodeHeader(), addr); err != nil {
		t.Fatal(err)
	}
	r.layout.Addr = addr
	if idx, err := Open(r.p); err != nil {
		t.Fatal(err)
	} else if _, ok := idx.(emptyIndex); !ok {
		t.Fatalf("header only: %T", idx)
	}
	w, err := OpenWriter(r.p)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Chunk{}
	for _, i := range []uint64{2, 40, 300} {
		c := Chunk{Scaled: []uint64{i}, Addr: 1000 + i, Size: r.p.ChunkBytes()}
		r.put(t, w, c)
		want[scaledKey(c.Scaled)] = c
	}
	r.reopenCheck(t, "header only", []uint64{301}, want)
}

func TestImplicitWrite(t *testing.T) {
	r := newArrayRig(format.IndexImplicit, []uint64{10, 7}, []uint64{12, 7}, []uint64{3, 2}, 4, false)
	w, err := OpenWriter(r.p)
	if err != nil {
		t.Fatal(err)
	}
	pl := w.(Placer)
	grid := []uint64{4, 4}
	size := r.p.ChunkBytes()
	first, err := pl.Place(r.mem, []uint64{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	if first.FreshSize != 16*size || !first.Fixed || first.Addr != first.FreshAddr+6*size {
		t.Fatalf("first placement %+v", first)
	}
	if _, err := w.Put(r.mem, Chunk{Scaled: []uint64{1, 2}, Addr: first.Addr + 1, Size: size}); !errors.Is(err, format.ErrUnsupported) {
		t.Fatalf("put elsewhere: %v", err)
	}
	for _, lin := range rand.New(rand.NewSource(1)).Perm(16) {
		s := unlinear(uint64(lin), grid)
		at, err := pl.Place(r.mem, s)
		if err != nil || at.FreshSize != 0 || !at.Fixed || at.Addr != first.FreshAddr+uint64(lin)*size {
			t.Fatalf("place %v: %+v %v", s, at, err)
		}
		r.put(t, w, Chunk{Scaled: s, Addr: at.Addr, Size: size})
	}
	if r.layout.Addr != first.FreshAddr {
		t.Fatalf("index address 0x%x, want 0x%x", r.layout.Addr, first.FreshAddr)
	}
	want := map[string]Chunk{}
	for lin := uint64(0); lin < 16; lin++ {
		s := unlinear(lin, grid)
		want[scaledKey(s)] = Chunk{Scaled: s, Addr: first.FreshAddr + lin*size, Size: size}
	}
	idx, err := Open(r.p)
	if err != nil {
		t.Fatal(err)
	}
	// Walk covers the current extent (10 rows: 4 chunk rows).
	checkIndex(t, "implicit", idx, grid, want)
	if _, err := idx.(Placer).Place(r.mem, []uint64{4, 0}); !errors.Is(err, format.ErrCorrupt) {
		t.Fatalf("place outside the grid: %v", err)
	}
	r.p.Filtered = true
	if _, err := OpenWriter(r.p); !errors.Is(err, format.ErrCorrupt) {
		t.Fatalf("filtered implicit: %v", err)
	}
}

// TestArrayWriteConcurrentReads reads (Lookup, Walk) while chunks are put:
// the race detector judges.
func TestArrayWriteConcurrentReads(t *testing.T) {
	fa := newArrayRig(format.IndexFixedArray, []uint64{64}, []uint64{64}, []uint64{1}, 4, true)
	fa.layout.FAPageBits = 3
	ea := eaRig([]uint64{64}, []uint64{format.Unlimited}, []uint64{1}, true, 10, 2, 2, 2, 2)
	for _, r := range []*arrayRig{fa, ea} {
		w, err := OpenWriter(r.p)
		if err != nil {
			t.Fatal(err)
		}
		r.put(t, w, Chunk{Scaled: []uint64{0}, Addr: 4096, Size: 1})
		idx, err := Open(r.p)
		if err != nil {
			t.Fatal(err)
		}
		w = idx.(Writer)
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := uint64(0); ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					if _, _, err := idx.Lookup([]uint64{i % 64}); err != nil {
						t.Error(err)
						return
					}
					if err := idx.Walk(func(Chunk) error { return nil }); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		for i := uint64(1); i < 64; i++ {
			if _, err := w.Put(r.mem, Chunk{Scaled: []uint64{i}, Addr: 4096 + i, Size: i}); err != nil {
				t.Fatal(err)
			}
		}
		close(stop)
		wg.Wait()
		n := 0
		if err := idx.Walk(func(Chunk) error { n++; return nil }); err != nil || n != 64 {
			t.Fatalf("%d chunks after the writes: %v", n, err)
		}
	}
}

// failingStorage fails writes at one address while fail is set.
type failingStorage struct {
	*memFile
	fail   bool
	failAt uint64
}

func (f *failingStorage) WriteAt(p []byte, addr uint64) error {
	if f.fail && addr == f.failAt {
		return errors.New("write failed")
	}
	return f.memFile.WriteAt(p, addr)
}

// TestArrayWriteRetry: a Put whose header write fails leaves the header to
// be written by the next Put, even one that changes nothing else in it.
func TestArrayWriteRetry(t *testing.T) {
	fa := newArrayRig(format.IndexFixedArray, []uint64{6}, []uint64{6}, []uint64{1}, 4, false)
	fa.layout.FAPageBits = 2
	ea := eaRig([]uint64{6}, []uint64{format.Unlimited}, []uint64{1}, false, 10, 2, 2, 2, 2)
	for _, r := range []*arrayRig{fa, ea} {
		w, err := OpenWriter(r.p)
		if err != nil {
			t.Fatal(err)
		}
		// The header is the first allocation.
		s := &failingStorage{memFile: r.mem, fail: true, failAt: uint64(len(r.mem.buf))}
		if _, err := w.Put(s, Chunk{Scaled: []uint64{5}, Addr: 500, Size: r.p.ChunkBytes()}); err == nil {
			t.Fatal("put with a failing header write succeeded")
		}
		s.fail = false
		want := map[string]Chunk{}
		// Element 4 shares element 5's data block: no new block.
		for _, i := range []uint64{4, 5} {
			c := Chunk{Scaled: []uint64{i}, Addr: 100 * i, Size: r.p.ChunkBytes()}
			r.put(t, w, c)
			want[scaledKey(c.Scaled)] = c
		}
		r.reopenCheck(t, "retried", []uint64{6}, want)
	}
}
