package format

// Layout classes of the data layout message.
const (
	LayoutCompact    = 0
	LayoutContiguous = 1
	LayoutChunked    = 2
	LayoutVirtual    = 3
)

// Chunk index types of layout message version 4.
const (
	IndexBTree1      = 0 // versions 1-3 always use it
	IndexSingle      = 1
	IndexImplicit    = 2
	IndexFixedArray  = 3
	IndexExtensible  = 4
	IndexBTree2      = 5
	chunkFlagNoEdges = 0x01 // don't filter partial edge chunks
	chunkFlagSingleF = 0x02 // single chunk is filtered
)

// Layout is a decoded data layout message.
type Layout struct {
	Version uint8
	Class   uint8

	// contiguous
	Addr uint64 // also the chunk index address and the single chunk address
	Size uint64

	// compact
	CompactData []byte

	// chunked
	ChunkDims         []uint64 // without the trailing element-size dimension
	ElementSize       uint32   // the extra dimension of versions 1-3
	Flags             uint8
	IndexType         uint8
	SingleFilteredLen uint64
	SingleFilterMask  uint32
	// index parameters (version 4)
	FAPageBits        uint8
	EAMaxBits         uint8
	EAIndexElements   uint8
	EAMinPointers     uint8
	EAMinElements     uint8
	EAPageBits        uint8
	BT2NodeSize       uint32
	BT2SplitPercent   uint8
	BT2MergePercent   uint8
	DimSizeEncodedLen uint8

	// Where, inside the encoded message, the address and (single chunk) the
	// filtered size and mask are: a writer patches them in place.
	AddrPos, SinglePos int

	// virtual
	GlobalHeapAddr  uint64
	GlobalHeapIndex uint32

	Raw []byte
}

// Encode returns the message with the current address (and single-chunk
// size and mask) patched into the bytes it was decoded from.
func (l *Layout) Encode(sizes Sizes) []byte {
	raw := append([]byte(nil), l.Raw...)
	e := &Encoder{Sizes: sizes}
	if l.Class == LayoutCompact {
		switch l.Version {
		case 3, 4:
			// class, size, data: the size cannot change in place
			copy(raw[4:], l.CompactData)
		default:
			copy(raw[len(raw)-len(l.CompactData):], l.CompactData)
		}
		return raw
	}
	e.Offset(l.Addr)
	copy(raw[l.AddrPos:], e.Buf)
	if l.SinglePos > 0 {
		e.Buf = e.Buf[:0]
		e.Length(l.SingleFilteredLen)
		e.U32(l.SingleFilterMask)
		copy(raw[l.SinglePos:], e.Buf)
	}
	return raw
}

// NoFilterEdgeChunks reports the "don't filter partial edge chunks" flag.
func (l *Layout) NoFilterEdgeChunks() bool { return l.Flags&chunkFlagNoEdges != 0 }

// DecodeLayout decodes a data layout message.
func DecodeLayout(buf []byte, addr uint64, sizes Sizes) (*Layout, error) {
	d := NewDecoder(buf, addr, "data layout message", sizes)
	l := &Layout{Version: d.U8(), Addr: Undefined}
	switch l.Version {
	case 1, 2:
		rank := int(d.U8())
		l.Class = d.U8()
		d.Skip(5)
		if l.Class != LayoutCompact {
			l.AddrPos = d.Pos()
			l.Addr = d.Offset()
		}
		if rank < 1 || rank > maxRank+1 {
			d.Corrupt("layout rank %d", rank)
			return nil, d.Err()
		}
		dims := make([]uint64, rank)
		for i := range dims {
			dims[i] = uint64(d.U32())
		}
		switch l.Class {
		case LayoutChunked:
			l.ChunkDims = dims[:rank-1]
			l.ElementSize = uint32(dims[rank-1])
		case LayoutCompact:
			n := d.U32()
			l.CompactData = d.Bytes(int(n))
		case LayoutContiguous:
			l.Size = 1
			for _, x := range dims {
				l.Size *= x
			}
		}
	case 3, 4, 5:
		// Version 5 (libhdf5 2.0, libver v200) has version 4's fields; its
		// chunk indexes store filtered chunks' sizes wider (chunk package).
		l.Class = d.U8()
		switch l.Class {
		case LayoutCompact:
			n := d.U16()
			l.CompactData = d.Bytes(int(n))
		case LayoutContiguous:
			l.AddrPos = d.Pos()
			l.Addr = d.Offset()
			l.Size = d.Length()
		case LayoutChunked:
			decodeChunkedLayout(d, l)
		case LayoutVirtual:
			if l.Version < 4 {
				d.Corrupt("virtual layout in version %d message", l.Version)
			}
			l.GlobalHeapAddr = d.Offset()
			l.GlobalHeapIndex = d.U32()
		default:
			d.Corrupt("layout class %d", l.Class)
		}
	default:
		d.Fail(Unsupportedf(addr, "data layout message", "version %d", l.Version))
	}
	if err := d.Err(); err != nil {
		return nil, err
	}
	if l.CompactData != nil {
		l.CompactData = append([]byte(nil), l.CompactData...)
	}
	l.Raw = append([]byte(nil), buf[:d.Pos()]...)
	return l, nil
}

func decodeChunkedLayout(d *Decoder, l *Layout) {
	if l.Version == 3 {
		rank := int(d.U8())
		l.AddrPos = d.Pos()
		l.Addr = d.Offset()
		if rank < 1 || rank > maxRank+1 {
			d.Corrupt("chunk rank %d", rank)
			return
		}
		dims := make([]uint64, rank)
		for i := range dims {
			dims[i] = uint64(d.U32())
		}
		l.ChunkDims = dims[:rank-1]
		l.ElementSize = uint32(dims[rank-1])
		return
	}
	l.Flags = d.U8()
	rank := int(d.U8())
	l.DimSizeEncodedLen = d.U8()
	if rank < 1 || rank > maxRank+1 || l.DimSizeEncodedLen < 1 || l.DimSizeEncodedLen > 8 {
		d.Corrupt("chunk rank %d, dimension size length %d", rank, l.DimSizeEncodedLen)
		return
	}
	dims := make([]uint64, rank)
	for i := range dims {
		dims[i] = d.Uint(int(l.DimSizeEncodedLen))
	}
	l.ChunkDims = dims[:rank-1]
	l.ElementSize = uint32(dims[rank-1])
	l.IndexType = d.U8()
	switch l.IndexType {
	case IndexSingle:
		if l.Flags&chunkFlagSingleF != 0 {
			l.SinglePos = d.Pos()
			l.SingleFilteredLen = d.Length()
			l.SingleFilterMask = d.U32()
		}
	case IndexImplicit:
	case IndexFixedArray:
		l.FAPageBits = d.U8()
	case IndexExtensible:
		l.EAMaxBits = d.U8()
		l.EAIndexElements = d.U8()
		l.EAMinPointers = d.U8()
		l.EAMinElements = d.U8()
		l.EAPageBits = d.U8()
	case IndexBTree2:
		l.BT2NodeSize = d.U32()
		l.BT2SplitPercent = d.U8()
		l.BT2MergePercent = d.U8()
	default:
		d.Corrupt("chunk index type %d", l.IndexType)
	}
	l.AddrPos = d.Pos()
	l.Addr = d.Offset()
}

// Filter is one entry of the filter pipeline message.
type Filter struct {
	ID     uint16
	Name   string
	Flags  uint16 // bit 0: optional
	Params []uint32
}

// Optional reports whether a failure of this filter may be skipped.
func (f *Filter) Optional() bool { return f.Flags&1 != 0 }

// DecodeFilterPipeline decodes a filter pipeline message.
func DecodeFilterPipeline(buf []byte, addr uint64) ([]Filter, error) {
	d := NewDecoder(buf, addr, "filter pipeline message", Sizes{8, 8})
	version := d.U8()
	n := int(d.U8())
	if version == 1 {
		d.Skip(6)
	} else if version != 2 {
		return nil, Unsupportedf(addr, "filter pipeline message", "version %d", version)
	}
	if n > 32 {
		return nil, Corruptf(addr, "filter pipeline message", "%d filters", n)
	}
	filters := make([]Filter, 0, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		var f Filter
		f.ID = d.U16()
		nameLen := 0
		if version == 1 || f.ID >= 256 {
			nameLen = int(d.U16())
		}
		f.Flags = d.U16()
		nparams := int(d.U16())
		if nameLen > 0 {
			name := d.Bytes(nameLen)
			for j, c := range name {
				if c == 0 {
					name = name[:j]
					break
				}
			}
			f.Name = string(name)
		}
		if nparams > d.Remaining()/4+1 {
			d.Corrupt("filter %d claims %d parameters", f.ID, nparams)
			break
		}
		f.Params = make([]uint32, nparams)
		for j := range f.Params {
			f.Params[j] = d.U32()
		}
		if version == 1 && nparams%2 == 1 {
			d.Skip(4)
		}
		filters = append(filters, f)
	}
	if err := d.Err(); err != nil {
		return nil, err
	}
	return filters, nil
}

// FillValue is a decoded fill value message (new or old form).
type FillValue struct {
	Version   uint8
	AllocTime uint8 // 1 early, 2 late, 3 incremental
	WriteTime uint8 // 0 on alloc, 1 never, 2 if set by user
	Defined   bool
	Value     []byte // nil when undefined (then zeros are used)
	Raw       []byte
}

// DecodeFillValue decodes the fill value message (type 5).
func DecodeFillValue(buf []byte, addr uint64) (*FillValue, error) {
	d := NewDecoder(buf, addr, "fill value message", Sizes{8, 8})
	f := &FillValue{Version: d.U8()}
	switch f.Version {
	case 1, 2:
		f.AllocTime = d.U8()
		f.WriteTime = d.U8()
		defined := d.U8() != 0
		// The size is signed: libhdf5 reads -1, as PyTables 1.x wrote
		// for H5D_FILL_VALUE_UNDEFINED, as no value at all, and 0 as the
		// default (zeros). Version 1 stores the size even when no value
		// is defined; libhdf5 then ignores it.
		size := int32(-1)
		if (f.Version == 1 || defined) && d.Remaining() >= 4 {
			size = int32(d.U32())
		}
		f.Defined = defined && size >= 0
		if f.Defined && size > 0 {
			f.Value = d.Bytes(int(size))
		}
	case 3:
		flags := d.U8()
		f.AllocTime = flags & 3
		f.WriteTime = (flags >> 2) & 3
		if flags&0x10 != 0 { // undefined
			f.Defined = false
		} else if flags&0x20 != 0 {
			f.Defined = true
			n := d.U32()
			f.Value = d.Bytes(int(n))
		} else {
			f.Defined = true // default: zeros
		}
	default:
		return nil, Unsupportedf(addr, "fill value message", "version %d", f.Version)
	}
	if err := d.Err(); err != nil {
		return nil, err
	}
	if f.Value != nil {
		f.Value = append([]byte(nil), f.Value...)
	}
	f.Raw = append([]byte(nil), buf[:d.Pos()]...)
	return f, nil
}

// DecodeFillValueOld decodes the old fill value message (type 4).
func DecodeFillValueOld(buf []byte, addr uint64) (*FillValue, error) {
	d := NewDecoder(buf, addr, "old fill value message", Sizes{8, 8})
	n := d.U32()
	v := d.Bytes(int(n))
	if err := d.Err(); err != nil {
		return nil, err
	}
	f := &FillValue{Version: 0, Defined: n > 0, Raw: append([]byte(nil), buf...)}
	if n > 0 {
		f.Value = append([]byte(nil), v...)
	}
	return f, nil
}
