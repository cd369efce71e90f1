package filter

import (
	"runtime"

	"github.com/h5mount/h5mount/h5/internal/format"
	"github.com/klauspost/compress/zstd"
)

// Zstandard on the write side: one frame per chunk, as the HDF Group's
// plugin writes with ZSTD_compress. The plugin's reader sizes its buffer
// from the frame header (ZSTD_getFrameContentSize), so every frame records
// its content size, small ones included. cd_values[0] is the zstd level
// (a signed int; absent or 0: zstd's default, 3), mapped onto the levels
// klauspost/compress has.
type zstdEncoder struct{}

func init() { RegisterEncoder(Zstd, zstdEncoder{}) }

const zstdDefaultLevel = 3

func (zstdEncoder) Encode(f *format.Filter, in []byte) ([]byte, error) {
	level := zstdDefaultLevel
	if len(f.Params) > 0 {
		level = int(int32(f.Params[0]))
	}
	return zstdCompress(make([]byte, 0, zstdBound(len(in))), in, level), nil
}

// zstdBound is about the longest frame for n bytes: the frame header,
// then raw blocks of up to 128 KiB with a 3-byte header each.
func zstdBound(n int) int { return n + n>>8 + 64 }

// zstdEncoderLevel maps a zstd level to klauspost's: below 3 (negative
// levels are zstd's fast modes) the fastest, 3-5 the default, 6-9 better,
// 10 and up the best; 0 is zstd's default.
func zstdEncoderLevel(level int) zstd.EncoderLevel {
	if level == 0 {
		level = zstdDefaultLevel
	}
	return zstd.EncoderLevelFromZstd(level)
}

// zstdEncoders keeps idle single-goroutine encoders per level, at most
// GOMAXPROCS each. Unlike a sync.Pool it survives garbage collection:
// making an encoder allocates and clears its match tables (megabytes at the
// higher levels), which would otherwise happen again after every GC.
var zstdEncoders [zstd.SpeedBestCompression + 1]chan *zstd.Encoder

func init() {
	for i := range zstdEncoders {
		zstdEncoders[i] = make(chan *zstd.Encoder, runtime.GOMAXPROCS(0))
	}
}

// zstdCompress appends one zstd frame of src, which records its content
// size, to dst.
func zstdCompress(dst, src []byte, level int) []byte {
	l := zstdEncoderLevel(level)
	var e *zstd.Encoder
	select {
	case e = <-zstdEncoders[l]:
	default:
		var err error
		e, err = zstd.NewWriter(nil,
			zstd.WithEncoderLevel(l),
			zstd.WithEncoderConcurrency(1),
			zstd.WithEncoderCRC(false), // as ZSTD_compress: no checksum
			zstd.WithZeroFrames(true))  // an empty input is a frame too
		if err != nil {
			panic(err) // only bad options fail
		}
	}
	start := len(dst)
	dst = e.EncodeAll(src, dst)
	select {
	case zstdEncoders[l] <- e:
	default:
	}
	// Below 256 bytes a frame that is not single-segment leaves the
	// content size out: its header is the magic number, a descriptor
	// byte of 0 and a window byte. Single-segment, the same frame has no
	// window byte but a 1-byte content size: the blocks stay valid, as
	// the window (the content size) still covers every match.
	if h := dst[start:]; len(src) < 256 && len(h) > 5 && h[4] == 0 {
		h[4] = 1 << 5
		h[5] = byte(len(src))
	}
	return dst
}
