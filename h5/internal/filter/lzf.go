package filter

import (
	"errors"
	"fmt"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// LZF, h5py's filter (id 32000). The chunk is one raw LZF stream, no header:
// the writer gives up when compression would not shrink the chunk, and
// libhdf5 then stores the chunk unfiltered with the filter's mask bit set
// (the filter is optional), which DecodePipeline honours. h5py's set_local
// records the chunk size in cd_values[2]; we trust it only as a size hint
// within maxOut.
type lzfCodec struct{}

func init() { Register(LZF, lzfCodec{}) }

func (c lzfCodec) Decode(f *format.Filter, in []byte, maxOut int) ([]byte, error) {
	return c.decodeInto(f, in, maxOut, nil)
}

func (lzfCodec) decodeInto(f *format.Filter, in []byte, maxOut int, dst []byte) ([]byte, error) {
	size := maxOut
	if len(f.Params) > 2 && f.Params[2] > 0 && uint64(f.Params[2]) <= uint64(maxOut) {
		size = int(f.Params[2])
	}
	out := sized(dst, size)
	n, err := lzfDecompress(in, out)
	if errors.Is(err, errExpands) && size < maxOut {
		// The hint was too small (a chunk of a dataset whose type changed
		// size, say): allow up to the bound, like h5py's growing buffer.
		out = sized(dst, maxOut)
		n, err = lzfDecompress(in, out)
	}
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, fmt.Errorf("lzf: empty stream: %w", format.ErrCorrupt)
	}
	return out[:n:n], nil
}

// lzfDecompress expands an LZF stream into out and returns the length.
// Each run starts with a control byte: below 32 it is a literal run of
// ctrl+1 bytes; otherwise its top three bits are a match length - 2 (7 means
// a further length byte follows) and its low five bits, with the next byte,
// the distance - 1 back into the output.
func lzfDecompress(in, out []byte) (int, error) {
	ip, op := 0, 0
	for ip < len(in) {
		ctrl := int(in[ip])
		ip++
		if ctrl < 32 {
			n := ctrl + 1
			if n > len(in)-ip {
				return 0, fmt.Errorf("lzf: literal run past the end of the stream: %w", format.ErrCorrupt)
			}
			if n > len(out)-op {
				return 0, fmt.Errorf("lzf: output past %d bytes: %w", len(out), errExpands)
			}
			copy(out[op:], in[ip:ip+n])
			ip += n
			op += n
			continue
		}
		n := ctrl >> 5
		if n == 7 {
			if ip >= len(in) {
				return 0, fmt.Errorf("lzf: truncated match length: %w", format.ErrCorrupt)
			}
			n += int(in[ip])
			ip++
		}
		if ip >= len(in) {
			return 0, fmt.Errorf("lzf: truncated match distance: %w", format.ErrCorrupt)
		}
		ref := op - (ctrl&0x1f)<<8 - int(in[ip]) - 1
		ip++
		n += 2
		if ref < 0 {
			return 0, fmt.Errorf("lzf: match before the start of the output: %w", format.ErrCorrupt)
		}
		if n > len(out)-op {
			return 0, fmt.Errorf("lzf: output past %d bytes: %w", len(out), errExpands)
		}
		copyMatch(out, op, ref, n)
		op += n
	}
	return op, nil
}

// errExpands: a stream would decode to more than its bound.
var errExpands = fmt.Errorf("stream expands past the chunk: %w", format.ErrCorrupt)

// copyMatch copies n bytes from out[ref:] to out[op:], ref < op; when the
// two overlap the bytes just written are read again (a repeating pattern).
func copyMatch(out []byte, op, ref, n int) {
	if op-ref >= n {
		copy(out[op:op+n], out[ref:ref+n])
		return
	}
	// Overlap: double the copied span each round.
	for n > 0 {
		m := copy(out[op:op+n], out[ref:op])
		op += m
		n -= m
	}
}
