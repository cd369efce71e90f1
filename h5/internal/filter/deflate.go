package filter

import (
	"bytes"
	"fmt"
	"io"
	"sync"

	"github.com/h5mount/h5mount/h5/internal/format"
	"github.com/klauspost/compress/zlib"
)

type deflateCodec struct {
	readers sync.Pool // of zlib readers, reset per chunk
}

func init() { Register(Deflate, &deflateCodec{}) }

func (c *deflateCodec) Decode(_ *format.Filter, in []byte, maxOut int) ([]byte, error) {
	src := bytes.NewReader(in)
	var zr io.ReadCloser
	if v := c.readers.Get(); v != nil {
		zr = v.(io.ReadCloser)
		if err := zr.(zlib.Resetter).Reset(src, nil); err != nil {
			return nil, fmt.Errorf("zlib header: %v: %w", err, format.ErrCorrupt)
		}
	} else {
		var err error
		zr, err = zlib.NewReader(src)
		if err != nil {
			return nil, fmt.Errorf("zlib header: %v: %w", err, format.ErrCorrupt)
		}
	}
	defer c.readers.Put(zr)
	return readBounded(zr, maxOut, len(in))
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
