package filter

import (
	"bytes"
	stdzlib "compress/zlib"
	"errors"
	"math/rand"
	"testing"

	kzlib "github.com/klauspost/compress/zlib"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// inflateBoth decodes in with inflateZlib and with the streaming decoder
// and fails the test when they disagree: on the bytes, or on whether the
// stream is good. Both bound their output at maxOut.
func inflateBoth(t testing.TB, in []byte, maxOut int) {
	t.Helper()
	c := &deflateCodec{}
	want, werr := c.decodeStream(in, maxOut)
	var f inflater
	got, gerr := inflateZlib(&f, in, maxOut)
	if gerr != nil && !errors.Is(gerr, format.ErrCorrupt) {
		t.Fatalf("error not marked corrupt: %v", gerr)
	}
	switch {
	case werr == nil && gerr == nil:
		if !bytes.Equal(got, want) {
			t.Fatalf("%d-byte stream: decoders differ (%d and %d bytes)", len(in), len(got), len(want))
		}
	case werr == nil:
		t.Fatalf("%d-byte stream: inflateZlib refused what the stream decoder takes: %v", len(in), gerr)
	case gerr == nil:
		// The streaming decoder stops at the end of the output and misses
		// nothing else: a stream only it refuses is one whose checksum or
		// end it never reached, which would be a bug here.
		t.Fatalf("%d-byte stream: inflateZlib took what the stream decoder refuses (%v)", len(in), werr)
	}
}

func zlibSamples() [][]byte {
	rng := rand.New(rand.NewSource(3))
	noise := make([]byte, 300000)
	rng.Read(noise)
	text := bytes.Repeat([]byte("the quick brown fox jumps over the lazy dog 0123456789\n"), 4000)
	runs := make([]byte, 200000)
	for i := range runs {
		runs[i] = byte(i / 777)
	}
	samples := [][]byte{nil, {0}, []byte("a"), smoothChunk(), noise, text, runs, make([]byte, 100000)}
	var streams [][]byte
	for _, s := range samples {
		for _, level := range []int{0, 1, 4, 6, 9, stdzlib.HuffmanOnly} {
			var b bytes.Buffer
			w, _ := stdzlib.NewWriterLevel(&b, level)
			w.Write(s)
			w.Close()
			streams = append(streams, b.Bytes())
		}
		for _, level := range []int{1, 4, 9, kzlib.HuffmanOnly} {
			var b bytes.Buffer
			w, _ := kzlib.NewWriterLevel(&b, level)
			w.Write(s)
			w.Close()
			streams = append(streams, b.Bytes())
		}
	}
	return streams
}

// TestInflateMatchesStreamDecoder compares the decoders on streams of every
// block type from two encoders, on truncations, bit flips and tight bounds.
func TestInflateMatchesStreamDecoder(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	for _, z := range zlibSamples() {
		full := 1 << 21
		inflateBoth(t, z, full)
		var f inflater
		out, err := inflateZlib(&f, z, full)
		if err != nil {
			t.Fatal(err)
		}
		inflateBoth(t, z, len(out))
		if len(out) > 1 { // a bound of 0 means none to the stream decoder
			inflateBoth(t, z, len(out)-1)
		}
		for i := 0; i < 40; i++ {
			inflateBoth(t, z[:rng.Intn(len(z)+1)], full)
			m := append([]byte(nil), z...)
			m[rng.Intn(len(m))] ^= 1 << rng.Intn(8)
			inflateBoth(t, m, full)
		}
	}
}

func FuzzInflate(f *testing.F) {
	for _, z := range zlibSamples() {
		if len(z) < 4096 {
			f.Add(z)
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		inflateBoth(t, in, 1<<16)
	})
}
