package filter

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"strings"
	"testing"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// The chunks and frames here are assembled as c-blosc2 lays them out
// (README_CHUNK_FORMAT, README_CFRAME_FORMAT, README_B2ND_METALAYER); the
// fixture testdata/filters/blosc2.h5 (TestFilterFiles) has what c-blosc2
// itself wrote.

// b2Opts says how b2Compress makes a chunk.
type b2Opts struct {
	typesize  int
	blocksize int
	filter    byte // b2NoFilter, b2Shuffle, b2BitShuffle, b2Delta
	comp      int  // a blosc compressor code (bloscBloscLZ...), -1 streams stored as they are
	dontSplit bool
	version   byte
	oldHeader bool // Blosc1's 16-byte header, the filter in the flags
}

// b2Compress makes a Blosc2 chunk of data: each block filtered, cut into
// streams and each compressed, a run of one byte or zeros coded as such.
func b2Compress(data []byte, o b2Opts) []byte {
	if o.version == 0 {
		o.version = 5
	}
	nbytes, bs := len(data), min(o.blocksize, len(data))
	if bs%o.typesize != 0 {
		o.dontSplit = true // as c-blosc2, which cannot split such blocks
	}
	nblocks := 0
	if nbytes > 0 {
		nblocks = (nbytes-1)/bs + 1
	}
	flags := byte(b2CodecOf(o.comp)) << 5
	if o.dontSplit {
		flags |= b2DontSplit
	}
	overhead := b2ExtHeader
	if o.oldHeader {
		overhead = b2MinHeader
		switch o.filter {
		case b2Shuffle:
			flags |= b2DoShuffle
		case b2BitShuffle:
			flags |= b2DoBitShuffle
		case b2Delta:
			flags |= b2DoDelta
		}
	} else {
		flags |= b2DoShuffle | b2DoBitShuffle
	}
	out := make([]byte, overhead+4*nblocks)
	out[0], out[1], out[2], out[3] = o.version, 1, flags, byte(o.typesize)
	binary.LittleEndian.PutUint32(out[4:], uint32(nbytes))
	binary.LittleEndian.PutUint32(out[8:], uint32(o.blocksize))
	if !o.oldHeader {
		slot := 5
		if o.version == 3 {
			slot = 4 // the alpha format's last slot is not read
		}
		out[16+slot] = o.filter
	}
	for j := range nblocks {
		binary.LittleEndian.PutUint32(out[overhead+4*j:], uint32(len(out)))
		blk := data[j*bs : min((j+1)*bs, nbytes)]
		f := make([]byte, len(blk))
		switch o.filter {
		case b2Shuffle:
			shuffle(f, blk, o.typesize)
		case b2BitShuffle:
			count := len(blk) / o.typesize / 8 * 8
			bitShuffle(f[:count*o.typesize], blk[:count*o.typesize], o.typesize)
			copy(f[count*o.typesize:], blk[count*o.typesize:])
		case b2Delta:
			w := b2DeltaWidth(o.typesize)
			n := len(blk) / w * w
			copy(f, blk)
			for i := 0; i < n; i++ {
				if j == 0 && i >= w {
					f[i] = blk[i] ^ blk[i-w]
				} else if j > 0 {
					f[i] = blk[i] ^ data[i]
				}
			}
		default:
			copy(f, blk)
		}
		nstreams := o.typesize
		if o.dontSplit || len(blk) < bs {
			nstreams = 1
		}
		ne := len(f) / nstreams
		for k := range nstreams {
			s := f[k*ne : (k+1)*ne]
			switch {
			case bytes.Count(s, []byte{0}) == len(s):
				out = binary.LittleEndian.AppendUint32(out, 0)
			case bytes.Count(s, s[:1]) == len(s):
				out = binary.LittleEndian.AppendUint32(out, uint32(-int32(s[0])))
				out = append(out, 1)
			default:
				c := s
				if o.comp >= 0 {
					c = bloscCompressSplit(nil, s, o.comp, 5)
				}
				if len(c) >= len(s) {
					c = s
				}
				out = binary.LittleEndian.AppendUint32(out, uint32(len(c)))
				out = append(out, c...)
			}
		}
	}
	binary.LittleEndian.PutUint32(out[12:], uint32(len(out)))
	return out
}

// b2CodecOf is the chunk's codec code for a blosc compressor code.
func b2CodecOf(comp int) int {
	switch comp {
	case bloscLZ4, bloscLZ4HC:
		return b2CodecLZ4
	case bloscZlib:
		return b2CodecZlib
	case bloscZstd:
		return b2CodecZstd
	}
	return b2CodecBloscLZ
}

// b2Plain is a chunk of data stored as it is.
func b2Plain(data []byte, typesize, blocksize int) []byte {
	out := make([]byte, b2ExtHeader, b2ExtHeader+len(data))
	out[0], out[1], out[2], out[3] = 5, 1, b2DoShuffle|b2DoBitShuffle|b2Memcpyed, byte(typesize)
	binary.LittleEndian.PutUint32(out[4:], uint32(len(data)))
	binary.LittleEndian.PutUint32(out[8:], uint32(blocksize))
	binary.LittleEndian.PutUint32(out[12:], uint32(b2ExtHeader+len(data)))
	return append(out, data...)
}

// b2Special is a chunk of nbytes that is one special value throughout;
// value is the repeated element of b2SpecialValue.
func b2Special(kind, typesize, nbytes, blocksize int, value []byte) []byte {
	out := make([]byte, b2ExtHeader, b2ExtHeader+len(value))
	out[0], out[1], out[2], out[3] = 5, 1, b2DoShuffle|b2DoBitShuffle|b2Memcpyed, byte(typesize)
	binary.LittleEndian.PutUint32(out[4:], uint32(nbytes))
	binary.LittleEndian.PutUint32(out[8:], uint32(blocksize))
	out[31] = byte(kind << 4)
	out = append(out, value...)
	binary.LittleEndian.PutUint32(out[12:], uint32(len(out)))
	return out
}

// b2FrameOf is a contiguous frame of one chunk (nil: a special one of
// kind special, its nbytes decoded bytes), with a b2nd metalayer when nd
// is given.
func b2FrameOf(chunk []byte, nbytes, typesize, blocksize int, special byte, nd *b2nd) []byte {
	h := []byte{0x9e, 0xa8}
	h = append(h, "b2frame\x00"...)
	h = append(h, 0xd2, 0, 0, 0, 0) // header length, below
	h = append(h, 0xcf, 0, 0, 0, 0, 0, 0, 0, 0)
	h = append(h, 0xa4, 0x12, 0, 0x51, 0x03)
	h = append(h, 0xd3)
	h = binary.BigEndian.AppendUint64(h, uint64(nbytes))
	h = append(h, 0xd3)
	h = binary.BigEndian.AppendUint64(h, uint64(len(chunk)))
	h = append(h, 0xd2)
	h = binary.BigEndian.AppendUint32(h, uint32(typesize))
	h = append(h, 0xd2)
	h = binary.BigEndian.AppendUint32(h, uint32(blocksize))
	h = append(h, 0xd2)
	h = binary.BigEndian.AppendUint32(h, uint32(nbytes))
	h = append(h, 0xd1, 0, 0, 0xd1, 0, 1, 0xc2, 0xd8, 6)
	h = append(h, make([]byte, 16)...)
	if len(h) != frMinHeader {
		panic(len(h))
	}
	// Metalayers: size, map of name to offset, list (empty).
	var meta []byte
	if nd != nil {
		n := len(nd.shape)
		meta = []byte{0x97, 0, byte(n), 0x90 | byte(n)}
		for _, v := range nd.shape {
			meta = binary.BigEndian.AppendUint64(append(meta, 0xd3), uint64(v))
		}
		meta = append(meta, 0x90|byte(n))
		for _, v := range nd.chunk {
			meta = binary.BigEndian.AppendUint32(append(meta, 0xd2), uint32(v))
		}
		meta = append(meta, 0x90|byte(n))
		for _, v := range nd.block {
			meta = binary.BigEndian.AppendUint32(append(meta, 0xd2), uint32(v))
		}
		meta = append(meta, 0, 0xdb, 0, 0, 0, 3, '|', 'V', '8')
	}
	m := []byte{0x93, 0xcd, 0, 0, 0xde, 0, 0}
	if nd != nil {
		m[6] = 1
		m = append(m, 0xa4, 'b', '2', 'n', 'd', 0xd2)
		at := len(h) + len(m) + 4 + 3
		m = binary.BigEndian.AppendUint32(m, uint32(at))
		m = append(m, 0xdc, 0, 1, 0xc6)
		m = binary.BigEndian.AppendUint32(m, uint32(len(meta)))
		m = append(m, meta...)
	} else {
		m = append(m, 0xdc, 0, 0)
	}
	binary.BigEndian.PutUint16(m[2:], uint16(len(m)))
	h = append(h, m...)
	binary.BigEndian.PutUint32(h[11:], uint32(len(h)))
	frame := append(h, chunk...)
	var off [8]byte
	if chunk == nil {
		off[7] = 0x80 | special
	}
	frame = append(frame, b2Plain(off[:], 8, 8)...)
	frame = append(frame, 0x94, 1, 0x93, 0xcd, 0, 6, 0xde, 0, 0, 0xdc, 0, 0) // a trailer, skipped
	binary.BigEndian.PutUint64(frame[16:], uint64(len(frame)))
	return frame
}

func b2Frame1(chunk []byte, nbytes, typesize int) []byte {
	return b2FrameOf(chunk, nbytes, typesize, nbytes, 0, nil)
}

func b2Decode(frame []byte, maxOut int) ([]byte, error) {
	return blosc2Codec{}.Decode(&format.Filter{ID: Blosc2}, frame, maxOut)
}

// b2Data is n bytes of elements of size ts: smooth, with noise in the
// low bytes, a run of zeros and a run of one value.
func b2Data(n, ts int, seed int64) []byte {
	r := rand.New(rand.NewSource(seed))
	b := make([]byte, n)
	for i := 0; i+ts <= n; i += ts {
		v := uint64(1000+i/ts) << 8
		v += uint64(r.Intn(16))
		for k := 0; k < ts; k++ {
			b[i+k] = byte(v >> (8 * (k % 8)))
		}
	}
	if n > 600 {
		clear(b[100:300])
		for i := 400; i < 600; i++ {
			b[i] = 0x5a
		}
	}
	return b
}

// TestBlosc2RoundTrips: chunks of every filter, codec, element size,
// split or not, with a shorter last block, in a frame, decode to their
// data; so do Blosc1 headers and older chunk versions.
func TestBlosc2RoundTrips(t *testing.T) {
	for _, n := range []int{1, 40, 1000, 4096, 10007} {
		for _, ts := range []int{1, 2, 3, 4, 8, 16} {
			data := b2Data(n, ts, int64(n*ts))
			for _, filter := range []byte{b2NoFilter, b2Shuffle, b2BitShuffle, b2Delta} {
				for _, comp := range []int{-1, bloscBloscLZ, bloscLZ4, bloscZlib, bloscZstd} {
					for _, o := range []b2Opts{
						{blocksize: 1024}, {blocksize: 1000, dontSplit: true}, {blocksize: n},
						{blocksize: 512, version: 2, oldHeader: true}, {blocksize: 2048, version: 3},
					} {
						if o.oldHeader && filter == b2Delta && (ts == 3 || ts == 16) {
							continue
						}
						o.typesize, o.filter, o.comp = ts, filter, comp
						if o.blocksize <= 0 || o.blocksize%ts != 0 && !o.dontSplit {
							o.blocksize = max(ts, o.blocksize/ts*ts)
						}
						if o.oldHeader && n < 16 {
							continue // c-blosc2 wants room for an extended header in a frame
						}
						if o.version == 2 && filter == b2BitShuffle {
							continue // format 2 leaves blocks of no multiple of 8 elements; covered below
						}
						name := fmt.Sprintf("n=%d ts=%d filter=%d comp=%d %+v", n, ts, filter, comp, o)
						chunk := b2Compress(data, o)
						got, err := b2Decode(b2Frame1(chunk, n, ts), n+64)
						if err != nil || !bytes.Equal(got, data) {
							t.Fatalf("%s: %v (%d bytes, %d first differing)", name, err, len(got), firstDiff(got, data))
						}
					}
				}
			}
		}
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestBlosc2FormatTwoBitShuffle: a format-2 chunk's block of no multiple
// of 8 elements was left unshuffled; from format 3 on, its elements up to
// a multiple of 8 are.
func TestBlosc2FormatTwoBitShuffle(t *testing.T) {
	data := b2Data(8*13, 8, 1)
	for _, version := range []byte{2, 5} {
		chunk := b2Compress(data, b2Opts{typesize: 8, blocksize: len(data), filter: b2BitShuffle, comp: -1, version: version})
		if version == 2 {
			// The block as format 2 wrote it: as it is, flagged bit-shuffled.
			chunk = b2Compress(data, b2Opts{typesize: 8, blocksize: len(data), filter: b2NoFilter, comp: -1, version: 2})
			chunk[16+5] = b2BitShuffle
		}
		got, err := b2Decode(b2Frame1(chunk, len(data), 8), len(data))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("version %d: %v", version, err)
		}
	}
}

// TestBlosc2Specials: chunks that are one value throughout, stored as
// they are, and frames whose index marks the chunk special.
func TestBlosc2Specials(t *testing.T) {
	nan4 := binary.LittleEndian.AppendUint32(nil, math.Float32bits(float32(math.NaN())))
	nan8 := binary.LittleEndian.AppendUint64(nil, 0x7ff8000000000000) // C's nan(""), not Go's NaN
	value := []byte{1, 2, 3, 4, 5, 6}
	data := b2Data(3000, 4, 9)
	cases := []struct {
		name  string
		frame []byte
		want  []byte
	}{
		{"zeros", b2Frame1(b2Special(b2SpecialZero, 4, 1000, 256, nil), 1000, 4), make([]byte, 1000)},
		{"uninit", b2Frame1(b2Special(b2SpecialUninit, 4, 1000, 256, nil), 1000, 4), make([]byte, 1000)},
		{"NaN f4", b2Frame1(b2Special(b2SpecialNaN, 4, 1000, 256, nil), 1000, 4), bytes.Repeat(nan4, 250)},
		{"NaN f8", b2Frame1(b2Special(b2SpecialNaN, 8, 1000, 1000, nil), 1000, 8), bytes.Repeat(nan8, 125)},
		{"value", b2Frame1(b2Special(b2SpecialValue, 6, 1200, 600, value), 1200, 6), bytes.Repeat(value, 200)},
		{"memcpyed", b2Frame1(b2Plain(data, 4, 1024), 3000, 4), data},
		{"frame zeros", b2FrameOf(nil, 800, 8, 800, b2SpecialZero, nil), make([]byte, 800)},
		{"frame NaN", b2FrameOf(nil, 800, 8, 256, b2SpecialNaN, nil), bytes.Repeat(nan8, 100)},
		{"frame uninit", b2FrameOf(nil, 800, 8, 800, b2SpecialUninit, nil), make([]byte, 800)},
	}
	for _, tc := range cases {
		got, err := b2Decode(tc.frame, len(tc.want))
		if err != nil || !bytes.Equal(got, tc.want) {
			t.Errorf("%s: %v", tc.name, err)
		}
		// Into recycled memory, every byte is written.
		garbage := bytes.Repeat([]byte{0xa5}, len(tc.want))
		got, err = blosc2Codec{}.decodeInto(nil, tc.frame, len(tc.want), garbage)
		if err != nil || !bytes.Equal(got, tc.want) {
			t.Errorf("%s into garbage: %v", tc.name, err)
		}
	}
}

// b2Blocked lays out a chunk of shape chunk (elements of ts bytes, C
// order) in blocks of shape block, padded with pad, as b2nd does.
func b2Blocked(data []byte, chunk, block []int64, ts int, pad byte) []byte {
	nd := len(chunk)
	grid := make([]int64, nd)
	nblocks, blockN := int64(1), int64(1)
	for i := range nd {
		grid[i] = (chunk[i] + block[i] - 1) / block[i]
		nblocks *= grid[i]
		blockN *= block[i]
	}
	out := bytes.Repeat([]byte{pad}, int(nblocks*blockN)*ts)
	idx, loc := make([]int64, nd), make([]int64, nd)
	for j := int64(0); j < nblocks; j++ {
		r := j
		for i := nd - 1; i >= 0; i-- {
			idx[i], r = r%grid[i], r/grid[i]
		}
		for e := int64(0); e < blockN; e++ {
			r := e
			for i := nd - 1; i >= 0; i-- {
				loc[i], r = r%block[i], r/block[i]
			}
			inside, o := true, int64(0)
			for i := range nd {
				g := idx[i]*block[i] + loc[i]
				inside = inside && g < chunk[i]
				o = o*chunk[i] + g
			}
			if inside {
				copy(out[(j*blockN+e)*int64(ts):], data[o*int64(ts):(o+1)*int64(ts)])
			}
		}
	}
	return out
}

// TestBlosc2ND: b2nd chunks of 2 to 4 dimensions, blocks that divide
// the chunk or not (padding), decode to the chunk in C order.
func TestBlosc2ND(t *testing.T) {
	for _, tc := range []struct {
		chunk, block []int64
		ts           int
		filter       byte
	}{
		{[]int64{16, 16}, []int64{16, 16}, 4, b2Shuffle},
		{[]int64{25, 25}, []int64{8, 16}, 4, b2Shuffle},
		{[]int64{5, 4, 7}, []int64{2, 4, 4}, 8, b2Delta},
		{[]int64{3, 5, 2, 7}, []int64{2, 2, 2, 4}, 2, b2BitShuffle},
		{[]int64{40, 1}, []int64{16, 1}, 1, b2NoFilter},
		{[]int64{100}, []int64{30}, 4, b2Shuffle},
	} {
		n := int64(tc.ts)
		blockBytes := int64(tc.ts)
		for i := range tc.chunk {
			n *= tc.chunk[i]
			blockBytes *= tc.block[i]
		}
		data := b2Data(int(n), tc.ts, n)
		ext := b2Blocked(data, tc.chunk, tc.block, tc.ts, 0xee)
		nd := &b2nd{shape: tc.chunk, chunk: tc.chunk, block: tc.block}
		chunk := b2Compress(ext, b2Opts{typesize: tc.ts, blocksize: int(blockBytes), filter: tc.filter, comp: bloscLZ4})
		frame := b2FrameOf(chunk, len(ext), tc.ts, int(blockBytes), 0, nd)
		got, err := b2Decode(frame, int(n))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("chunk %v blocks %v: %v (%d first differing)", tc.chunk, tc.block, err, firstDiff(got, data))
		}
		garbage := bytes.Repeat([]byte{0xa5}, int(n))
		if got, err = (blosc2Codec{}).decodeInto(nil, frame, int(n), garbage); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("chunk %v blocks %v into garbage: %v", tc.chunk, tc.block, err)
		}
		// All zeros, marked so in the index.
		zeros := b2FrameOf(nil, len(ext), tc.ts, int(blockBytes), b2SpecialZero, nd)
		if got, err = (blosc2Codec{}).decodeInto(nil, zeros, int(n), garbage); err != nil || !bytes.Equal(got, make([]byte, n)) {
			t.Fatalf("chunk %v of zeros: %v", tc.chunk, err)
		}
	}
}

func isUnsupported(err error) bool { return errors.Is(err, format.ErrUnsupported) }

// TestBlosc2Refuses: what c-blosc2 or the plugin would not read, or we do
// not, is refused, corrupt or unsupported, saying what.
func TestBlosc2Refuses(t *testing.T) {
	data := b2Data(4096, 4, 3)
	good := b2Compress(data, b2Opts{typesize: 4, blocksize: 1024, filter: b2Shuffle, comp: bloscLZ4})
	edit := func(f func(c []byte)) []byte {
		c := bytes.Clone(good)
		f(c)
		return b2Frame1(c, len(data), 4)
	}
	nd := &b2nd{shape: []int64{10, 20}, chunk: []int64{10, 20}, block: []int64{5, 20}}
	ndChunk := b2Compress(make([]byte, 800), b2Opts{typesize: 4, blocksize: 400, comp: bloscLZ4})
	cases := []struct {
		name        string
		frame       []byte
		unsupported bool
		says        string
	}{
		{"a dictionary", edit(func(c []byte) { c[31] |= b2UseDict }), true, "dictionary"},
		{"variable-length blocks", edit(func(c []byte) { c[30] = b2VLBlocks }), true, "variable-length"},
		{"a user codec", edit(func(c []byte) { c[2] = c[2]&0x1f | b2CodecUser<<5 }), true, "codec 6"},
		{"codec 2 (snappy's, retired)", edit(func(c []byte) { c[2] = c[2]&0x1f | 2<<5 }), true, "codec 2"},
		{"the bytedelta filter", edit(func(c []byte) { c[16+5] = 35 }), true, "filter 35"},
		{"format version 7", edit(func(c []byte) { c[0] = 7 }), true, "version 7"},
		{"a stream token of two codecs", edit(func(c []byte) {
			at := binary.LittleEndian.Uint32(c[32:])
			binary.LittleEndian.PutUint32(c[at:], uint32(0xffffffff))
			c[at+4] = 2
		}), true, "token"},
		{"a lazy chunk", edit(func(c []byte) { c[31] |= b2Lazy }), false, "lazy"},
		{"special value 5", edit(func(c []byte) { c[31] = 5 << 4 }), false, "special"},
		{"block size 0", edit(func(c []byte) { binary.LittleEndian.PutUint32(c[8:], 0) }), false, "block size"},
		{"element size 0", edit(func(c []byte) { c[3] = 0 }), false, "element size"},
		{"block offset outside", edit(func(c []byte) { binary.LittleEndian.PutUint32(c[36:], 1<<20) }), false, "outside"},
		{"block offset 0", edit(func(c []byte) { binary.LittleEndian.PutUint32(c[36:], 0) }), false, "outside"},
		{"a stream past the end", edit(func(c []byte) {
			at := binary.LittleEndian.Uint32(c[32:])
			binary.LittleEndian.PutUint32(c[at:], 1<<20)
		}), false, "past"},
		{"a run of byte 256", edit(func(c []byte) {
			at := binary.LittleEndian.Uint32(c[32:])
			binary.LittleEndian.PutUint32(c[at:], uint32(0xffffff00))
			c[at+4] = 1
		}), false, "run"},
		{"a stream decoding short", edit(func(c []byte) {
			at := binary.LittleEndian.Uint32(c[32:])
			if cs := binary.LittleEndian.Uint32(c[at:]); cs > 4 && cs < 256 {
				binary.LittleEndian.PutUint32(c[at:], cs-1)
			}
		}), false, ""},
		{"more decoded than the chunk", b2Frame1(good, len(data), 4), false, "more than"},
		{"stored size past the chunk", edit(func(c []byte) { binary.LittleEndian.PutUint32(c[12:], uint32(len(c)+1)) }), false, "stored size"},
		{"memcpyed of another size", b2Frame1(b2Plain(data, 4, 1024)[:1000], 4096, 4), false, ""},
		{"a frame of no chunk", b2FrameOf(nil, 0, 4, 0, b2SpecialZero, nil), false, "no chunks"},
		{"a frame chunk offset 0x90", b2FrameOf(nil, 100, 4, 100, 0x10|b2SpecialValue, nil), false, "offset"},
		{"no magic", func() []byte { f := b2Frame1(good, len(data), 4); f[5] = 'X'; return f }(), false, "no frame header"},
		{"frame version 4", func() []byte { f := b2Frame1(good, len(data), 4); f[25] = 0x14; return f }(), true, "version 4"},
		{"32-bit offsets", func() []byte { f := b2Frame1(good, len(data), 4); f[25] = 0x02; return f }(), true, "offsets"},
		{"a sparse frame", func() []byte { f := b2Frame1(good, len(data), 4); f[26] = 1; return f }(), true, "contiguous"},
		{"header longer than the frame", func() []byte {
			f := b2Frame1(good, len(data), 4)
			binary.BigEndian.PutUint32(f[11:], uint32(len(f)+1))
			return f
		}(), false, "header"},
		{"frame longer than stored", func() []byte {
			f := b2Frame1(good, len(data), 4)
			binary.BigEndian.PutUint64(f[16:], uint64(len(f)+1))
			return f
		}(), false, "claimed"},
		{"chunk sizes past the frame", func() []byte {
			f := b2Frame1(good, len(data), 4)
			binary.BigEndian.PutUint64(f[39:], 1<<40)
			return f
		}(), false, "sizes"},
		{"chunk other than the frame says", b2Frame1(good, len(data)-4, 4), false, "expected"},
		{"b2nd of several chunks", b2FrameOf(ndChunk, 800, 4, 400, 0, &b2nd{shape: []int64{20, 20}, chunk: []int64{10, 20}, block: []int64{5, 20}}), true, "more than one chunk"},
		{"b2nd blocks larger than chunks", b2FrameOf(ndChunk, 800, 4, 400, 0, &b2nd{shape: []int64{10, 20}, chunk: []int64{10, 20}, block: []int64{20, 20}}), false, "blocks"},
		{"b2nd chunk of another size", b2FrameOf(ndChunk, 800, 4, 400, 0, &b2nd{shape: []int64{10, 10}, chunk: []int64{10, 10}, block: []int64{5, 10}}), false, "b2nd chunk"},
		{"b2nd of no elements", b2FrameOf(ndChunk, 800, 4, 400, 0, &b2nd{shape: []int64{0, 20}, chunk: []int64{10, 20}, block: []int64{5, 20}}), false, "no data"},
		{"b2nd bigger than the chunk", b2FrameOf(ndChunk, 800, 4, 400, 0, nd), false, "more than"},
	}
	for _, tc := range cases {
		maxOut := len(data)
		switch tc.name {
		case "more decoded than the chunk":
			maxOut = len(data) - 1
		case "b2nd bigger than the chunk":
			maxOut = 799
		case "b2nd of several chunks", "b2nd blocks larger than chunks", "b2nd chunk of another size", "b2nd of no elements":
			maxOut = 1 << 16
		}
		_, err := b2Decode(tc.frame, maxOut)
		switch {
		case err == nil:
			t.Errorf("%s: accepted", tc.name)
		case tc.unsupported && !isUnsupported(err), !tc.unsupported && !isCorrupt(err):
			t.Errorf("%s: %v, want unsupported %v", tc.name, err, tc.unsupported)
		case !strings.Contains(err.Error(), tc.says) || !strings.HasPrefix(err.Error(), "blosc2: "):
			t.Errorf("%s: %q does not say %q", tc.name, err, tc.says)
		}
	}
}

// TestBlosc2Truncated: a frame cut anywhere is refused, never read past.
func TestBlosc2Truncated(t *testing.T) {
	data := b2Data(3000, 8, 5)
	frames := [][]byte{
		b2Frame1(b2Compress(data, b2Opts{typesize: 8, blocksize: 1024, filter: b2Shuffle, comp: bloscZstd}), len(data), 8),
		b2Frame1(b2Plain(data, 8, 1024), len(data), 8),
		b2FrameOf(nil, len(data), 8, 1024, b2SpecialZero, nil),
		b2FrameOf(b2Compress(data, b2Opts{typesize: 8, blocksize: 600, filter: b2Delta, comp: bloscBloscLZ}),
			len(data), 8, 600, 0, &b2nd{shape: []int64{15, 25}, chunk: []int64{15, 25}, block: []int64{3, 25}}),
	}
	for i, f := range frames {
		want := data
		if i == 2 {
			want = make([]byte, len(data))
		}
		if got, err := b2Decode(f, len(data)); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("frame %d whole: %v", i, err)
		}
		// The trailer is not read: the cut starts before it.
		for n := 0; n < len(f)-12; n++ {
			cut := bytes.Clone(f[:n])
			if _, err := b2Decode(cut, len(data)); !isCorrupt(err) {
				t.Fatalf("frame %d cut at %d of %d: %v", i, n, len(f), err)
			}
		}
	}
}

// TestBlosc2WritesAsZFP: no encoder: a mandatory Blosc2 filter refuses a
// write, an optional one is skipped (its mask bit set).
func TestBlosc2WritesAsZFP(t *testing.T) {
	mandatory := []format.Filter{{ID: Blosc2, Params: []uint32{1, 0, 4, 4096, 5, 1, 1}}}
	if err := CanEncode(mandatory); !isUnsupported(err) {
		t.Errorf("mandatory: %v", err)
	}
	if _, _, err := EncodePipeline(mandatory, make([]byte, 64)); !isUnsupported(err) {
		t.Errorf("mandatory encode: %v", err)
	}
	optional := []format.Filter{{ID: Shuffle, Params: []uint32{4}}, {ID: Blosc2, Flags: 1}}
	out, mask, err := EncodePipeline(optional, make([]byte, 64))
	if err != nil || mask != 2 || len(out) != 64 {
		t.Errorf("optional: %d bytes, mask %b, %v", len(out), mask, err)
	}
	if Name(&optional[1]) != "blosc2" {
		t.Errorf("name %q", Name(&optional[1]))
	}
}

// BenchmarkBlosc2 decodes a 1 MiB chunk of float64s, byte-shuffled, in
// blocks of 64 KiB, with each codec.
func BenchmarkBlosc2(b *testing.B) {
	const n = 1 << 20
	data := make([]byte, n)
	for i := 0; i < n; i += 8 {
		binary.LittleEndian.PutUint64(data[i:], math.Float64bits(math.Sin(float64(i)/8000)*1000))
	}
	for _, comp := range []int{bloscBloscLZ, bloscLZ4, bloscZstd} {
		frame := b2Frame1(b2Compress(data, b2Opts{typesize: 8, blocksize: 64 << 10, filter: b2Shuffle, comp: comp}), n, 8)
		b.Run(fmt.Sprint("comp", comp), func(b *testing.B) {
			dst := make([]byte, n)
			b.SetBytes(n)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := (blosc2Codec{}).decodeInto(nil, frame, n, dst); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
