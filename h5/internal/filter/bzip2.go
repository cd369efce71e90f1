package filter

import (
	"bytes"
	"compress/bzip2"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// bzip2 (id 307, the HDF Group's plugin): the chunk is one bzip2 stream;
// cd_values[0], the block size, only matters when writing. The standard
// library's reader keeps no state worth pooling.
type bzip2Codec struct{}

func init() { Register(BZip2, bzip2Codec{}) }

func (bzip2Codec) Decode(_ *format.Filter, in []byte, maxOut int) ([]byte, error) {
	return readBounded(bzip2.NewReader(bytes.NewReader(in)), maxOut, len(in))
}
