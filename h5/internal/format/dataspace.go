package format

// Unlimited is the maximum dimension size meaning "may grow without bound".
const Unlimited = ^uint64(0)

// Dataspace kinds.
const (
	SpaceScalar = 0
	SpaceSimple = 1
	SpaceNull   = 2
)

// maxRank bounds dimensionality; libhdf5 itself allows 32.
const maxRank = 32

// Dataspace is a decoded dataspace message.
type Dataspace struct {
	Version uint8
	Kind    uint8
	Dims    []uint64
	MaxDims []uint64 // nil when the message stores none (then equal to Dims)
	Raw     []byte
}

// DecodeDataspace decodes a dataspace message.
func DecodeDataspace(buf []byte, addr uint64, sizes Sizes) (*Dataspace, error) {
	d := NewDecoder(buf, addr, "dataspace message", sizes)
	s := &Dataspace{Version: d.U8()}
	rank := int(d.U8())
	flags := d.U8()
	switch s.Version {
	case 1:
		d.Skip(5)
		s.Kind = SpaceSimple
		if rank == 0 {
			s.Kind = SpaceScalar
		}
	case 2:
		s.Kind = d.U8()
		if s.Kind > SpaceNull {
			d.Corrupt("dataspace type %d", s.Kind)
		}
	default:
		d.Corrupt("dataspace version %d", s.Version)
	}
	if rank > maxRank {
		d.Corrupt("rank %d exceeds %d", rank, maxRank)
	}
	if err := d.Err(); err != nil {
		return nil, err
	}
	s.Dims = make([]uint64, rank)
	for i := range s.Dims {
		s.Dims[i] = d.Length()
	}
	if flags&1 != 0 {
		s.MaxDims = make([]uint64, rank)
		for i := range s.MaxDims {
			s.MaxDims[i] = d.Length()
			if sizes.Length < 8 && s.MaxDims[i] == 1<<(8*uint(sizes.Length))-1 {
				s.MaxDims[i] = Unlimited
			}
		}
	}
	if err := d.Err(); err != nil {
		return nil, err
	}
	s.Raw = append([]byte(nil), buf[:d.Pos()]...)
	return s, nil
}

// NumElements is the number of elements, saturating at the maximum uint64.
func (s *Dataspace) NumElements() uint64 {
	switch s.Kind {
	case SpaceNull:
		return 0
	case SpaceScalar:
		return 1
	}
	n := uint64(1)
	for _, x := range s.Dims {
		if x != 0 && n > ^uint64(0)/x {
			return ^uint64(0)
		}
		n *= x
	}
	return n
}

// MaxShape returns the maximum dimensions (Dims when none are stored).
func (s *Dataspace) MaxShape() []uint64 {
	if s.MaxDims == nil {
		return s.Dims
	}
	return s.MaxDims
}

// EncodeDims returns the message with new current dimensions patched into
// the bytes it was decoded from (the rank cannot change in place).
func (s *Dataspace) EncodeDims(dims []uint64, sizes Sizes) []byte {
	raw := append([]byte(nil), s.Raw...)
	pos := 4
	if s.Version == 1 {
		pos = 8
	}
	e := &Encoder{Sizes: sizes}
	for _, d := range dims {
		e.Length(d)
	}
	copy(raw[pos:], e.Buf)
	return raw
}
