package format

import "time"

// Encoders of header messages: the inverse of the decoders, writing what
// libhdf5 writes for the same content.

// GroupInfo is a decoded group info message: the thresholds between
// compact and dense link storage.
type GroupInfo struct {
	MaxCompact, MinDense uint16 // 0, 0: libhdf5's defaults (8, 6)
	EstEntries, EstName  uint16 // 0, 0: libhdf5's defaults (4, 8)
}

// DecodeGroupInfo decodes a group info message.
func DecodeGroupInfo(buf []byte, addr uint64) (*GroupInfo, error) {
	d := NewDecoder(buf, addr, "group info message", Sizes{8, 8})
	if v := d.U8(); v != 0 {
		return nil, Corruptf(addr, "group info message", "version %d", v)
	}
	flags := d.U8()
	g := &GroupInfo{}
	if flags&1 != 0 {
		g.MaxCompact, g.MinDense = d.U16(), d.U16()
	}
	if flags&2 != 0 {
		g.EstEntries, g.EstName = d.U16(), d.U16()
	}
	return g, d.Err()
}

// EncodeGroupInfo encodes a group info message, storing only non-default
// values, as libhdf5 does.
func EncodeGroupInfo(g *GroupInfo) []byte {
	e := &Encoder{}
	e.U8(0)
	flags := uint8(0)
	if g.MaxCompact != 0 || g.MinDense != 0 {
		flags |= 1
	}
	if g.EstEntries != 0 || g.EstName != 0 {
		flags |= 2
	}
	e.U8(flags)
	if flags&1 != 0 {
		e.U16(g.MaxCompact)
		e.U16(g.MinDense)
	}
	if flags&2 != 0 {
		e.U16(g.EstEntries)
		e.U16(g.EstName)
	}
	return e.Buf
}

// EncodeLink encodes a link message (version 1), with the name length in
// as few bytes as hold it.
func EncodeLink(l *Link, sizes Sizes) []byte {
	e := &Encoder{Sizes: sizes}
	e.U8(1)
	n := uint64(len(l.Name))
	width := uint8(0)
	switch {
	case n > 0xffffffff:
		width = 3
	case n > 0xffff:
		width = 2
	case n > 0xff:
		width = 1
	}
	flags := width
	if l.Type != LinkHard {
		flags |= 0x08
	}
	if l.HasCreationOrder {
		flags |= 0x04
	}
	if l.CharSet != 0 {
		flags |= 0x10
	}
	e.U8(flags)
	if flags&0x08 != 0 {
		e.U8(l.Type)
	}
	if flags&0x04 != 0 {
		e.U64(uint64(l.CreationOrder))
	}
	if flags&0x10 != 0 {
		e.U8(l.CharSet)
	}
	e.Uint(n, 1<<width)
	e.Bytes([]byte(l.Name))
	switch l.Type {
	case LinkHard:
		e.Offset(l.Addr)
	case LinkSoft:
		e.U16(uint16(len(l.Target)))
		e.Bytes([]byte(l.Target))
	case LinkExternal:
		info := append([]byte{0}, l.ExtFile...)
		info = append(info, 0)
		info = append(info, l.ExtPath...)
		info = append(info, 0)
		e.U16(uint16(len(info)))
		e.Bytes(info)
	}
	return e.Buf
}

// EncodeLinkInfo encodes a link info message.
func EncodeLinkInfo(li *LinkInfo, sizes Sizes) []byte {
	e := &Encoder{Sizes: sizes}
	e.U8(0)
	e.U8(li.Flags)
	if li.Flags&1 != 0 {
		e.U64(li.MaxCreationIndex)
	}
	e.Offset(li.HeapAddr)
	e.Offset(li.NameIndexAddr)
	if li.Flags&2 != 0 {
		e.Offset(li.OrderIndexAddr)
	}
	return e.Buf
}

// EncodeAttributeInfo encodes an attribute info message.
func EncodeAttributeInfo(ai *AttributeInfo, sizes Sizes) []byte {
	e := &Encoder{Sizes: sizes}
	e.U8(0)
	e.U8(ai.Flags)
	if ai.Flags&1 != 0 {
		e.U16(ai.MaxCreationIndex)
	}
	e.Offset(ai.HeapAddr)
	e.Offset(ai.NameIndexAddr)
	if ai.Flags&2 != 0 {
		e.Offset(ai.OrderIndexAddr)
	}
	return e.Buf
}

// EncodeSymbolTableMessage encodes a symbol table message.
func EncodeSymbolTableMessage(st *SymbolTableMessage, sizes Sizes) []byte {
	e := &Encoder{Sizes: sizes}
	e.Offset(st.BTreeAddr)
	e.Offset(st.HeapAddr)
	return e.Buf
}

// EncodeModTime encodes a modification time message (type 0x12).
func EncodeModTime(t time.Time) []byte {
	e := &Encoder{}
	e.U8(1)
	e.Zeros(3)
	e.U32(uint32(t.Unix()))
	return e.Buf
}

// EncodeDataspace encodes a dataspace message in its version: 1 (a scalar
// is rank 0) or 2 (with the kind; null dataspaces need it).
func EncodeDataspace(s *Dataspace, sizes Sizes) []byte {
	e := &Encoder{Sizes: sizes}
	version := s.Version
	if version == 0 || (version == 1 && s.Kind == SpaceNull) {
		version = 2
	}
	rank := len(s.Dims)
	if s.Kind != SpaceSimple {
		rank = 0
	}
	e.U8(version)
	e.U8(uint8(rank))
	flags := uint8(0)
	if s.MaxDims != nil && rank > 0 {
		flags |= 1
	}
	e.U8(flags)
	if version == 1 {
		e.Zeros(5)
	} else {
		e.U8(s.Kind)
	}
	for i := 0; i < rank; i++ {
		e.Length(s.Dims[i])
	}
	if flags&1 != 0 {
		for i := 0; i < rank; i++ {
			e.Length(s.MaxDims[i])
		}
	}
	return e.Buf
}

// EncodeFillValue encodes a fill value message (type 5) in version 1, 2 or
// 3; without a value the fill is the default (zeros).
func EncodeFillValue(f *FillValue) []byte {
	e := &Encoder{}
	switch f.Version {
	case 3:
		flags := f.AllocTime&3 | (f.WriteTime&3)<<2
		switch {
		case !f.Defined:
			flags |= 0x10
		case f.Value != nil:
			flags |= 0x20
		}
		e.U8(3)
		e.U8(flags)
		if flags&0x20 != 0 {
			e.U32(uint32(len(f.Value)))
			e.Bytes(f.Value)
		}
	default:
		version := f.Version
		if version == 0 {
			version = 2
		}
		e.U8(version)
		e.U8(f.AllocTime)
		e.U8(f.WriteTime)
		defined := uint8(0)
		if f.Defined {
			defined = 1
		}
		e.U8(defined)
		if version == 1 || f.Defined {
			e.U32(uint32(len(f.Value)))
			e.Bytes(f.Value)
		}
	}
	return e.Buf
}

// EncodeFilterPipeline encodes a filter pipeline message: version 1 pads
// names to 8 bytes and parameter lists to an even count; version 2 omits
// the names of libhdf5's own filters (ids below 256).
func EncodeFilterPipeline(version uint8, fs []Filter) []byte {
	e := &Encoder{}
	if version != 2 {
		version = 1
	}
	e.U8(version)
	e.U8(uint8(len(fs)))
	if version == 1 {
		e.Zeros(6)
	}
	for _, f := range fs {
		e.U16(f.ID)
		var name []byte
		if f.Name != "" && (version == 1 || f.ID >= 256) {
			name = append([]byte(f.Name), 0)
			if version == 1 {
				name = append(name, make([]byte, (8-len(name)%8)%8)...)
			}
		}
		if version == 1 || f.ID >= 256 {
			e.U16(uint16(len(name)))
		}
		e.U16(f.Flags)
		e.U16(uint16(len(f.Params)))
		e.Bytes(name)
		for _, p := range f.Params {
			e.U32(p)
		}
		if version == 1 && len(f.Params)%2 == 1 {
			e.U32(0)
		}
	}
	return e.Buf
}

// EncodeAttribute encodes an attribute message: version 1 pads name,
// datatype and dataspace to 8 bytes; version 3 adds the name's character
// set.
func EncodeAttribute(a *AttributeMessage, sizes Sizes) ([]byte, error) {
	typ, err := EncodeDatatype(a.Type)
	if err != nil {
		return nil, err
	}
	space := EncodeDataspace(a.Space, sizes)
	name := append([]byte(a.Name), 0)
	version := a.Version
	if version == 0 {
		version = 1
	}
	pad := func(b []byte) []byte {
		if version == 1 {
			return append(b, make([]byte, (8-len(b)%8)%8)...)
		}
		return b
	}
	e := &Encoder{}
	e.U8(version)
	e.U8(0)
	e.U16(uint16(len(name)))
	e.U16(uint16(len(typ)))
	e.U16(uint16(len(space)))
	if version == 3 {
		e.U8(a.CharSet)
	}
	e.Bytes(pad(name))
	e.Bytes(pad(typ))
	e.Bytes(pad(space))
	e.Bytes(a.Data)
	return e.Buf, nil
}

// EncodeDatatype encodes a datatype message. A type decoded from a file
// is written back as it was; a type built in memory is encoded in the
// version its content needs (t.Version when set).
func EncodeDatatype(t *Datatype) ([]byte, error) {
	if len(t.Raw) > 0 {
		return append([]byte(nil), t.Raw...), nil
	}
	e := &Encoder{}
	if err := encodeDatatype(e, t, 0); err != nil {
		return nil, err
	}
	return e.Buf, nil
}

func encodeDatatype(e *Encoder, t *Datatype, depth int) error {
	if depth > maxTypeDepth {
		return Unsupportedf(Undefined, "datatype message", "nested more than %d deep", maxTypeDepth)
	}
	if len(t.Raw) > 0 {
		e.Bytes(t.Raw)
		return nil
	}
	version := t.Version
	if version == 0 {
		version = 1
		switch t.Class {
		case ClassArray:
			version = 2
		case ClassCompound:
			for _, m := range t.Members {
				if m.Type.Class == ClassArray {
					version = 2
				}
			}
		}
	}
	var bits uint32
	var body Encoder
	switch t.Class {
	case ClassFixed, ClassBitfield:
		if t.BigEndian {
			bits |= 1
		}
		if t.Signed {
			bits |= 8
		}
		body.U16(t.BitOffset)
		body.U16(t.Precision)
	case ClassFloat:
		if t.BigEndian {
			bits |= 1
		}
		bits |= uint32(t.MantNorm&3) << 4
		bits |= uint32(t.SignLoc) << 8
		body.U16(t.BitOffset)
		body.U16(t.Precision)
		body.U8(t.ExpLoc)
		body.U8(t.ExpSize)
		body.U8(t.MantLoc)
		body.U8(t.MantSize)
		body.U32(t.ExpBias)
	case ClassTime:
		if t.BigEndian {
			bits |= 1
		}
		body.U16(t.Precision)
	case ClassString:
		bits = uint32(t.StrPad&0x0f) | uint32(t.CharSet&0x0f)<<4
	case ClassOpaque:
		var tag []byte // an empty tag takes no bytes at all
		if t.Tag != "" {
			tag = append([]byte(t.Tag), 0)
			tag = append(tag, make([]byte, (8-len(tag)%8)%8)...)
		}
		bits = uint32(len(tag))
		body.Bytes(tag)
	case ClassReference:
		bits = uint32(t.RefType & 0x0f)
	case ClassEnum:
		bits = uint32(len(t.Names))
		if err := encodeDatatype(&body, t.Base, depth+1); err != nil {
			return err
		}
		for _, n := range t.Names {
			body.Bytes(encodeName(n, version < 3))
		}
		for _, v := range t.Values {
			body.Bytes(v)
		}
	case ClassVLen:
		if t.VLenStr {
			bits = 1 | uint32(t.StrPad&0x0f)<<4 | uint32(t.CharSet&0x0f)<<8
		}
		base := t.Base
		if base == nil {
			// A string's characters: unsigned bytes, as libhdf5 records them.
			base = &Datatype{Class: ClassFixed, Version: 1, Size: 1, Precision: 8}
		}
		if err := encodeDatatype(&body, base, depth+1); err != nil {
			return err
		}
	case ClassArray:
		body.U8(uint8(len(t.Dims)))
		if version < 3 {
			body.Zeros(3)
		}
		for _, d := range t.Dims {
			body.U32(d)
		}
		if version < 3 {
			for i := range t.Dims {
				body.U32(uint32(i))
			}
		}
		if err := encodeDatatype(&body, t.Base, depth+1); err != nil {
			return err
		}
	case ClassCompound:
		bits = uint32(len(t.Members))
		for _, m := range t.Members {
			body.Bytes(encodeName(m.Name, version < 3))
			if version >= 3 {
				body.Uint(uint64(m.Offset), bytesForValue(uint64(t.Size)))
			} else {
				body.U32(m.Offset)
			}
			if version == 1 {
				// Dimensionality, reserved, permutation, reserved, four
				// dimension sizes: array members need version 2.
				body.Zeros(1 + 3 + 4 + 4 + 16)
			}
			if err := encodeDatatype(&body, m.Type, depth+1); err != nil {
				return err
			}
		}
	case ClassComplex:
		if err := encodeDatatype(&body, t.Base, depth+1); err != nil {
			return err
		}
	default:
		return Unsupportedf(Undefined, "datatype message", "encoding class %d", t.Class)
	}
	e.U8(uint8(t.Class) | version<<4)
	e.U8(uint8(bits))
	e.U8(uint8(bits >> 8))
	e.U8(uint8(bits >> 16))
	e.U32(t.Size)
	e.Bytes(body.Buf)
	return nil
}

// encodeName is a null-terminated name, padded to 8 bytes in older
// versions.
func encodeName(name string, padded8 bool) []byte {
	b := append([]byte(name), 0)
	if padded8 {
		b = append(b, make([]byte, (8-len(b)%8)%8)...)
	}
	return b
}
