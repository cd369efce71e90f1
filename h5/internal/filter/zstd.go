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
	return zstdDecode(in, maxOut, nil)
}

func (zstdCodec) decodeInto(_ *format.Filter, in []byte, maxOut int, dst []byte) ([]byte, error) {
	return zstdDecode(in, maxOut, dst)
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

// zstdDecode decodes the frames in `in`, at most maxOut bytes. When the
// first frame records its content size the output is sized by it (and the
// plugin, which allocates just that, would fail on anything longer).
func zstdDecode(in []byte, maxOut int, dst []byte) ([]byte, error) {
	size, err := zstdContentSize(in, maxOut)
	if err != nil {
		return nil, err
	}
	if size < 0 {
		size = maxOut
	}
	// The capacity is the limit: a recycled buffer's may be larger.
	return zstdDecodeAll(in, sized(dst, size)[:0:size])
}

// zstdDecodeExact decodes the frames in `in` into dst, which they must fill.
func zstdDecodeExact(in, dst []byte) error {
	size, err := zstdContentSize(in, len(dst))
	if err != nil {
		return err
	}
	if size >= 0 && size != len(dst) {
		return fmt.Errorf("zstd: frame holds %d bytes, want %d: %w", size, len(dst), format.ErrCorrupt)
	}
	out, err := zstdDecodeAll(in, dst[:0:len(dst)])
	if err != nil {
		return err
	}
	if len(out) != len(dst) {
		return fmt.Errorf("zstd: frame decodes to %d bytes, want %d: %w", len(out), len(dst), format.ErrCorrupt)
	}
	return nil
}

// zstdContentSize checks the first frame's header and returns the content
// size it records, or -1.
func zstdContentSize(in []byte, maxOut int) (int, error) {
	var h zstd.Header
	if err := h.Decode(in); err != nil {
		return 0, fmt.Errorf("zstd: frame header: %v: %w", err, format.ErrCorrupt)
	}
	if h.Skippable {
		return 0, fmt.Errorf("zstd: skippable frame where data was expected: %w", format.ErrCorrupt)
	}
	if !h.HasFCS {
		return -1, nil
	}
	if h.FrameContentSize > uint64(maxOut) {
		return 0, fmt.Errorf("zstd: frame holds %d bytes, more than %d: %w", h.FrameContentSize, maxOut, format.ErrCorrupt)
	}
	return int(h.FrameContentSize), nil
}

// zstdDecodeAll appends the decoded frames to dst, never past its capacity.
func zstdDecodeAll(in, dst []byte) ([]byte, error) {
	d := zstdDecoders.Get().(*zstd.Decoder)
	out, err := d.DecodeAll(in, dst)
	zstdDecoders.Put(d)
	if err != nil {
		return nil, fmt.Errorf("zstd: %v: %w", err, format.ErrCorrupt)
	}
	return out, nil
}
