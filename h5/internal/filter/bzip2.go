package filter

import (
	"bytes"
	"compress/bzip2"
	"fmt"
	"io"

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

// readBounded reads all of r but never more than maxOut bytes; a stream that
// would expand further is corrupt for our purpose.
func readBounded(r io.Reader, maxOut int, hint int) ([]byte, error) {
	size := maxOut
	if size <= 0 {
		size = hint * 4
	}
	out := make([]byte, size)
	n := 0
	for {
		if n == len(out) {
			// One probe byte tells overflow from an exact fit.
			var probe [1]byte
			m, err := r.Read(probe[:])
			if m > 0 {
				return nil, fmt.Errorf("decompressed data exceeds %d bytes: %w", maxOut, format.ErrCorrupt)
			}
			if err == io.EOF || err == nil {
				return out[:n], nil
			}
			return nil, fmt.Errorf("%v: %w", err, format.ErrCorrupt)
		}
		m, err := r.Read(out[n:])
		n += m
		if err == io.EOF {
			return out[:n], nil
		}
		if err != nil {
			return nil, fmt.Errorf("%v: %w", err, format.ErrCorrupt)
		}
	}
}
