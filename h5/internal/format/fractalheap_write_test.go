package format

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand"
	"testing"
)

// heapModel is what a heap under test should hold. Tiny objects of the
// same bytes have the same ID, so IDs are counted.
type heapModel struct {
	objs map[string][]byte // heap ID -> object
	n    map[string]int
}

func (m *heapModel) add(id []byte, obj []byte) {
	m.objs[string(id)] = obj
	m.n[string(id)]++
}

func (m *heapModel) remove(id string) {
	if m.n[id]--; m.n[id] == 0 {
		delete(m.objs, id)
		delete(m.n, id)
	}
}

// checkHeap reopens the heap from the file and checks every object and the
// header's statistics against the model: object counts and sizes, the
// free space libhdf5 counts (every direct block the root's rows can hold,
// less the managed objects), the allocated space (the direct blocks), and
// that live objects neither overlap nor leave their blocks.
func checkHeap(t *testing.T, r *Reader, addr uint64, m *heapModel) *FractalHeap {
	t.Helper()
	h, err := ReadFractalHeap(r, addr)
	if err != nil {
		t.Fatal(err)
	}
	var man, huge, tiny, hugeSize, tinySize, manSize uint64
	var live [][]byte
	for k, want := range m.objs {
		id := []byte(k)
		got, err := h.Object(id)
		if err != nil {
			t.Fatalf("object %x: %v", id, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("object %x: %d bytes differ from the %d stored", id, len(got), len(want))
		}
		n := uint64(m.n[k])
		switch id[0] & heapIDTypeMask {
		case heapIDManaged:
			man += n
			manSize += n * uint64(len(want))
		case heapIDHuge:
			huge += n
			hugeSize += n * uint64(len(want))
		case heapIDTiny:
			tiny += n
			tinySize += n * uint64(len(want))
		}
		live = append(live, id)
	}
	if h.ManagedObjects != man || h.HugeObjects != huge || h.TinyObjects != tiny ||
		h.HugeSize != hugeSize || h.TinySize != tinySize {
		t.Fatalf("header: %d/%d/%d objects, huge %d tiny %d bytes; want %d/%d/%d, %d, %d",
			h.ManagedObjects, h.HugeObjects, h.TinyObjects, h.HugeSize, h.TinySize, man, huge, tiny, hugeSize, tinySize)
	}
	w, err := h.writer()
	if err != nil {
		t.Fatal(err)
	}
	var potential, spaceWant uint64
	switch {
	case h.RootAddr == Undefined:
	case h.RootRows == 0:
		potential, spaceWant = w.rowTotFree[0], h.StartBlockSize
	default:
		for u := 0; u < int(h.RootRows); u++ {
			potential += w.rowTotFree[u] * uint64(h.TableWidth)
		}
		spaceWant = h.span(int(h.RootRows))
	}
	if h.FreeSpace != potential-manSize || h.ManagedSpace != spaceWant {
		t.Fatalf("header: free space %d, managed space %d; want %d, %d", h.FreeSpace, h.ManagedSpace, potential-manSize, spaceWant)
	}
	var alloc uint64
	if err := h.directBlocks(func(off, size, _ uint64) error {
		alloc += size
		if h.RootRows > 0 && off+size > h.IterOffset {
			return fmt.Errorf("direct block at %d beyond the iterator offset %d", off, h.IterOffset)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if alloc != h.AllocatedManagedSpace {
		t.Fatalf("header: allocated space %d, direct blocks %d", h.AllocatedManagedSpace, alloc)
	}
	if err := h.FindFreeSpace(live); err != nil {
		t.Fatal(err)
	}
	if h.HugeBTreeAddr != Undefined {
		bt, err := ReadBTree2(r, h.HugeBTreeAddr)
		if err != nil {
			t.Fatal(err)
		}
		if err := bt.Verify(nil); err != nil {
			t.Fatal(err)
		}
		if bt.TotalRecords != huge {
			t.Fatalf("huge object B-tree: %d records, %d huge objects", bt.TotalRecords, huge)
		}
	}
	return h
}

// TestFractalHeapEdit inserts thousands of objects of random sizes (tiny,
// small, big enough for ever larger direct blocks and child indirect
// blocks, and huge) and removes random ones, for several heap shapes. Every
// few hundred edits, and after reopening the heap half way (its free space
// then found from the live objects), every object must read back through a
// freshly opened heap, whose header statistics must match.
func TestFractalHeapEdit(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    FractalHeapCreate
		ops  int
	}{
		{"links", LinkHeapCreate, 6000},
		{"attributes", AttributeHeapCreate, 4000},
		// Small blocks: child indirect blocks soon, and objects that
		// need direct blocks further down the table than the next one.
		{"narrow", FractalHeapCreate{TableWidth: 2, StartBlockSize: 256, MaxDirectSize: 4096, MaxIndex: 24,
			StartRootRows: 1, ChecksumDirect: true, MaxManagedSize: 3000}, 6000},
		// Long IDs: extended tiny objects, directly addressed huge ones,
		// no direct block checksums, a root made with all its rows.
		{"longid", FractalHeapCreate{TableWidth: 8, StartBlockSize: 512, MaxDirectSize: 16384, MaxIndex: 28,
			StartRootRows: 0, MaxManagedSize: 2000, IDLen: 24}, 4000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testHeapEdit(t, tc.p, tc.ops)
		})
	}
}

func testHeapEdit(t *testing.T, p FractalHeapCreate, ops int) {
	mem, r := newMemSpace(64)
	addr, err := CreateFractalHeap(r, mem, p)
	if err != nil {
		t.Fatal(err)
	}
	h, err := ReadFractalHeap(r, addr)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := h.writer()
	tinyMax := w.tinyMax
	rng := rand.New(rand.NewSource(int64(p.StartBlockSize) + int64(p.TableWidth)))
	m := &heapModel{objs: map[string][]byte{}, n: map[string]int{}}
	var ids []string
	sizeOf := func() int {
		switch k := rng.Intn(100); {
		case k < 10:
			return 1 + rng.Intn(tinyMax)
		case k < 70:
			return tinyMax + 1 + rng.Intn(200)
		case k < 95:
			return 300 + rng.Intn(int(p.MaxManagedSize)-299)
		default:
			return int(p.MaxManagedSize) + 1 + rng.Intn(100000)
		}
	}
	kinds := map[byte]int{}
	for i := 0; i < ops; i++ {
		if i == ops/2 {
			// A new session: the free space is found again.
			checkHeap(t, r, addr, m)
			if h, err = ReadFractalHeap(r, addr); err != nil {
				t.Fatal(err)
			}
			var live [][]byte
			for _, id := range ids {
				live = append(live, []byte(id))
			}
			if err := h.FindFreeSpace(live); err != nil {
				t.Fatal(err)
			}
		}
		if len(ids) > 0 && rng.Intn(100) < 35 {
			j := rng.Intn(len(ids))
			id := ids[j]
			if err := h.Remove(mem, []byte(id)); err != nil {
				t.Fatalf("op %d: remove %x: %v", i, id, err)
			}
			m.remove(id)
			ids[j] = ids[len(ids)-1]
			ids = ids[:len(ids)-1]
			continue
		}
		obj := make([]byte, sizeOf())
		rng.Read(obj)
		id, err := h.Insert(mem, obj)
		if err != nil {
			t.Fatalf("op %d: insert %d bytes: %v", i, len(obj), err)
		}
		if len(id) != int(h.IDLen) {
			t.Fatalf("op %d: %d-byte ID, heap IDs are %d bytes", i, len(id), h.IDLen)
		}
		if _, dup := m.objs[string(id)]; dup && id[0]&heapIDTypeMask != heapIDTiny {
			t.Fatalf("op %d: ID %x handed out twice", i, id)
		}
		kinds[id[0]&heapIDTypeMask]++
		m.add(id, obj)
		ids = append(ids, string(id))
		if i%500 == 0 {
			checkHeap(t, r, addr, m)
		}
	}
	h = checkHeap(t, r, addr, m)
	if kinds[heapIDManaged] == 0 || kinds[heapIDHuge] == 0 || kinds[heapIDTiny] == 0 {
		t.Errorf("object kinds stored: %v", kinds)
	}
	if h.RootRows == 0 || h.RootRows <= uint16(h.maxDirectRows) {
		t.Errorf("root indirect block of %d rows: no child indirect blocks (%d direct rows)", h.RootRows, h.maxDirectRows)
	}
	t.Logf("%d objects, root %d rows, next block at %d, %d bytes in direct blocks, file %d bytes",
		len(m.objs), h.RootRows, h.IterOffset, h.AllocatedManagedSpace, len(mem.buf))

	// Space freed is space reused: the same objects again take no new
	// block.
	h, _ = ReadFractalHeap(r, addr)
	var live [][]byte
	for _, id := range ids {
		live = append(live, []byte(id))
	}
	if err := h.FindFreeSpace(live); err != nil {
		t.Fatal(err)
	}
	var again [][]byte
	var rest []string
	for _, id := range ids {
		if id[0]&heapIDTypeMask != heapIDManaged {
			rest = append(rest, id)
			continue
		}
		again = append(again, m.objs[id])
		if err := h.Remove(mem, []byte(id)); err != nil {
			t.Fatal(err)
		}
		m.remove(id)
	}
	iterBefore, allocBefore := h.IterOffset, h.AllocatedManagedSpace
	for _, obj := range again {
		id, err := h.Insert(mem, obj)
		if err != nil {
			t.Fatal(err)
		}
		m.add(id, obj)
		rest = append(rest, string(id))
	}
	if h.IterOffset != iterBefore {
		t.Errorf("reinserting freed objects moved the block iterator from %d to %d", iterBefore, h.IterOffset)
	}
	t.Logf("reinserting %d objects filled %d bytes of skipped blocks", len(again), h.AllocatedManagedSpace-allocBefore)
	checkHeap(t, r, addr, m)

	// A managed object removed twice is reported, not freed twice.
	for i, id := range rest {
		if id[0]&heapIDTypeMask != heapIDManaged {
			continue
		}
		if err := h.Remove(mem, []byte(id)); err != nil {
			t.Fatal(err)
		}
		if err := h.Remove(mem, []byte(id)); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("second removal of %x: %v, want ErrCorrupt", id, err)
		}
		m.remove(id)
		rest = append(rest[:i], rest[i+1:]...)
		break
	}
	// Everything out: the statistics come back to an empty heap's.
	for _, id := range rest {
		if err := h.Remove(mem, []byte(id)); err != nil {
			t.Fatal(err)
		}
		m.remove(id)
	}
	h = checkHeap(t, r, addr, m)
	if h.ManagedObjects+h.HugeObjects+h.TinyObjects+h.HugeSize+h.TinySize != 0 {
		t.Errorf("empty heap: %+v", h)
	}
}

// TestFractalHeapRewrite rewrites objects in place and checks the
// checksummed blocks read back.
func TestFractalHeapRewrite(t *testing.T) {
	mem, r := newMemSpace(64)
	addr, err := CreateFractalHeap(r, mem, AttributeHeapCreate)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := ReadFractalHeap(r, addr)
	m := &heapModel{objs: map[string][]byte{}, n: map[string]int{}}
	for _, n := range []int{100, 3000, 70000} {
		obj := bytes.Repeat([]byte{byte(n)}, n)
		id, err := h.Insert(mem, obj)
		if err != nil {
			t.Fatal(err)
		}
		obj2 := bytes.Repeat([]byte{byte(n + 1)}, n)
		if err := h.Write(mem, id, obj2); err != nil {
			t.Fatal(err)
		}
		if err := h.Write(mem, id, obj2[1:]); !errors.Is(err, ErrUnsupported) {
			t.Errorf("rewrite with another length: %v", err)
		}
		m.add(id, obj2)
	}
	checkHeap(t, r, addr, m)
	id, _ := h.Insert(mem, []byte("tiny"))
	if err := h.Write(mem, id, []byte("TINY")); !errors.Is(err, ErrUnsupported) {
		t.Errorf("rewrite of a tiny object: %v", err)
	}
}

// TestFractalHeapCreateParams refuses what H5HF_hdr_create refuses and
// derives the heap ID lengths libhdf5 does.
func TestFractalHeapCreateParams(t *testing.T) {
	mem, r := newMemSpace(64)
	for _, tc := range []struct {
		p     FractalHeapCreate
		idLen uint16
	}{
		{LinkHeapCreate, 7},      // H5G_DENSE_FHEAP_ID_LEN
		{AttributeHeapCreate, 8}, // H5O_FHEAP_ID_LEN
		{FractalHeapCreate{TableWidth: 4, StartBlockSize: 512, MaxDirectSize: 65536, MaxIndex: 32, MaxManagedSize: 4096, IDLen: 1}, 17},
	} {
		addr, err := CreateFractalHeap(r, mem, tc.p)
		if err != nil {
			t.Fatal(err)
		}
		h, err := ReadFractalHeap(r, addr)
		if err != nil {
			t.Fatal(err)
		}
		if h.IDLen != tc.idLen || h.RootAddr != Undefined || h.FreeSpaceManagerAddr != Undefined || h.HugeBTreeAddr != Undefined {
			t.Errorf("%+v: ID length %d (want %d), root 0x%x", tc.p, h.IDLen, tc.idLen, h.RootAddr)
		}
	}
	for _, p := range []FractalHeapCreate{
		{TableWidth: 3, StartBlockSize: 512, MaxDirectSize: 65536, MaxIndex: 32, MaxManagedSize: 4096},
		{TableWidth: 4, StartBlockSize: 500, MaxDirectSize: 65536, MaxIndex: 32, MaxManagedSize: 4096},
		{TableWidth: 4, StartBlockSize: 512, MaxDirectSize: 4096, MaxIndex: 32, MaxManagedSize: 4096},
		{TableWidth: 4, StartBlockSize: 512, MaxDirectSize: 65536, MaxIndex: 0, MaxManagedSize: 4096},
		{TableWidth: 4, StartBlockSize: 512, MaxDirectSize: 65536, MaxIndex: 32, MaxManagedSize: 4096, IDLen: 3},
	} {
		if _, err := CreateFractalHeap(r, mem, p); !errors.Is(err, ErrUnsupported) {
			t.Errorf("%+v: %v, want ErrUnsupported", p, err)
		}
	}
}
