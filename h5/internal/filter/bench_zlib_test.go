package filter

import (
	"bytes"
	stdzlib "compress/zlib"
	"testing"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// BenchmarkDecodeZlibStreams decodes a chunk as libhdf5 writes it (zlib's
// dynamic Huffman blocks; the Go encoder at level 4 stores noisy floats
// almost verbatim, which decodes far faster than what files hold).
func BenchmarkDecodeZlibStreams(b *testing.B) {
	src := smoothChunk()
	var z bytes.Buffer
	zw, _ := stdzlib.NewWriterLevel(&z, 4)
	zw.Write(src)
	zw.Close()
	enc := z.Bytes()
	b.Logf("ratio %.2f", float64(len(src))/float64(len(enc)))
	f := []format.Filter{{ID: Deflate, Params: []uint32{4}}}
	b.SetBytes(benchChunk)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		out, err := DecodePipeline(f, 0, enc, benchChunk)
		if err != nil || !bytes.Equal(out[:64], src[:64]) {
			b.Fatal(err)
		}
	}
}
