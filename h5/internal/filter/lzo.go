package filter

import (
	"fmt"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// LZO, PyTables' filter (id 305; pandas' complib="lzo"): the chunk is one
// LZO1X stream (lzo1x_1_compress), no header. PyTables registers it as an
// optional filter that gives up on chunks it cannot shrink, which libhdf5
// then stores with the filter's mask bit set. cd_values (a compression
// level, the object's version and type) only matter to PyTables 0.5-0.7,
// whose checksummed streams its own later versions no longer read either.
// Decode only: a write stores the chunk as PyTables does when LZO does not
// help (EncodePipeline skips an optional filter it cannot apply).
type lzoCodec struct{}

// LZO is PyTables' filter id.
const LZO = 305

func init() {
	Register(LZO, lzoCodec{})
	names[LZO] = "lzo"
}

func (c lzoCodec) Decode(f *format.Filter, in []byte, maxOut int) ([]byte, error) {
	return c.decodeInto(f, in, maxOut, nil)
}

func (lzoCodec) decodeInto(_ *format.Filter, in []byte, maxOut int, dst []byte) ([]byte, error) {
	out := sized(dst, maxOut)
	n, err := lzo1xDecompress(in, out)
	if err != nil {
		return nil, err
	}
	return out[:n:n], nil
}

var errLZOTruncated = fmt.Errorf("lzo: stream ends inside an instruction: %w", format.ErrCorrupt)

// lzo1xDecompress expands an LZO1X stream into out, which it must not
// overrun, and returns the length; the stream must end with its end
// marker and nothing after it, as lzo1x_decompress_safe requires.
//
// The stream is instructions of a match (a copy from the output already
// written) followed by 0-3 literals, whose count the match's last two bits
// (S) give; an instruction byte below 16 means a run of 4 or more literals
// after a match with S = 0 (and at the start), a 2-byte match within 1 KiB
// after S = 1-3, and a 3-byte match 2-3 KiB back after a literal run:
//
//	0000LLLL             literal run of 3+L (L = 0: 18 + a long length)
//	0000DDSS HHHHHHHH    match of 2 (or 3) at H<<2+D+1 (or +2049)
//	0001HLLL le16        match of 2+L at 16384+H<<14+le16>>2 (the end at 16384)
//	001LLLLL le16        match of 2+L at le16>>2+1
//	01LDDDSS HHHHHHHH    match of 3+L at H<<3+D+1
//	1LLDDDSS HHHHHHHH    match of 5+L at H<<3+D+1
//
// A long length (L = 0) adds 255 for each zero byte that follows and then
// the first byte that is not zero. A first byte above 17 is a literal run
// of that minus 17.
func lzo1xDecompress(in, out []byte) (int, error) {
	ip, op := 0, 0
	// longLength reads the bytes of a length field that was 0.
	longLength := func(base int) (int, error) {
		n := base
		for ip < len(in) && in[ip] == 0 {
			n += 255
			ip++
			if n > len(out) {
				return 0, fmt.Errorf("lzo: length past %d bytes: %w", len(out), format.ErrCorrupt)
			}
		}
		if ip >= len(in) {
			return 0, errLZOTruncated
		}
		n += int(in[ip])
		ip++
		return n, nil
	}
	literals := func(n int) error {
		if n > len(in)-ip {
			return errLZOTruncated
		}
		if n > len(out)-op {
			return fmt.Errorf("lzo: output past %d bytes: %w", len(out), format.ErrCorrupt)
		}
		copy(out[op:], in[ip:ip+n])
		ip += n
		op += n
		return nil
	}
	if len(in) == 0 {
		return 0, fmt.Errorf("lzo: empty stream: %w", format.ErrCorrupt)
	}
	state := 0 // literals the last instruction copied: 0, 1-3, or 4 for a run
	if in[0] > 17 {
		n := int(in[0]) - 17
		ip++
		if err := literals(n); err != nil {
			return 0, err
		}
		state = min(n, 4)
	}
	for {
		if ip >= len(in) {
			return 0, fmt.Errorf("lzo: no end marker: %w", format.ErrCorrupt)
		}
		t := int(in[ip])
		ip++
		var length, dist int
		switch {
		case t < 16 && state == 0:
			n := t
			if n == 0 {
				var err error
				if n, err = longLength(15); err != nil {
					return 0, err
				}
			}
			if err := literals(n + 3); err != nil {
				return 0, err
			}
			state = 4
			continue
		case t < 16:
			if ip >= len(in) {
				return 0, errLZOTruncated
			}
			dist = int(in[ip])<<2 + t>>2 + 1
			ip++
			length = 2
			if state == 4 {
				dist += 2048
				length = 3
			}
		case t >= 64:
			if ip >= len(in) {
				return 0, errLZOTruncated
			}
			dist = int(in[ip])<<3 + (t>>2)&7 + 1
			ip++
			if t >= 128 {
				length = 5 + (t>>5)&3
			} else {
				length = 3 + (t>>5)&1
			}
		default: // 16-63: a length field, then a little-endian 16-bit distance
			bits, base := 31, 2+31
			if t < 32 {
				bits, base = 7, 2+7
			}
			length = 2 + t&bits
			if t&bits == 0 {
				var err error
				if length, err = longLength(base); err != nil {
					return 0, err
				}
			}
			if ip+2 > len(in) {
				return 0, errLZOTruncated
			}
			le16 := int(in[ip]) | int(in[ip+1])<<8
			ip += 2
			if t >= 32 {
				dist = le16>>2 + 1
			} else {
				dist = 16384 + (t&8)<<11 + le16>>2
				if dist == 16384 {
					if ip != len(in) {
						return 0, fmt.Errorf("lzo: %d bytes after the end marker: %w", len(in)-ip, format.ErrCorrupt)
					}
					return op, nil
				}
			}
			t = le16 // its last two bits are the literals to follow
		}
		if dist > op {
			return 0, fmt.Errorf("lzo: match %d bytes back at %d: %w", dist, op, format.ErrCorrupt)
		}
		if length > len(out)-op {
			return 0, fmt.Errorf("lzo: output past %d bytes: %w", len(out), format.ErrCorrupt)
		}
		// A match may overlap what it writes (a run): byte by byte.
		from := op - dist
		for i := range length {
			out[op+i] = out[from+i]
		}
		op += length
		state = t & 3
		if err := literals(state); err != nil {
			return 0, err
		}
	}
}
