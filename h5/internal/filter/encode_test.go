package filter

import (
	"bytes"
	stdzlib "compress/zlib"
	"encoding/binary"
	"io"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// TestEncodeDecodeRoundTrip runs h5py's usual pipeline both ways.
func TestEncodeDecodeRoundTrip(t *testing.T) {
	pipeline := []format.Filter{{ID: Shuffle, Params: []uint32{8}}, {ID: Deflate, Params: []uint32{4}}, {ID: Fletcher32}}
	in := make([]byte, 8*1000+3)
	for i := range in {
		in[i] = byte(i * i / 7)
	}
	enc, mask, err := EncodePipeline(pipeline, in)
	if err != nil || mask != 0 {
		t.Fatalf("encode: %v, mask %b", err, mask)
	}
	if len(enc) >= len(in) {
		t.Errorf("no compression: %d bytes from %d", len(enc), len(in))
	}
	out, err := DecodePipeline(pipeline, mask, enc, len(in))
	if err != nil || !bytes.Equal(out, in) {
		t.Fatalf("round trip: %v", err)
	}
	const sz = 32017 // no codec
	if err := CanEncode([]format.Filter{{ID: sz}}); err == nil {
		t.Error("SZ claimed writable")
	}
	// An optional filter that cannot be applied is skipped and masked.
	enc, mask, err = EncodePipeline([]format.Filter{{ID: sz, Flags: 1}}, in)
	if err != nil || mask != 1 || !bytes.Equal(enc, in) {
		t.Errorf("optional SZ: %v mask %b", err, mask)
	}
}

// TestDeflateCompressesNoisyFloats: floats whose low bytes are noise hold
// no matches a fast level finds, but their Huffman codes still save about
// a tenth, as zlib's do: gzip at every level must not store them whole,
// and they decode back exactly (our decoder and the standard library's).
func TestDeflateCompressesNoisyFloats(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	in := make([]byte, 1<<20)
	for i := 0; i < len(in); i += 8 {
		v := math.Sin(float64(i)*1e-4) + rng.NormFloat64()*0.01
		binary.LittleEndian.PutUint64(in[i:], math.Float64bits(v))
	}
	for level := uint32(1); level <= 9; level++ {
		p := []format.Filter{{ID: Deflate, Params: []uint32{level}}}
		enc, _, err := EncodePipeline(p, in)
		if err != nil {
			t.Fatal(err)
		}
		if ratio := float64(len(enc)) / float64(len(in)); ratio > 0.95 {
			t.Errorf("gzip:%d stores noisy floats at %.3f of their size (zlib: 0.91)", level, ratio)
		}
		out, err := DecodePipeline(p, 0, enc, len(in))
		if err != nil || !bytes.Equal(out, in) {
			t.Fatalf("gzip:%d: round trip: %v", level, err)
		}
		zr, err := stdzlib.NewReader(bytes.NewReader(enc))
		if err != nil {
			t.Fatal(err)
		}
		std, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(std, in) {
			t.Fatalf("gzip:%d: the standard library reads other bytes: %v", level, err)
		}
	}
}
