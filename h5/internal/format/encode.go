package format

import "encoding/binary"

// Encoder appends little-endian fields to a buffer, the mirror of Decoder.
type Encoder struct {
	Buf   []byte
	Sizes Sizes
}

// U8 appends a byte.
func (e *Encoder) U8(v uint8) { e.Buf = append(e.Buf, v) }

// U16 appends a little-endian uint16.
func (e *Encoder) U16(v uint16) { e.Buf = binary.LittleEndian.AppendUint16(e.Buf, v) }

// U32 appends a little-endian uint32.
func (e *Encoder) U32(v uint32) { e.Buf = binary.LittleEndian.AppendUint32(e.Buf, v) }

// U64 appends a little-endian uint64.
func (e *Encoder) U64(v uint64) { e.Buf = binary.LittleEndian.AppendUint64(e.Buf, v) }

// Uint appends the low n bytes of v.
func (e *Encoder) Uint(v uint64, n int) {
	for i := 0; i < n; i++ {
		e.Buf = append(e.Buf, byte(v>>(8*uint(i))))
	}
}

// Offset appends a file address (Undefined as all ones).
func (e *Encoder) Offset(v uint64) { e.Uint(v, e.Sizes.Offset) }

// Length appends a length field.
func (e *Encoder) Length(v uint64) { e.Uint(v, e.Sizes.Length) }

// Bytes appends raw bytes.
func (e *Encoder) Bytes(b []byte) { e.Buf = append(e.Buf, b...) }

// Zeros appends n zero bytes.
func (e *Encoder) Zeros(n int) { e.Buf = append(e.Buf, make([]byte, n)...) }

// AppendChecksum appends the lookup3 checksum of everything so far.
func (e *Encoder) AppendChecksum() { e.U32(Lookup3(e.Buf, 0)) }

// EOFFieldOffset is where, from the superblock's start, its end-of-file
// address field is.
func (sb *Superblock) EOFFieldOffset() int {
	switch sb.Version {
	case 0:
		return 24 + 2*sb.Sizes.Offset
	case 1:
		return 28 + 2*sb.Sizes.Offset
	}
	return 12 + 2*sb.Sizes.Offset
}

// EncodeWithEOF returns the superblock's bytes with the end-of-file field
// for an end of allocated space at eoa (counted, like every address, from
// the base address in effect), the consistency flags of versions 2 and 3
// as sb has them, checksum recomputed where the version has one.
func (sb *Superblock) EncodeWithEOF(eoa uint64) []byte {
	eof := sb.storedEOF(eoa)
	raw := append([]byte(nil), sb.Raw...)
	off := sb.EOFFieldOffset()
	for i := 0; i < sb.Sizes.Offset; i++ {
		raw[off+i] = byte(eof >> (8 * uint(i)))
	}
	if sb.Version >= 2 {
		raw[consistencyFlagsOffset] = byte(sb.ConsistencyFlags)
		n := len(raw) - 4
		binary.LittleEndian.PutUint32(raw[n:], Lookup3(raw[:n], 0))
	}
	return raw
}

// ChunkKeyEncode encodes a chunk B-tree key.
func (k ChunkKey) Encode(e *Encoder) {
	e.U32(k.Size)
	e.U32(k.FilterMask)
	for _, o := range k.Offsets {
		e.U64(o)
	}
	e.U64(k.Extra)
}

// EncodeChunkBTree1Node encodes a chunk B-tree node into a block of the
// node's full capacity (2K entries), as libhdf5 allocates nodes.
func EncodeChunkBTree1Node(sizes Sizes, level uint8, left, right uint64, keys []ChunkKey, children []uint64, capacity int) []byte {
	rank := len(keys[0].Offsets)
	full := BTree1NodeSize(sizes, rank, capacity)
	e := &Encoder{Sizes: sizes, Buf: make([]byte, 0, full)}
	e.Bytes([]byte("TREE"))
	e.U8(BTree1Chunk)
	e.U8(level)
	e.U16(uint16(len(children)))
	e.Offset(left)
	e.Offset(right)
	for i, c := range children {
		keys[i].Encode(e)
		e.Offset(c)
	}
	keys[len(children)].Encode(e)
	if len(e.Buf) < full {
		e.Zeros(full - len(e.Buf))
	}
	return e.Buf
}

// BTree1NodeSize is the bytes a chunk B-tree node of the given capacity takes.
func BTree1NodeSize(sizes Sizes, rank, capacity int) int {
	return 8 + 2*sizes.Offset + capacity*(ChunkKeySize(rank)+sizes.Offset) + ChunkKeySize(rank)
}
