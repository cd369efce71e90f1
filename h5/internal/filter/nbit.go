package filter

import (
	"fmt"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// N-bit (id 5, built into libhdf5) keeps only the significant bits of each
// integer or float: `precision` bits starting `offset` bits up, packed most
// significant bit first, bits running on across bytes and elements. The
// cd_values libhdf5's set_local computes describe the datatype as a tree:
//
//	0 number of cd_values
//	1 1: every member has full precision, the chunk is stored as it is
//	2 elements in a chunk
//	3.. the datatype:
//	  atomic (1):   class, size, byte order (0 LE, 1 BE), precision, offset
//	  array (2):    class, size, then the base datatype
//	  compound (3): class, size, member count, then per member its byte
//	                offset and its datatype
//	  no-op (4):    class, size; the bytes are copied whole (strings,
//	                opaque, enums, references, ...)
//
// Unpacked, the bits outside the precision are zero (no sign extension:
// that is the datatype conversion's job).
type nbitCodec struct{}

func init() { Register(NBit, nbitCodec{}) }

const (
	nbitAtomic   = 1
	nbitArray    = 2
	nbitCompound = 3
	nbitNoop     = 4
)

// nbitType is one node of the datatype tree.
type nbitType struct {
	class     uint32
	size      int
	bigEndian bool
	precision int
	offset    int
	base      *nbitType    // array
	members   []nbitMember // compound
}

type nbitMember struct {
	offset int
	t      *nbitType
}

func (nbitCodec) Decode(f *format.Filter, in []byte, maxOut int) ([]byte, error) {
	cd := f.Params
	if len(cd) >= 2 && cd[1] != 0 {
		return in, nil
	}
	if len(cd) < 5 || uint64(cd[0]) != uint64(len(cd)) {
		return nil, fmt.Errorf("nbit: %d parameters (first says %v): %w", len(cd), cd[:min(len(cd), 1)], format.ErrCorrupt)
	}
	nelmts, size := uint64(cd[2]), uint64(cd[4])
	if size == 0 || nelmts*size > uint64(maxOut) || nelmts > uint64(maxOut) {
		return nil, fmt.Errorf("nbit: %d elements of %d bytes, more than %d: %w", nelmts, size, maxOut, format.ErrCorrupt)
	}
	p := nbitParser{cd: cd, i: 3}
	var t *nbitType
	var err error
	switch cd[3] {
	case nbitAtomic:
		t, err = p.atomic(int(size))
	case nbitArray:
		t, err = p.array(0)
	case nbitCompound:
		t, err = p.compound(0)
	default:
		err = fmt.Errorf("nbit: datatype class %d at the top: %w", cd[3], format.ErrCorrupt)
	}
	if err != nil {
		return nil, err
	}
	out := make([]byte, nelmts*size)
	br := nbitReader{buf: in}
	for i := 0; i < int(nelmts); i++ {
		if err := t.unpack(out[i*int(size):(i+1)*int(size)], &br); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// nbitParser walks the cd_values; i is the index of the next value.
type nbitParser struct {
	cd []uint32
	i  int
}

const nbitMaxDepth = 64

func (p *nbitParser) next(n int) ([]uint32, error) {
	if len(p.cd)-p.i < n {
		return nil, fmt.Errorf("nbit: parameters end inside the datatype: %w", format.ErrCorrupt)
	}
	v := p.cd[p.i : p.i+n]
	p.i += n
	return v, nil
}

// atomic reads class, size, order, precision, offset; size is the size the
// enclosing type gives (it must agree).
func (p *nbitParser) atomic(size int) (*nbitType, error) {
	v, err := p.next(5)
	if err != nil {
		return nil, err
	}
	t := &nbitType{class: nbitAtomic, size: int(v[1]), bigEndian: v[2] == 1, precision: int(v[3]), offset: int(v[4])}
	if uint64(v[1]) != uint64(size) || v[2] > 1 {
		return nil, fmt.Errorf("nbit: atomic of %d bytes, order %d, in %d bytes: %w", v[1], v[2], size, format.ErrCorrupt)
	}
	if uint64(v[3]) > uint64(v[1])*8 || uint64(v[3])+uint64(v[4]) > uint64(v[1])*8 {
		return nil, fmt.Errorf("nbit: precision %d offset %d in %d bytes: %w", v[3], v[4], v[1], format.ErrCorrupt)
	}
	return t, nil
}

// member reads a datatype of a compound member or an array base, whose
// class and size come first.
func (p *nbitParser) member(size, depth int) (*nbitType, error) {
	if len(p.cd)-p.i < 2 {
		return nil, fmt.Errorf("nbit: parameters end inside the datatype: %w", format.ErrCorrupt)
	}
	switch p.cd[p.i] {
	case nbitAtomic:
		return p.atomic(size)
	case nbitArray:
		return p.array(depth + 1)
	case nbitCompound:
		return p.compound(depth + 1)
	case nbitNoop:
		v, _ := p.next(2)
		return &nbitType{class: nbitNoop, size: int(v[1])}, nil
	}
	return nil, fmt.Errorf("nbit: datatype class %d: %w", p.cd[p.i], format.ErrCorrupt)
}

func (p *nbitParser) array(depth int) (*nbitType, error) {
	if depth > nbitMaxDepth {
		return nil, fmt.Errorf("nbit: datatype nested too deep: %w", format.ErrCorrupt)
	}
	v, err := p.next(2)
	if err != nil {
		return nil, err
	}
	t := &nbitType{class: nbitArray, size: int(v[1])}
	if len(p.cd)-p.i < 2 {
		return nil, fmt.Errorf("nbit: parameters end inside the datatype: %w", format.ErrCorrupt)
	}
	// The base's size is the next value but one.
	baseSize := int(p.cd[p.i+1])
	if p.cd[p.i] == nbitNoop {
		baseSize = t.size // libhdf5 copies the whole array
	}
	if baseSize == 0 || baseSize > t.size {
		return nil, fmt.Errorf("nbit: array of %d bytes with %d-byte elements: %w", t.size, baseSize, format.ErrCorrupt)
	}
	if t.base, err = p.member(baseSize, depth); err != nil {
		return nil, err
	}
	if t.base.class == nbitNoop {
		t.base.size = t.size
	}
	return t, nil
}

func (p *nbitParser) compound(depth int) (*nbitType, error) {
	if depth > nbitMaxDepth {
		return nil, fmt.Errorf("nbit: datatype nested too deep: %w", format.ErrCorrupt)
	}
	v, err := p.next(3)
	if err != nil {
		return nil, err
	}
	t := &nbitType{class: nbitCompound, size: int(v[1])}
	used := 0
	for m := uint32(0); m < v[2]; m++ {
		if len(p.cd)-p.i < 3 {
			return nil, fmt.Errorf("nbit: parameters end inside the datatype: %w", format.ErrCorrupt)
		}
		off, msize := p.cd[p.i], p.cd[p.i+2]
		p.i++
		// As libhdf5: members fit, and their sizes add up to no more than
		// the compound's (each is at least a byte).
		if msize == 0 || uint64(used)+uint64(msize) > uint64(t.size) || uint64(off)+uint64(msize) > uint64(t.size) {
			return nil, fmt.Errorf("nbit: member of %d bytes at %d in a %d-byte compound: %w", msize, off, t.size, format.ErrCorrupt)
		}
		used += int(msize)
		mt, err := p.member(int(msize), depth)
		if err != nil {
			return nil, err
		}
		t.members = append(t.members, nbitMember{offset: int(off), t: mt})
	}
	return t, nil
}

// unpack fills dst (t.size bytes, zeroed) from the bit stream.
func (t *nbitType) unpack(dst []byte, br *nbitReader) error {
	switch t.class {
	case nbitAtomic:
		if t.precision == 0 {
			return nil
		}
		hi := t.offset + t.precision - 1 // top significant bit
		for b := hi / 8; b >= t.offset/8; b-- {
			lo := max(t.offset, 8*b)
			top := min(hi, 8*b+7)
			v, ok := br.read(uint(top - lo + 1))
			if !ok {
				return fmt.Errorf("nbit: packed data ends early: %w", format.ErrCorrupt)
			}
			idx := b
			if t.bigEndian {
				idx = t.size - 1 - b
			}
			dst[idx] = v << uint(lo-8*b)
		}
	case nbitNoop:
		for i := range dst[:t.size] {
			v, ok := br.read(8)
			if !ok {
				return fmt.Errorf("nbit: packed data ends early: %w", format.ErrCorrupt)
			}
			dst[i] = v
		}
	case nbitArray:
		bs := t.base.size
		for o := 0; o+bs <= t.size; o += bs {
			if err := t.base.unpack(dst[o:o+bs], br); err != nil {
				return err
			}
		}
	case nbitCompound:
		for _, m := range t.members {
			if err := m.t.unpack(dst[m.offset:m.offset+m.t.size], br); err != nil {
				return err
			}
		}
	}
	return nil
}

// nbitReader reads bit fields of up to 8 bits, most significant bit first.
type nbitReader struct {
	buf []byte
	pos uint
}

func (r *nbitReader) read(n uint) (byte, bool) {
	if r.pos+n > uint(len(r.buf))*8 {
		return 0, false
	}
	i := r.pos >> 3
	w := uint16(r.buf[i]) << 8
	if i+1 < uint(len(r.buf)) {
		w |= uint16(r.buf[i+1])
	}
	w <<= r.pos & 7
	r.pos += n
	return byte(w >> (16 - n)), true
}
