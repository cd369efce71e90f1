package filter

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// packBits writes each value as n bits, most significant bit first, as
// libhdf5's scale-offset filter packs offsets.
func packBits(values []uint64, n uint) []byte {
	out := make([]byte, (uint(len(values))*n+7)/8)
	pos := uint(0)
	for _, v := range values {
		for b := int(n) - 1; b >= 0; b-- {
			if v>>uint(b)&1 == 1 {
				out[pos>>3] |= 0x80 >> (pos & 7)
			}
			pos++
		}
	}
	return out
}

// A float32 chunk whose offsets libhdf5 stored with more than 32 bits
// (it computes them as 64-bit integers; seen with random h5py data, seed
// 52): libhdf5 keeps each offset's low 32 bits, and takes the fill marker
// as ((unsigned)1 << minbits) - 1 with the shift modulo 32. The pipeline
// before it must also leave room for the chunk it wrote, twice the size.
func TestScaleOffsetFloat32WiderThan32Bits(t *testing.T) {
	minF := float32(1.5)
	const fill = float32(-2.25)
	for _, c := range []struct {
		minbits uint
		fill    bool // a fill value is defined
		offsets []uint64
		filled  []bool // the element reads as the fill value
	}{
		{40, false, []uint64{5, 1<<33 + 7, 1<<32 + 1}, []bool{false, false, false}},
		{64, false, []uint64{1<<63 | 3, 0xffffffff}, []bool{false, false}},
		// the marker: 1 << (36 % 32) - 1 = 15, on the low 32 bits
		{36, true, []uint64{1<<35 | 15, 16, 15}, []bool{true, false, true}},
	} {
		n := len(c.offsets)
		header := make([]byte, scaleOffsetHeader)
		binary.LittleEndian.PutUint32(header, uint32(c.minbits))
		header[4] = 8
		binary.LittleEndian.PutUint32(header[5:], math.Float32bits(minF))
		in := append(header, packBits(c.offsets, c.minbits)...)
		params := make([]uint32, 20)
		params[1], params[2], params[3], params[4] = 2, uint32(n), 1, 4
		if c.fill {
			params[7], params[8] = 1, math.Float32bits(fill)
		}
		f := format.Filter{ID: ScaleOffset, Params: params}
		out, err := scaleOffsetCodec{}.Decode(&f, in, 4*n)
		if err != nil {
			t.Fatalf("minbits %d: %v", c.minbits, err)
		}
		for i, filled := range c.filled {
			got := math.Float32frombits(binary.LittleEndian.Uint32(out[4*i:]))
			want := float32(int32(uint32(c.offsets[i])))/100 + minF
			if filled {
				want = fill
			}
			if got != want {
				t.Errorf("minbits %d, element %d: %v, want %v", c.minbits, i, got, want)
			}
		}
		// Behind LZF in a pipeline: the stream LZF holds is longer than
		// the chunk.
		stored := lzfEncode(in)
		pipe := []format.Filter{f, {ID: LZF, Params: []uint32{4, 261, uint32(4 * n)}}}
		if _, err := DecodePipeline(pipe, 0, stored, 4*n); err != nil {
			t.Errorf("minbits %d behind LZF: %v", c.minbits, err)
		}
	}
	// More than 64 bits is no chunk libhdf5 writes.
	header := make([]byte, scaleOffsetHeader+16)
	binary.LittleEndian.PutUint32(header, 65)
	params := make([]uint32, 20)
	params[2], params[3], params[4] = 1, 1, 4
	if _, err := (scaleOffsetCodec{}).Decode(&format.Filter{ID: ScaleOffset, Params: params}, header, 4); err == nil {
		t.Error("65 bits accepted")
	}
}
