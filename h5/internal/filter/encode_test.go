package filter

import (
	"bytes"
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
	if err := CanEncode([]format.Filter{{ID: SZip}}); err == nil {
		t.Error("szip claimed writable")
	}
	// An optional filter that cannot be applied is skipped and masked.
	enc, mask, err = EncodePipeline([]format.Filter{{ID: SZip, Flags: 1}}, in)
	if err != nil || mask != 1 || !bytes.Equal(enc, in) {
		t.Errorf("optional szip: %v mask %b", err, mask)
	}
}
