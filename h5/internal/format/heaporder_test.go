package format

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// countingReaderAt counts the bytes read through it.
type countingReaderAt struct {
	r *bytes.Reader
	n atomic.Int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	c.n.Add(int64(len(p)))
	return c.r.ReadAt(p, off)
}

// TestDenseWalksReadEachHeapBlockOnce: listing a dense group, or an
// object's dense attributes, reads the heap's objects in heap order, so
// each direct block is read once however small the block cache: in the
// order of the name index (hashes), a heap of more blocks than the cache
// holds was read again for almost every link (a group of 300,000 links:
// 6 s). The walk through a cache of 2 blocks must read at most what the
// file holds, and find every name h5py wrote.
func TestDenseWalksReadEachHeapBlockOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dense.h5")
	out := runPython(t, `
import sys, json, h5py, numpy as np
with h5py.File(sys.argv[1], "w", libver="latest") as f:
    d = f.create_dataset("d", data=np.arange(4), track_order=True)
    g = f.create_group("g", track_order=True)
    for i in range(4000):
        g["link %05d %s" % (i, "x" * (i % 50))] = d
    for i in range(1500):
        d.attrs["attr %05d %s" % (i, "y" * (i % 40))] = i
    print(json.dumps({"group": h5py.h5o.get_info(g.id).addr, "dataset": h5py.h5o.get_info(d.id).addr}))
`, path)
	var addrs struct{ Group, Dataset uint64 }
	if err := json.Unmarshal(out, &addrs); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	data := readFile(t, path)
	saved := heapCacheBlocks
	heapCacheBlocks = 2
	defer func() { heapCacheBlocks = saved }()

	for _, byOrder := range []bool{false, true} {
		counter := &countingReaderAt{r: bytes.NewReader(data)}
		r := openBytes(t, data)
		r.R = counter
		hdr, err := ReadObjectHeader(r, addrs.Group)
		if err != nil {
			t.Fatal(err)
		}
		li, err := DecodeLinkInfo(hdr.Find(MsgLinkInfo).Data, addrs.Group, r.Sizes)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		before := counter.n.Load()
		if err := WalkDenseLinks(r, li, byOrder, func(l *Link) error {
			names = append(names, l.Name)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if read := counter.n.Load() - before; read > int64(len(data)) {
			t.Errorf("listing the group (creation order %v) read %d bytes of a %d-byte file", byOrder, read, len(data))
		}
		// Zero-padded numbers: name order is creation order.
		if len(names) != 4000 {
			t.Fatalf("listing the group (creation order %v): %d names, want 4000", byOrder, len(names))
		}
		for i, name := range names {
			if want := fmt.Sprintf("link %05d %s", i, strings.Repeat("x", i%50)); name != want {
				t.Fatalf("link %d of the listing (creation order %v) is %q, want %q", i, byOrder, name, want)
			}
		}

		hdr, err = ReadObjectHeader(r, addrs.Dataset)
		if err != nil {
			t.Fatal(err)
		}
		ai, err := DecodeAttributeInfo(hdr.Find(MsgAttributeInfo).Data, addrs.Dataset, r.Sizes)
		if err != nil {
			t.Fatal(err)
		}
		count := 0
		before = counter.n.Load()
		if err := WalkDenseAttributes(r, ai, byOrder, func(am *AttributeMessage) error {
			if want := fmt.Sprintf("attr %05d %s", count, strings.Repeat("y", count%40)); am.Name != want {
				t.Fatalf("attribute %d is %q, want %q (creation order %v)", count, am.Name, want, byOrder)
			}
			count++
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if read := counter.n.Load() - before; read > int64(len(data)) {
			t.Errorf("reading the attributes (creation order %v) read %d bytes of a %d-byte file", byOrder, read, len(data))
		}
		if count != 1500 {
			t.Errorf("%d attributes, want 1500", count)
		}
	}
}
