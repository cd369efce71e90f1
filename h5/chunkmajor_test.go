package h5_test

import (
	"bytes"
	"math/rand"
	"path/filepath"
	"testing"

	"github.com/h5mount/h5mount/h5"
)

// TestChunkByChunkReadsMatchTheModel reads random byte ranges (from
// inside an element, across rows, whole) of datasets whose chunks are
// narrower than their rows, so that reads go chunk by chunk: ranks 2 to
// 4, rows of thousands of chunks, edge chunks, chunks never written (a
// fill value of their own), 1- to 8-byte elements, gzip or none; every
// read must equal the model.
func TestChunkByChunkReadsMatchTheModel(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	name := filepath.Join(t.TempDir(), "chunkmajor.h5")
	f, err := h5.Create(name, nil)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := f.Root()
	type ds struct {
		d     *h5.Dataset
		model []byte
	}
	var sets []ds
	for k := 0; k < 12; k++ {
		rank := 2 + rng.Intn(3)
		dims, chunks := make([]uint64, rank), make([]uint64, rank)
		for i := range dims {
			dims[i] = uint64(1 + rng.Intn(24))
			chunks[i] = uint64(1 + rng.Intn(int(dims[i])))
		}
		// Narrow in the last dimension: short runs.
		dims[rank-1] = uint64(16 + rng.Intn(48))
		chunks[rank-1] = uint64(1 + rng.Intn(4))
		if k >= 9 {
			// Rows of thousands of chunks: reads inside one row go chunk
			// by chunk too.
			dims[rank-1] = uint64(2000 + rng.Intn(3000))
			dims[0] = uint64(1 + rng.Intn(3))
			chunks[0] = uint64(1 + rng.Intn(int(dims[0])))
		}
		esize := []uint32{1, 2, 4, 8}[rng.Intn(4)]
		typ := &h5.Datatype{Class: h5.ClassInteger, Version: 1, Size: esize, Precision: uint16(8 * esize)}
		fill := make([]byte, esize)
		rng.Read(fill)
		spec := &h5.DatasetSpec{Type: typ, Dims: dims, Chunks: chunks, Fill: fill}
		if rng.Intn(2) == 0 {
			spec.Filters = []h5.Filter{{ID: 1, Params: []uint32{1}}}
		}
		d, err := root.CreateDataset("d"+string(rune('a'+k)), spec)
		if err != nil {
			t.Fatal(err)
		}
		model := make([]byte, d.Size())
		for i := range model {
			model[i] = fill[i%len(fill)]
		}
		// Some element ranges written, the rest left to the fill value.
		for w := 0; w < 6; w++ {
			elems := len(model) / int(esize)
			a := rng.Intn(elems)
			b := a + 1 + rng.Intn(elems-a)
			p := make([]byte, (b-a)*int(esize))
			rng.Read(p)
			if _, err := d.WriteAt(p, int64(a)*int64(esize)); err != nil {
				t.Fatal(err)
			}
			copy(model[a*int(esize):], p)
		}
		sets = append(sets, ds{d, model})
	}
	check := func(when string) {
		for k, s := range sets {
			size := len(s.model)
			ranges := [][2]int{{0, size}}
			for i := 0; i < 60; i++ {
				a := rng.Intn(size)
				ranges = append(ranges, [2]int{a, a + 1 + rng.Intn(size-a)})
			}
			for _, r := range ranges {
				got := make([]byte, r[1]-r[0])
				if _, err := s.d.ReadAt(got, int64(r[0])); err != nil {
					t.Fatalf("%s: dataset %d, read [%d, %d): %v", when, k, r[0], r[1], err)
				}
				if !bytes.Equal(got, s.model[r[0]:r[1]]) {
					t.Fatalf("%s: dataset %d (%d bytes), read [%d, %d) differs from the model", when, k, size, r[0], r[1])
				}
			}
		}
	}
	check("with chunks pending")
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if f, err = h5.OpenFile(name, &h5.Options{CacheBytes: 4 << 10}); err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for k := range sets {
		o, err := f.OpenPath("/d" + string(rune('a'+k)))
		if err != nil {
			t.Fatal(err)
		}
		if sets[k].d, err = o.AsDataset(); err != nil {
			t.Fatal(err)
		}
	}
	check("stored, through a 4 KiB cache")
}
