package filter

import (
	"fmt"
	"sync"

	"github.com/h5mount/h5mount/h5/internal/format"
	"github.com/klauspost/compress/zstd"
)

// Zstandard, the HDF Group's plugin (id 32015): the chunk is one zstd frame
// (ZSTD_compress, so its header records the content size); cd_values[0] is
// the compression level, which only matters when writing.
type zstdCodec struct{}

func init() { Register(Zstd, zstdCodec{}) }

func (zstdCodec) Decode(_ *format.Filter, in []byte, maxOut int) ([]byte, error) {
	return zstdDecode(in, maxOut, false)
}

// zstdDecoders pools single-goroutine decoders. DecodeAll stops at the
// capacity of the slice it is given (WithDecodeAllCapLimit), so the output
// bound holds whatever the frames claim.
var zstdDecoders = sync.Pool{New: func() any {
	d, err := zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecodeAllCapLimit(true),
		zstd.WithDecoderMaxMemory(1<<31),
		zstd.WithDecoderMaxWindow(1<<27))
	if err != nil {
		panic(err) // only bad options fail
	}
	return d
}}

// zstdDecode decodes the frames in `in`, at most maxOut bytes. With exact,
// the output must be exactly maxOut bytes. When the first frame records its
// content size the output is sized by it (and the plugin, which allocates
// just that, would fail on anything longer).
func zstdDecode(in []byte, maxOut int, exact bool) ([]byte, error) {
	var h zstd.Header
	if err := h.Decode(in); err != nil {
		return nil, fmt.Errorf("zstd: frame header: %v: %w", err, format.ErrCorrupt)
	}
	if h.Skippable {
		return nil, fmt.Errorf("zstd: skippable frame where data was expected: %w", format.ErrCorrupt)
	}
	size := maxOut
	if h.HasFCS {
		if h.FrameContentSize > uint64(maxOut) || exact && h.FrameContentSize != uint64(maxOut) {
			return nil, fmt.Errorf("zstd: frame holds %d bytes, want at most %d: %w", h.FrameContentSize, maxOut, format.ErrCorrupt)
		}
		size = int(h.FrameContentSize)
	}
	d := zstdDecoders.Get().(*zstd.Decoder)
	out, err := d.DecodeAll(in, make([]byte, 0, size))
	zstdDecoders.Put(d)
	if err != nil {
		return nil, fmt.Errorf("zstd: %v: %w", err, format.ErrCorrupt)
	}
	if exact && len(out) != maxOut {
		return nil, fmt.Errorf("zstd: frame decodes to %d bytes, want %d: %w", len(out), maxOut, format.ErrCorrupt)
	}
	return out, nil
}
