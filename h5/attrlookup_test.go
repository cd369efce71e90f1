package h5_test

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/h5mount/h5mount/h5"
)

// TestAttributeLooksUpOneAttribute: Attribute(name) finds each attribute of
// objects with many, in the header (a version 1 header of 2,000) and in
// dense storage (by name index, with and without a creation order index),
// exactly as Attributes lists it, answers ErrNotFound for a name not
// there, and decodes no other attribute's type, dataspace and value to do
// so: getfattr -d asks for each in turn, and decoding all of them every
// time took 5.6 s for 2,000.
func TestAttributeLooksUpOneAttribute(t *testing.T) {
	dir := generate(t, `
for file, libver, groups in (("compact.h5", "earliest", [("g", {})]), ("dense.h5", "latest", [("g", {}), ("ordered", {"track_order": True})])):
    with h5py.File(file, "w", libver=libver) as f:
        for name, kw in groups:
            g = f.create_group(name, **kw)
            for i in range(2000):
                g.attrs["a%05d" % i] = np.arange(i % 7 + 1, dtype="<i4") * i if i % 3 else "text %d" % i
`)
	for _, c := range []struct{ file, group string }{{"compact.h5", "/g"}, {"dense.h5", "/g"}, {"dense.h5", "/ordered"}} {
		f, err := h5.OpenFile(filepath.Join(dir, c.file), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		group := c.file + ":" + c.group
		o, err := f.OpenPath(c.group)
		if err != nil {
			t.Fatal(err)
		}
		all, err := o.Attributes()
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 2000 {
			t.Fatalf("%s: %d attributes, want 2000", group, len(all))
		}
		for _, want := range all {
			got, err := o.Attribute(want.Name)
			if err != nil {
				t.Fatalf("%s: attribute %q: %v", group, want.Name, err)
			}
			if got.Name != want.Name || !bytes.Equal(got.Data, want.Data) || got.Type.Size != want.Type.Size ||
				got.Type.Class != want.Type.Class || got.Space.NumElements() != want.Space.NumElements() {
				t.Fatalf("%s: attribute %q looked up differs from the listing's", group, want.Name)
			}
		}
		if _, err := o.Attribute("a99999"); !errors.Is(err, h5.ErrNotFound) {
			t.Errorf("%s: a missing attribute: %v, want ErrNotFound", group, err)
		}
		allocs := testing.AllocsPerRun(5, func() {
			if _, err := o.Attribute("a01234"); err != nil {
				t.Fatal(err)
			}
		})
		if allocs > 200 {
			t.Errorf("%s: looking one attribute up takes %.0f allocations: others are decoded too", group, allocs)
		}
	}
}

// TestUnlinkFromALargeDenseGroupWalksNoLinks: removing a link from a dense
// group checks whether the group should turn compact by the name index's
// count, not by decoding every link (rm -r of 20,000 links took 194 s):
// an unlink allocates a bounded amount, whatever the group's size, and the
// group still turns compact once few links are left (libhdf5 reads it).
func TestUnlinkFromALargeDenseGroupWalksNoLinks(t *testing.T) {
	dir := generate(t, `
with h5py.File("dense.h5", "w", libver="latest") as f:
    d = f.create_dataset("x", data=[1, 2, 3])
    g = f.create_group("g")
    for i in range(3000):
        g["link %04d" % i] = d
`)
	name := filepath.Join(dir, "dense.h5")
	f, err := h5.OpenFileRW(name, nil)
	if err != nil {
		t.Fatal(err)
	}
	o, err := f.OpenPath("/g")
	if err != nil {
		t.Fatal(err)
	}
	g, err := o.AsGroup()
	if err != nil {
		t.Fatal(err)
	}
	next := 0
	unlink := func() {
		if err := g.Unlink(fmt.Sprintf("link %04d", next)); err != nil {
			t.Fatal(err)
		}
		next++
	}
	if !h5.DenseLinks(g) {
		t.Fatal("the group of 3,000 links is not dense: the test removes nothing from dense storage")
	}
	if allocs := testing.AllocsPerRun(20, unlink); allocs > 1000 {
		t.Errorf("an unlink from a group of 3,000 links takes %.0f allocations: the links are decoded", allocs)
	}
	for next < 2995 {
		unlink()
	}
	if h5.DenseLinks(g) {
		t.Error("a group of 5 links left is still dense")
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	h5pyCheck(t, name, `
import sys, h5py
f = h5py.File(sys.argv[1], "r")
assert sorted(f["g"]) == ["link %04d" % i for i in range(2995, 3000)], list(f["g"])
print("ok")
`)
}
