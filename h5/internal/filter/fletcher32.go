package filter

import (
	"encoding/binary"
	"fmt"

	"github.com/h5mount/h5mount/h5/internal/format"
)

type fletcher32Codec struct{}

func init() { Register(Fletcher32, fletcher32Codec{}) }

func (fletcher32Codec) Decode(_ *format.Filter, in []byte, _ int) ([]byte, error) {
	if len(in) < 4 {
		return nil, fmt.Errorf("chunk of %d bytes has no checksum: %w", len(in), format.ErrCorrupt)
	}
	data := in[:len(in)-4]
	stored := binary.LittleEndian.Uint32(in[len(in)-4:])
	sum := Fletcher32Sum(data)
	// Files from libhdf5 before 1.6.3 stored the sum with its bytes swapped.
	swapped := sum>>24 | (sum>>8)&0xff00 | (sum<<8)&0xff0000 | sum<<24
	if stored != sum && stored != swapped {
		return nil, fmt.Errorf("stored 0x%08x, computed 0x%08x: %w (%w)", stored, sum, ErrChecksum, format.ErrCorrupt)
	}
	return data, nil
}

// Fletcher32Sum is HDF5's Fletcher-32 over big-endian 16-bit words.
func Fletcher32Sum(data []byte) uint32 {
	var sum1, sum2 uint32
	n := len(data) / 2
	i := 0
	for n > 0 {
		t := n
		if t > 360 {
			t = 360
		}
		n -= t
		for ; t > 0; t-- {
			sum1 += uint32(data[i])<<8 | uint32(data[i+1])
			i += 2
			sum2 += sum1
		}
		sum1 = sum1&0xffff + sum1>>16
		sum2 = sum2&0xffff + sum2>>16
	}
	if len(data)%2 == 1 {
		sum1 += uint32(data[len(data)-1]) << 8
		sum2 += sum1
		sum1 = sum1&0xffff + sum1>>16
		sum2 = sum2&0xffff + sum2>>16
	}
	sum1 = sum1&0xffff + sum1>>16
	sum2 = sum2&0xffff + sum2>>16
	return sum2<<16 | sum1
}
