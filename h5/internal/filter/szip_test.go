package filter

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand"
	"strings"
	"testing"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// szipFilter is the filter libhdf5 records: options, pixels per block, bits
// per pixel, pixels per scanline.
func szipFilter(options, ppb, bpp, pps uint32) *format.Filter {
	return &format.Filter{ID: SZip, Flags: 1, Params: []uint32{options | 128, ppb, bpp, pps}}
}

// bitString packs "0101..." (spaces ignored) most significant bit first,
// behind szip's 4-byte size header.
func bitString(size uint32, s string) []byte {
	out := binary.LittleEndian.AppendUint32(nil, size)
	var acc byte
	n := 0
	for _, c := range strings.ReplaceAll(s, " ", "") {
		acc = acc<<1 | byte(c-'0')
		if n++; n == 8 {
			out, acc, n = append(out, acc), 0, 0
		}
	}
	if n > 0 {
		out = append(out, acc<<(8-n))
	}
	return out
}

// Streams assembled by hand from CCSDS 121.0's options, one block each of
// 8 samples of 8 bits (3-bit identifiers), then the same with the
// preprocessor, whose first block begins with the reference sample.
func TestSzipBlockOptions(t *testing.T) {
	cases := []struct {
		name string
		nn   bool
		bits string
		want []byte
	}{
		// ID 000, 1: second extension; pairs (0,0) m=0, (1,0) m=1,
		// (0,1) m=2, (2,1) m=beta(beta+1)/2+second=6+1.
		{"second extension", false, "000 1 1 01 001 00000001", []byte{0, 0, 1, 0, 0, 1, 2, 1}},
		// ID 010: k = 1; high parts 0,1,2,0,0,0,3,1 as fundamental
		// sequences, then the low bits 1,0,1,1,0,0,1,0.
		{"split k=1", false, "010 1 01 001 1 1 1 0001 01 1 0 1 1 0 0 1 0", []byte{1, 2, 5, 1, 0, 0, 7, 2}},
		// ID 111: as they are.
		{"uncompressed", false, "111 00000001 11111111 00000011 00000100 10000000 00000110 00000111 00001000", []byte{1, 255, 3, 4, 128, 6, 7, 8}},
		// ID 000, 0: zero blocks, fundamental sequence 0 = one block.
		{"zero block", false, "000 0 1", []byte{0, 0, 0, 0, 0, 0, 0, 0}},
		// The same with the preprocessor: reference 100, then mapped
		// differences 2 (+1), 1 (-1), 0, 3 (-2), 4 (+2), 0, 1 (-1).
		{"split k=0, reference", true, "001 01100100 001 01 1 0001 00001 1 01", []byte{100, 101, 100, 100, 98, 100, 100, 99}},
		// Reference 7 and zeros: the sample repeated.
		{"zero block, reference", true, "000 0 00000111 1", []byte{7, 7, 7, 7, 7, 7, 7, 7}},
		// Second extension after the reference: the first pair gives its
		// second sample only (m=2: second 1, a step of -1), then (0,0),
		// (1,1) m=4 (two steps of -1), (0,0).
		{"second extension, reference", true, "000 1 00001010 001 1 00001 1", []byte{10, 9, 9, 9, 8, 7, 7, 7}},
		// Past theta: from 250 (theta 5), a mapped 200 is the sample
		// 255 - 200 = 55 away from the top.
		{"mapping past theta", true, "111 11111010 11001000 00000000 00000000 00000000 00000000 00000000 00000000", []byte{250, 55, 55, 55, 55, 55, 55, 55}},
	}
	for _, tc := range cases {
		var opts uint32 = 4 // EC
		if tc.nn {
			opts = szipNN
		}
		f := szipFilter(opts, 8, 8, 8)
		out, err := szipCodec{}.Decode(f, bitString(8, tc.bits), 64)
		if err != nil || !bytes.Equal(out, tc.want) {
			t.Errorf("%s: %v (%v), want %v", tc.name, out, err, tc.want)
		}
	}
}

// A run of zero blocks to the end of its segment ("ROS"): in an RSI of 80
// blocks, a run from block 1 ends at block 64, one from block 70 at the
// RSI's end.
func TestSzipZeroRunToSegmentEnd(t *testing.T) {
	f := szipFilter(4, 8, 8, 640)
	// Block 0: uncompressed 1..8; blocks 1-63: ROS; block 64: zero run of
	// 6 (FS 6); blocks 70-79: ROS.
	bits := "111 00000001 00000010 00000011 00000100 00000101 00000110 00000111 00001000" +
		"000 0 00001" + "000 0 0000001" + "000 0 00001"
	out, err := szipCodec{}.Decode(f, bitString(640, bits), 1024)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]byte, 640)
	copy(want, []byte{1, 2, 3, 4, 5, 6, 7, 8})
	if !bytes.Equal(out, want) {
		t.Fatalf("got %v", out)
	}
	// A run past the RSI's end is corrupt.
	if _, err := (szipCodec{}).Decode(szipFilter(4, 8, 8, 16), bitString(16, "000 0 001"), 64); !errors.Is(err, format.ErrCorrupt) {
		t.Errorf("zero run past the RSI: %v", err)
	}
}

// Every parameter libhdf5 can record round-trips through our coder, on
// data from zeros to noise, including chunks that end inside a scanline
// and scanlines that are not whole blocks.
func TestSzipRoundTrips(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	type shape struct{ bpp, width uint32 }
	shapes := []shape{{1, 1}, {3, 1}, {8, 1}, {9, 2}, {12, 2}, {16, 2}, {17, 4}, {24, 4}, {31, 4}, {32, 4}, {64, 8}}
	compressed := 0
	for _, sh := range shapes {
		for _, ppb := range []uint32{2, 8, 10, 16, 32, 64} {
			for _, pps := range []uint32{ppb, 3 * ppb, 5*ppb - 1, 1000} {
				for _, opts := range []uint32{4, szipNN, szipNN | szipMSB, 4 | szipMSB} {
					f := szipFilter(opts, ppb, sh.bpp, pps)
					for kind := 0; kind < 5; kind++ {
						n := int(sh.width) * (1 + r.Intn(3000))
						in := szipData(r, kind, n, sh.bpp, sh.width, opts&szipMSB != 0)
						enc, err := szipEncoder{}.Encode(f, in)
						if errors.Is(err, errSzipNoGain) {
							continue
						}
						if err != nil {
							t.Fatalf("%v: %v", f.Params, err)
						}
						compressed++
						if len(enc) >= len(in)+szipHeader {
							t.Fatalf("%v: %d bytes for %d", f.Params, len(enc), len(in))
						}
						out, err := szipCodec{}.Decode(f, enc, len(in)+64)
						if err != nil || !bytes.Equal(out, in) {
							t.Fatalf("%v, kind %d, %d bytes: round trip: %v", f.Params, kind, len(in), err)
						}
					}
				}
			}
		}
	}
	if compressed < 500 {
		t.Fatalf("only %d chunks compressed", compressed)
	}
	// Zeros shrink to almost nothing: runs of zero blocks.
	enc, err := szipEncoder{}.Encode(szipFilter(szipNN, 32, 16, 4096), make([]byte, 1<<20))
	if err != nil || len(enc) > 1000 {
		t.Fatalf("1 MiB of zeros: %d bytes (%v)", len(enc), err)
	}
}

// szipData makes n bytes of bpp-bit samples stored in width bytes:
// zeros, sparse values, small values (second extension country), a smooth
// signal and noise.
func szipData(r *rand.Rand, kind, n int, bpp, width uint32, msb bool) []byte {
	in := make([]byte, n)
	sampleBits := bpp
	if bpp == 32 || bpp == 64 {
		sampleBits = 8 * width // whole pixels, split into bytes by the coder
	}
	top := uint64(1)<<min(sampleBits, 63) - 1
	if sampleBits == 64 {
		top = ^uint64(0)
	}
	var v uint64
	for i := 0; i+int(width) <= n; i += int(width) {
		switch kind {
		case 0:
			v = 0
		case 1:
			v = 0
			if r.Intn(50) == 0 {
				v = r.Uint64() & top
			}
		case 2:
			v = uint64(r.Intn(3)) & top
		case 3:
			v = (v + uint64(r.Intn(7))) & top
		default:
			v = r.Uint64() & top
		}
		for b := uint32(0); b < width; b++ {
			shift := 8 * b
			if msb {
				shift = 8 * (width - 1 - b)
			}
			in[i+int(b)] = byte(v >> shift)
		}
	}
	return in
}

// Damaged streams are refused, never answered with the wrong bytes or
// more than the chunk: every truncation of a valid stream, headers that
// claim more than the chunk, parameters no libhdf5 writes.
func TestSzipRefusesDamage(t *testing.T) {
	f := szipFilter(szipNN, 16, 16, 200)
	r := rand.New(rand.NewSource(5))
	in := szipData(r, 3, 4000, 16, 2, false)
	enc, err := szipEncoder{}.Encode(f, in)
	if err != nil {
		t.Fatal(err)
	}
	for cut := 0; cut < len(enc); cut++ {
		if _, err := (szipCodec{}).Decode(f, enc[:cut], len(in)+64); !errors.Is(err, format.ErrCorrupt) {
			t.Fatalf("cut at %d of %d: %v", cut, len(enc), err)
		}
	}
	if _, err := (szipCodec{}).Decode(f, enc, len(in)-1); !errors.Is(err, format.ErrCorrupt) {
		t.Errorf("header past the chunk: %v", err)
	}
	for _, p := range [][]uint32{{32, 7, 8, 8}, {32, 0, 8, 8}, {32, 128, 8, 8}, {32, 8, 0, 8}, {32, 8, 40, 8}, {32, 8, 8, 0}, {32, 8}} {
		_, err := (szipCodec{}).Decode(&format.Filter{ID: SZip, Params: p}, enc, len(in)+64)
		if !errors.Is(err, format.ErrCorrupt) && !errors.Is(err, format.ErrUnsupported) {
			t.Errorf("params %v: %v", p, err)
		}
	}
	// A value in a 12-bit type's unused high bits cannot be coded: the
	// chunk is stored unfiltered (the filter is optional), never altered.
	wide := []byte{0xff, 0xff, 1, 0, 2, 0, 3, 0}
	if _, err := (szipEncoder{}).Encode(szipFilter(szipNN, 2, 12, 4), wide); !errors.Is(err, errSzipNoGain) {
		t.Errorf("a 16-bit value through 12 bits: %v", err)
	}
	enc, mask, err := EncodePipeline([]format.Filter{*szipFilter(szipNN, 2, 12, 4)}, wide)
	if err != nil || mask != 1 || !bytes.Equal(enc, wide) {
		t.Errorf("pipeline: %v mask %b", err, mask)
	}
}

// The walk from the mean's k finds the cheapest split a search of every
// k finds (the cost is convex in k).
func TestSzipBestSplitIsTheCheapest(t *testing.T) {
	r := rand.New(rand.NewSource(121))
	for i := 0; i < 20000; i++ {
		coded := make([]uint32, 1+r.Intn(64))
		bits := uint(1 + r.Intn(31))
		for j := range coded {
			coded[j] = uint32(r.Int63n(int64(1)<<bits)) >> uint(r.Intn(int(bits)))
		}
		maxK := uint(r.Intn(30))
		_, got := aecBestSplit(coded, maxK)
		want := ^uint64(0)
		for k := uint(0); k <= maxK; k++ {
			c := uint64(len(coded)) * uint64(k+1)
			for _, v := range coded {
				c += uint64(v >> k)
			}
			want = min(want, c)
		}
		if got != want {
			t.Fatalf("%v, k up to %d: %d bits, the cheapest is %d", coded, maxK, got, want)
		}
	}
}
