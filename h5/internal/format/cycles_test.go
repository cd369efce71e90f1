package format

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"testing"
	"time"
)

// Cycles a damaged file can hold must end in ErrCorrupt, never a loop:
// these tests make them in real files (patched at test time) and give each
// read a deadline.

func loadFile(t *testing.T, name string) ([]byte, *Reader, *Superblock) {
	t.Helper()
	data, err := os.ReadFile("../../../testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := FindSuperblock(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	return data, &Reader{R: bytes.NewReader(data), Size: int64(len(data)), Base: sb.BaseAddr, Sizes: sb.Sizes}, sb
}

func reopen(data []byte, sb *Superblock) *Reader {
	return &Reader{R: bytes.NewReader(data), Size: int64(len(data)), Base: sb.BaseAddr, Sizes: sb.Sizes}
}

// within runs f and fails the test when it has not returned in 10 s.
func within(t *testing.T, what string, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: still running after 10 s (a cycle loops)", what)
		return nil
	}
}

// rootMembers lists the object headers the root symbol table names.
func rootMembers(t *testing.T, r *Reader, sb *Superblock) (*SymbolTableMessage, []uint64) {
	t.Helper()
	h, err := ReadObjectHeader(r, sb.RootAddr)
	if err != nil {
		t.Fatal(err)
	}
	m := h.Find(MsgSymbolTable)
	if m == nil {
		t.Fatal("root has no symbol table")
	}
	st, err := DecodeSymbolTableMessage(m.Data, m.Addr, r.Sizes)
	if err != nil {
		t.Fatal(err)
	}
	heap, err := ReadLocalHeap(r, st.HeapAddr)
	if err != nil {
		t.Fatal(err)
	}
	var addrs []uint64
	if err := WalkSymbolTable(r, st.BTreeAddr, heap, func(_ string, e SymbolTableEntry) error {
		addrs = append(addrs, e.HeaderAddr)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return st, addrs
}

func TestContinuationCycleIsCorrupt(t *testing.T) {
	data, r, sb := loadFile(t, "conformance/attrs_dense.h5")
	_, members := rootMembers(t, r, sb)
	patched := 0
	for _, addr := range append([]uint64{sb.RootAddr}, members...) {
		h, err := ReadObjectHeader(r, addr)
		if err != nil || len(h.Chunks) < 2 {
			continue
		}
		// The continuation message in chunk 0 names chunk 1: make it name
		// chunk 0 itself.
		first, next := h.Chunks[0], h.Chunks[1]
		var pattern [16]byte
		binary.LittleEndian.PutUint64(pattern[:], next.Addr-sb.BaseAddr)
		binary.LittleEndian.PutUint64(pattern[8:], next.Size)
		bad := append([]byte(nil), data...)
		region := bad[first.Addr:first.MsgEnd]
		at := bytes.Index(region, pattern[:])
		if at < 0 {
			continue
		}
		binary.LittleEndian.PutUint64(region[at:], first.Addr-sb.BaseAddr)
		patched++
		err = within(t, "object header with a continuation cycle", func() error {
			_, err := ReadObjectHeader(reopen(bad, sb), addr)
			return err
		})
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("object header at 0x%x with a continuation back to itself: %v, want ErrCorrupt", addr, err)
		}
	}
	if patched == 0 {
		t.Fatal("no object header with a continuation chunk to damage")
	}
}

func TestSymbolTableBTreeCycleIsCorrupt(t *testing.T) {
	data, r, sb := loadFile(t, "weather.h5")
	st, _ := rootMembers(t, r, sb)
	// The root node becomes an internal node whose first child is itself.
	bad := append([]byte(nil), data...)
	node := bad[st.BTreeAddr:]
	if string(node[:4]) != "TREE" {
		t.Fatalf("no B-tree node at 0x%x", st.BTreeAddr)
	}
	node[5] = 1 // level
	child := 8 + 2*8 + r.Sizes.Length
	binary.LittleEndian.PutUint64(node[child:], st.BTreeAddr-sb.BaseAddr)
	rb := reopen(bad, sb)
	heap, err := ReadLocalHeap(rb, st.HeapAddr)
	if err != nil {
		t.Fatal(err)
	}
	err = within(t, "symbol table walk", func() error {
		return WalkSymbolTable(rb, st.BTreeAddr, heap, func(string, SymbolTableEntry) error { return nil })
	})
	if !errors.Is(err, ErrCorrupt) {
		t.Errorf("walk of a B-tree whose node is its own child: %v, want ErrCorrupt", err)
	}
	err = within(t, "symbol lookup", func() error {
		_, _, err := LookupSymbol(rb, st, "15")
		return err
	})
	if !errors.Is(err, ErrCorrupt) {
		t.Errorf("lookup in a B-tree whose node is its own child: %v, want ErrCorrupt", err)
	}
}
