package filter

import (
	"encoding/binary"
	"fmt"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// Blosc2 (filter 32026): PyTables' hdf5-blosc2 plugin (HDF Group's
// hdf5_plugins carry the same code) on c-blosc2. cd_values: the filter's
// revision, the block size asked for (0: c-blosc2 chooses), the element
// size and the chunk's size in bytes (set_local fills both), the level,
// the filter (0 none, 1 byte shuffle, 2 bit shuffle, 3 delta, 4 truncated
// precision, or a plugin's id) and the compressor (0 blosclz, 1 lz4, 2
// lz4hc, 4 zlib, 5 zstd); for chunks of 2 to 8 dimensions, their number
// and the chunk's shape. Only a writer needs them: each chunk describes
// itself.
//
// Every chunk is a c-blosc2 super-chunk serialized as a contiguous frame
// (blosc2_frame.go) holding one Blosc2 chunk. A chunk of more than one
// dimension carries a "b2nd" metalayer: its Blosc2 chunk then holds the
// chunk's elements in blocks of a shape, each block's elements in C
// order, the chunk padded to a whole number of blocks along each
// dimension; the plugin hands back the chunk in C order without the
// padding. Without the metalayer the Blosc2 chunk's bytes are the chunk.
//
// A Blosc2 chunk (README_CHUNK_FORMAT, little-endian) is Blosc's 16-byte
// header (version, codec format version, flags, element size, size
// decoded, block size, size stored), extended, when the flags have both
// shuffle bits set, by 16 bytes: six filter ids, a user codec id, codec
// meta, six filter metas, flags2 and Blosc2 flags (dictionary, lazy,
// special value of the whole chunk, instrumented). Unless the chunk is a
// special value or stored as it is (memcpyed: the blocks follow the
// header), the header is followed by the offset of each block; a block is
// one stream, or one per byte of an element when the flags allow splits
// and the block is not the last, shorter one. Each stream is its 4-byte
// size and the compressed bytes, the bytes as they are when the size is
// the stream's, nothing when it is 0 (zeros), or a token byte when it is
// negative (a run of the byte -size). The filters are then undone from
// the last slot to the first.
//
// There is no bound on expansion (maxExpansion): a 32-byte chunk of one
// special value stands for any size, so the pipeline bounds the output by
// the chunk's size, and nothing here allocates more than that: a b2nd
// chunk's padded blocks are decoded one at a time into a block's scratch.
//
// Decode only. Written chunks go unfiltered with the filter's mask bit
// set where the filter is optional (as h5py and the plugin's
// H5Pset_filter add it), and writes are refused where it is mandatory,
// as ZFP's are.
type blosc2Codec struct{}

func init() { Register(Blosc2, blosc2Codec{}) }

const (
	b2MinHeader    = 16
	b2ExtHeader    = 32
	b2MaxFilters   = 6
	b2MaxVersion   = 6 // BLOSC2_VERSION_FORMAT_VL_BLOCKS
	b2DoShuffle    = 0x01
	b2Memcpyed     = 0x02
	b2DoBitShuffle = 0x04
	b2DoDelta      = 0x08
	b2DontSplit    = 0x10
	b2UseDict      = 0x01 // Blosc2 flags
	b2Lazy         = 0x08
	b2Instr        = 0x80
	b2VLBlocks     = 0x01 // flags2

	b2SpecialZero   = 1
	b2SpecialNaN    = 2
	b2SpecialValue  = 3
	b2SpecialUninit = 4

	b2NoFilter   = 0
	b2Shuffle    = 1
	b2BitShuffle = 2
	b2Delta      = 3
	b2TruncPrec  = 4

	b2CodecBloscLZ = 0
	b2CodecLZ4     = 1 // lz4 and lz4hc
	b2CodecZlib    = 3
	b2CodecZstd    = 4
	b2CodecUser    = 6
)

// b2Scratch pools the block-sized buffers streams are decoded into before
// the filters are undone.
var b2Scratch BufferPool

func b2Corrupt(msg string, args ...any) error {
	return fmt.Errorf("blosc2: "+msg+": %w", append(args, format.ErrCorrupt)...)
}

func b2Unsupported(msg string, args ...any) error {
	return fmt.Errorf("blosc2: "+msg+": %w", append(args, format.ErrUnsupported)...)
}

// b2Header is a Blosc2 chunk's header, checked against the chunk's bytes.
type b2Header struct {
	version, flags byte
	typesize       int
	nbytes         int
	blocksize      int
	cbytes         int
	overhead       int // 16 or 32
	filters, meta  [b2MaxFilters]byte
	b2flags        byte
	special        int
	codec          int
	nblocks        int
}

func (h *b2Header) memcpyed() bool { return h.flags&b2Memcpyed != 0 || h.special != 0 }

// b2ReadHeader reads the header of the chunk at the start of in, which
// must hold the whole chunk (cbytes bytes), and checks what the chunk's
// layout depends on.
func b2ReadHeader(in []byte) (b2Header, error) {
	var h b2Header
	if len(in) < b2MinHeader {
		return h, b2Corrupt("chunk header: %d bytes", len(in))
	}
	h.version, h.flags, h.typesize = in[0], in[2], int(in[3])
	nbytes := int32(binary.LittleEndian.Uint32(in[4:]))
	blocksize := int32(binary.LittleEndian.Uint32(in[8:]))
	cbytes := int32(binary.LittleEndian.Uint32(in[12:]))
	switch {
	case h.version == 0 || h.version > b2MaxVersion:
		return h, b2Unsupported("chunk header: format version %d", h.version)
	case nbytes < 0:
		return h, b2Corrupt("chunk header: size %d", nbytes)
	case cbytes < b2MinHeader || int(cbytes) > len(in):
		return h, b2Corrupt("chunk header: stored size %d, %d bytes at hand", cbytes, len(in))
	case blocksize <= 0:
		return h, b2Corrupt("chunk header: block size %d", blocksize)
	case h.typesize == 0:
		return h, b2Corrupt("chunk header: element size 0")
	}
	h.nbytes, h.blocksize, h.cbytes = int(nbytes), int(blocksize), int(cbytes)
	h.overhead = b2MinHeader
	if h.flags&(b2DoShuffle|b2DoBitShuffle) == b2DoShuffle|b2DoBitShuffle {
		if h.cbytes < b2ExtHeader {
			return h, b2Corrupt("chunk header: stored size %d has no room for the extended header", h.cbytes)
		}
		h.overhead = b2ExtHeader
		copy(h.filters[:], in[16:22])
		copy(h.meta[:], in[24:30])
		flags2 := in[30]
		h.b2flags = in[31]
		if h.version == 3 { // the alpha format left the last slot uninitialized
			h.filters[5], h.meta[5] = 0, 0
		}
		h.special = int(h.b2flags>>4) & 7
		switch {
		case flags2&b2VLBlocks != 0:
			return h, b2Unsupported("chunk header: variable-length blocks")
		case flags2 != 0:
			return h, b2Unsupported("chunk header: flags2 %#x", flags2)
		case h.special > b2SpecialUninit:
			return h, b2Corrupt("chunk header: special value %d", h.special)
		case h.b2flags&b2Instr != 0:
			return h, b2Unsupported("chunk header: instrumented codec")
		case h.special == 0 && h.b2flags&b2Lazy != 0:
			return h, b2Corrupt("chunk header: a lazy chunk (no data) stored")
		case h.special == 0 && h.b2flags&b2UseDict != 0:
			return h, b2Unsupported("chunk header: compressed with a dictionary")
		}
		if h.special == b2SpecialValue {
			h.typesize = h.cbytes - b2ExtHeader
			if h.typesize > h.nbytes || h.nbytes%h.typesize != 0 {
				return h, b2Corrupt("chunk header: a run of %d-byte values in %d bytes", h.typesize, h.nbytes)
			}
		}
	} else {
		if h.flags&b2DoShuffle != 0 {
			h.filters[5] = b2Shuffle
		}
		if h.flags&b2DoBitShuffle != 0 {
			h.filters[5] = b2BitShuffle
		}
		if h.flags&b2DoDelta != 0 {
			h.filters[4] = b2Delta
		}
	}
	h.blocksize = min(h.blocksize, h.nbytes)
	if h.nbytes > 0 {
		h.nblocks = (h.nbytes-1)/h.blocksize + 1
	}
	h.codec = int(h.flags >> 5)
	if h.flags&b2Memcpyed != 0 && h.special == 0 && h.cbytes != h.nbytes+h.overhead {
		return h, b2Corrupt("chunk header: %d bytes stored as they are in %d", h.nbytes, h.cbytes)
	}
	if !h.memcpyed() && h.nblocks > (h.cbytes-h.overhead)/4 {
		return h, b2Corrupt("chunk header: %d blocks do not fit %d bytes", h.nblocks, h.cbytes)
	}
	return h, nil
}

// b2BlockSink says where block j (of n bytes) of a chunk goes: target
// returns its memory, and done, if not nil, takes it once decoded.
type b2BlockSink struct {
	target func(j, n int) []byte
	done   func(j int, b []byte)
}

// b2DecodeChunk decodes the chunk in (its header h) block by block into
// sink's memory: the chunk's decoded size is never allocated here.
func b2DecodeChunk(in []byte, h *b2Header, sink b2BlockSink) error {
	in = in[:h.cbytes]
	var delta bool
	for _, id := range h.filters {
		delta = delta || id == b2Delta
	}
	var tmp, tmp2, ref []byte
	if !h.memcpyed() {
		tmp = b2Scratch.Get(h.blocksize)
		defer b2Scratch.Put(tmp)
		tmp2 = b2Scratch.Get(h.blocksize)
		defer b2Scratch.Put(tmp2)
		if delta && sink.done != nil {
			// The sink may reuse block 0's memory: delta needs it.
			ref = b2Scratch.Get(h.blocksize)
			defer b2Scratch.Put(ref)
		}
	}
	for j := 0; j < h.nblocks; j++ {
		start := j * h.blocksize
		n := min(h.blocksize, h.nbytes-start)
		dst := sink.target(j, n)
		if h.memcpyed() {
			if err := b2FillSpecial(in, h, start, dst); err != nil {
				return err
			}
		} else {
			at := int(int32(binary.LittleEndian.Uint32(in[h.overhead+4*j:])))
			dref := ref
			if ref == nil && j > 0 {
				dref = sink.target(0, min(h.blocksize, h.nbytes))
			}
			if err := b2DecodeBlock(in, h, at, n < h.blocksize, dst, tmp, tmp2, dref, j == 0); err != nil {
				return fmt.Errorf("blosc2: block %d: %w", j, err)
			}
			if j == 0 && ref != nil {
				copy(ref, dst)
				ref = ref[:len(dst)]
			}
		}
		if sink.done != nil {
			sink.done(j, dst)
		}
	}
	return nil
}

// b2FillSpecial writes the block at start of a chunk that is one value
// throughout or stored as it is.
func b2FillSpecial(in []byte, h *b2Header, start int, dst []byte) error {
	switch h.special {
	case b2SpecialZero, b2SpecialUninit:
		// c-blosc2 leaves uninitialized chunks' memory as it found it,
		// which the plugin allocated: zeros, as a fresh read, not garbage.
		clear(dst)
	case b2SpecialNaN:
		switch {
		case h.typesize == 4 && len(dst)%4 == 0:
			for i := 0; i < len(dst); i += 4 {
				binary.LittleEndian.PutUint32(dst[i:], 0x7fc00000)
			}
		case h.typesize == 8 && len(dst)%8 == 0:
			for i := 0; i < len(dst); i += 8 {
				binary.LittleEndian.PutUint64(dst[i:], 0x7ff8000000000000)
			}
		default:
			return b2Corrupt("a run of NaN of %d-byte elements in %d bytes", h.typesize, len(dst))
		}
	case b2SpecialValue:
		v := in[b2ExtHeader : b2ExtHeader+h.typesize]
		if len(dst)%len(v) != 0 {
			return b2Corrupt("a run of %d-byte values in a %d-byte block", len(v), len(dst))
		}
		for i := 0; i < len(dst); i += len(v) {
			copy(dst[i:], v)
		}
	default:
		copy(dst, in[h.overhead+start:])
	}
	return nil
}

// b2DecodeBlock decodes the block whose streams start at offset at into
// dst. tmp and tmp2 hold a block; dref is block 0 as decoded, for delta.
func b2DecodeBlock(in []byte, h *b2Header, at int, leftover bool, dst, tmp, tmp2, dref []byte, first bool) error {
	bsize := len(dst)
	if at <= 0 || at >= len(in) {
		return fmt.Errorf("streams at %d, outside the chunk: %w", at, format.ErrCorrupt)
	}
	active := false
	for _, id := range h.filters {
		active = active || (id != b2NoFilter && id != b2Delta && id != b2TruncPrec)
	}
	target := dst
	if active {
		target = tmp[:bsize]
	}
	nstreams := 1
	if h.flags&b2DontSplit == 0 && !leftover {
		nstreams = h.typesize
	}
	neblock := bsize / nstreams
	if neblock == 0 || neblock*nstreams != bsize {
		return fmt.Errorf("a %d-byte block in %d streams: %w", bsize, nstreams, format.ErrCorrupt)
	}
	for k := 0; k < nstreams; k++ {
		if at > len(in)-4 {
			return fmt.Errorf("stream %d at %d, past the chunk: %w", k, at, format.ErrCorrupt)
		}
		cs := int(int32(binary.LittleEndian.Uint32(in[at:])))
		at += 4
		part := target[k*neblock : (k+1)*neblock]
		switch {
		case cs == 0:
			clear(part)
		case cs < 0:
			if at >= len(in) {
				return fmt.Errorf("stream %d: no token: %w", k, format.ErrCorrupt)
			}
			token := in[at]
			at++
			if token&1 == 0 {
				return fmt.Errorf("stream %d: token %#x: %w", k, token, format.ErrUnsupported)
			}
			if cs < -255 {
				return fmt.Errorf("stream %d: a run of byte %d: %w", k, -cs, format.ErrCorrupt)
			}
			for i := range part {
				part[i] = byte(-cs)
			}
		case cs > len(in)-at:
			return fmt.Errorf("stream %d of %d bytes runs past the chunk: %w", k, cs, format.ErrCorrupt)
		case cs == neblock:
			copy(part, in[at:at+cs])
			at += cs
		default:
			if err := b2DecodeStream(h, in[at:at+cs], part); err != nil {
				return fmt.Errorf("stream %d: %w", k, err)
			}
			at += cs
		}
	}
	// The filters, last slot first. Each writes the other buffer; delta
	// works in place.
	cur, other := target, tmp2[:bsize]
	for i := b2MaxFilters - 1; i >= 0; i-- {
		switch id := h.filters[i]; id {
		case b2NoFilter, b2TruncPrec: // truncation is not undone
		case b2Shuffle:
			size := h.typesize
			if h.meta[i] != 0 {
				size = int(h.meta[i])
			}
			if size > 1 {
				unshuffle(other, cur, size)
				cur, other = other, cur
			}
		case b2BitShuffle:
			count := bsize / h.typesize
			if h.version == 2 && count%8 != 0 {
				break // format 2 left such blocks as they were
			}
			count -= count % 8
			if count > 0 {
				bitUnshuffle(other[:count*h.typesize], cur[:count*h.typesize], h.typesize)
				copy(other[count*h.typesize:], cur[count*h.typesize:])
				cur, other = other, cur
			}
		case b2Delta:
			if first {
				b2DeltaFirst(cur, h.typesize)
			} else {
				if len(dref) < bsize {
					return fmt.Errorf("delta: block 0 of %d bytes for a block of %d: %w", len(dref), bsize, format.ErrCorrupt)
				}
				b2DeltaXor(cur, dref, h.typesize)
			}
		default:
			return fmt.Errorf("filter %d: %w", id, format.ErrUnsupported)
		}
	}
	if !sharesStart(cur, dst) {
		copy(dst, cur)
	}
	return nil
}

func sharesStart(a, b []byte) bool { return len(a) > 0 && len(b) > 0 && &a[0] == &b[0] }

// b2DeltaWidth is the word c-blosc2's delta works in for an element size.
func b2DeltaWidth(typesize int) int {
	switch {
	case typesize == 1 || typesize == 2 || typesize == 4 || typesize == 8:
		return typesize
	case typesize%8 == 0:
		return 8
	}
	return 1
}

// b2DeltaFirst undoes delta on block 0: each word was XORed with the one
// before it.
func b2DeltaFirst(b []byte, typesize int) {
	w := b2DeltaWidth(typesize)
	n := len(b) / w * w
	for i := w; i < n; i++ {
		b[i] ^= b[i-w]
	}
}

// b2DeltaXor undoes delta on a later block: XORed with block 0.
func b2DeltaXor(b, ref []byte, typesize int) {
	n := len(b) / b2DeltaWidth(typesize) * b2DeltaWidth(typesize)
	for i := 0; i < n; i++ {
		b[i] ^= ref[i]
	}
}

// b2DecodeStream decodes one compressed stream, which must fill dst.
func b2DecodeStream(h *b2Header, src, dst []byte) error {
	switch h.codec {
	case b2CodecBloscLZ:
		return bloscLZDecode(src, dst)
	case b2CodecLZ4:
		return lz4Block(src, dst)
	case b2CodecZlib:
		n, err := inflateZlib(dst, src)
		if err != nil {
			return err
		}
		if n != len(dst) {
			return fmt.Errorf("zlib: stream decodes to %d bytes, want %d: %w", n, len(dst), format.ErrCorrupt)
		}
		return nil
	case b2CodecZstd:
		return zstdDecodeExact(src, dst)
	}
	return fmt.Errorf("codec %d: %w", h.codec, format.ErrUnsupported)
}

func (c blosc2Codec) Decode(f *format.Filter, in []byte, maxOut int) ([]byte, error) {
	return c.decodeInto(f, in, maxOut, nil)
}

func (blosc2Codec) decodeInto(_ *format.Filter, in []byte, maxOut int, dst []byte) ([]byte, error) {
	fr, err := b2ReadFrame(in)
	if err != nil {
		return nil, err
	}
	ch, h, err := fr.firstChunk()
	if err != nil {
		return nil, err
	}
	if fr.nd == nil {
		if h.nbytes == 0 {
			return nil, b2Corrupt("chunk decodes to nothing") // the plugin fails on it
		}
		if h.nbytes > maxOut {
			return nil, b2Corrupt("chunk claims %d bytes, more than %d", h.nbytes, maxOut)
		}
		out := sized(dst, h.nbytes)
		err := b2DecodeChunk(ch, &h, b2BlockSink{target: func(j, n int) []byte {
			return out[j*h.blocksize : j*h.blocksize+n]
		}})
		if err != nil {
			return nil, err
		}
		return out, nil
	}
	return fr.nd.decode(ch, &h, fr.typesize, maxOut, dst)
}
