package h5_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"
	"weak"

	"github.com/h5mount/h5mount/h5"
)

// TestFilesKeepFewDecodedDatasets: a file keeps at most its limit of
// decoded datasets however many objects its users hold (a mount's nodes
// hold every object a find visited), besides those changed (a writable
// file's). One let go of and held by nothing else is collected, and
// decoded again when asked for, reading the same bytes (in a read-only
// file, with its chunks still cached: no decode); one still held by a
// reader is the object's again, never decoded twice; one in use all along
// is kept over those that were not. h5py reads back the changes.
func TestFilesKeepFewDecodedDatasets(t *testing.T) {
	name := filepath.Join(t.TempDir(), "many.h5")
	const count, limit = 40, 8
	f, root := createFile(t, name)
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
		changed := func(i int) bool { return writable && i%10 == 4 }
		var held *h5.Dataset // d05's, held all along as a reader holds it
		var heldWeak weak.Pointer[h5.Dataset]
		var held7 *h5.Dataset // a writer's, taken before d07 is let go of
		for i := range count {
			// The objects are held, as a mount's nodes hold them.
			if objects[i], err = f.OpenPath(fmt.Sprintf("/d%02d", i)); err != nil {
				t.Fatal(err)
			}
			read(i)
			switch i {
			case 1:
				first, _ = objects[1].AsDataset()
			case 5:
				held, _ = objects[5].AsDataset()
			case 6:
				d, _ := objects[6].AsDataset()
				heldWeak = weak.Make(d)
			case 7:
				held7, _ = objects[7].AsDataset()
			}
			if changed(i) {
				d, _ := objects[i].AsDataset()
				binary.LittleEndian.PutUint64(want[i], uint64(i))
				if _, err := d.WriteAt(want[i][:8], 0); err != nil {
					t.Fatal(err)
				}
			}
			if i >= 1 {
				read(1) // in use while the others are visited: kept over them
			}
		}
		decoded, kept := 0, 0
		for i, o := range objects {
			if h5.DatasetDecoded(o) {
				decoded++
				if changed(i) {
					kept++
				}
			}
		}
		if decoded > limit+kept {
			t.Errorf("the file keeps %d decoded datasets, limit %d and %d changed (writable %v)", decoded, limit, kept, writable)
		}
		for i := range count {
			if changed(i) && !h5.DatasetDecoded(objects[i]) {
				t.Errorf("d%02d, changed, was let go", i)
			}
		}
		if d, err := objects[1].AsDataset(); err != nil || d != first {
			t.Errorf("the dataset in use all along was dropped and decoded again (writable %v)", writable)
		}
		if h5.DatasetDecoded(objects[5]) {
			t.Fatal("d05 is still held by its object: the test lets go of nothing held elsewhere")
		}
		if d, err := objects[5].AsDataset(); err != nil || d != held {
			t.Errorf("d05, let go of while a reader held it, was decoded a second time (writable %v)", writable)
		}
		if writable {
			// d07 is let go of by now; a writer that took it before
			// that changes it: the object holds it again.
			if h5.DatasetDecoded(objects[7]) {
				t.Fatal("d07 is still held by its object")
			}
			binary.LittleEndian.PutUint64(want[7], 7)
			if _, err := held7.WriteAt(want[7][:8], 0); err != nil {
				t.Fatal(err)
			}
			if !h5.DatasetDecoded(objects[7]) {
				t.Error("d07, changed through a Dataset its object had let go of, is not held again")
			}
		}
		runtime.GC()
		if heldWeak.Value() != nil {
			t.Errorf("d06, let go of and held by nothing, was not collected (writable %v)", writable)
		}
		read(6)
		if !writable {
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
	h5pyCheck(t, name, `
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
for i in range(40):
    d = f["d%02d" % i][()]
    want = np.arange(64, dtype="<u8") + i * 1000
    if i % 10 == 4 or i == 7:
        want[0] = i
    assert (d.view("<u8") == want).all(), i
print("ok")
`)
}
