package filter

import (
	"bytes"
	"compress/zlib"
	"errors"
	"testing"

	"github.com/h5mount/h5mount/h5/internal/format"
)

func zlibBytes(t *testing.T, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := zlib.NewWriter(&b)
	w.Write(data)
	w.Close()
	return b.Bytes()
}

func TestDeflateRoundTripAndBound(t *testing.T) {
	data := bytes.Repeat([]byte("h5mount "), 4096)
	z := zlibBytes(t, data)
	pipeline := []format.Filter{{ID: Deflate, Params: []uint32{6}}}
	got, err := DecodePipeline(pipeline, 0, z, len(data))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("decode: %v (len %d)", err, len(got))
	}
	// A stream that inflates past the chunk size is refused, not followed.
	if _, err := DecodePipeline(pipeline, 0, z, len(data)/2-100); !errors.Is(err, format.ErrCorrupt) {
		t.Fatalf("oversized stream: %v", err)
	}
	if _, err := DecodePipeline(pipeline, 0, z[:len(z)/2], len(data)); err == nil {
		t.Fatal("truncated stream accepted")
	}
	// Mask bit 0 set: the filter was skipped on write.
	if got, err := DecodePipeline(pipeline, 1, data, len(data)); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("masked filter applied: %v", err)
	}
}

func TestShuffleUndo(t *testing.T) {
	// Three 4-byte elements plus a 2-byte tail, shuffled by hand.
	orig := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}
	shuffled := []byte{1, 5, 9, 2, 6, 10, 3, 7, 11, 4, 8, 12, 13, 14}
	got, err := DecodePipeline([]format.Filter{{ID: Shuffle, Params: []uint32{4}}}, 0, shuffled, len(orig))
	if err != nil || !bytes.Equal(got, orig) {
		t.Fatalf("unshuffle = %v, %v", got, err)
	}
}

func TestFletcher32(t *testing.T) {
	data := []byte("abcdefgh")
	sum := Fletcher32Sum(data)
	stored := append(append([]byte(nil), data...), byte(sum), byte(sum>>8), byte(sum>>16), byte(sum>>24))
	got, err := DecodePipeline([]format.Filter{{ID: Fletcher32}}, 0, stored, len(data))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("verify: %v", err)
	}
	stored[0] ^= 1
	if _, err := DecodePipeline([]format.Filter{{ID: Fletcher32}}, 0, stored, len(data)); !errors.Is(err, ErrChecksum) {
		t.Fatalf("corrupt chunk: %v", err)
	}
	// Odd lengths pad the last word with zero.
	if Fletcher32Sum([]byte{1, 2, 3}) != Fletcher32Sum([]byte{1, 2, 3, 0}) {
		t.Error("odd-length sum differs from zero-padded")
	}
}

func TestUnknownFilterIsUnsupported(t *testing.T) {
	_, err := DecodePipeline([]format.Filter{{ID: SZip}}, 0, []byte{1}, 1)
	if !errors.Is(err, format.ErrUnsupported) {
		t.Fatalf("szip: %v", err)
	}
}
