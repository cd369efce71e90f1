package filter

import (
	"encoding/binary"

	"github.com/h5mount/h5mount/h5/internal/format"
)

type shuffleCodec struct{}

func init() { Register(Shuffle, shuffleCodec{}) }

// Decode undoes the byte shuffle: the stored chunk holds byte 0 of every
// element, then byte 1 of every element, and so on; a tail shorter than an
// element stays as it is.
func (shuffleCodec) Decode(f *format.Filter, in []byte, _ int) ([]byte, error) {
	size := 1
	if len(f.Params) > 0 {
		size = int(f.Params[0])
	}
	if size <= 1 || len(in) < size {
		return in, nil
	}
	out := make([]byte, len(in))
	unshuffle(out, in, size)
	return out, nil
}

// unshuffle writes each element whole, gathering its bytes from the size
// streams: the stores are sequential, which a byte-at-a-time scatter with a
// stride of size is not (it ran at about half the speed).
func unshuffle(out, in []byte, size int) {
	n := len(in) / size
	switch size {
	case 2:
		s0, s1 := in[:n], in[n:2*n]
		for i := range s0 {
			binary.LittleEndian.PutUint16(out[2*i:], uint16(s0[i])|uint16(s1[i])<<8)
		}
	case 4:
		s0, s1, s2, s3 := in[:n], in[n:2*n], in[2*n:3*n], in[3*n:4*n]
		for i := range s0 {
			binary.LittleEndian.PutUint32(out[4*i:], uint32(s0[i])|uint32(s1[i])<<8|uint32(s2[i])<<16|uint32(s3[i])<<24)
		}
	case 8:
		s0, s1, s2, s3 := in[:n], in[n:2*n], in[2*n:3*n], in[3*n:4*n]
		s4, s5, s6, s7 := in[4*n:5*n], in[5*n:6*n], in[6*n:7*n], in[7*n:8*n]
		for i := range s0 {
			lo := uint64(s0[i]) | uint64(s1[i])<<8 | uint64(s2[i])<<16 | uint64(s3[i])<<24
			hi := uint64(s4[i]) | uint64(s5[i])<<8 | uint64(s6[i])<<16 | uint64(s7[i])<<24
			binary.LittleEndian.PutUint64(out[8*i:], lo|hi<<32)
		}
	default:
		for i := 0; i < n; i++ {
			el := out[i*size : (i+1)*size]
			for b := range el {
				el[b] = in[b*n+i]
			}
		}
	}
	copy(out[n*size:], in[n*size:])
}

// shuffle is unshuffle's inverse: it reads each element whole and scatters
// its bytes to the streams.
func shuffle(out, in []byte, size int) {
	n := len(in) / size
	switch size {
	case 2:
		s0, s1 := out[:n], out[n:2*n]
		for i := range s0 {
			v := binary.LittleEndian.Uint16(in[2*i:])
			s0[i], s1[i] = byte(v), byte(v>>8)
		}
	case 4:
		s0, s1, s2, s3 := out[:n], out[n:2*n], out[2*n:3*n], out[3*n:4*n]
		for i := range s0 {
			v := binary.LittleEndian.Uint32(in[4*i:])
			s0[i], s1[i], s2[i], s3[i] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
		}
	case 8:
		s0, s1, s2, s3 := out[:n], out[n:2*n], out[2*n:3*n], out[3*n:4*n]
		s4, s5, s6, s7 := out[4*n:5*n], out[5*n:6*n], out[6*n:7*n], out[7*n:8*n]
		for i := range s0 {
			v := binary.LittleEndian.Uint64(in[8*i:])
			s0[i], s1[i], s2[i], s3[i] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
			s4[i], s5[i], s6[i], s7[i] = byte(v>>32), byte(v>>40), byte(v>>48), byte(v>>56)
		}
	default:
		for i := 0; i < n; i++ {
			el := in[i*size : (i+1)*size]
			for b, v := range el {
				out[b*n+i] = v
			}
		}
	}
	copy(out[n*size:], in[n*size:])
}
