package format

import (
	"bytes"
	"fmt"
)

// Class is a datatype class, as numbered in the datatype message.
type Class uint8

// Datatype classes.
const (
	ClassFixed     Class = 0
	ClassFloat     Class = 1
	ClassTime      Class = 2
	ClassString    Class = 3
	ClassBitfield  Class = 4
	ClassOpaque    Class = 5
	ClassCompound  Class = 6
	ClassReference Class = 7
	ClassEnum      Class = 8
	ClassVLen      Class = 9
	ClassArray     Class = 10
	ClassComplex   Class = 11
)

var classNames = [...]string{"integer", "float", "time", "string", "bitfield", "opaque", "compound", "reference", "enum", "vlen", "array", "complex"}

func (c Class) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return fmt.Sprintf("class(%d)", uint8(c))
}

// String padding, from the string datatype's class bits.
const (
	PadNullTerm  = 0
	PadNullPad   = 1
	PadSpacePad  = 2
	CharSetASCII = 0
	CharSetUTF8  = 1
)

// Reference types of the reference class.
const (
	RefObject  = 0
	RefRegion  = 1
	RefObject2 = 2 // 1.12-style object reference
	RefRegion2 = 3
	RefAttr2   = 4
)

// Datatype is a decoded datatype message. Fields not relevant to the class
// are zero. Raw keeps the encoded message so it can be written back unchanged.
type Datatype struct {
	Class     Class
	Version   uint8
	Size      uint32 // bytes per element
	BigEndian bool
	Signed    bool // fixed-point

	// fixed-point, bitfield and float
	BitOffset uint16
	Precision uint16
	// float
	SignLoc  uint8
	ExpLoc   uint8
	ExpSize  uint8
	MantLoc  uint8
	MantSize uint8
	ExpBias  uint32
	MantNorm uint8
	VAXOrder bool

	// string and vlen string
	StrPad  uint8
	CharSet uint8

	Tag     string    // opaque
	Members []Member  // compound
	Base    *Datatype // enum, vlen, array
	Names   []string  // enum member names
	Values  [][]byte  // enum member values, each Base.Size bytes
	VLenStr bool      // vlen: a string rather than a sequence
	Dims    []uint32  // array
	RefType uint8     // reference
	Raw     []byte    // the encoded message
}

// Member is one field of a compound datatype.
type Member struct {
	Name   string
	Offset uint32
	Type   *Datatype
}

// maxTypeDepth bounds nesting so a hostile file cannot recurse without end.
const maxTypeDepth = 32

// DecodeDatatype decodes a datatype message.
func DecodeDatatype(buf []byte, addr uint64) (*Datatype, error) {
	d := NewDecoder(buf, addr, "datatype message", Sizes{Offset: 8, Length: 8})
	t := decodeDatatype(d, 0)
	if err := d.Err(); err != nil {
		return nil, err
	}
	return t, nil
}

func decodeDatatype(d *Decoder, depth int) *Datatype {
	start := d.Pos()
	if depth > maxTypeDepth {
		d.Corrupt("datatype nested more than %d deep", maxTypeDepth)
		return &Datatype{}
	}
	cv := d.U8()
	b0, b1, b2 := d.U8(), d.U8(), d.U8()
	bits := uint32(b0) | uint32(b1)<<8 | uint32(b2)<<16
	t := &Datatype{Class: Class(cv & 0x0f), Version: cv >> 4, Size: d.U32()}
	if d.Err() != nil {
		return t
	}
	if t.Version < 1 || t.Version > 5 {
		d.Corrupt("datatype version %d", t.Version)
		return t
	}
	switch t.Class {
	case ClassFixed, ClassBitfield:
		t.BigEndian = bits&1 != 0
		t.Signed = bits&8 != 0 && t.Class == ClassFixed
		t.BitOffset, t.Precision = d.U16(), d.U16()
	case ClassFloat:
		t.BigEndian = bits&1 != 0
		t.VAXOrder = bits&1 != 0 && bits&0x40 != 0
		t.MantNorm = uint8(bits>>4) & 3
		t.SignLoc = uint8(bits >> 8)
		t.BitOffset, t.Precision = d.U16(), d.U16()
		t.ExpLoc, t.ExpSize, t.MantLoc, t.MantSize = d.U8(), d.U8(), d.U8(), d.U8()
		t.ExpBias = d.U32()
	case ClassTime:
		t.BigEndian = bits&1 != 0
		t.Precision = d.U16()
	case ClassString:
		t.StrPad = uint8(bits & 0x0f)
		t.CharSet = uint8(bits>>4) & 0x0f
	case ClassOpaque:
		n := int(bits & 0xff)
		tag := d.Bytes(n)
		t.Tag = string(bytes.TrimRight(tag, "\x00"))
	case ClassCompound:
		decodeCompound(d, t, int(bits&0xffff), depth)
	case ClassReference:
		t.RefType = uint8(bits & 0x0f)
		if t.Version >= 4 {
			// 1.12-style references carry an encoding version and nothing we need.
			t.RefType = uint8(bits & 0x0f)
		}
	case ClassEnum:
		n := int(bits & 0xffff)
		t.Base = decodeDatatype(d, depth+1)
		if d.Err() != nil {
			return t
		}
		if n > d.Remaining() {
			d.Corrupt("enum claims %d members in %d bytes", n, d.Remaining())
			return t
		}
		t.Names = make([]string, n)
		for i := range t.Names {
			t.Names[i] = decodeName(d, t.Version < 3)
		}
		t.Values = make([][]byte, n)
		for i := range t.Values {
			t.Values[i] = d.Bytes(int(t.Base.Size))
		}
	case ClassVLen:
		t.VLenStr = bits&0x0f == 1
		t.StrPad = uint8(bits>>4) & 0x0f
		t.CharSet = uint8(bits>>8) & 0x0f
		t.Base = decodeDatatype(d, depth+1)
	case ClassArray:
		rank := int(d.U8())
		if t.Version < 3 {
			d.Skip(3)
		}
		t.Dims = make([]uint32, 0, min(rank, 32))
		for i := 0; i < rank && d.Err() == nil; i++ {
			t.Dims = append(t.Dims, d.U32())
		}
		if t.Version < 3 {
			d.Skip(4 * rank) // permutation, never used by libhdf5
		}
		t.Base = decodeDatatype(d, depth+1)
	case ClassComplex:
		t.Base = decodeDatatype(d, depth+1)
	default:
		d.Fail(Unsupportedf(d.Addr(), "datatype message", "datatype class %d", t.Class))
	}
	if d.Err() == nil {
		raw := d.buf[start:d.pos]
		t.Raw = append([]byte(nil), raw...)
	}
	return t
}

// decodeName reads a null-terminated name, padded to a multiple of eight
// bytes in older message versions.
func decodeName(d *Decoder, padded8 bool) string {
	if d.Err() != nil {
		return ""
	}
	rest := d.buf[d.pos:]
	i := bytes.IndexByte(rest, 0)
	if i < 0 {
		d.Corrupt("unterminated name")
		return ""
	}
	name := string(rest[:i])
	n := i + 1
	if padded8 {
		n = (n + 7) &^ 7
	}
	d.Skip(n)
	return name
}

func decodeCompound(d *Decoder, t *Datatype, n int, depth int) {
	if n > d.Remaining() {
		d.Corrupt("compound claims %d members in %d bytes", n, d.Remaining())
		return
	}
	t.Members = make([]Member, 0, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		var m Member
		m.Name = decodeName(d, t.Version < 3)
		switch {
		case t.Version >= 3:
			m.Offset = uint32(d.Uint(bytesForValue(uint64(t.Size))))
		default:
			m.Offset = d.U32()
		}
		var dims []uint32
		if t.Version == 1 {
			rank := int(d.U8())
			d.Skip(3 + 4 + 4)
			for k := 0; k < 4; k++ {
				if v := d.U32(); k < rank {
					dims = append(dims, v)
				}
			}
		}
		m.Type = decodeDatatype(d, depth+1)
		if len(dims) > 0 && d.Err() == nil {
			// Version 1 compounds store array members as dimensions on the member.
			n := uint32(1)
			for _, x := range dims {
				n *= x
			}
			m.Type = &Datatype{Class: ClassArray, Version: 2, Size: m.Type.Size * n, Dims: dims, Base: m.Type}
		}
		if d.Err() == nil && uint64(m.Offset)+uint64(m.Type.Size) > uint64(t.Size) {
			d.Corrupt("compound member %q at %d+%d exceeds size %d", m.Name, m.Offset, m.Type.Size, t.Size)
		}
		t.Members = append(t.Members, m)
	}
}

// bytesForValue is how many bytes encode values up to v, as version 3
// compound member offsets are stored.
func bytesForValue(v uint64) int {
	n := 1
	for v >= 1<<(8*uint(n)) && n < 8 {
		n++
	}
	return n
}

// ElementCount multiplies the array dimensions.
func (t *Datatype) ElementCount() uint64 {
	n := uint64(1)
	for _, d := range t.Dims {
		n *= uint64(d)
	}
	return n
}

// HasReference reports whether elements hold references to objects, at any
// depth: their text names the objects by path.
func (t *Datatype) HasReference() bool {
	return t.anyPart(func(p *Datatype) bool { return p.Class == ClassReference })
}

// HasVariableSize reports whether elements reference data outside the
// element itself (vlen sequences and strings), at any depth.
func (t *Datatype) HasVariableSize() bool {
	return t.anyPart(func(p *Datatype) bool {
		return p.Class == ClassVLen || p.Class == ClassReference && p.RefType >= RefObject2
	})
}

// anyPart reports whether t or a type it is built from (members, array,
// enum and sequence bases) matches.
func (t *Datatype) anyPart(match func(*Datatype) bool) bool {
	if match(t) {
		return true
	}
	switch t.Class {
	case ClassCompound:
		for _, m := range t.Members {
			if m.Type.anyPart(match) {
				return true
			}
		}
	case ClassArray, ClassEnum, ClassVLen:
		return t.Base != nil && t.Base.anyPart(match)
	}
	return false
}
