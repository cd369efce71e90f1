package h5

import (
	"bytes"
	"errors"
	"testing"

	"github.com/h5mount/h5mount/h5/internal/chunk"
	"github.com/h5mount/h5mount/h5/internal/format"
)

// A chunk that decodes short is read only when it holds every element of
// the extent it covers, and only when its stored bytes could have decoded
// to a whole chunk: the padding never follows a size the file merely claims.
func TestShortChunkPaddedOnlyWhereItHoldsTheExtent(t *testing.T) {
	deflate := []format.Filter{{ID: 1}}
	fill := []byte{0xaa, 0xbb}
	d := &Dataset{fillVal: fill}
	geometry := func(dims, chunks []uint64) *chunkGeometry {
		g := &chunkGeometry{dims: dims, chunk: chunks, esize: 2, chunkBytes: 2}
		for _, c := range chunks {
			g.chunkBytes *= c
		}
		return g
	}
	decoded := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i + 1)
		}
		return b
	}
	cases := []struct {
		name     string
		g        *chunkGeometry
		scaled   []uint64
		pipeline []format.Filter
		stored   uint64
		decoded  int
		ok       bool
	}{
		// 25 elements in chunks of 10: the last chunk holds 5 inside.
		{"1-D edge, the 5 inside", geometry([]uint64{25}, []uint64{10}), []uint64{2}, deflate, 12, 10, true},
		{"1-D edge, 4 of the 5 inside", geometry([]uint64{25}, []uint64{10}), []uint64{2}, deflate, 12, 8, false},
		{"1-D inner chunk, short", geometry([]uint64{25}, []uint64{10}), []uint64{1}, deflate, 12, 18, false},
		// (7, 5) in chunks of (4, 6): chunk (1, 0) holds rows 4-6, columns
		// 0-4, whose last element is the chunk's 17th.
		{"corner, up to the last inside", geometry([]uint64{7, 5}, []uint64{4, 6}), []uint64{1, 0}, deflate, 12, 34, true},
		{"corner, one short of it", geometry([]uint64{7, 5}, []uint64{4, 6}), []uint64{1, 0}, deflate, 12, 32, false},
		{"chunk past a shrunk extent, empty", geometry([]uint64{5}, []uint64{10}), []uint64{1}, deflate, 12, 0, true},
		{"unfiltered, short", geometry([]uint64{25}, []uint64{10}), []uint64{2}, nil, 10, 10, false},
		// 3 stored bytes of deflate decode to 3096 at most, not 2 GiB.
		{"claimed size beyond what the stream can hold", geometry([]uint64{3}, []uint64{1 << 30}), []uint64{0}, deflate, 3, 6, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			raw := decoded(c.decoded)
			got, _, err := d.checkDecoded(raw, nil, c.pipeline, chunk.Chunk{Scaled: c.scaled, Size: c.stored}, c.g)
			if !c.ok {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("got %d bytes, err %v; want ErrCorrupt", len(got), err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if uint64(len(got)) != c.g.chunkBytes || !bytes.Equal(got[:c.decoded], decoded(c.decoded)) {
				t.Fatalf("got %d bytes %x, want the %d decoded then fill", len(got), got, c.decoded)
			}
			for i := c.decoded; i < len(got); i++ {
				if got[i] != fill[i%2] {
					t.Fatalf("byte %d of the padding is %#x, want the fill value's %#x", i, got[i], fill[i%2])
				}
			}
		})
	}
}
