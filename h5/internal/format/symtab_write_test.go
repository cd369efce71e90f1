package format

import (
	"errors"
	"fmt"
	"math/rand"
	"sort"
	"testing"
)

// TestSymbolTableEditsMatchModel inserts and removes thousands of random
// names with small K values (SNOD and B-tree splits at several levels,
// nodes emptied and dropped, the heap grown), checking after every batch
// that a walk lists exactly the model's names in order and that lookups
// find each with its entry.
func TestSymbolTableEditsMatchModel(t *testing.T) {
	for _, k := range []SymbolTableK{{Leaf: 1, Internal: 2}, {Leaf: 4, Internal: 16}, {Leaf: 2, Internal: 3}} {
		t.Run(fmt.Sprintf("K%d-%d", k.Leaf, k.Internal), func(t *testing.T) {
			mem, r := newMemSpace(64)
			st, err := CreateSymbolTable(r, mem, k, 0)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewSource(int64(k.Leaf*100 + k.Internal)))
			model := map[string]uint64{}
			var names []string
			tab, err := OpenSymbolTable(r, st, k)
			if err != nil {
				t.Fatal(err)
			}
			for step := 0; step < 3000; step++ {
				if len(names) == 0 || rng.Intn(3) != 0 {
					name := fmt.Sprintf("n%d-%x", rng.Intn(100000), rng.Int63n(1<<20))
					if step%7 == 0 {
						name = "ünïcode name " + name
					}
					if _, ok := model[name]; ok {
						if err := tab.Insert(mem, name, SymbolTableEntry{HeaderAddr: 1}); !errors.Is(err, ErrExists) {
							t.Fatalf("step %d: inserting %q twice: %v", step, name, err)
						}
						continue
					}
					addr := uint64(step + 1000)
					if err := tab.Insert(mem, name, SymbolTableEntry{HeaderAddr: addr}); err != nil {
						t.Fatalf("step %d: insert %q: %v", step, name, err)
					}
					model[name] = addr
					names = append(names, name)
				} else {
					i := rng.Intn(len(names))
					name := names[i]
					names = append(names[:i], names[i+1:]...)
					e, err := tab.Remove(mem, name)
					if err != nil || e.HeaderAddr != model[name] {
						t.Fatalf("step %d: remove %q: %v, %+v", step, name, err, e)
					}
					delete(model, name)
				}
				if step%250 == 0 || step == 2999 {
					checkSymbolTable(t, r, st, tab, model, step)
				}
			}
			if _, err := tab.Remove(mem, "no such name"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("removing a missing name: %v", err)
			}
			for _, name := range names {
				if _, err := tab.Remove(mem, name); err != nil {
					t.Fatalf("emptying: %q: %v", name, err)
				}
				delete(model, name)
			}
			checkSymbolTable(t, r, st, tab, model, -1)
			// An emptied table takes names again.
			if err := tab.Insert(mem, "again", SymbolTableEntry{HeaderAddr: 5}); err != nil {
				t.Fatal(err)
			}
			checkSymbolTable(t, r, st, tab, map[string]uint64{"again": 5}, -2)
		})
	}
}

func checkSymbolTable(t *testing.T, r *Reader, st *SymbolTableMessage, tab *SymbolTable, model map[string]uint64, step int) {
	t.Helper()
	heap, err := ReadLocalHeap(r, st.HeapAddr)
	if err != nil {
		t.Fatalf("step %d: %v", step, err)
	}
	var got []string
	err = WalkSymbolTable(r, st.BTreeAddr, heap, func(name string, e SymbolTableEntry) error {
		if e.HeaderAddr != model[name] {
			return fmt.Errorf("%q points at %d, want %d", name, e.HeaderAddr, model[name])
		}
		got = append(got, name)
		return nil
	})
	if err != nil {
		t.Fatalf("step %d: walk: %v", step, err)
	}
	want := make([]string, 0, len(model))
	for n := range model {
		want = append(want, n)
	}
	sort.Strings(want)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("step %d: walk lists %d names, want %d (in order)", step, len(got), len(want))
	}
	checkGroupBTree(t, r, st, step)
	if _, ok, err := LookupSymbol(r, st, "not there"); ok || err != nil {
		t.Fatalf("step %d: LookupSymbol of a missing name: %v %v", step, ok, err)
	}
	for _, n := range want {
		if e, ok, err := tab.Lookup(n); err != nil || !ok || e.HeaderAddr != model[n] {
			t.Fatalf("step %d: lookup %q: %v %v %+v", step, n, ok, err, e)
		}
		if e, ok, err := LookupSymbol(r, st, n); err != nil || !ok || e.HeaderAddr != model[n] {
			t.Fatalf("step %d: LookupSymbol %q: %v %v %+v", step, n, ok, err, e)
		}
	}
}

// checkGroupBTree checks the B-tree as libhdf5's lookups rely on it: every
// name under child i lies in (key i, key i+1], and a node's left bound is
// its left sibling's right bound.
func checkGroupBTree(t *testing.T, r *Reader, st *SymbolTableMessage, step int) {
	t.Helper()
	heap, err := ReadLocalHeap(r, st.HeapAddr)
	if err != nil {
		t.Fatal(err)
	}
	name := func(raw []byte) string {
		s, err := heap.String(NewDecoder(raw, 0, "key", r.Sizes).Length())
		if err != nil {
			t.Fatalf("step %d: key: %v", step, err)
		}
		return s
	}
	rightOf := map[uint64]string{} // node address -> its right bound
	leftOf := map[uint64]string{}
	var walk func(addr uint64, lo, hi string, hasHi bool)
	walk = func(addr uint64, lo, hi string, hasHi bool) {
		n, err := ReadBTree1Node(r, addr, r.Sizes.Length)
		if err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		if len(n.Children) == 0 {
			return
		}
		leftOf[addr], rightOf[addr] = name(n.Keys[0]), name(n.Keys[len(n.Keys)-1])
		if n.Left != Undefined && rightOf[n.Left] != leftOf[addr] {
			t.Fatalf("step %d: node 0x%x's left bound %q is not its left sibling's right bound %q", step, addr, leftOf[addr], rightOf[n.Left])
		}
		for i, c := range n.Children {
			k0, k1 := name(n.Keys[i]), name(n.Keys[i+1])
			if n.Level > 0 {
				walk(c, k0, k1, true)
				continue
			}
			snod, err := ReadSymbolTableNode(r, c)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range snod.Entries {
				s, _ := heap.String(e.NameOffset)
				if !(s > k0 && s <= k1) {
					t.Fatalf("step %d: %q under child bounds (%q, %q]", step, s, k0, k1)
				}
			}
		}
	}
	walk(st.BTreeAddr, "", "", false)
}
