package filter

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand"
	"testing"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// Chunk decode and encode per filter pipeline, on a 1 MiB chunk of smooth
// float64 values with noise (the benchmark suite's data):
//
//	go test -run '^$' -bench . -benchmem ./h5/internal/filter

const benchChunk = 1 << 20

func smoothChunk() []byte {
	rng := rand.New(rand.NewSource(1))
	b := make([]byte, benchChunk)
	for i := 0; i < benchChunk/8; i++ {
		v := math.Sin(float64(i)*1e-4) + rng.NormFloat64()*0.01
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(v))
	}
	return b
}

var benchPipelines = []struct {
	name     string
	pipeline []format.Filter
}{
	{"gzip4", []format.Filter{{ID: Deflate, Params: []uint32{4}}}},
	{"shuffle+gzip4", []format.Filter{{ID: Shuffle, Params: []uint32{8}}, {ID: Deflate, Params: []uint32{4}}}},
	{"shuffle+zstd3", []format.Filter{{ID: Shuffle, Params: []uint32{8}}, {ID: Zstd, Params: []uint32{3}}}},
	{"lz4", []format.Filter{{ID: LZ4, Params: []uint32{0}}}},
	{"shuffle+lz4", []format.Filter{{ID: Shuffle, Params: []uint32{8}}, {ID: LZ4, Params: []uint32{0}}}},
	{"shuffle", []format.Filter{{ID: Shuffle, Params: []uint32{8}}}},
	{"shuffle4", []format.Filter{{ID: Shuffle, Params: []uint32{4}}}},
	{"shuffle3", []format.Filter{{ID: Shuffle, Params: []uint32{3}}}},
	{"shuffle+lzf", []format.Filter{{ID: Shuffle, Params: []uint32{8}}, {ID: LZF, Params: []uint32{4, 261, benchChunk}}}},
	{"bitshuffle+lz4", []format.Filter{{ID: Bitshuffle, Params: []uint32{0, 3, 8, 0, 2}}}},
	{"fletcher32", []format.Filter{{ID: Fletcher32}}},
	{"blosc-blosclz", []format.Filter{{ID: Blosc, Params: []uint32{2, 2, 8, benchChunk, 5, 1, bloscBloscLZ}}}},
	{"blosc-lz4", []format.Filter{{ID: Blosc, Params: []uint32{2, 2, 8, benchChunk, 5, 1, bloscLZ4}}}},
	{"blosc-zstd", []format.Filter{{ID: Blosc, Params: []uint32{2, 2, 8, benchChunk, 5, 1, bloscZstd}}}},
	{"vbz-i2", []format.Filter{{ID: VBZ, Params: []uint32{1, 2, 1, 1}}}},
	{"szip-nn", []format.Filter{{ID: SZip, Params: []uint32{169, 32, 64, 4096}}}},
	{"shuffle+szip-nn", []format.Filter{{ID: Shuffle, Params: []uint32{8}}, {ID: SZip, Params: []uint32{169, 32, 8, 4096}}}},
}

func BenchmarkDecode(b *testing.B) {
	src := smoothChunk()
	for _, bp := range benchPipelines {
		enc, mask, err := EncodePipeline(bp.pipeline, src)
		if err != nil {
			b.Fatalf("%s: %v", bp.name, err)
		}
		b.Run(bp.name, func(b *testing.B) {
			b.SetBytes(benchChunk)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				out, err := DecodePipeline(bp.pipeline, mask, enc, benchChunk)
				if err != nil || len(out) != benchChunk {
					b.Fatalf("%d bytes, %v", len(out), err)
				}
			}
			b.StopTimer()
			out, _ := DecodePipeline(bp.pipeline, mask, enc, benchChunk)
			if !bytes.Equal(out, src) {
				b.Fatal("decoded bytes differ")
			}
		})
	}
}

// BenchmarkEncodePipeline is the write path's cost per chunk.
func BenchmarkEncodePipeline(b *testing.B) {
	src := smoothChunk()
	for _, bp := range benchPipelines {
		b.Run(bp.name, func(b *testing.B) {
			b.SetBytes(benchChunk)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, _, err := EncodePipeline(bp.pipeline, src); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
