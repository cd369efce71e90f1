package filter

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// Scale-offset (id 6, built into libhdf5). libhdf5's set_local fills 20
// cd_values:
//
//	0 scale type: 0 float D-scaling, 1 float E-scaling (never implemented),
//	  2 integer
//	1 scale factor: decimal digits kept (D-scaling) or minimum bits (integer;
//	  0: computed per chunk)
//	2 elements in a chunk
//	3 class: 0 integer, 1 float
//	4 element size in bytes
//	5 sign: 0 unsigned, 1 two's complement
//	6 byte order: 0 little-endian, 1 big-endian
//	7 fill value: 0 undefined, 1 defined
//	8.. the fill value's bits as a number, 32 bits a value, low first
//
// A stored chunk starts with a 21-byte header: minbits (4 bytes, little-
// endian), the byte length of the minimum value (1 byte, 8), the minimum
// value (little-endian; for floats, the bits of the float in its low bytes),
// unused bytes. Then each element's offset from the minimum as minbits bits,
// most significant first, bits running on across bytes. With a fill value,
// the all-ones offset stands for it. minbits equal to the element size
// means the elements follow as they are, in the byte order of the writing
// machine's memory (we take it to be little-endian, as libhdf5 does on
// every machine we read on); minbits 0 means every offset is 0.
//
// Floats are D-scaled: the element is offset / 10^D + minimum, computed in
// the element's own precision, exactly as libhdf5 does, so the bits match.
type scaleOffsetCodec struct{}

func init() { Register(ScaleOffset, scaleOffsetCodec{}) }

const scaleOffsetHeader = 21

func (scaleOffsetCodec) Decode(f *format.Filter, in []byte, maxOut int) ([]byte, error) {
	cd := f.Params
	if len(cd) != 20 {
		return nil, fmt.Errorf("scaleoffset: %d parameters, want 20: %w", len(cd), format.ErrCorrupt)
	}
	scaleType, factor := cd[0], int32(cd[1])
	// The sign (cd[5]) does not matter: offsets add modulo the width.
	nelmts, class, size := uint64(cd[2]), cd[3], uint64(cd[4])
	bigEndian, fillDefined := cd[6] == 1, cd[7] == 1
	if size != 1 && size != 2 && size != 4 && size != 8 || class == 1 && size != 4 && size != 8 {
		return nil, fmt.Errorf("scaleoffset: %d-byte elements of class %d: %w", size, class, format.ErrUnsupported)
	}
	switch {
	case class == 0 && scaleType != 2, class == 1 && scaleType > 1, class > 1:
		return nil, fmt.Errorf("scaleoffset: scale type %d for class %d: %w", scaleType, class, format.ErrCorrupt)
	case scaleType == 1:
		return nil, fmt.Errorf("scaleoffset: E-scaling: %w", format.ErrUnsupported)
	}
	if class == 0 {
		if factor < 0 {
			factor = 0
		}
		if uint64(factor) > size*8 {
			return nil, fmt.Errorf("scaleoffset: %d minimum bits for %d-byte elements: %w", factor, size, format.ErrCorrupt)
		}
		if uint64(factor) == size*8 {
			return in, nil // full precision requested: libhdf5 stored the chunk as it was
		}
	}
	outLen := nelmts * size
	if outLen > uint64(maxOut) {
		return nil, fmt.Errorf("scaleoffset: %d elements of %d bytes, more than %d: %w", nelmts, size, maxOut, format.ErrCorrupt)
	}
	if len(in) < scaleOffsetHeader {
		return nil, fmt.Errorf("scaleoffset: %d-byte chunk has no header: %w", len(in), format.ErrCorrupt)
	}
	minbits := uint64(binary.LittleEndian.Uint32(in))
	var minval uint64
	for i := 0; i < min(int(in[4]), 8); i++ {
		minval |= uint64(in[5+i]) << (8 * i)
	}
	// libhdf5 computes a float32 chunk's offsets as 64-bit integers and can
	// store more bits than the element has (its assertion against that is
	// compiled out): it then keeps each offset's low 32 bits.
	widest := size * 8
	if class == 1 && size == 4 {
		widest = 64
	}
	if minbits > widest {
		return nil, fmt.Errorf("scaleoffset: %d bits for %d-byte elements: %w", minbits, size, format.ErrCorrupt)
	}
	data := in[scaleOffsetHeader:]
	out := make([]byte, outLen)
	n := int(nelmts)
	sz := int(size)
	// store writes element i, the low sz bytes of v, in the dataset's order.
	store := func(i int, v uint64) {
		o := out[i*sz : (i+1)*sz]
		if bigEndian {
			for k := sz - 1; k >= 0; k-- {
				o[k] = byte(v)
				v >>= 8
			}
			return
		}
		for k := range o {
			o[k] = byte(v)
			v >>= 8
		}
	}

	if minbits == size*8 {
		if uint64(len(data)) < outLen {
			return nil, fmt.Errorf("scaleoffset: %d bytes of data, want %d: %w", len(data), outLen, format.ErrCorrupt)
		}
		for i := 0; i < n; i++ {
			var v uint64
			for k := sz - 1; k >= 0; k-- {
				v = v<<8 | uint64(data[i*sz+k])
			}
			store(i, v)
		}
		return out, nil
	}
	if need := (nelmts*minbits + 7) / 8; uint64(len(data)) < need {
		return nil, fmt.Errorf("scaleoffset: %d bytes of packed data, want %d: %w", len(data), need, format.ErrCorrupt)
	}

	var fill uint64
	if fillDefined {
		fill = uint64(cd[8]) | uint64(cd[9])<<32
	}
	mask := ^uint64(0) >> (64 - 8*size) // the element's width
	marker := uint64(1)<<minbits - 1    // all-ones offset: the fill value
	br := bitStream{buf: data}
	switch class {
	case 0:
		for i := 0; i < n; i++ {
			v := br.read(uint(minbits))
			if fillDefined && v == marker {
				v = fill
			} else {
				v += minval
			}
			store(i, v&mask)
		}
	case 1:
		d := int(factor)
		if size == 4 {
			minF := math.Float32frombits(uint32(minval))
			fillF := uint32(fill)
			scale := pow10f32(d)
			// libhdf5 compares the offset, as a C int, with
			// ((unsigned)1 << minbits) - 1, whose shift x86 takes
			// modulo 32 past 32 bits.
			marker32 := uint32(marker)
			if minbits > 32 {
				marker32 = uint32(1)<<(minbits&31) - 1
			}
			for i := 0; i < n; i++ {
				v := br.read(uint(minbits))
				if fillDefined && uint32(v) == marker32 {
					store(i, uint64(fillF))
					continue
				}
				// libhdf5 reads the offset back as a C int.
				x := float32(int32(uint32(v)))/scale + minF
				store(i, uint64(math.Float32bits(x)))
			}
		} else {
			minF := math.Float64frombits(minval)
			scale := math.Pow(10, float64(d))
			for i := 0; i < n; i++ {
				v := br.read(uint(minbits))
				if fillDefined && v == marker {
					store(i, fill)
					continue
				}
				x := float64(int64(v))/scale + minF
				store(i, math.Float64bits(x))
			}
		}
	}
	return out, nil
}

// pow10f32 is 10^d rounded to float32, as C's powf gives it: exact for
// 0 <= d <= 10, and 1/10^-d correctly rounded for -10 <= d < 0.
func pow10f32(d int) float32 {
	if d >= 0 && d <= 10 {
		return float32(math.Pow(10, float64(d)))
	}
	if d < 0 && d >= -10 {
		return 1 / float32(math.Pow(10, float64(-d)))
	}
	return float32(math.Pow(10, float64(d)))
}

// bitStream reads bit fields packed most significant bit first. The caller
// has checked that the buffer holds every bit it will read.
type bitStream struct {
	buf []byte
	pos uint // bit position
}

// read returns the next n bits (n <= 64) as a number.
func (b *bitStream) read(n uint) uint64 {
	var v uint64
	for n > 0 {
		by := b.buf[b.pos>>3]
		avail := 8 - b.pos&7 // bits left in this byte
		take := min(avail, n)
		bits := uint64(by>>(avail-take)) & (1<<take - 1)
		v = v<<take | bits
		b.pos += take
		n -= take
	}
	return v
}
