package filter

import "github.com/h5mount/h5mount/h5/internal/format"

// deflateCodec decodes with inflate.go's whole-chunk decoder; encoding
// (encode.go) uses klauspost/compress.
type deflateCodec struct{}

func init() { Register(Deflate, &deflateCodec{}) }

func (c *deflateCodec) Decode(_ *format.Filter, in []byte, maxOut int) ([]byte, error) {
	if maxOut <= 0 {
		maxOut = 1032*len(in) + 4096 // maxExpansion's bound
	}
	out := make([]byte, maxOut)
	n, err := inflateZlib(out, in)
	if err != nil {
		return nil, err
	}
	return out[:n], nil
}
