package format

// EncodeLayoutV3 encodes a new data layout message in version 3, the
// version every libhdf5 since 1.6 reads: contiguous (address and size),
// compact (the data) or chunked (B-tree v1 index address, chunk dimensions
// and the element size as the last dimension).
func EncodeLayoutV3(l *Layout, sizes Sizes) ([]byte, error) {
	e := &Encoder{Sizes: sizes}
	e.U8(3)
	e.U8(l.Class)
	switch l.Class {
	case LayoutCompact:
		if len(l.CompactData) > 0xffff {
			return nil, Unsupportedf(Undefined, "data layout message", "compact data of %d bytes", len(l.CompactData))
		}
		e.U16(uint16(len(l.CompactData)))
		e.Bytes(l.CompactData)
	case LayoutContiguous:
		e.Offset(l.Addr)
		e.Length(l.Size)
	case LayoutChunked:
		if len(l.ChunkDims) == 0 || len(l.ChunkDims) >= maxRank {
			return nil, Unsupportedf(Undefined, "data layout message", "chunk rank %d", len(l.ChunkDims))
		}
		e.U8(uint8(len(l.ChunkDims) + 1))
		e.Offset(l.Addr)
		for _, c := range l.ChunkDims {
			if c == 0 || c > 0xffffffff {
				return nil, Unsupportedf(Undefined, "data layout message", "chunk dimension %d", c)
			}
			e.U32(uint32(c))
		}
		e.U32(l.ElementSize)
	default:
		return nil, Unsupportedf(Undefined, "data layout message", "class %d", l.Class)
	}
	return e.Buf, nil
}
