package filter

import (
	"encoding/binary"
	"fmt"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// VBZ, Oxford Nanopore's filter (id 32020) for the raw signal of fast5
// files: integers, optionally delta coded and zigzagged, packed by
// StreamVByte, then compressed by zstd. The chunk is a 4-byte little-endian
// decoded size, then the stream. cd_values: the VBZ version (0 or 1), the
// integer size (0: no StreamVByte; 1, 2 or 4), whether to delta-zigzag,
// and the zstd level (0: no zstd; absent: 1).
//
// StreamVByte keeps each value's length in a 2-bit key, four keys a byte
// ahead of the data: in version 0, and for integers wider than a byte in
// version 1 too, key k means k+1 little-endian bytes; version 1's bytes use
// half bytes (nibbles, low one first), key k meaning 0, 1, 2 or 4 nibbles.
// Values are the integers sign-extended to 32 bits (or their zigzagged
// differences, the first from 0; 16-bit ones for 2-byte integers, as ONT's
// x86 code takes them), and decode back to their low bytes.
type vbzCodec struct{}

// VBZ is Oxford Nanopore's filter id.
const VBZ = 32020

func init() {
	Register(VBZ, vbzCodec{})
	RegisterEncoder(VBZ, vbzCodec{})
	names[VBZ] = "vbz"
}

type vbzParams struct {
	version, intSize int
	zigzag           bool
	zstdLevel        int
}

func vbzParamsOf(f *format.Filter) (vbzParams, error) {
	if len(f.Params) < 3 {
		return vbzParams{}, fmt.Errorf("vbz: %d parameters, want at least 3: %w", len(f.Params), format.ErrCorrupt)
	}
	p := vbzParams{version: int(f.Params[0]), intSize: int(f.Params[1]), zigzag: f.Params[2] != 0, zstdLevel: 1}
	if len(f.Params) > 3 {
		p.zstdLevel = int(int32(f.Params[3]))
	}
	switch p.intSize {
	case 0, 1, 2, 4:
	default:
		return p, fmt.Errorf("vbz: integer size %d: %w", p.intSize, format.ErrCorrupt)
	}
	if p.intSize != 0 && p.version != 0 && p.version != 1 {
		return p, fmt.Errorf("vbz: version %d: %w", p.version, format.ErrUnsupported)
	}
	return p, nil
}

// nibbles reports whether the StreamVByte stream packs half bytes.
func (p vbzParams) nibbles() bool { return p.version == 1 && p.intSize == 1 }

func (c vbzCodec) Decode(f *format.Filter, in []byte, maxOut int) ([]byte, error) {
	return c.decodeInto(f, in, maxOut, nil)
}

func (vbzCodec) decodeInto(f *format.Filter, in []byte, maxOut int, dst []byte) ([]byte, error) {
	p, err := vbzParamsOf(f)
	if err != nil {
		return nil, err
	}
	if len(in) < 4 {
		return nil, fmt.Errorf("vbz: %d-byte chunk: %w", len(in), format.ErrCorrupt)
	}
	size := uint64(binary.LittleEndian.Uint32(in))
	if size > uint64(maxOut) {
		return nil, fmt.Errorf("vbz: chunk holds %d bytes, more than %d: %w", size, maxOut, format.ErrCorrupt)
	}
	stream := in[4:]
	if p.intSize != 0 && size%uint64(p.intSize) != 0 {
		return nil, fmt.Errorf("vbz: %d bytes are no whole number of %d-byte integers: %w", size, p.intSize, format.ErrCorrupt)
	}
	if p.intSize == 0 {
		// zstd alone decodes straight into the output.
		out := stream
		if p.zstdLevel != 0 {
			if out, err = zstdDecode(stream, int(size), dst); err != nil {
				return nil, fmt.Errorf("vbz: %w", err)
			}
		} else {
			out = append(sized(dst, 0), stream...)
		}
		if uint64(len(out)) != size {
			return nil, fmt.Errorf("vbz: %d bytes, want %d: %w", len(out), size, format.ErrCorrupt)
		}
		return out, nil
	}
	if p.zstdLevel != 0 {
		if stream, err = zstdDecode(stream, vbzPackedBound(int(size)/p.intSize), nil); err != nil {
			return nil, fmt.Errorf("vbz: %w", err)
		}
	}
	out := sized(dst, int(size))
	if err := vbzUnpack(stream, out, p); err != nil {
		return nil, err
	}
	return out, nil
}

// vbzPackedBound is the longest StreamVByte stream of n integers.
func vbzPackedBound(n int) int { return (n+3)/4 + 4*n }

// vbzUnpack decodes a StreamVByte stream, which must be exactly as long as
// its keys say, into the integers of out.
func vbzUnpack(in, out []byte, p vbzParams) error {
	n := len(out) / p.intSize
	keys := (n + 3) / 4
	if keys > len(in) {
		return fmt.Errorf("vbz: %d keys in a %d-byte stream: %w", keys, len(in), format.ErrCorrupt)
	}
	data := in[keys:]
	var used int
	if p.nibbles() { // bytes only
		nibbles := 0
		var prev uint32
		for i := 0; i < n; i++ {
			width := (1 << (in[i>>2] >> (2 * (i & 3)) & 3)) >> 1 // 0, 1, 2 or 4 nibbles
			if (nibbles+width+1)/2 > len(data) {
				return fmt.Errorf("vbz: stream ends inside value %d: %w", i, format.ErrCorrupt)
			}
			var v uint32
			for k := range width {
				v |= uint32(data[(nibbles+k)/2]>>(4*((nibbles+k)%2))) & 0xf << (4 * k)
			}
			nibbles += width
			if p.zigzag {
				v = prev + (v>>1 ^ -(v & 1))
				prev = v
			}
			out[i] = byte(v)
		}
		used = (nibbles + 1) / 2
	} else {
		pos := 0
		var prev uint32
		zigzag, size := p.zigzag, p.intSize
		for i := 0; i < n; i++ {
			width := int(in[i>>2]>>(2*(i&3))&3) + 1
			var v uint32
			if pos+4 <= len(data) {
				// One load, the bytes of the values after masked off.
				v = binary.LittleEndian.Uint32(data[pos:]) & vbzWidthMask[width]
			} else if pos+width > len(data) {
				return fmt.Errorf("vbz: stream ends inside value %d: %w", i, format.ErrCorrupt)
			} else {
				for k := range width {
					v |= uint32(data[pos+k]) << (8 * k)
				}
			}
			pos += width
			if zigzag {
				v = prev + (v>>1 ^ -(v & 1))
				prev = v
			}
			switch size {
			case 1:
				out[i] = byte(v)
			case 2:
				binary.LittleEndian.PutUint16(out[2*i:], uint16(v))
			case 4:
				binary.LittleEndian.PutUint32(out[4*i:], v)
			}
		}
		used = pos
	}
	if used != len(data) {
		return fmt.Errorf("vbz: %d bytes after the values: %w", len(data)-used, format.ErrCorrupt)
	}
	return nil
}

// vbzWidthMask keeps the low width bytes of a 4-byte load.
var vbzWidthMask = [5]uint32{0, 0xff, 0xffff, 0xffffff, 0xffffffff}

// Encode writes what Oxford Nanopore's plugin writes, so that its reader,
// which checks the stream's length against its keys and sizes its zstd
// output from the frame header, takes it.
func (vbzCodec) Encode(f *format.Filter, in []byte) ([]byte, error) {
	p, err := vbzParamsOf(f)
	if err != nil {
		return nil, err
	}
	if p.intSize != 0 && len(in)%p.intSize != 0 {
		return nil, fmt.Errorf("vbz: %d bytes are no whole number of %d-byte integers: %w", len(in), p.intSize, format.ErrUnsupported)
	}
	if uint64(len(in)) > 1<<32-1 {
		return nil, fmt.Errorf("vbz: %d-byte chunk: %w", len(in), format.ErrUnsupported)
	}
	stream := in
	if p.intSize != 0 {
		stream = vbzPack(in, p)
	}
	out := binary.LittleEndian.AppendUint32(make([]byte, 0, 4+zstdBound(len(stream))), uint32(len(in)))
	if p.zstdLevel == 0 {
		return append(out, stream...), nil
	}
	return zstdCompress(out, stream, p.zstdLevel), nil
}

// vbzPack is vbzUnpack's inverse: each value takes the fewest bytes (or
// nibbles) its key can say.
func vbzPack(in []byte, p vbzParams) []byte {
	n := len(in) / p.intSize
	keys := (n + 3) / 4
	out := make([]byte, keys, vbzPackedBound(n))
	nib := 0 // nibbles written, when p.nibbles()
	var prev uint32
	for i := 0; i < n; i++ {
		var v uint32
		switch p.intSize {
		case 1:
			v = uint32(int32(int8(in[i])))
		case 2:
			v = uint32(int32(int16(binary.LittleEndian.Uint16(in[2*i:]))))
		case 4:
			v = binary.LittleEndian.Uint32(in[4*i:])
		}
		if p.zigzag && p.intSize == 2 {
			// 16-bit differences, as ONT's SSE3 writer takes them and its
			// SSE3 reader (x86's) undoes them: a jump of more than 32767
			// zigzagged in 32 bits would come back wrong from that reader.
			d := int16(uint16(v) - uint16(prev))
			prev = v
			v = uint32(uint16(d<<1) ^ uint16(d>>15))
		} else if p.zigzag {
			d := int32(v - prev)
			prev = v
			v = uint32(d<<1) ^ uint32(d>>31)
		}
		var code int
		if p.nibbles() {
			switch {
			case v == 0:
				code = 0
			case v < 1<<4:
				code = 1
			case v < 1<<8:
				code = 2
			default:
				code = 3 // 16 bits: a byte's values, zigzagged, fit
			}
			for k := range (1 << code) >> 1 {
				if nib%2 == 0 {
					out = append(out, 0)
				}
				out[len(out)-1] |= byte(v>>(4*k)&0xf) << (4 * (nib % 2))
				nib++
			}
		} else {
			switch {
			case v < 1<<8:
				code = 0
			case v < 1<<16:
				code = 1
			case v < 1<<24:
				code = 2
			default:
				code = 3
			}
			for k := range code + 1 {
				out = append(out, byte(v>>(8*k)))
			}
		}
		out[i/4] |= byte(code) << (2 * (i % 4))
	}
	return out
}
