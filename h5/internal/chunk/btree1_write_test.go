package chunk

import (
	"io"
	"math/rand"
	"sync"
	"testing"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// memFile is a growable in-memory file: the Reader reads it, the index
// writes and allocates in it.
type memFile struct {
	mu    sync.Mutex
	buf   []byte
	freed [][2]uint64 // address and size of each Free
}

func (m *memFile) Free(addr, n uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.freed = append(m.freed, [2]uint64{addr, n})
}

func (m *memFile) ReadAt(p []byte, off int64) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if off >= int64(len(m.buf)) {
		return 0, io.EOF
	}
	n := copy(p, m.buf[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (m *memFile) WriteAt(p []byte, addr uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if end := int(addr) + len(p); end > len(m.buf) {
		m.buf = append(m.buf, make([]byte, end-len(m.buf))...)
	}
	copy(m.buf[addr:], p)
	return nil
}

func (m *memFile) Alloc(n uint64) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	addr := uint64(len(m.buf))
	m.buf = append(m.buf, make([]byte, n)...)
	return addr, nil
}

// TestBTree1InsertSplits inserts chunks in random order into a B-tree of
// tiny nodes, forcing leaf, internal and root splits, and reads every chunk
// back through Lookup and Walk.
func TestBTree1InsertSplits(t *testing.T) {
	mem := &memFile{buf: make([]byte, 64)}
	sizes := format.Sizes{Offset: 8, Length: 8}
	reader := &format.Reader{R: mem, Size: 1 << 40, Sizes: sizes}
	layout := &format.Layout{Version: 3, Class: format.LayoutChunked, Addr: format.Undefined, ChunkDims: []uint64{4, 5}}
	p := Params{R: reader, Layout: layout, Dims: []uint64{400, 500}, ElementSize: 8, BTreeK: 2}
	idx := newBTree1Index(p)
	grid := []uint64{100, 100}
	rng := rand.New(rand.NewSource(1))
	order := rng.Perm(600)
	want := map[uint64]uint64{}
	for _, i := range order {
		lin := uint64(i) * 13 % 10000
		scaled := unlinear(lin, grid)
		addr := 1<<30 + lin*64
		root, err := idx.Put(mem, Chunk{Scaled: scaled, Addr: addr, Size: uint64(i + 1)})
		if err != nil {
			t.Fatal(err)
		}
		if layout.Addr == format.Undefined || root != layout.Addr {
			t.Fatalf("root moved: %x vs %x", root, layout.Addr)
		}
		want[lin] = addr
	}
	// Overwrite some entries: updates in place, no new entries.
	for lin, addr := range want {
		if lin%7 == 0 {
			want[lin] = addr + 8
			if _, err := idx.Put(mem, Chunk{Scaled: unlinear(lin, grid), Addr: addr + 8, Size: 3}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A fresh index over the same bytes must see the same tree.
	fresh := newBTree1Index(p)
	for _, x := range []*btree1Index{idx, fresh} {
		for lin := uint64(0); lin < 10000; lin++ {
			c, ok, err := x.Lookup(unlinear(lin, grid))
			if err != nil {
				t.Fatal(err)
			}
			if w, exists := want[lin]; ok != exists || ok && c.Addr != w {
				t.Fatalf("lookup %d: %v %x, want %v %x", lin, ok, c.Addr, exists, w)
			}
		}
		var prev []uint64
		n := 0
		err := x.Walk(func(c Chunk) error {
			if prev != nil && compareOffsets(prev, c.Scaled) >= 0 {
				t.Fatalf("walk out of order: %v after %v", c.Scaled, prev)
			}
			prev = c.Scaled
			n++
			return nil
		})
		if err != nil || n != len(want) {
			t.Fatalf("walk: %d chunks (%v), want %d", n, err, len(want))
		}
	}
	root, err := fresh.node(layout.Addr)
	if err != nil || root.level < 2 {
		t.Fatalf("root level %d (%v): splits did not reach the root twice", root.level, err)
	}
}
