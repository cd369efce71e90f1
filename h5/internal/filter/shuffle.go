package filter

import (
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
	n := len(in) / size
	out := make([]byte, len(in))
	for b := 0; b < size; b++ {
		src := in[b*n : (b+1)*n]
		for i, v := range src {
			out[i*size+b] = v
		}
	}
	copy(out[n*size:], in[n*size:])
	return out, nil
}
