package filter

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
)

// A c-blosc2 contiguous frame (README_CFRAME_FORMAT): a msgpack header of
// fixed layout (lengths big-endian) with the metalayers after it, the
// chunks, then the index of chunk offsets (itself a Blosc2 chunk of 64-bit
// offsets from the header's end, the top byte of a negative one saying
// the chunk is all zeros, NaN or uninitialized), then a trailer, skipped.
// The plugin reads the frame's first chunk only, as the filter wrote one.
const (
	frMinHeader   = 87 // FRAME_HEADER_MINLEN
	frMaxVersion  = 3  // BLOSC2_VERSION_FRAME_FORMAT_VL_BLOCKS
	frOffsets64   = 1
	frVarChunks   = 0x40
	frVLBlocks    = 0x80
	b2ndMaxDims   = 8 // B2ND_MAX_DIM
	frIndexMaxBlk = 1 << 16
)

type b2Frame struct {
	in        []byte // the frame, frame_len bytes
	headerLen int
	nbytes    int64
	cbytes    int64
	typesize  int
	blocksize int
	chunksize int
	nd        *b2nd // the b2nd (or caterva) metalayer, when there is one
}

// b2ReadFrame checks a frame's header and reads its metalayers.
func b2ReadFrame(in []byte) (*b2Frame, error) {
	if len(in) < frMinHeader {
		return nil, b2Corrupt("frame: %d bytes, less than a header", len(in))
	}
	if in[0]&0xf0 != 0x90 || in[1] != 0xa8 || !bytes.Equal(in[2:10], []byte("b2frame\x00")) ||
		in[10] != 0xd2 || in[15] != 0xcf || in[24] != 0xa4 || in[29] != 0xd3 || in[38] != 0xd3 ||
		in[47] != 0xd2 || in[52] != 0xd2 || in[57] != 0xd2 {
		return nil, b2Corrupt("frame: no frame header")
	}
	fr := &b2Frame{}
	headerLen := int64(int32(binary.BigEndian.Uint32(in[11:])))
	frameLen := binary.BigEndian.Uint64(in[16:])
	flags, ftype := in[25], in[26]
	fr.nbytes = int64(binary.BigEndian.Uint64(in[30:]))
	fr.cbytes = int64(binary.BigEndian.Uint64(in[39:]))
	fr.typesize = int(int32(binary.BigEndian.Uint32(in[48:])))
	fr.blocksize = int(int32(binary.BigEndian.Uint32(in[53:])))
	fr.chunksize = int(int32(binary.BigEndian.Uint32(in[58:])))
	switch {
	case flags&0x0f > frMaxVersion:
		return nil, b2Unsupported("frame: format version %d", flags&0x0f)
	case (flags>>4)&3 != frOffsets64:
		return nil, b2Unsupported("frame: offsets of code %d (only 64-bit ones are defined)", (flags>>4)&3)
	case flags&frVLBlocks != 0:
		return nil, b2Unsupported("frame: variable-length blocks")
	case ftype&0x0f != 0:
		return nil, b2Unsupported("frame: type %d, not contiguous", ftype)
	case headerLen < frMinHeader || uint64(headerLen) > frameLen:
		return nil, b2Corrupt("frame: header of %d bytes in a frame of %d", headerLen, frameLen)
	case frameLen > uint64(len(in)):
		return nil, b2Corrupt("frame: %d bytes claimed, %d stored", frameLen, len(in))
	case fr.nbytes < 0 || fr.cbytes < 0 || fr.cbytes > int64(frameLen)-headerLen:
		return nil, b2Corrupt("frame: sizes %d decoded, %d stored", fr.nbytes, fr.cbytes)
	case fr.typesize <= 0 || fr.chunksize < 0:
		return nil, b2Corrupt("frame: element size %d, chunk size %d", fr.typesize, fr.chunksize)
	}
	fr.in, fr.headerLen = in[:frameLen], int(headerLen)
	if err := fr.readMetalayers(); err != nil {
		return nil, err
	}
	return fr, nil
}

// readMetalayers finds the b2nd metalayer: the header's end is a msgpack
// array of three: the metalayers' size, a map of their names to the
// offsets of their contents (msgpack bin32 each), and a list, ignored.
func (fr *b2Frame) readMetalayers() error {
	hdr := fr.in[:fr.headerLen]
	p := frMinHeader
	if len(hdr) < p+7 || hdr[p] != 0x93 || hdr[p+1] != 0xcd || hdr[p+4] != 0xde {
		return b2Corrupt("frame: no metalayers")
	}
	n := int(binary.BigEndian.Uint16(hdr[p+5:]))
	p += 7
	for range n {
		if p >= len(hdr) || hdr[p]&0xe0 != 0xa0 {
			return b2Corrupt("frame: metalayer names cut short")
		}
		l := int(hdr[p] & 0x1f)
		if p+1+l+5 > len(hdr) || hdr[p+1+l] != 0xd2 {
			return b2Corrupt("frame: metalayer names run past the header")
		}
		name := string(hdr[p+1 : p+1+l])
		off := int64(int32(binary.BigEndian.Uint32(hdr[p+2+l:])))
		p += 1 + l + 5
		if name != "b2nd" && name != "caterva" {
			continue
		}
		if off < 0 || off > int64(len(hdr))-5 || hdr[off] != 0xc6 {
			return b2Corrupt("frame: %s metalayer at %d, outside the header", name, off)
		}
		size := int64(binary.BigEndian.Uint32(hdr[off+1:]))
		if size > int64(len(hdr))-off-5 {
			return b2Corrupt("frame: %s metalayer of %d bytes runs past the header", name, size)
		}
		nd, err := b2ReadND(hdr[off+5 : off+5+size])
		if err != nil {
			return err
		}
		if fr.nd == nil {
			fr.nd = nd
		}
	}
	return nil
}

// firstChunk returns the frame's first chunk, its header read: stored in
// the frame, or made up (a special value) from its index entry.
func (fr *b2Frame) firstChunk() ([]byte, b2Header, error) {
	var none b2Header
	if fr.nbytes == 0 {
		return nil, none, b2Corrupt("frame: no chunks")
	}
	chunk0 := int64(fr.chunksize)
	if fr.chunksize == 0 || fr.nbytes < chunk0 {
		chunk0 = fr.nbytes // a single chunk, or the last and shorter one
	}
	// The index follows the chunks.
	idx := fr.in[int64(fr.headerLen)+fr.cbytes:]
	ih, err := b2ReadHeader(idx)
	if err != nil {
		return nil, none, wrapIndex(err)
	}
	if ih.nbytes < 8 || ih.nbytes%8 != 0 {
		return nil, none, b2Corrupt("frame: an index of %d bytes", ih.nbytes)
	}
	if fr.chunksize > 0 && int64(ih.nbytes/8) != (fr.nbytes-1)/int64(fr.chunksize)+1 {
		return nil, none, b2Corrupt("frame: %d offsets for %d bytes in chunks of %d", ih.nbytes/8, fr.nbytes, fr.chunksize)
	}
	if ih.blocksize > frIndexMaxBlk {
		return nil, none, b2Unsupported("frame: an index of %d-byte blocks", ih.blocksize)
	}
	// Only the first entry is read: its block alone is decoded.
	first := ih
	first.nbytes, first.nblocks = min(ih.nbytes, ih.blocksize), 1
	var entry []byte
	if err := b2DecodeChunk(idx, &first, b2BlockSink{target: func(_, n int) []byte {
		entry = make([]byte, n)
		return entry
	}}); err != nil {
		return nil, none, wrapIndex(err)
	}
	offset := int64(binary.LittleEndian.Uint64(entry))
	if offset < 0 {
		special := int(uint64(offset)>>56) & 7
		if special != b2SpecialZero && special != b2SpecialNaN && special != b2SpecialUninit {
			return nil, none, b2Corrupt("frame: chunk offset %#x", uint64(offset))
		}
		// Not allocated: a b2nd chunk's padding may take it past maxOut.
		if chunk0 > math.MaxInt32 {
			return nil, none, b2Corrupt("frame: a chunk of %d bytes", chunk0)
		}
		h := b2Header{
			version: 5, typesize: fr.typesize, nbytes: int(chunk0),
			overhead: b2ExtHeader, special: special, blocksize: int(chunk0),
		}
		if fr.blocksize > 0 {
			h.blocksize = min(fr.blocksize, h.nbytes)
		}
		if h.nbytes > 0 {
			h.nblocks = (h.nbytes-1)/h.blocksize + 1
		}
		return nil, h, nil
	}
	if offset > fr.cbytes-b2ExtHeader {
		return nil, none, b2Corrupt("frame: chunk at %d, outside the %d bytes of chunks", offset, fr.cbytes)
	}
	ch := fr.in[int64(fr.headerLen)+offset : int64(fr.headerLen)+fr.cbytes]
	h, err := b2ReadHeader(ch)
	if err != nil {
		return nil, none, err
	}
	if int64(h.nbytes) != chunk0 {
		return nil, none, b2Corrupt("frame: first chunk of %d bytes, %d expected", h.nbytes, chunk0)
	}
	return ch, h, nil
}

func wrapIndex(err error) error { return fmt.Errorf("blosc2: frame: offsets index: %w", err) }

// b2nd is the b2nd metalayer: the array's shape, its chunks' and their
// blocks' (README_B2ND_METALAYER).
type b2nd struct {
	shape, chunk, block []int64
}

// b2ReadND reads the metalayer: a msgpack array of the format version,
// the number of dimensions, the shape (int64s), chunk and block shapes
// (int32s), and the element type (ignored).
func b2ReadND(m []byte) (*b2nd, error) {
	if len(m) < 3 || m[0]&0xf0 != 0x90 || m[1] > 0x7f || m[2] > 0x7f {
		return nil, b2Corrupt("b2nd metalayer: no header")
	}
	nd := int(m[2])
	if nd == 0 || nd > b2ndMaxDims {
		return nil, b2Corrupt("b2nd metalayer: %d dimensions", nd)
	}
	p := 3
	read := func(tag byte, width int) ([]int64, error) {
		if p >= len(m) || m[p] != 0x90|byte(nd) {
			return nil, b2Corrupt("b2nd metalayer: no list of %d", nd)
		}
		p++
		v := make([]int64, nd)
		for i := range v {
			if p+1+width > len(m) || m[p] != tag {
				return nil, b2Corrupt("b2nd metalayer: cut short")
			}
			if width == 8 {
				v[i] = int64(binary.BigEndian.Uint64(m[p+1:]))
			} else {
				v[i] = int64(int32(binary.BigEndian.Uint32(m[p+1:])))
			}
			p += 1 + width
		}
		return v, nil
	}
	b := &b2nd{}
	var err error
	if b.shape, err = read(0xd3, 8); err != nil {
		return nil, err
	}
	if b.chunk, err = read(0xd2, 4); err != nil {
		return nil, err
	}
	if b.block, err = read(0xd2, 4); err != nil {
		return nil, err
	}
	for i := range nd {
		if b.shape[i] < 0 || b.chunk[i] <= 0 || b.block[i] <= 0 || b.block[i] > b.chunk[i] {
			return nil, b2Corrupt("b2nd metalayer: shape %v, chunks %v, blocks %v", b.shape, b.chunk, b.block)
		}
	}
	return b, nil
}

// mulBound multiplies sizes, false past limit.
func mulBound(limit int64, v ...int64) (int64, bool) {
	p := int64(1)
	for _, x := range v {
		hi, lo := bits.Mul64(uint64(p), uint64(x))
		if hi != 0 || lo > uint64(limit) {
			return 0, false
		}
		p = int64(lo)
	}
	return p, true
}

// decode decodes the array's one chunk (in, header h; nil in for a
// special chunk) and hands back its elements in C order within the
// array's shape, each block scattered as it is decoded.
func (b *b2nd) decode(in []byte, h *b2Header, typesize, maxOut int, dst []byte) ([]byte, error) {
	nd := len(b.shape)
	ext := make([]int64, nd)
	grid := make([]int64, nd)
	for i := range nd {
		switch {
		case b.shape[i] == 0:
			return nil, b2Corrupt("b2nd array of shape %v: no data", b.shape)
		case b.shape[i] > b.chunk[i]:
			return nil, b2Unsupported("b2nd array of shape %v in chunks of %v: more than one chunk", b.shape, b.chunk)
		case b.shape[i] < b.chunk[i]:
			// The plugin refuses it too; the padding would otherwise be
			// bounded by the chunk's shape alone, not by maxOut.
			return nil, b2Unsupported("b2nd array of shape %v in a larger chunk %v", b.shape, b.chunk)
		}
		grid[i] = (b.chunk[i] + b.block[i] - 1) / b.block[i]
		ext[i] = grid[i] * b.block[i]
	}
	out64, ok := mulBound(int64(maxOut), append([]int64{int64(typesize)}, b.shape...)...)
	if !ok {
		return nil, b2Corrupt("b2nd array of shape %v: more than %d bytes", b.shape, maxOut)
	}
	if out64 == 0 {
		return nil, b2Corrupt("b2nd array of shape %v: no data", b.shape)
	}
	blockBytes, ok1 := mulBound(math.MaxInt32, append([]int64{int64(typesize)}, b.block...)...)
	extBytes, ok2 := mulBound(math.MaxInt32, append([]int64{int64(typesize)}, ext...)...)
	if !ok1 || !ok2 || int64(h.nbytes) != extBytes || int64(h.blocksize) != blockBytes || h.typesize != typesize && h.special != b2SpecialValue {
		return nil, b2Corrupt("b2nd chunk of %d bytes in %d-byte blocks of %d-byte elements, blocks %v of chunks %v want %d in %d of %d",
			h.nbytes, h.blocksize, h.typesize, b.block, b.chunk, extBytes, blockBytes, typesize)
	}
	out := sized(dst, int(out64))
	ts := int64(typesize)
	rowLen := b.block[nd-1]
	var scratch []byte
	idx := make([]int64, nd)   // block's position in the grid
	local := make([]int64, nd) // element's within the block, last dimension 0
	sink := b2BlockSink{
		target: func(_, n int) []byte {
			if scratch == nil {
				scratch = b2Scratch.Get(int(blockBytes))
			}
			return scratch[:n]
		},
		done: func(j int, blk []byte) {
			r := int64(j)
			for i := nd - 1; i >= 0; i-- {
				idx[i] = r % grid[i]
				r /= grid[i]
			}
			clear(local)
			for row := int64(0); ; row++ {
				// The row of the block at local, if inside the shape.
				inside := true
				var o int64
				for i := range nd {
					g := idx[i]*b.block[i] + local[i]
					inside = inside && g < b.shape[i]
					o = o*b.shape[i] + g
				}
				if inside {
					cols := min(rowLen, b.shape[nd-1]-idx[nd-1]*b.block[nd-1])
					copy(out[o*ts:(o+cols)*ts], blk[row*rowLen*ts:])
				}
				i := nd - 2
				for ; i >= 0; i-- {
					if local[i]++; local[i] < b.block[i] {
						break
					}
					local[i] = 0
				}
				if i < 0 {
					return
				}
			}
		},
	}
	err := b2DecodeChunk(in, h, sink)
	if scratch != nil {
		b2Scratch.Put(scratch)
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}
