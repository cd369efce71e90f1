package filter

import "github.com/h5mount/h5mount/h5/internal/format"

// DecodeInto decodes with c into dst (memory of undefined content) where c
// can, as the last filter of DecodePipelineInto does.
func DecodeInto(c Codec, f *format.Filter, in []byte, maxOut int, dst []byte) ([]byte, error) {
	if ic, ok := c.(intoCodec); ok {
		return ic.decodeInto(f, in, maxOut, dst)
	}
	return c.Decode(f, in, maxOut)
}
