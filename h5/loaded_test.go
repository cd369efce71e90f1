package h5_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/h5mount/h5mount/h5"
)

// TestReadOnlyFilesKeepFewDecodedDatasets: a read-only file keeps at most
// its limit of decoded datasets however many objects its users hold (a
// mount's nodes hold every object a find visited); a dataset it dropped is
// decoded again when asked for, reads the same bytes, and finds its chunks
// still cached (no decode). One in use all along is kept over those that
// were not. A writable file keeps them all.
func TestReadOnlyFilesKeepFewDecodedDatasets(t *testing.T) {
	name := filepath.Join(t.TempDir(), "many.h5")
	const count, limit = 40, 8
	f, err := h5.Create(name, nil)
	if err != nil {
		t.Fatal(err)
	}
	root, err := f.Root()
	if err != nil {
		t.Fatal(err)
	}
	want := make([][]byte, count)
	for i := range count {
		spec := &h5.DatasetSpec{Type: float64Type(), Dims: []uint64{64}}
		if i%2 == 1 {
			spec.Chunks, spec.Filters = []uint64{16}, []h5.Filter{{ID: 1, Params: []uint32{4}}}
		}
		d, err := root.CreateDataset(fmt.Sprintf("d%02d", i), spec)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = make([]byte, d.Size())
		for j := range 64 {
			binary.LittleEndian.PutUint64(want[i][8*j:], uint64(i*1000+j))
		}
		if _, err := d.WriteAt(want[i], 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	for _, writable := range []bool{false, true} {
		open := h5.OpenFile
		if writable {
			open = h5.OpenFileRW
		}
		f, err := open(name, nil)
		if err != nil {
			t.Fatal(err)
		}
		h5.LimitLoadedDatasets(f, limit)
		objects := make([]*h5.Object, count)
		var first *h5.Dataset // d01's, as first decoded
		read := func(i int) {
			t.Helper()
			d, err := objects[i].AsDataset()
			if err != nil {
				t.Fatal(err)
			}
			got := make([]byte, len(want[i]))
			if _, err := d.ReadAt(got, 0); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want[i]) {
				t.Fatalf("d%02d reads other bytes than were written (writable %v)", i, writable)
			}
		}
		for i := range count {
			// The objects are held, as a mount's nodes hold them.
			if objects[i], err = f.OpenPath(fmt.Sprintf("/d%02d", i)); err != nil {
				t.Fatal(err)
			}
			read(i)
			if i == 1 {
				first, _ = objects[1].AsDataset()
			}
			if i >= 1 {
				read(1) // in use while the others are visited: kept over them
			}
		}
		decoded := 0
		for _, o := range objects {
			if h5.DatasetDecoded(o) {
				decoded++
			}
		}
		switch {
		case writable && decoded != count:
			t.Errorf("a writable file keeps %d of %d decoded datasets, want all", decoded, count)
		case !writable && decoded > limit:
			t.Errorf("a read-only file keeps %d decoded datasets, limit %d", decoded, limit)
		}
		if d, err := objects[1].AsDataset(); err != nil || d != first {
			t.Errorf("the dataset in use all along was dropped and decoded again (writable %v)", writable)
		}
		if !writable {
			if h5.DatasetDecoded(objects[3]) {
				t.Fatal("d03 is still decoded: the test reads nothing decoded again")
			}
			decodes := h5.ChunkDecodes(f)
			read(3)
			if n := h5.ChunkDecodes(f) - decodes; n != 0 {
				t.Errorf("d03 decoded again decoded %d chunks again, want them from the cache", n)
			}
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
