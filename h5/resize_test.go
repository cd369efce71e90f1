package h5_test

import (
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/h5mount/h5mount/h5"
)

// TestShrinkPrunesChunks: a shrink does to the chunks what libhdf5's own
// does (H5D__chunk_prune_by_extent), for every kind of chunk index: the
// chunks wholly past the new end leave the index and their space is freed,
// and the rows past the end in a chunk the end cuts become the fill value.
// libhdf5 then grows each dataset back, and every row that comes back must
// read as the fill value, where it used to show the data the shrink took
// away. The file's used space shrinks by the chunks removed.
func TestShrinkPrunesChunks(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "shrink.h5")
	if out, err := exec.Command(python(), "../scripts/gen_shrink.py", file).CombinedOutput(); err != nil {
		t.Fatalf("gen_shrink.py: %v\n%s", err, out)
	}
	cases := []struct {
		path, index string
		rows        uint64
	}{
		{"/btree1", "v1 B-tree", 37}, // chunks of 2 rows: the end cuts one
		{"/btree1_gzip", "v1 B-tree", 0},
		{"/earray", "extensible array", 1001},
		{"/earray_gzip", "extensible array", 16}, // chunks of 8 rows: at a chunk's end
		{"/btree2", "version 2 B-tree", 3},
		{"/btree2_gzip", "version 2 B-tree", 0},
		{"/farray", "fixed array", 101},
		{"/farray_gzip", "fixed array", 0},
		{"/implicit", "implicit", 37},
		{"/edge_unfiltered", "extensible array", 37},
	}
	f, err := h5.OpenFileRW(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	usedBefore := h5.UsedSpace(f)
	var specs []string
	for _, c := range cases {
		d := openDatasetRW(t, f, c.path)
		if got := h5.IndexName(d); got != c.index {
			t.Fatalf("%s: %s index, want %s", c.path, got, c.index)
		}
		rows := d.Shape()[0]
		before, err := d.AllocatedBytes()
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Resize(c.rows); err != nil {
			t.Fatalf("%s: resize to %d rows: %v", c.path, c.rows, err)
		}
		if err := f.Flush(); err != nil {
			t.Fatal(err)
		}
		after, err := d.AllocatedBytes()
		if err != nil {
			t.Fatal(err)
		}
		used := h5.UsedSpace(f)
		if c.index != "implicit" && used+uint64(before-after) > usedBefore+4<<10 {
			t.Errorf("%s: %d bytes of chunks removed, the file's used space went from %d to %d bytes", c.path, before-after, usedBefore, used)
		}
		usedBefore = used
		// An implicit index keeps its chunks; the others give back all
		// but those of the rows kept.
		if c.index != "implicit" && after >= before {
			t.Errorf("%s: %d bytes of chunks before the shrink, %d after", c.path, before, after)
		}
		specs = append(specs, fmt.Sprintf("%s=%d=%d", c.path, c.rows, rows))
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	h5pyCheck(t, file, `
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "a")
for spec in sys.argv[2:]:
    p, rows, old = spec.split("=")
    rows, old = int(rows), int(old)
    d = f[p]
    assert d.shape[0] == rows, (p, d.shape)
    orig = np.arange(old * int(np.prod(d.shape[1:])), dtype="<i4").reshape((old,) + d.shape[1:])
    assert (d[()] == orig[:rows]).all(), p
    c = d.chunks
    grid = -(-rows // c[0]) * int(np.prod([-(-n // k) for n, k in zip(d.shape[1:], c[1:])]))
    if p != "/implicit":
        assert d.id.get_num_chunks() == grid, (p, d.id.get_num_chunks(), grid)
    d.resize((old,) + d.shape[1:])
    v = d[()]
    assert (v[:rows] == orig[:rows]).all(), p
    assert (v[rows:] == -1).all(), (p, np.argwhere(v[rows:] != -1)[:5])
print("ok")`, specs...)
	if out, err := exec.Command("h5dump", file).CombinedOutput(); err != nil {
		t.Fatalf("h5dump: %v\n%s", err, out)
	}
}

// TestChunksLongerThanAFixedDimension: as libhdf5 (H5D__chunk_construct)
// and h5py, a new dataset's chunks may not be longer than a fixed
// dimension that is not empty; along an unlimited one, or an empty one,
// they may.
func TestChunksLongerThanAFixedDimension(t *testing.T) {
	f, err := h5.Create(filepath.Join(t.TempDir(), "chunks.h5"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	root, _ := f.Root()
	for i, c := range []struct {
		dims, maxDims, chunks []uint64
		ok                    bool
	}{
		{[]uint64{10}, nil, []uint64{100}, false},
		{[]uint64{10, 4}, []uint64{20, 4}, []uint64{20, 5}, false},
		{[]uint64{10, 4}, []uint64{20, 4}, []uint64{20, 4}, true},
		{[]uint64{10}, []uint64{h5.Unlimited}, []uint64{100}, true},
		{[]uint64{0}, nil, []uint64{100}, true},
	} {
		_, err := root.CreateDataset(fmt.Sprintf("d%d", i), &h5.DatasetSpec{Type: h5.Uint8Type(), Dims: c.dims, MaxDims: c.maxDims, Chunks: c.chunks})
		if c.ok && err != nil || !c.ok && !errors.Is(err, h5.ErrInvalid) {
			t.Errorf("dims %v, max %v, chunks %v: %v (want ok %v)", c.dims, c.maxDims, c.chunks, err, c.ok)
		}
	}
	// A dataset with data whose maximum shape becomes fixed keeps its
	// bytes; its chunks are cut to the fixed length. Chunks set anew must
	// fit.
	d, err := root.CreateDataset("grown", &h5.DatasetSpec{Type: h5.Uint8Type(), Dims: []uint64{50}, MaxDims: []uint64{h5.Unlimited}, Chunks: []uint64{1000}})
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 50)
	for i := range data {
		data[i] = byte(i + 1)
	}
	if _, err := d.WriteAt(data, 0); err != nil {
		t.Fatal(err)
	}
	if err := d.Rebuild(func(s *h5.DatasetSpec) { s.MaxDims = []uint64{50}; s.Chunks = []uint64{60} }); !errors.Is(err, h5.ErrInvalid) {
		t.Errorf("chunks of 60 set with a fixed maximum of 50: %v, want ErrInvalid", err)
	}
	if err := d.Rebuild(func(s *h5.DatasetSpec) { s.MaxDims = []uint64{50} }); err != nil {
		t.Fatalf("fixing the maximum shape: %v", err)
	}
	o, err := f.OpenPath("/grown")
	if err != nil {
		t.Fatal(err)
	}
	if d, err = o.AsDataset(); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 50)
	if _, err := d.ReadAt(got, 0); err != nil || string(got) != string(data) || d.ChunkDims()[0] != 50 {
		t.Errorf("after fixing the maximum shape: chunks %v, bytes kept %v (%v)", d.ChunkDims(), string(got) == string(data), err)
	}
}
