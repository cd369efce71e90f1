package filter

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/h5mount/h5mount/h5/internal/format"
	"github.com/klauspost/compress/zlib"
)

// Encoder applies one filter on the write path.
type Encoder interface {
	Encode(f *format.Filter, in []byte) ([]byte, error)
}

var (
	encodersMu sync.RWMutex
	encoders   = map[uint16]Encoder{}
)

// RegisterEncoder makes a filter writable.
func RegisterEncoder(id uint16, e Encoder) {
	encodersMu.Lock()
	defer encodersMu.Unlock()
	encoders[id] = e
}

func lookupEncoder(id uint16) (Encoder, bool) {
	encodersMu.RLock()
	defer encodersMu.RUnlock()
	e, ok := encoders[id]
	return e, ok
}

// CanEncode reports, before anything is written, whether every mandatory
// filter of the pipeline can be applied.
func CanEncode(pipeline []format.Filter) error {
	for i := range pipeline {
		f := &pipeline[i]
		if _, ok := lookupEncoder(f.ID); !ok && !f.Optional() {
			return fmt.Errorf("h5: writing through filter %s (id %d): %w", Name(f), f.ID, format.ErrUnsupported)
		}
	}
	return nil
}

// EncodePipeline applies the pipeline in order. An optional filter that
// cannot be applied is skipped and its bit set in the returned mask, as
// libhdf5 does.
func EncodePipeline(pipeline []format.Filter, in []byte) ([]byte, uint32, error) {
	buf := in
	var mask uint32
	for i := range pipeline {
		f := &pipeline[i]
		e, ok := lookupEncoder(f.ID)
		if !ok {
			if f.Optional() && i < 32 {
				mask |= 1 << uint(i)
				continue
			}
			return nil, 0, fmt.Errorf("h5: filter %s (id %d): %w", Name(f), f.ID, format.ErrUnsupported)
		}
		out, err := e.Encode(f, buf)
		if err != nil {
			if f.Optional() && i < 32 {
				mask |= 1 << uint(i)
				continue
			}
			return nil, 0, fmt.Errorf("h5: filter %s: %w", Name(f), err)
		}
		buf = out
	}
	return buf, mask, nil
}

type deflateEncoder struct {
	writers [11]sync.Pool // per level, and [huffmanOnly] for Huffman coding alone
}

// huffmanOnly is the writers' slot for klauspost's Huffman-only level.
const huffmanOnly = 10

func (e *deflateEncoder) Encode(f *format.Filter, in []byte) ([]byte, error) {
	level := 6
	if len(f.Params) > 0 && f.Params[0] <= 9 {
		level = int(f.Params[0])
	}
	out, err := e.encode(level, in)
	if err != nil {
		return nil, err
	}
	// Levels 1-6 store a block whole when they find no matches worth the
	// while, though Huffman codes alone would shrink it: noisy floats,
	// whose low bytes do not repeat, came out at 100% of their size (zlib
	// at level 4: 91%). Coded by Huffman alone they come to 93%.
	if level > 0 && len(out) >= len(in)-len(in)/32 {
		if huff, err := e.encode(huffmanOnly, in); err == nil && len(huff) < len(out) {
			return huff, nil
		}
	}
	return out, nil
}

func (e *deflateEncoder) encode(slot int, in []byte) ([]byte, error) {
	// Room for the stream whatever it comes to (deflate stores what it
	// cannot shrink: 5 bytes a block of at most 64 KiB, and zlib's 6):
	// noisy data comes to nearly its size, and growing to it copied and
	// cleared the output up to three times.
	var out bytes.Buffer
	out.Grow(len(in) + len(in)>>10 + 64)
	var zw *zlib.Writer
	if v := e.writers[slot].Get(); v != nil {
		zw = v.(*zlib.Writer)
		zw.Reset(&out)
	} else {
		level := slot
		if slot == huffmanOnly {
			level = zlib.HuffmanOnly
		}
		var err error
		if zw, err = zlib.NewWriterLevel(&out, level); err != nil {
			return nil, err
		}
	}
	defer e.writers[slot].Put(zw)
	if _, err := zw.Write(in); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

type shuffleEncoder struct{}

// Encode gathers byte k of every element together, the inverse of Decode.
func (shuffleEncoder) Encode(f *format.Filter, in []byte) ([]byte, error) {
	size := 1
	if len(f.Params) > 0 {
		size = int(f.Params[0])
	}
	if size <= 1 || len(in) < size {
		return in, nil
	}
	out := make([]byte, len(in))
	shuffle(out, in, size)
	return out, nil
}

type fletcher32Encoder struct{}

func (fletcher32Encoder) Encode(_ *format.Filter, in []byte) ([]byte, error) {
	out := make([]byte, len(in)+4)
	copy(out, in)
	binary.LittleEndian.PutUint32(out[len(in):], Fletcher32Sum(in))
	return out, nil
}

func init() {
	RegisterEncoder(Deflate, &deflateEncoder{})
	RegisterEncoder(Shuffle, shuffleEncoder{})
	RegisterEncoder(Fletcher32, fletcher32Encoder{})
}
