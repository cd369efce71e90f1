package format

import (
	"encoding/binary"
	"errors"
	"math/rand"
	"testing"
)

// trackingSpace records what a B-tree allocates and frees.
type trackingSpace struct {
	*memSpace
	allocs map[uint64]uint64
	frees  map[uint64]uint64
	double int // frees of space not allocated, or freed already
}

func newTrackingSpace() (*trackingSpace, *Reader) {
	m, r := newMemSpace(64)
	return &trackingSpace{memSpace: m, allocs: map[uint64]uint64{}, frees: map[uint64]uint64{}}, r
}

func (s *trackingSpace) Alloc(n uint64) (uint64, error) {
	a, err := s.memSpace.Alloc(n)
	s.allocs[a] = n
	return a, err
}

func (s *trackingSpace) Free(addr, n uint64) {
	if s.allocs[addr] != n || s.frees[addr] != 0 {
		s.double++
	}
	s.frees[addr] = n
}

// liveNodes lists the node addresses of a tree as the file has it.
func liveNodes(t *testing.T, b *BTree2) []uint64 {
	t.Helper()
	fresh, err := ReadBTree2(b.r, b.Addr)
	if err != nil {
		t.Fatal(err)
	}
	root, ok, depth, levels := fresh.root()
	if !ok {
		return nil
	}
	var out []uint64
	var walk func(p btree2Ptr, d uint16)
	walk = func(p btree2Ptr, d uint16) {
		out = append(out, p.addr)
		if d == 0 {
			return
		}
		n, err := fresh.readNode(p, d, levels)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range n.children {
			walk(c, d-1)
		}
	}
	walk(root, depth)
	return out
}

// TestBTree2Remove fills v2 B-trees of several geometries (small nodes, so
// the trees are several levels deep) with thousands of records, then
// removes them in random order with some inserts between, until the tree
// is empty. The tree is verified from the file all along (checksums,
// counts, order), every record present must be found and no other; a
// record not there answers ErrNotFound and changes nothing; the depth goes
// down as the tree shrinks; and every node merged away is freed exactly
// once, never one still in the tree.
func TestBTree2Remove(t *testing.T) {
	for _, tc := range []struct {
		name         string
		nodeSize     uint32
		recSize      uint16
		split, merge uint8
		n            int
	}{
		// Small nodes make deep trees; they still hold enough records per
		// node that a merge after two redistributions fits in one, as
		// libhdf5 assumes (2*merge_nrec + 2 <= max_nrec at every level).
		{"small", 144, 8, 100, 40, 5000},
		{"wide-records", 200, 12, 100, 40, 5000},
		{"split80", 160, 8, 80, 30, 5000},
		{"dense", 512, 11, 100, 40, 8000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testBTree2Remove(t, tc.nodeSize, tc.recSize, tc.split, tc.merge, tc.n)
		})
	}
}

func testBTree2Remove(t *testing.T, nodeSize uint32, recSize uint16, split, merge uint8, n int) {
	s, r := newTrackingSpace()
	b, err := CreateBTree2(r, s, BTree2Create{Type: BTree2Test, NodeSize: nodeSize, RecordSize: recSize,
		SplitPercent: split, MergePercent: merge})
	if err != nil {
		t.Fatal(err)
	}
	key := func(rec []byte) uint64 { return binary.LittleEndian.Uint64(rec) }
	record := func(k uint64) []byte {
		rec := make([]byte, recSize)
		binary.LittleEndian.PutUint64(rec, k)
		for i := 8; i < len(rec); i++ {
			rec[i] = byte(k*7 + uint64(i))
		}
		return rec
	}
	cmpKey := func(k uint64) func([]byte) int { return func(rec []byte) int { return compareUint(k, key(rec)) } }
	less := func(a, b []byte) bool { return key(a) < key(b) }
	rng := rand.New(rand.NewSource(int64(nodeSize)*31 + int64(merge)))
	present := map[uint64]bool{}
	var keys []uint64
	insert := func(k uint64) {
		t.Helper()
		inserted, err := b.Update(s, cmpKey(k), record(k))
		if err != nil || !inserted {
			t.Fatalf("insert %d: %v %v", k, inserted, err)
		}
		present[k] = true
		keys = append(keys, k)
	}
	check := func(full bool) {
		t.Helper()
		if err := b.Verify(less); err != nil {
			t.Fatal(err)
		}
		fresh, err := ReadBTree2(r, b.Addr)
		if err != nil {
			t.Fatal(err)
		}
		if fresh.TotalRecords != uint64(len(present)) {
			t.Fatalf("%d records, want %d", fresh.TotalRecords, len(present))
		}
		for _, a := range liveNodes(t, b) {
			if s.frees[a] != 0 {
				t.Fatalf("node 0x%x is in the tree and was freed", a)
			}
		}
		if !full {
			return
		}
		for k := uint64(0); k < uint64(4*n); k += 2 {
			rec, found, err := fresh.Search(cmpKey(k))
			if err != nil {
				t.Fatal(err)
			}
			if found != present[k] || found && string(rec) != string(record(k)) {
				t.Fatalf("search %d: found %v, want %v", k, found, present[k])
			}
		}
	}
	for len(keys) < n {
		if k := uint64(rng.Intn(2*n)) * 2; !present[k] {
			insert(k)
		}
	}
	check(true)
	maxDepth := b.Depth
	if maxDepth < 2 {
		t.Fatalf("depth %d after %d inserts: want >= 2", maxDepth, n)
	}
	rng.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	minDepthAt := map[uint16]int{}
	for op := 0; len(keys) > 0; op++ {
		if op%5 == 4 && op < 2*n {
			if k := uint64(rng.Intn(2*n)) * 2; !present[k] {
				insert(k)
				j := rng.Intn(len(keys))
				keys[j], keys[len(keys)-1] = keys[len(keys)-1], keys[j]
			}
			continue
		}
		if op%101 == 0 {
			// Absent: an odd key. Nothing changes.
			before := b.TotalRecords
			if _, err := b.Remove(s, cmpKey(uint64(2*rng.Intn(2*n)+1))); !errors.Is(err, ErrNotFound) {
				t.Fatalf("removing an absent record: %v", err)
			}
			if b.TotalRecords != before {
				t.Fatal("a failed removal changed the tree")
			}
		}
		k := keys[len(keys)-1]
		keys = keys[:len(keys)-1]
		rec, err := b.Remove(s, cmpKey(k))
		if err != nil {
			t.Fatalf("op %d: remove %d: %v", op, k, err)
		}
		if string(rec) != string(record(k)) {
			t.Fatalf("op %d: removed %x, want %x", op, rec, record(k))
		}
		delete(present, k)
		if _, ok := minDepthAt[b.Depth]; !ok {
			minDepthAt[b.Depth] = len(present)
		}
		if op%97 == 0 {
			check(op%970 == 0)
		}
	}
	check(true)
	if b.RootAddr != Undefined || b.TotalRecords != 0 || b.Depth != 0 {
		t.Fatalf("empty tree: root 0x%x, %d records, depth %d", b.RootAddr, b.TotalRecords, b.Depth)
	}
	for d := uint16(0); d < maxDepth; d++ {
		if _, ok := minDepthAt[d]; !ok {
			t.Errorf("the tree never had depth %d on its way down from %d", d, maxDepth)
		}
	}
	if s.double != 0 {
		t.Errorf("%d frees of space not allocated or freed already", s.double)
	}
	for a, sz := range s.allocs {
		if a != b.Addr && s.frees[a] != sz {
			t.Errorf("node 0x%x never freed", a)
		}
	}
	t.Logf("depth %d at most, %d nodes allocated and freed; depth reached at %v records left", maxDepth, len(s.frees), minDepthAt)
	// The emptied tree takes records again.
	insert(42)
	check(true)
}

// A header whose split and merge percentages libhdf5 could not have written
// (H5B2_create asserts them) is read but never edited: split at 1% of a
// small node is no record, and such a tree split its empty children until
// the fuzzer's damaged dense group crashed on one.
func TestBTree2RefusesEditsWithImpossiblePercentages(t *testing.T) {
	s, r := newTrackingSpace()
	b, err := CreateBTree2(r, s, BTree2Create{Type: BTree2Test, NodeSize: 144, RecordSize: 8, SplitPercent: 100, MergePercent: 40})
	if err != nil {
		t.Fatal(err)
	}
	record := func(k uint64) []byte { return binary.LittleEndian.AppendUint64(nil, k) }
	cmpKey := func(k uint64) func([]byte) int {
		return func(rec []byte) int { return compareUint(k, binary.LittleEndian.Uint64(rec)) }
	}
	for k := uint64(0); k < 200; k++ {
		if _, err := b.Update(s, cmpKey(k), record(k)); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ split, merge uint8 }{{0, 0}, {1, 0}, {100, 0}, {100, 50}, {101, 40}, {1, 40}} {
		damaged, err := ReadBTree2(r, b.Addr)
		if err != nil {
			t.Fatal(err)
		}
		damaged.SplitPercent, damaged.MergePercent = tc.split, tc.merge
		if _, err := damaged.Update(s, cmpKey(1000), record(1000)); !errors.Is(err, ErrUnsupported) {
			t.Errorf("split %d%%, merge %d%%: insert: %v, want ErrUnsupported", tc.split, tc.merge, err)
		}
		if _, err := damaged.Remove(s, cmpKey(5)); !errors.Is(err, ErrUnsupported) {
			t.Errorf("split %d%%, merge %d%%: remove: %v, want ErrUnsupported", tc.split, tc.merge, err)
		}
	}
	if _, err := CreateBTree2(r, s, BTree2Create{Type: BTree2Test, NodeSize: 144, RecordSize: 8, SplitPercent: 100, MergePercent: 50}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("created with merge 50%% of split 100%%: %v", err)
	}
	// The tree itself was never touched.
	fresh, err := ReadBTree2(r, b.Addr)
	if err != nil || fresh.TotalRecords != 200 {
		t.Fatalf("after the refused edits: %v records, %v", fresh.TotalRecords, err)
	}
}
