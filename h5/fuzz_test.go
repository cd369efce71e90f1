package h5_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/h5mount/h5mount/h5"
	"github.com/h5mount/h5mount/xattr"
)

// fuzzSeeds are small files that between them hold every kind of structure
// the engine decodes: both superblock generations, symbol tables, compact
// and dense groups and attributes, every chunk index and the filters.
var fuzzSeeds = []string{
	"../testdata/links.h5",
	"../testdata/types.h5",
	"../testdata/other.h5",
	"../testdata/conformance/chunk_btree2.h5",
	"../testdata/conformance/chunk_extensible_array.h5",
	"../testdata/conformance/chunk_fixed_array_paged.h5",
	"../testdata/conformance/groups_dense.h5",
	"../testdata/conformance/attrs_dense_latest.h5",
	"../testdata/conformance/shared_messages_latest.h5",
	"../testdata/conformance/filter_shuffle.h5",
	"../testdata/conformance/filter_lz4.h5",
	"../testdata/conformance/filter_scaleoffset.h5",
	"../testdata/conformance/filter_nbit_latest.h5",
	"../testdata/hdf5v2/v200.h5", // layout message version 5
}

// FuzzOpenAndWalk damages a real file (a run of bytes written at an offset)
// and walks all of it through the public API: superblock, object headers
// and every message, B-trees, heaps, chunk indexes, filters, attribute
// values and dataset bytes. Nothing may panic or hang; errors are fine.
func FuzzOpenAndWalk(f *testing.F) {
	files := loadFuzzSeeds(f)
	for i, data := range files {
		f.Add(uint8(i), uint32(0), []byte{})
		// Land a patch in the middle of the metadata, where it bites.
		f.Add(uint8(i), uint32(len(data)/3), []byte{0xff, 0xff, 0xff, 0xff})
	}
	f.Fuzz(func(t *testing.T, which uint8, at uint32, patch []byte) {
		orig := files[int(which)%len(files)]
		data := append([]byte(nil), orig...)
		if len(patch) > 0 {
			copy(data[int(at)%len(data):], patch)
		}
		walkFile(data)
	})
}

func walkFile(data []byte) {
	f, err := h5.Open(bytes.NewReader(data), int64(len(data)), &h5.Options{CacheBytes: 1 << 20})
	if err != nil {
		return
	}
	defer f.Close()
	root, err := f.Root()
	if err != nil {
		return
	}
	walkObject(root.Object)
	visitTree(f, root, 64, func(o *h5.Object) {
		walkObject(o)
		if o.Kind() == h5.KindDataset {
			walkDataset(o)
		}
	})
}

// loadFuzzSeeds reads the fuzz targets' seed files.
func loadFuzzSeeds(f *testing.F) [][]byte {
	var files [][]byte
	for _, name := range fuzzSeeds {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		files = append(files, data)
	}
	return files
}

// visitTree calls visit on every group and dataset reached through hard
// links from root (root itself excluded), each once, eight levels and
// perGroup links of each group at most: damaged files may loop or claim
// any number of links.
func visitTree(f *h5.File, root *h5.Group, perGroup int, visit func(*h5.Object)) {
	seen := map[uint64]bool{root.Addr: true}
	var walk func(g *h5.Group, depth int)
	walk = func(g *h5.Group, depth int) {
		if depth > 8 {
			return
		}
		links, err := g.Links()
		if err != nil {
			return
		}
		for i, l := range links {
			if i > perGroup {
				break
			}
			if _, err := g.Link(l.Name); err != nil || l.Type != h5.LinkHard || seen[l.Addr] {
				continue
			}
			o, err := f.Object(l.Addr)
			if err != nil {
				continue
			}
			seen[o.Addr] = true
			visit(o)
			if o.Kind() == h5.KindGroup {
				if sub, err := o.AsGroup(); err == nil {
					walk(sub, depth+1)
				}
			}
		}
	}
	walk(root, 0)
}

func walkObject(o *h5.Object) {
	attrs, err := o.Attributes()
	if err != nil {
		return
	}
	for _, a := range attrs {
		if a.Err == nil {
			_, _ = xattr.Attribute(a)
		}
	}
}

func walkDataset(o *h5.Object) {
	d, err := o.AsDataset()
	if err != nil {
		return
	}
	for _, p := range xattr.PropertyNames {
		_, _, _ = xattr.DatasetProperty(d, p)
	}
	_, _ = d.AllocatedBytes()
	// The head and the tail: a read decodes every chunk it touches whole,
	// so a few KiB reach the filters of the first and last chunks while a
	// dataset of one-byte chunks stays quick to walk.
	buf := make([]byte, 4<<10)
	_, _ = d.ReadAt(buf, 0)
	if size := d.Size(); size > int64(len(buf)) {
		_, _ = d.ReadAt(buf, size-int64(len(buf)))
	}
}

// TestFuzzSeedsExist keeps the seed list honest: a renamed fixture must not
// silently shrink what the fuzzer starts from.
func TestFuzzSeedsExist(t *testing.T) {
	for _, name := range fuzzSeeds {
		if _, err := os.Stat(filepath.Clean(name)); err != nil {
			t.Error(err)
		}
	}
}
