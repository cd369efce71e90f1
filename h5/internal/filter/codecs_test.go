package filter

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand"
	"runtime"
	"testing"

	"github.com/h5mount/h5mount/h5/internal/format"
	"github.com/klauspost/compress/zstd"
)

// bitShuffleRef is the bit transpose done one bit at a time.
func bitShuffleRef(src []byte, elem int) []byte {
	n := len(src) / elem
	out := make([]byte, len(src))
	for i := 0; i < n; i++ {
		for j := 0; j < elem; j++ {
			for k := 0; k < 8; k++ {
				if src[i*elem+j]>>k&1 == 1 {
					r := 8*j + k
					out[r*(n/8)+i/8] |= 1 << (i % 8)
				}
			}
		}
	}
	return out
}

func randomish(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		switch {
		case i > 40 && r.Intn(3) == 0:
			b[i] = b[i-1-r.Intn(40)]
		case r.Intn(4) == 0:
			b[i] = byte(r.Intn(256))
		default:
			b[i] = byte(i / 17)
		}
	}
	return b
}

func isCorrupt(err error) bool { return errors.Is(err, format.ErrCorrupt) }

// ---- bit transposes ----

func TestTranspose8(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for n := 0; n < 1000; n++ {
		x := r.Uint64()
		var want uint64
		for row := 0; row < 8; row++ {
			for col := 0; col < 8; col++ {
				if x>>(8*row+col)&1 == 1 {
					want |= 1 << (8*col + row)
				}
			}
		}
		if got := transpose8(x); got != want {
			t.Fatalf("transpose8(%#x) = %#x, want %#x", x, got, want)
		}
	}
}

func TestBitUnshuffle(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	for elem := 1; elem <= 17; elem++ {
		// Rows of 16 columns and more take the vector loop (amd64).
		for _, n := range []int{8, 16, 64, 128, 136, 264, 1024} {
			src := randomish(r, n*elem)
			dst := make([]byte, len(src))
			bitUnshuffle(dst, bitShuffleRef(src, elem), elem)
			if !bytes.Equal(dst, src) {
				t.Fatalf("elem %d, %d elements: round trip differs", elem, n)
			}
		}
	}
}

// ---- LZ4 ----

func TestLZ4Block(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	for _, n := range []int{0, 1, 5, 13, 100, 300, 4096, 70000} {
		src := randomish(r, n)
		z := lz4Encode(src)
		dst := make([]byte, n)
		if err := lz4Block(z, dst); err != nil || !bytes.Equal(dst, src) {
			t.Fatalf("%d bytes: %v", n, err)
		}
		if n > 0 {
			if err := lz4Block(z, make([]byte, n-1)); !isCorrupt(err) {
				t.Fatalf("%d bytes into %d: %v", n, n-1, err)
			}
			if err := lz4Block(z, make([]byte, n+1)); !isCorrupt(err) {
				t.Fatalf("%d bytes into %d: %v", n, n+1, err)
			}
		}
	}
	// An overlapping match repeats a pattern; long lengths take extra bytes.
	block := []byte{0x3f, 'a', 'b', 'c', 2, 0, 255, 1, 0x50, 'x', 'y', 'z', 'w', '!'}
	want := append([]byte("abc"), bytes.Repeat([]byte("bc"), 142)...)
	want = append(want[:3+15+4+255+1], "xyzw!"...)
	dst := make([]byte, len(want))
	if err := lz4Block(block, dst); err != nil || !bytes.Equal(dst, want) {
		t.Fatalf("hand-made block: %v\n%q\n%q", err, dst, want)
	}
	for _, bad := range [][]byte{
		{},                        // no token
		{0x10},                    // literal past the end
		{0x00, 0, 0},              // match distance 0
		{0x10, 'a', 2, 0},         // distance past the start
		{0x10, 'a', 1},            // truncated distance
		{0xf0, 255, 255},          // truncated length
		{0x1f, 'a', 1, 0, 255},    // truncated match length
		{0x1f, 'a', 1, 0, 200, 0}, // match past the output
	} {
		if err := lz4Block(bad, make([]byte, 64)); !isCorrupt(err) {
			t.Errorf("block %v: %v", bad, err)
		}
	}
}

func TestLZ4Chunks(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	src := randomish(r, 10000)
	copy(src[3000:], bytes.Repeat([]byte{0}, 2000))
	for i := 6000; i < 7000; i++ { // an incompressible stretch: a raw block
		src[i] = byte(r.Intn(256))
	}
	c, _ := Lookup(LZ4)
	for _, block := range []int{100, 1000, 4096, 1 << 30} {
		z, err := lz4Encoder{}.Encode(&format.Filter{ID: LZ4, Params: []uint32{uint32(block)}}, src)
		if err != nil {
			t.Fatalf("block %d: encode: %v", block, err)
		}
		got, err := c.Decode(&format.Filter{ID: LZ4}, z, len(src)+64)
		if err != nil || !bytes.Equal(got, src) {
			t.Fatalf("block %d: %v", block, err)
		}
		if _, err := c.Decode(&format.Filter{ID: LZ4}, z, len(src)-1); !isCorrupt(err) {
			t.Fatalf("block %d, small bound: %v", block, err)
		}
		for _, cut := range []int{0, 5, 12, 15, len(z) / 2, len(z) - 1} {
			if _, err := c.Decode(&format.Filter{ID: LZ4}, z[:cut], len(src)); !isCorrupt(err) {
				t.Fatalf("block %d cut at %d: %v", block, cut, err)
			}
		}
	}
	// Zero block size with data: refused, not a loop.
	z := binary.BigEndian.AppendUint64(nil, 10)
	z = append(z, 0, 0, 0, 0)
	if _, err := c.Decode(&format.Filter{ID: LZ4}, z, 100); !isCorrupt(err) {
		t.Fatalf("zero block size: %v", err)
	}
}

// ---- LZF ----

func TestLZF(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	c, _ := Lookup(LZF)
	for _, n := range []int{1, 2, 33, 100, 1000, 20000} {
		src := randomish(r, n)
		z := lzfEncode(src)
		f := &format.Filter{ID: LZF, Params: []uint32{4, 261, uint32(n)}}
		got, err := c.Decode(f, z, n+64)
		if err != nil || !bytes.Equal(got, src) {
			t.Fatalf("%d bytes: %v", n, err)
		}
		// No size hint: the bound alone.
		if got, err := c.Decode(&format.Filter{ID: LZF}, z, n); err != nil || !bytes.Equal(got, src) {
			t.Fatalf("%d bytes without hint: %v", n, err)
		}
		if _, err := c.Decode(f, z, n-1); !isCorrupt(err) {
			t.Fatalf("%d bytes into %d: %v", n, n-1, err)
		}
	}
	// A stale hint smaller than the data still decodes within the bound.
	src := bytes.Repeat([]byte("0123456789"), 50)
	if got, err := c.Decode(&format.Filter{ID: LZF, Params: []uint32{4, 261, 100}}, lzfEncode(src), 600); err != nil || !bytes.Equal(got, src) {
		t.Fatalf("stale hint: %v", err)
	}
	for _, bad := range [][]byte{
		{},                // empty
		{5, 'a'},          // literal past the end
		{0, 'a', 32},      // match: truncated distance
		{0, 'a', 0xe0},    // extended match: truncated length
		{0, 'a', 0x20, 1}, // distance before the start
	} {
		if _, err := c.Decode(&format.Filter{ID: LZF}, bad, 1000); !isCorrupt(err) {
			t.Errorf("stream %v: %v", bad, err)
		}
	}
}

// ---- zstd ----

func TestZstd(t *testing.T) {
	r := rand.New(rand.NewSource(6))
	src := randomish(r, 50000)
	enc, _ := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
	z := enc.EncodeAll(src, nil)
	c, _ := Lookup(Zstd)
	f := &format.Filter{ID: Zstd, Params: []uint32{3}}
	got, err := c.Decode(f, z, len(src)+64)
	if err != nil || !bytes.Equal(got, src) {
		t.Fatalf("round trip: %v", err)
	}
	// The frame header says how big it is: a small bound refuses at once.
	if _, err := c.Decode(f, z, len(src)-1); !isCorrupt(err) {
		t.Fatalf("small bound: %v", err)
	}
	if _, err := c.Decode(f, z[:len(z)/2], len(src)); !isCorrupt(err) {
		t.Fatalf("truncated: %v", err)
	}
	if _, err := c.Decode(f, []byte("not zstd at all"), 100); !isCorrupt(err) {
		t.Fatalf("garbage: %v", err)
	}
	// A streamed frame records no size: the bound still holds.
	src = randomish(r, 600000)
	var b bytes.Buffer
	w, _ := zstd.NewWriter(&b, zstd.WithEncoderConcurrency(1))
	for i := 0; i < len(src); i += 1000 {
		w.Write(src[i : i+1000])
	}
	w.Close()
	var h zstd.Header
	if h.Decode(b.Bytes()); h.HasFCS {
		t.Fatal("streamed frame has a content size")
	}
	if got, err := c.Decode(f, b.Bytes(), len(src)); err != nil || !bytes.Equal(got, src) {
		t.Fatalf("streamed frame: %v", err)
	}
	if _, err := c.Decode(f, b.Bytes(), len(src)-1); !isCorrupt(err) {
		t.Fatalf("streamed frame, small bound: %v", err)
	}
}

// ---- bitshuffle ----

func TestBitshuffleRoundTrips(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	c, _ := Lookup(Bitshuffle)
	for _, comp := range []uint32{0, bshufLZ4, bshufZstd} {
		for _, elem := range []int{1, 2, 4, 8, 12, 16} {
			for _, n := range []int{3, 8, 100, 1000, 3001} {
				for _, block := range []int{0, 8, 64} {
					src := randomish(r, n*elem)
					f := &format.Filter{ID: Bitshuffle, Params: []uint32{0, 3, uint32(elem), uint32(block), comp, 1}}
					z, err := bitshuffleEncoder{}.Encode(f, src)
					if err != nil {
						t.Fatalf("comp %d elem %d n %d block %d: encode: %v", comp, elem, n, block, err)
					}
					got, err := c.Decode(f, z, len(src)+64)
					if err != nil || !bytes.Equal(got, src) {
						t.Fatalf("comp %d elem %d n %d block %d: %v", comp, elem, n, block, err)
					}
					if comp != 0 && n > 8 {
						if _, err := c.Decode(f, z[:len(z)-elem-1], len(src)+64); !isCorrupt(err) {
							t.Fatalf("comp %d elem %d n %d block %d truncated: %v", comp, elem, n, block, err)
						}
					}
				}
			}
		}
	}
	for _, p := range [][]uint32{{0, 3}, {0, 3, 0}, {0, 3, 4, 12}} {
		if _, err := c.Decode(&format.Filter{ID: Bitshuffle, Params: p}, make([]byte, 64), 128); !isCorrupt(err) {
			t.Errorf("params %v: %v", p, err)
		}
	}
	// The header's size is checked against the bound before allocating.
	z := binary.BigEndian.AppendUint64(nil, 1<<40)
	z = binary.BigEndian.AppendUint32(z, 64)
	if _, err := c.Decode(&format.Filter{ID: Bitshuffle, Params: []uint32{0, 3, 4, 0, 2}}, z, 1<<20); !isCorrupt(err) {
		t.Fatalf("huge claim: %v", err)
	}
}

// ---- scale-offset ----

// soParams are libhdf5's 20 cd_values.
func soParams(scaleType, factor, n, class, size, sign, order, fillDefined uint32, fill uint64) []uint32 {
	p := make([]uint32, 20)
	copy(p, []uint32{scaleType, factor, n, class, size, sign, order, fillDefined, uint32(fill), uint32(fill >> 32)})
	return p
}

// soChunk packs offsets of minbits bits after the 21-byte header.
func soChunk(minbits uint32, minval uint64, offsets []uint64) []byte {
	out := binary.LittleEndian.AppendUint32(nil, minbits)
	out = append(out, 8)
	out = binary.LittleEndian.AppendUint64(out, minval)
	out = append(out, make([]byte, 8)...)
	var acc uint64
	var nacc uint32
	for _, o := range offsets {
		for b := int(minbits) - 1; b >= 0; b-- {
			acc = acc<<1 | o>>b&1
			nacc++
			if nacc == 8 {
				out = append(out, byte(acc))
				acc, nacc = 0, 0
			}
		}
	}
	if nacc > 0 {
		out = append(out, byte(acc<<(8-nacc)))
	}
	return append(out, 0)
}

func TestScaleOffset(t *testing.T) {
	c, _ := Lookup(ScaleOffset)
	dec := func(p []uint32, in []byte, maxOut int) ([]byte, error) {
		return c.Decode(&format.Filter{ID: ScaleOffset, Params: p}, in, maxOut)
	}
	// Signed 16-bit, big-endian, no fill value: offsets add to a negative
	// minimum.
	minval := uint64(0xffff_ffff_ffff_ff9c) // -100
	got, err := dec(soParams(2, 0, 4, 0, 2, 1, 1, 0, 0), soChunk(3, minval, []uint64{0, 1, 7, 5}), 100)
	want := []byte{0xff, 0x9c, 0xff, 0x9d, 0xff, 0xa3, 0xff, 0xa1}
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("i2 BE: %x %v, want %x", got, err, want)
	}
	// With a fill value the all-ones offset stands for it.
	got, err = dec(soParams(2, 0, 3, 0, 4, 0, 0, 1, 77), soChunk(2, 1000, []uint64{3, 0, 2}), 100)
	want = []byte{77, 0, 0, 0, 0xe8, 3, 0, 0, 0xea, 3, 0, 0}
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("u4 fill: %x %v, want %x", got, err, want)
	}
	// minbits 0: every element is the minimum (or, with a fill value
	// defined, the fill value: the all-ones offset of zero bits).
	got, err = dec(soParams(2, 0, 3, 0, 1, 0, 0, 0, 0), soChunk(0, 9, nil), 100)
	if err != nil || !bytes.Equal(got, []byte{9, 9, 9}) {
		t.Fatalf("minbits 0: %v %v", got, err)
	}
	got, err = dec(soParams(2, 0, 3, 0, 1, 0, 0, 1, 4), soChunk(0, 9, nil), 100)
	if err != nil || !bytes.Equal(got, []byte{4, 4, 4}) {
		t.Fatalf("minbits 0, fill: %v %v", got, err)
	}
	// Full precision: the elements follow the header as they are (little-
	// endian) and come out in the dataset's order.
	raw := soChunk(0, 0, nil)[:21]
	binary.LittleEndian.PutUint32(raw, 32)
	raw = append(raw, 1, 2, 3, 4, 5, 6, 7, 8)
	got, err = dec(soParams(2, 0, 2, 0, 4, 1, 1, 1, 0), raw, 100)
	if err != nil || !bytes.Equal(got, []byte{4, 3, 2, 1, 8, 7, 6, 5}) {
		t.Fatalf("full precision: %v %v", got, err)
	}
	// A scale factor equal to the width: the chunk was never packed.
	if got, err := dec(soParams(2, 16, 2, 0, 2, 0, 0, 0, 0), []byte{1, 2, 3, 4}, 100); err != nil || !bytes.Equal(got, []byte{1, 2, 3, 4}) {
		t.Fatalf("no packing: %v %v", got, err)
	}
	// D-scaled doubles: offset / 10^D + minimum.
	got, err = dec(soParams(0, 2, 2, 1, 8, 0, 0, 0, 0), soChunk(10, math.Float64bits(-1.5), []uint64{0, 275}), 100)
	if err != nil || math.Float64frombits(binary.LittleEndian.Uint64(got)) != -1.5 || math.Float64frombits(binary.LittleEndian.Uint64(got[8:])) != 275/100.0-1.5 {
		t.Fatalf("f8: %v %v", got, err)
	}
	// Errors.
	for name, tc := range map[string]struct {
		p   []uint32
		in  []byte
		err error
	}{
		"few params":     {[]uint32{2, 0, 1}, soChunk(1, 0, []uint64{1}), format.ErrCorrupt},
		"E-scaling":      {soParams(1, 0, 1, 1, 4, 0, 0, 0, 0), soChunk(1, 0, []uint64{1}), format.ErrUnsupported},
		"int D-scale":    {soParams(0, 0, 1, 0, 4, 0, 0, 0, 0), soChunk(1, 0, []uint64{1}), format.ErrCorrupt},
		"3-byte ints":    {soParams(2, 0, 1, 0, 3, 0, 0, 0, 0), soChunk(1, 0, []uint64{1}), format.ErrUnsupported},
		"too many elems": {soParams(2, 0, 1<<30, 0, 4, 0, 0, 0, 0), soChunk(1, 0, []uint64{1}), format.ErrCorrupt},
		"minbits > size": {soParams(2, 0, 1, 0, 2, 0, 0, 0, 0), soChunk(17, 0, []uint64{1}), format.ErrCorrupt},
		"short packed":   {soParams(2, 0, 64, 0, 4, 0, 0, 0, 0), soChunk(9, 0, []uint64{1, 2})[:24], format.ErrCorrupt},
		"no header":      {soParams(2, 0, 1, 0, 4, 0, 0, 0, 0), []byte{1, 2, 3}, format.ErrCorrupt},
	} {
		if _, err := dec(tc.p, tc.in, 1000); !errors.Is(err, tc.err) {
			t.Errorf("%s: %v, want %v", name, err, tc.err)
		}
	}
}

// ---- n-bit ----

func TestNBitParams(t *testing.T) {
	c, _ := Lookup(NBit)
	dec := func(p []uint32, in []byte, maxOut int) ([]byte, error) {
		return c.Decode(&format.Filter{ID: NBit, Params: p}, in, maxOut)
	}
	// Atomic: 2-byte little-endian, 5 bits at offset 6: bits 10..6.
	got, err := dec([]uint32{8, 0, 2, 1, 2, 0, 5, 6}, []byte{0b10110_011, 0b01_000000}, 10)
	if err != nil || !bytes.Equal(got, []byte{0b10_000000, 0b101, 0b01_000000, 0b011}) {
		t.Fatalf("atomic: %08b %v", got, err)
	}
	// Compound {u1 3 bits @0 at byte 1, no-op 2 bytes at byte 2}, size 4.
	p := []uint32{0, 0, 1, 3, 4, 2, 1, 1, 1, 0, 3, 0, 2, 4, 2}
	p[0] = uint32(len(p))
	got, err = dec(p, []byte{0b101_10101, 0b010_11111, 0b111_00000}, 10)
	if err != nil || !bytes.Equal(got, []byte{0, 0b101, 0b10101010, 0b11111111}) {
		t.Fatalf("compound: %08b %v", got, err)
	}
	if got, err := dec([]uint32{8, 1, 2, 1, 2, 0, 16, 0}, []byte{1, 2, 3, 4}, 2); err != nil || !bytes.Equal(got, []byte{1, 2, 3, 4}) {
		t.Fatalf("no compression flagged: %v %v", got, err)
	}
	for name, p := range map[string][]uint32{
		"count mismatch":  {9, 0, 2, 1, 2, 0, 5, 6},
		"too short":       {4, 0, 2, 1},
		"precision":       {8, 0, 2, 1, 2, 0, 17, 0},
		"offset":          {8, 0, 2, 1, 2, 0, 10, 7},
		"base too big":    {10, 0, 2, 2, 4, 1, 5, 0, 3, 0},
		"zero base":       {10, 0, 2, 2, 4, 1, 0, 0, 3, 0},
		"member overflow": {15, 0, 1, 3, 4, 2, 1, 1, 1, 0, 3, 0, 3, 4, 4},
		"zero member":     {15, 0, 1, 3, 4, 2, 1, 4, 0, 0, 3, 0, 2, 4, 2},
		"truncated":       {13, 0, 1, 3, 4, 2, 1, 1, 1, 0, 3, 0, 2},
		"bad class":       {8, 0, 2, 7, 2, 0, 5, 6},
		"huge":            {8, 0, 1 << 30, 1, 4, 0, 5, 6},
	} {
		if _, err := dec(p, make([]byte, 64), 100); !isCorrupt(err) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Packed data ending early.
	if _, err := dec([]uint32{8, 0, 10, 1, 4, 0, 20, 0}, make([]byte, 20), 100); !isCorrupt(err) {
		t.Errorf("short data: %v", err)
	}
	// Deep nesting is refused, not recursed into.
	deep := []uint32{0, 0, 1}
	for i := 0; i < 100; i++ {
		deep = append(deep, nbitArray, 1)
	}
	deep = append(deep, nbitAtomic, 1, 0, 8, 0)
	deep[0] = uint32(len(deep))
	if _, err := dec(deep, make([]byte, 8), 100); !isCorrupt(err) {
		t.Errorf("deep: %v", err)
	}
}

// ---- bzip2 ----

func TestBZip2Bad(t *testing.T) {
	c, _ := Lookup(BZip2)
	for _, in := range [][]byte{{}, []byte("BZh9"), []byte("not bzip2")} {
		if _, err := c.Decode(&format.Filter{ID: BZip2}, in, 100); !isCorrupt(err) {
			t.Errorf("%q: %v", in, err)
		}
	}
}

// ---- allocation bounds ----

// TestHostileClaimsAllocateLittle: streams claiming huge sizes are refused
// before anything of that size is allocated.
func TestHostileClaimsAllocateLittle(t *testing.T) {
	const maxOut = 1 << 16
	huge := binary.BigEndian.AppendUint64(nil, 1<<50)
	huge = binary.BigEndian.AppendUint32(huge, 1<<20)
	huge = append(huge, make([]byte, 64)...)
	zhead := []byte{0x28, 0xb5, 0x2f, 0xfd, 0xe4, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0} // a 2^40-byte frame
	cases := []struct {
		id uint16
		p  []uint32
		in []byte
	}{
		{LZ4, nil, huge},
		{Bitshuffle, []uint32{0, 3, 4, 0, 2}, huge},
		{Zstd, nil, zhead},
		{ScaleOffset, soParams(2, 0, 1<<31, 0, 8, 0, 0, 0, 0), soChunk(3, 0, nil)},
		{NBit, []uint32{8, 0, 1 << 31, 1, 8, 0, 5, 0}, huge},
		{LZF, []uint32{4, 261, 1 << 31}, []byte{0xe0, 0xff, 0}},
		{VBZ, []uint32{1, 2, 1, 1}, []byte{0xff, 0xff, 0xff, 0xff, 0x28, 0xb5, 0x2f, 0xfd}},
		{LZO, nil, append([]byte{18, 'a', 0x20}, make([]byte, 4096)...)}, // a match claiming a million bytes
		{VBZ, []uint32{1, 2, 1, 1}, append([]byte{0, 0, 1, 0}, zhead...)},
		{SZip, []uint32{141, 32, 8, 4096}, []byte{0, 0, 0, 0x80, 0, 0}},    // a 2 GiB chunk
		{SZip, []uint32{141, 32, 8, 4096}, []byte{0, 0, 1, 0, 0, 0x04, 0}}, // zero blocks past the end

		// ZFP: a 2^51-byte field; blocks of 4 KiB from 76 bytes; a stream of none
		{ZFP, zfpParams(zfpDouble, []uint64{4096, 4096, 4096, 4096}, 63), huge},
		{ZFP, zfpParams(zfpDouble, []uint64{maxOut / 8}, zfpLongMode(32768, 32768, 64, 0)), huge},
		{ZFP, zfpParams(zfpInt64, []uint64{maxOut / 8}, 2048+63), nil},

		// Blosc2: a chunk claiming 2 GiB; a frame's zero chunk of 2 GiB; a
		// b2nd array of 2^40 elements; one of 2^20 blocks of one element.
		{Blosc2, nil, b2FrameOf(b2Special(b2SpecialZero, 1, math.MaxInt32, 1, nil), math.MaxInt32, 1, 1, 0, nil)},
		{Blosc2, nil, b2FrameOf(nil, math.MaxInt32, 1, 1, b2SpecialZero, nil)},
		{Blosc2, nil, b2FrameOf(nil, 1<<30, 1, 1<<30, b2SpecialZero, &b2nd{shape: []int64{1 << 20, 1 << 20}, chunk: []int64{1 << 20, 1 << 20}, block: []int64{1, 1}})},
		{Blosc2, nil, b2FrameOf(nil, 1<<20, 1, 1, b2SpecialZero, &b2nd{shape: []int64{1, 1 << 20}, chunk: []int64{1 << 20, 1 << 20}, block: []int64{1, 1}})},
	}
	for _, tc := range cases {
		c, _ := Lookup(tc.id)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for i := 0; i < 10; i++ {
			if _, err := c.Decode(&format.Filter{ID: tc.id, Params: tc.p}, tc.in, maxOut); err == nil {
				t.Errorf("filter %d: hostile input accepted", tc.id)
			}
		}
		runtime.ReadMemStats(&after)
		if d := after.TotalAlloc - before.TotalAlloc; d > 10*(maxOut+64<<10) {
			t.Errorf("filter %d: %d bytes allocated for 10 refusals", tc.id, d)
		}
	}
}
