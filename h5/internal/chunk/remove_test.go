package chunk

import (
	"errors"
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// Removal from every index kind that has it: chunks put, then removed in
// random order with some put back, the index read through Lookup and Walk
// on the writer and afresh from the bytes after every few removals.

// removeSome removes a random half of want's chunks (all of them with
// all set) through r, putting every fifth back at once, and calls check
// now and then.
func removeSome(t *testing.T, r Remover, w Writer, s format.Space, want map[string]Chunk, all bool, rng *rand.Rand, check func(string)) {
	t.Helper()
	var keys []string
	for k := range want {
		keys = append(keys, k)
	}
	// Map order is random but not rng's: sort, then shuffle with rng.
	sortStrings(keys)
	rng.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	if !all {
		keys = keys[:len(keys)/2]
	}
	for i, k := range keys {
		c := want[k]
		if err := r.Remove(s, c.Scaled); err != nil {
			t.Fatalf("remove %v: %v", c.Scaled, err)
		}
		delete(want, k)
		if err := r.Remove(s, c.Scaled); !errors.Is(err, format.ErrNotFound) {
			t.Fatalf("second remove of %v: %v, want ErrNotFound", c.Scaled, err)
		}
		if i%5 == 4 && !all {
			c.Addr += 16
			if _, err := w.Put(s, c); err != nil {
				t.Fatalf("put back %v: %v", c.Scaled, err)
			}
			want[k] = c
		}
		if i%37 == 0 || i == len(keys)-1 {
			check(fmt.Sprintf("after %d removals", i+1))
		}
	}
}

func sortStrings(a []string) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

func TestArrayRemove(t *testing.T) {
	for _, tc := range []struct {
		name       string
		indexType  uint8
		dims, maxd []uint64
		chunk      []uint64
		filtered   bool
	}{
		{"fixed", format.IndexFixedArray, []uint64{30, 7}, []uint64{60, 7}, []uint64{3, 2}, false},
		{"fixed_filtered", format.IndexFixedArray, []uint64{30, 7}, []uint64{60, 7}, []uint64{3, 2}, true},
		{"extensible", format.IndexExtensible, []uint64{300}, []uint64{format.Unlimited}, []uint64{2}, false},
		{"extensible_filtered", format.IndexExtensible, []uint64{40, 6}, []uint64{format.Unlimited, 6}, []uint64{2, 3}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r *arrayRig
			if tc.indexType == format.IndexExtensible {
				r = eaRig(tc.dims, tc.maxd, tc.chunk, tc.filtered, 10, 2, 2, 2, 2)
			} else {
				r = newArrayRig(tc.indexType, tc.dims, tc.maxd, tc.chunk, 4, tc.filtered)
				r.layout.FAPageBits = 4
			}
			grid := gridDims(tc.dims, tc.chunk)
			w, err := OpenWriter(r.p)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewSource(int64(len(tc.name))))
			want := map[string]Chunk{}
			r.putAll(t, w, grid, allLins(grid), rng, want, r.p.ChunkBytes())
			idx, err := Open(r.p)
			if err != nil {
				t.Fatal(err)
			}
			check := func(when string) {
				checkIndex(t, tc.name+" "+when, idx, grid, want)
				r.reopenCheck(t, tc.name+" "+when, grid, want)
			}
			removeSome(t, idx.(Remover), idx.(Writer), r.mem, want, false, rng, check)
			removeSome(t, idx.(Remover), idx.(Writer), r.mem, want, true, rng, check)
		})
	}
}

func TestBTree2Remove(t *testing.T) {
	for _, filtered := range []bool{false, true} {
		t.Run(fmt.Sprint("filtered=", filtered), func(t *testing.T) {
			mem := &memFile{buf: make([]byte, 64)}
			reader := &format.Reader{R: mem, Size: 1 << 40, Sizes: format.Sizes{Offset: 8, Length: 8}}
			layout := &format.Layout{Version: 4, Class: format.LayoutChunked, IndexType: format.IndexBTree2,
				Addr: format.Undefined, ChunkDims: []uint64{4, 5}, BT2NodeSize: 512, BT2SplitPercent: 100, BT2MergePercent: 40}
			grid := []uint64{40, 30}
			p := Params{R: reader, Layout: layout, Dims: []uint64{160, 150}, ElementSize: 8, Filtered: filtered,
				MaxDims: []uint64{format.Unlimited, format.Unlimited}}
			w, err := OpenWriter(p)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]Chunk{}
			byLin := func() map[uint64]Chunk {
				m := map[uint64]Chunk{}
				for _, c := range want {
					m[linearIndex(c.Scaled, grid)] = c
				}
				return m
			}
			for lin := uint64(0); lin < grid[0]*grid[1]; lin++ {
				c := Chunk{Scaled: unlinear(lin, grid), Addr: 1<<32 + lin*4096, Size: 160}
				if filtered {
					c.Size, c.FilterMask = 1+lin%200, uint32(lin%3)
				}
				if layout.Addr, err = w.Put(mem, c); err != nil {
					t.Fatal(err)
				}
				want[scaledKey(c.Scaled)] = c
			}
			rng := rand.New(rand.NewSource(3))
			check := func(string) { check(t, p, w, grid, byLin(), true) }
			removeSome(t, w.(Remover), w, mem, want, false, rng, check)
			removeSome(t, w.(Remover), w, mem, want, true, rng, check)
			if len(mem.freed) == 0 {
				t.Error("removals freed no node")
			}
		})
	}
}

// smallBTree1 is a v1 chunk B-tree of tiny nodes (K=2, up to four entries
// a node) holding the 600 chunks of a 30x20 grid, put in random order:
// three levels and more. want lists the chunks by scaledKey.
func smallBTree1(tb testing.TB) (mem *memFile, p Params, idx *btree1Index, grid []uint64, want map[string]Chunk) {
	tb.Helper()
	mem = &memFile{buf: make([]byte, 64)}
	reader := &format.Reader{R: mem, Size: 1 << 40, Sizes: format.Sizes{Offset: 8, Length: 8}}
	layout := &format.Layout{Version: 3, Class: format.LayoutChunked, Addr: format.Undefined, ChunkDims: []uint64{4, 5}}
	p = Params{R: reader, Layout: layout, Dims: []uint64{120, 100}, ElementSize: 8, BTreeK: 2}
	idx = newBTree1Index(p)
	grid = []uint64{30, 20}
	want = map[string]Chunk{}
	for _, lin := range rand.New(rand.NewSource(5)).Perm(int(grid[0] * grid[1])) {
		c := Chunk{Scaled: unlinear(uint64(lin), grid), Addr: 1<<30 + uint64(lin)*64, Size: uint64(lin + 1)}
		if _, err := idx.Put(mem, c); err != nil {
			tb.Fatal(err)
		}
		want[scaledKey(c.Scaled)] = c
	}
	return mem, p, idx, grid, want
}

// TestBTree1Remove removes from v1 B-trees of tiny nodes (K=2, up to four
// entries a node, three levels and more) in random order and in order
// from the end, as a shrink does, checking the tree's keys and sibling
// links as libhdf5's searches need them after every few removals, and
// that the emptied nodes are freed.
func TestBTree1Remove(t *testing.T) {
	for _, order := range []string{"random", "from-the-end", "from-the-start"} {
		t.Run(order, func(t *testing.T) {
			mem, p, idx, grid, want := smallBTree1(t)
			layout := p.Layout
			nodes := func() int {
				n, err := verifyBTree1(newBTree1Index(p), layout.Addr)
				if err != nil {
					t.Fatal(err)
				}
				return n
			}
			before := nodes()
			check := func(when string) {
				t.Helper()
				checkIndex(t, order+" "+when, idx, grid, want)
				checkIndex(t, order+" "+when+" (reopened)", newBTree1Index(p), grid, want)
				nodes()
			}
			rng := rand.New(rand.NewSource(9))
			if order == "random" {
				removeSome(t, idx, idx, mem, want, false, rng, check)
				removeSome(t, idx, idx, mem, want, true, rng, check)
			} else {
				n := grid[0] * grid[1]
				for i := uint64(0); i < n; i++ {
					lin := i
					if order == "from-the-end" {
						lin = n - 1 - i
					}
					s := unlinear(lin, grid)
					if err := idx.Remove(mem, s); err != nil {
						t.Fatalf("remove %v: %v", s, err)
					}
					delete(want, scaledKey(s))
					if i%41 == 0 {
						check(fmt.Sprint("after ", i+1))
					}
				}
				check("all removed")
			}
			// Every node but the root freed, once: as many as there were
			// when only removals ran, more when puts in between split.
			freed := map[uint64]bool{}
			for _, f := range mem.freed {
				if freed[f[0]] || f[0] == layout.Addr || f[1] != idx.nodeSize() {
					t.Fatalf("freed %x (%d bytes) twice, or the root, or not a node", f[0], f[1])
				}
				freed[f[0]] = true
			}
			if after := nodes(); after != 1 || order != "random" && len(freed) != before-1 || len(freed) < before-1 {
				t.Fatalf("%d nodes left of %d, %d freed: want the root alone, the rest freed", after, before, len(freed))
			}
			// The empty root takes chunks again.
			c := Chunk{Scaled: []uint64{7, 3}, Addr: 0x5000, Size: 9}
			if _, err := idx.Put(mem, c); err != nil {
				t.Fatal(err)
			}
			want[scaledKey(c.Scaled)] = c
			check("one put back")
		})
	}
}

func compareKeys(a, b format.ChunkKey) int {
	if c := compareOffsets(a.Offsets, b.Offsets); c != 0 {
		return c
	}
	switch {
	case a.Extra < b.Extra:
		return -1
	case a.Extra > b.Extra:
		return 1
	}
	return 0
}

// verifyBTree1 checks what libhdf5's searches of a chunk B-tree rely on:
// every node's keys in order, each child's left key its parent's key for
// it, every chunk before its node's closing key, each level's nodes linked
// left to right in key order, a node's closing key no later than its right
// sibling's left key. It returns the number of nodes.
func verifyBTree1(b *btree1Index, root uint64) (int, error) {
	levels := map[int][]uint64{}
	var walk func(addr uint64, depth int, parentKey *format.ChunkKey) error
	walk = func(addr uint64, depth int, parentKey *format.ChunkKey) error {
		n, err := b.node(addr)
		if err != nil {
			return err
		}
		levels[depth] = append(levels[depth], addr)
		if len(n.keys) != len(n.children)+1 {
			return fmt.Errorf("node 0x%x: %d keys for %d children", addr, len(n.keys), len(n.children))
		}
		if len(n.children) == 0 && depth > 0 {
			return fmt.Errorf("node 0x%x: empty below the root", addr)
		}
		for i := 1; i < len(n.keys); i++ {
			if compareKeys(n.keys[i-1], n.keys[i]) >= 0 {
				return fmt.Errorf("node 0x%x: key %d %v not after %v", addr, i, n.keys[i], n.keys[i-1])
			}
		}
		if parentKey != nil && compareOffsets(parentKey.Offsets, n.keys[0].Offsets) != 0 {
			return fmt.Errorf("node 0x%x: left key %v, its parent says %v", addr, n.keys[0].Offsets, parentKey.Offsets)
		}
		for i, child := range n.children {
			if n.level > 0 {
				if err := walk(child, depth+1, &n.keys[i]); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(root, 0, nil); err != nil {
		return 0, err
	}
	count := 0
	for depth := 0; len(levels[depth]) > 0; depth++ {
		addrs := levels[depth]
		count += len(addrs)
		for i, addr := range addrs {
			n, _ := b.node(addr)
			wantLeft, wantRight := format.Undefined, format.Undefined
			if i > 0 {
				wantLeft = addrs[i-1]
			}
			if i+1 < len(addrs) {
				wantRight = addrs[i+1]
				next, _ := b.node(wantRight)
				if compareKeys(n.keys[len(n.keys)-1], next.keys[0]) > 0 {
					return 0, fmt.Errorf("node 0x%x closes at %v, after its right sibling's %v", addr, n.keys[len(n.keys)-1], next.keys[0])
				}
			}
			if n.left != wantLeft || n.right != wantRight {
				return 0, fmt.Errorf("node 0x%x: siblings 0x%x 0x%x, want 0x%x 0x%x", addr, n.left, n.right, wantLeft, wantRight)
			}
		}
	}
	return count, nil
}

// FuzzBTree1Remove damages a v1 chunk B-tree of three levels and removes
// chunks from it as a shrink does: errors are fine, panics and hangs are
// not.
func FuzzBTree1Remove(f *testing.F) {
	mem, p, _, grid, _ := smallBTree1(f)
	tree := mem.buf
	root := p.Layout.Addr
	for _, at := range []uint32{8, 9, 10, 16, 24, 40, 48, 200, 1000, 5000} {
		f.Add(at, []byte{0xff}, uint16(0))
		f.Add(at, []byte{0, 0, 0, 0}, uint16(7))
	}
	f.Fuzz(func(t *testing.T, at uint32, patch []byte, first uint16) {
		if len(patch) > 16 {
			return
		}
		buf := append([]byte(nil), tree...)
		copy(buf[int(at)%len(buf):], patch)
		m := &memFile{buf: buf}
		l := *p.Layout
		l.Addr = root
		q := p
		q.R = &format.Reader{R: m, Size: 1 << 40, Sizes: p.R.Sizes}
		q.Layout = &l
		x := newBTree1Index(q)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := uint64(0); i < 32; i++ {
				_ = x.Remove(m, unlinear((uint64(first)+i*37)%(grid[0]*grid[1]), grid))
			}
			removeWalked(x, m)
		}()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatal("removal did not finish in 20s")
		}
	})
}
