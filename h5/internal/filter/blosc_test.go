package filter

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// TestBloscRoundTrips encodes every kind of sample with every compressor,
// shuffle, a range of levels and element sizes, and sizes that give one
// block, several with a shorter last, and frames stored as they are; each
// frame must decode to its input. A mandatory filter always gets a frame,
// an optional one gives up (errNoGain) only when the frame would not be
// shorter than the chunk.
func TestBloscRoundTrips(t *testing.T) {
	c, _ := Lookup(Blosc)
	sizes := []int{1, 7, 100, 127, 128, 4095, 40000, 200003}
	if testing.Short() {
		sizes = sizes[:6]
	}
	for _, n := range sizes {
		for _, s := range samples(n, int64(n)+7) {
			for comp := bloscBloscLZ; comp <= bloscZstd; comp++ {
				for _, shuf := range []uint32{0, 1, 2} {
					levels, elems := []uint32{0, 1, 5, 9}, []uint32{1, 4, 8, 12, 24}
					if n > 4095 { // (several blocks: fewer combinations, each slower)
						levels, elems = []uint32{uint32(1 + (comp+int(shuf))%9)}, []uint32{uint32(4 << (comp % 3)), 12}
					}
					for _, level := range levels {
						for _, elem := range elems {
							p := []uint32{2, 2, elem, uint32(n), level, shuf, uint32(comp)}
							name := fmt.Sprintf("%s n=%d %v", s.name, n, p)
							frame, err := bloscEncoder{}.Encode(&format.Filter{ID: Blosc, Params: p}, s.data)
							if err != nil {
								t.Fatalf("%s: mandatory: %v", name, err)
							}
							if got := int(binary.LittleEndian.Uint32(frame[12:])); got != len(frame) {
								t.Fatalf("%s: frame says %d bytes, is %d", name, got, len(frame))
							}
							back, err := c.Decode(&format.Filter{ID: Blosc, Params: p}, frame, n+64)
							if err != nil || !bytes.Equal(back, s.data) {
								t.Fatalf("%s: round trip: %v", name, err)
							}
							stored := frame[2]&bloscMemcpyed != 0
							if level > 0 && n >= 4095 && s.compressible && (stored || len(frame) > n/2) {
								t.Errorf("%s: %d bytes (stored as it is: %v)", name, len(frame), stored)
							}
							opt, err := bloscEncoder{}.Encode(&format.Filter{ID: Blosc, Flags: 1, Params: p}, s.data)
							switch {
							case errors.Is(err, errNoGain) && !stored:
								t.Fatalf("%s: optional filter gave up on a %d-byte frame", name, len(frame))
							case err == nil && !bytes.Equal(opt, frame):
								t.Fatalf("%s: optional and mandatory frames differ", name)
							case err != nil && !errors.Is(err, errNoGain):
								t.Fatalf("%s: optional: %v", name, err)
							}
						}
					}
				}
			}
		}
	}
}

// TestBloscBlockSizes: the block sizes c-blosc 1.21 picks (its
// compute_blocksize, worked by hand), which the encoder must write for
// its splits and blocks to line up with c-blosc's.
func TestBloscBlockSizes(t *testing.T) {
	for _, tc := range []struct{ comp, level, elem, nbytes, want int }{
		{bloscBloscLZ, 5, 8, 320000, 320000},   // split: 128 KiB * 8, capped at 1 MiB, then at the chunk
		{bloscBloscLZ, 5, 8, 4 << 20, 1 << 20}, // the 1 MiB cap
		{bloscBloscLZ, 1, 1, 131072, 65536},    // 16 KiB * 1 is under the 64 KiB floor
		{bloscZstd, 1, 2, 120000, 32768},       // not split: 32 KiB * 2 / 2
		{bloscZstd, 9, 8, 4 << 20, 1 << 20},    // 32 KiB * 2 * 8 * 2
		{bloscLZ4, 5, 24, 168000, 131064},      // 24 bytes: not split; 128 KiB down to whole elements
		{bloscZlib, 6, 8, 240000, 240000},      // 512 KiB, split: 256 KiB * 8, capped, then the chunk
		{bloscLZ4, 5, 4, 1000, 1000},           // under 32 KiB: the chunk
		{bloscLZ4, 5, 8, 5, 1},                 // shorter than an element
		{bloscLZ4, 0, 4, 65536, 8192},          // level 0: 32 KiB / 4
	} {
		if got := bloscBlockSize(tc.comp, tc.level, tc.elem, tc.nbytes); got != tc.want {
			t.Errorf("compressor %d level %d elem %d, %d bytes: block %d, want %d", tc.comp, tc.level, tc.elem, tc.nbytes, got, tc.want)
		}
	}
}

// TestBloscLZDecode: the stream forms c-blosc's encoder writes and ours
// does not (distances from 8192 on, in the far form), and its rules: a
// stream ending in a match is short, matches may not reach before the
// output, nothing may run past either end.
func TestBloscLZDecode(t *testing.T) {
	// 9000 literal bytes, then a far match of 10 bytes at distance 9000
	// (8192 + 808: 31/255 escape, then 808 big-endian), then one literal.
	var src []byte
	lits := make([]byte, 9000)
	for i := range lits {
		lits[i] = byte(i*7 + i/251)
	}
	for i := 0; i < len(lits); i += 32 {
		k := min(32, len(lits)-i)
		src = append(src, byte(k-1))
		src = append(src, lits[i:i+k]...)
	}
	dist := 9000
	src = append(src, 7<<5|31, 1, 255, byte((dist-8192)>>8), byte(dist-8192)) // length 6+1+3
	src = append(src, 0, 'z')
	want := append(append(append([]byte{}, lits...), lits[:10]...), 'z')
	dst := make([]byte, len(want))
	if err := bloscLZDecode(src, dst); err != nil || !bytes.Equal(dst, want) {
		t.Fatalf("far match: %v", err)
	}
	// Long match lengths continue while the byte is 255: 7+255+4 = 6+255+4+3 bytes.
	short := []byte{0, 'a', 7<<5 | 0, 255, 4, 0, 0, 'b'}
	dst = make([]byte, 1+6+255+4+3+1)
	if err := bloscLZDecode(short, dst); err != nil || dst[len(dst)-2] != 'a' || dst[len(dst)-1] != 'b' {
		t.Fatalf("long run: %v %q", err, dst[len(dst)-3:])
	}
	for name, tc := range map[string]struct {
		src []byte
		n   int
	}{
		"ends with a match":  {[]byte{0, 'a', 1 << 5, 0}, 4},
		"match before start": {[]byte{0, 'a', 1 << 5, 5, 0, 'b'}, 6},
		"literal past end":   {[]byte{5, 'a'}, 6},
		"output overrun":     {[]byte{3, 'a', 'b', 'c', 'd'}, 3},
		"too short":          {[]byte{1, 'a', 'b'}, 3},
		"empty":              {nil, 1},
	} {
		err := bloscLZDecode(tc.src, make([]byte, tc.n))
		if !errors.Is(err, format.ErrCorrupt) {
			t.Errorf("%s: %v, want corrupt", name, err)
		}
	}
}

// TestBloscBadFrames: damaged or unknown frames are refused as corrupt or
// unsupported, never with a panic or an allocation past the bound.
func TestBloscBadFrames(t *testing.T) {
	c, _ := Lookup(Blosc)
	p := []uint32{2, 2, 4, 40000, 5, 1, 0}
	data := samples(40000, 3)[3].data
	frame, err := bloscEncoder{}.Encode(&format.Filter{ID: Blosc, Params: p}, data)
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; n < len(frame); n++ {
		if _, err := c.Decode(nil, frame[:n], 40064); err == nil {
			t.Fatalf("frame cut to %d bytes decoded", n)
		}
	}
	edit := func(at int, b byte) []byte {
		f := bytes.Clone(frame)
		f[at] = b
		return f
	}
	for name, tc := range map[string]struct {
		frame  []byte
		maxOut int
		want   error
	}{
		"version 3":         {edit(0, 3), 40064, format.ErrUnsupported},
		"codec version 2":   {edit(1, 2), 40064, format.ErrUnsupported},
		"reserved flag":     {edit(2, frame[2]|bloscReserved), 40064, format.ErrUnsupported},
		"compressor 6":      {edit(2, frame[2]&0x1f|6<<5), 40064, format.ErrUnsupported},
		"element size 0":    {edit(3, 0), 40064, format.ErrCorrupt},
		"more than bound":   {frame, 39999, format.ErrCorrupt},
		"huge claim":        {edit(7, 0x7f), 1 << 20, format.ErrCorrupt},
		"block size 0":      {edit(9, 0), 40064, format.ErrCorrupt},
		"bad block start":   {edit(19, 0x40), 40064, format.ErrCorrupt},
		"split size past":   {edit(int(binary.LittleEndian.Uint32(frame[16:]))+3, 0x40), 40064, format.ErrCorrupt},
		"stored, wrong len": {edit(2, frame[2]|bloscMemcpyed), 40064, format.ErrCorrupt},
	} {
		_, err := c.Decode(nil, tc.frame, tc.maxOut)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
}
