package filter_test

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"os"
	"testing"

	"github.com/h5mount/h5mount/h5/internal/filter"
	"github.com/h5mount/h5mount/h5/internal/format"
)

// The fuzzers feed each decoder its parameters, a stored stream and an
// output bound, seeded with what the test files' chunks give that filter.
// A decoder must not panic, must answer corrupt or unsupported when it
// refuses, and must not return more than the bound (unless it hands back
// its input untouched, as n-bit and scale-offset do for chunks they never
// packed, and shuffle keeps the size of what it reorders).

type fuzzSeed struct {
	params []byte
	in     []byte
	maxOut uint32
}

func encodeParams(p []uint32) []byte {
	b := make([]byte, 0, 4*len(p))
	for _, v := range p {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	return b
}

// fuzzSeeds collects, for every stored chunk whose pipeline holds filter id,
// the bytes that reach that filter when the chunk is decoded.
func fuzzSeeds(tb testing.TB, id uint16, limit int) []fuzzSeed {
	var seeds []fuzzSeed
	for _, ff := range loadFilterFiles(tb) {
		path, _ := ff.path()
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		for _, d := range ff.Datasets {
			ds, err := openDataset(data, d.Addr)
			if err != nil {
				tb.Fatal(err)
			}
			at := -1
			for i, f := range ds.filters {
				if f.ID == id {
					at = i
				}
			}
			if at < 0 {
				continue
			}
			cs, err := ds.chunks()
			if err != nil {
				tb.Fatal(err)
			}
			chunkBytes := int(ds.params.ChunkBytes())
			for _, c := range cs {
				if c.c.FilterMask&(1<<at) != 0 {
					continue
				}
				// Undo the filters applied after this one.
				in, err := filter.DecodePipeline(ds.filters[at+1:], c.c.FilterMask>>(at+1), c.raw, chunkBytes)
				if err != nil {
					continue
				}
				seeds = append(seeds, fuzzSeed{encodeParams(ds.filters[at].Params), in, uint32(chunkBytes + 64)})
				if len(seeds) >= limit {
					return seeds
				}
				break // one chunk a dataset is variety enough
			}
		}
	}
	return seeds
}

func fuzzCodec(f *testing.F, id uint16, extra ...fuzzSeed) {
	seeds := append(fuzzSeeds(f, id, 64), extra...)
	if len(seeds) == 0 {
		f.Fatalf("no seeds for filter %d", id)
	}
	for _, s := range seeds {
		f.Add(s.params, s.in, s.maxOut)
	}
	c, ok := filter.Lookup(id)
	if !ok {
		f.Fatalf("filter %d has no codec", id)
	}
	f.Fuzz(func(t *testing.T, params, in []byte, maxOut uint32) {
		bound := int(maxOut % (1 << 20))
		p := make([]uint32, len(params)/4)
		for i := range p {
			p[i] = binary.LittleEndian.Uint32(params[4*i:])
		}
		out, err := c.Decode(&format.Filter{ID: id, Params: p}, in, bound)
		if err != nil {
			if !errors.Is(err, format.ErrCorrupt) && !errors.Is(err, format.ErrUnsupported) {
				t.Fatalf("error %v is neither corrupt nor unsupported", err)
			}
			return
		}
		// More than the bound only from a filter that does not expand
		// (shuffle reorders what was read, n-bit and scale-offset may hand
		// back their input): memory then follows the bytes read, never a
		// size the stream claims.
		if len(out) > bound && len(out) > len(in) {
			t.Fatalf("%d bytes out, bound %d", len(out), bound)
		}
		// Decoded into recycled memory (garbage), as the chunk cache
		// has it, the chunk comes out the same: every byte written.
		garbage := bytes.Repeat([]byte{0xa5}, bound+4096)
		again, err := filter.DecodeInto(c, &format.Filter{ID: id, Params: p}, in, bound, garbage)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("into recycled memory: %d bytes (%v), into fresh memory %d", len(again), err, len(out))
		}
	})
}

func FuzzLZF(f *testing.F) {
	fuzzCodec(f, filter.LZF, fuzzSeed{encodeParams([]uint32{4, 261, 64}), []byte{2, 'a', 'b', 'c', 0xe0, 10, 2}, 64})
}

func FuzzLZ4(f *testing.F) { fuzzCodec(f, filter.LZ4) }

func FuzzZstd(f *testing.F) { fuzzCodec(f, filter.Zstd) }

func FuzzBitshuffle(f *testing.F) { fuzzCodec(f, filter.Bitshuffle) }

func FuzzScaleOffset(f *testing.F) { fuzzCodec(f, filter.ScaleOffset) }

func FuzzNBit(f *testing.F) { fuzzCodec(f, filter.NBit) }

func FuzzBZip2(f *testing.F) { fuzzCodec(f, filter.BZip2) }

func FuzzVBZ(f *testing.F) { fuzzCodec(f, filter.VBZ) }

func FuzzLZO(f *testing.F) { fuzzCodec(f, filter.LZO) }

func FuzzSzip(f *testing.F) { fuzzCodec(f, filter.SZip) }

func FuzzZFP(f *testing.F) { fuzzCodec(f, filter.ZFP) }

func FuzzBlosc2(f *testing.F) { fuzzCodec(f, filter.Blosc2) }

func FuzzBlosc(f *testing.F) { fuzzCodec(f, filter.Blosc, fuzzSeed{nil, oddBloscFrame(), 1024}) }

// oddBloscFrame is a byte-shuffled Blosc frame of 2-byte elements in two
// blocks of 257 bytes, each split in two streams of 128 bytes that leave
// its last byte to none (c-blosc never makes such a frame).
func oddBloscFrame() []byte {
	const block = 257
	frame := []byte{2, 1, 0x01, 2}
	frame = binary.LittleEndian.AppendUint32(frame, 2*block)
	frame = binary.LittleEndian.AppendUint32(frame, block)
	frame = binary.LittleEndian.AppendUint32(frame, 0) // the frame's size, below
	first := len(frame) + 8
	frame = binary.LittleEndian.AppendUint32(frame, uint32(first))
	frame = binary.LittleEndian.AppendUint32(frame, uint32(first+2*(4+128)))
	for k := range 4 { // splits stored as they are
		frame = binary.LittleEndian.AppendUint32(frame, 128)
		for i := range 128 {
			frame = append(frame, byte(i*7+k))
		}
	}
	binary.LittleEndian.PutUint32(frame[12:], uint32(len(frame)))
	return frame
}

func FuzzDeflate(f *testing.F) {
	var z bytes.Buffer
	w := zlib.NewWriter(&z)
	w.Write(bytes.Repeat([]byte("smooth floats "), 64))
	w.Close()
	fuzzCodec(f, filter.Deflate, fuzzSeed{encodeParams([]uint32{4}), z.Bytes(), 1024})
}

func FuzzShuffle(f *testing.F) {
	fuzzCodec(f, filter.Shuffle, fuzzSeed{encodeParams([]uint32{4}), bytes.Repeat([]byte{1, 2, 3, 4, 5}, 13), 128})
}

func FuzzFletcher32(f *testing.F) {
	fuzzCodec(f, filter.Fletcher32, fuzzSeed{nil, []byte{1, 2, 3, 4, 5, 6, 7, 8, 0xde, 0xad, 0xbe, 0xef}, 64})
}
