package chunk

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"sync"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// This file holds what the fixed array and extensible array indexes share:
// the chunk records stored in their blocks, the mapping from chunk
// coordinates to array indexes, and a bounded cache of decoded blocks.

// Client IDs of the array headers and blocks (H5FA_CLS_CHUNK_ID and
// H5FA_CLS_FILT_CHUNK_ID; the extensible array uses the same numbers).
const (
	clientChunk         = 0 // elements are chunk addresses
	clientFilteredChunk = 1 // elements are address, size, filter mask
)

// elemCodec decodes one array element, a chunk record. For unfiltered
// datasets an element is the chunk's address; for filtered ones it is
// the address, the stored size in sizeLen bytes and a 4-byte filter mask.
type elemCodec struct {
	addrLen   int
	sizeLen   int // 0 for unfiltered elements
	elemSize  int
	chunkSize uint64 // unfiltered chunk bytes, the size of unfiltered chunks
}

// chunkSizeLen is the width of the chunk-size field of a filtered element
// for layout message version 4: one byte more than needed for the
// unfiltered chunk size, at most 8. libhdf5 (H5Dfarray.c, H5Dearray.c:
// H5D__*_crt_context and H5D__*_idx_create) computes it as
// 1 + ((H5VM_log2_gen(chunk_size) + 8) / 8), capped at 8, where chunk_size
// is the layout's chunk size in bytes (the product of the chunk dimensions
// and the element size).
func chunkSizeLen(chunkBytes uint64) int {
	log2 := 0 // H5VM_log2_gen: floor(log2(n)), 0 for n <= 1
	if chunkBytes > 0 {
		log2 = bits.Len64(chunkBytes) - 1
	}
	n := 1 + (log2+8)/8
	if n > 8 {
		n = 8
	}
	return n
}

// filteredSizeLen is the width of the chunk-size field of a filtered chunk
// in the dataset's index. Layout message version 5 (libhdf5 2.0, libver
// v200 or latest) gives it the file's size of lengths, so that a filter may
// grow a chunk past what the unfiltered size's width could hold; version 4
// derives it from the chunk size (chunkSizeLen).
func filteredSizeLen(p *Params) int {
	if p.Layout.Version >= 5 {
		return p.R.Sizes.Length
	}
	return chunkSizeLen(layoutChunkBytes(p))
}

// layoutChunkBytes is the chunk size as the layout message gives it.
func layoutChunkBytes(p *Params) uint64 {
	n := uint64(p.Layout.ElementSize)
	if n == 0 {
		n = uint64(p.ElementSize)
	}
	for _, c := range p.Layout.ChunkDims {
		hi, lo := bits.Mul64(n, c)
		if hi != 0 {
			return ^uint64(0)
		}
		n = lo
	}
	return n
}

// newElemCodec checks an array header's client ID and element size against
// the dataset and returns the element decoder.
func newElemCodec(p *Params, addr uint64, what string, client, elemSize uint8) (elemCodec, error) {
	c := elemCodec{addrLen: p.R.Sizes.Offset, chunkSize: p.ChunkBytes()}
	switch client {
	case clientChunk:
		if p.Filtered {
			return c, format.Corruptf(addr, what, "unfiltered chunk index for a dataset with filters")
		}
	case clientFilteredChunk:
		if !p.Filtered {
			return c, format.Corruptf(addr, what, "filtered chunk index for a dataset without filters")
		}
		c.sizeLen = filteredSizeLen(p)
	default:
		return c, format.Unsupportedf(addr, what, "client ID %d", client)
	}
	c.elemSize = c.addrLen
	if c.sizeLen > 0 {
		c.elemSize += c.sizeLen + 4
	}
	if c.addrLen < 1 || c.addrLen > 8 {
		return c, format.Corruptf(addr, what, "size of offsets %d", c.addrLen)
	}
	if int(elemSize) != c.elemSize {
		return c, format.Corruptf(addr, what, "element size %d, want %d", elemSize, c.elemSize)
	}
	return c, nil
}

// decode decodes the element at the start of b (len(b) >= elemSize). ok is
// false when the chunk was never written (undefined address).
func (c *elemCodec) decode(b []byte) (addr, size uint64, mask uint32, ok bool) {
	addr = format.DecodeUint(b[:c.addrLen])
	if c.addrLen < 8 && addr == uint64(1)<<(8*uint(c.addrLen))-1 {
		addr = format.Undefined
	}
	if addr == format.Undefined {
		return 0, 0, 0, false
	}
	if c.sizeLen == 0 {
		return addr, c.chunkSize, 0, true
	}
	size = format.DecodeUint(b[c.addrLen : c.addrLen+c.sizeLen])
	mask = binary.LittleEndian.Uint32(b[c.addrLen+c.sizeLen:])
	return addr, size, mask, true
}

// chunk decodes element i of a block of elements into a Chunk.
func (c *elemCodec) chunk(elems []byte, i uint64, scaled func() []uint64) (Chunk, bool) {
	off := i * uint64(c.elemSize)
	if i >= uint64(len(elems)) || off+uint64(c.elemSize) > uint64(len(elems)) {
		return Chunk{}, false
	}
	addr, size, mask, ok := c.decode(elems[off:])
	if !ok {
		return Chunk{}, false
	}
	return Chunk{Scaled: scaled(), Addr: addr, Size: size, FilterMask: mask}, true
}

// linearizer maps chunk coordinates to array indexes and back. libhdf5
// (H5Dchunk.c, H5Dfarray.c, H5Dearray.c) linearizes row-major over the grid
// of the dataset's maximum dimensions (layout->max_down_chunks); the
// extensible array first moves its unlimited dimension to the front
// (H5VM_swizzle_coords, swizzled_max_down_chunks) so that appending extends
// the array at its end.
type linearizer struct {
	perm []int    // perm[k] is the dataset dimension at swizzled position k
	max  []uint64 // chunks along each dataset dimension; Unlimited for the unlimited one
	down []uint64 // down[k]: stride of swizzled position k
	size uint64   // number of indexes when no dimension is unlimited
}

// newLinearizer builds the mapping; unlim is the unlimited dimension moved
// to the front, or -1 for none.
func newLinearizer(p *Params, unlim int, what string) (*linearizer, error) {
	l := p.Layout
	rank := len(l.ChunkDims)
	maxd := p.MaxDims
	if maxd == nil {
		maxd = p.Dims
	}
	if rank == 0 || len(maxd) != rank || len(p.Dims) != rank {
		return nil, format.Corruptf(l.Addr, what, "chunk rank %d for a dataspace of rank %d", rank, len(p.Dims))
	}
	z := &linearizer{perm: make([]int, 0, rank), max: make([]uint64, rank), down: make([]uint64, rank)}
	if unlim >= 0 {
		z.perm = append(z.perm, unlim)
	}
	for i := 0; i < rank; i++ {
		if l.ChunkDims[i] == 0 {
			return nil, format.Corruptf(l.Addr, what, "chunk dimension %d is zero", i)
		}
		if i != unlim {
			z.perm = append(z.perm, i)
		}
		if maxd[i] == format.Unlimited {
			if i != unlim {
				return nil, format.Corruptf(l.Addr, what, "unexpected unlimited dimension %d", i)
			}
			z.max[i] = format.Unlimited
			continue
		}
		if i == unlim {
			return nil, format.Corruptf(l.Addr, what, "dimension %d is not unlimited", i)
		}
		z.max[i] = maxd[i]/l.ChunkDims[i] + boolU64(maxd[i]%l.ChunkDims[i] != 0)
	}
	acc := uint64(1)
	for k := rank - 1; k >= 0; k-- {
		z.down[k] = acc
		d := z.perm[k]
		if z.max[d] == format.Unlimited {
			continue // only at k == 0: its extent never enters a stride
		}
		hi, lo := bits.Mul64(acc, z.max[d])
		if hi != 0 {
			return nil, format.Corruptf(l.Addr, what, "chunk grid %v too large", z.max)
		}
		acc = lo
	}
	z.size = acc
	return z, nil
}

func boolU64(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// index returns the array index of scaled, or ok=false when it lies
// outside the maximum chunk grid.
func (z *linearizer) index(scaled []uint64) (uint64, bool) {
	if len(scaled) != len(z.max) {
		return 0, false
	}
	var idx uint64
	for k, d := range z.perm {
		s := scaled[d]
		if z.max[d] != format.Unlimited && s >= z.max[d] {
			return 0, false
		}
		hi, lo := bits.Mul64(s, z.down[k])
		if hi != 0 {
			return 0, false
		}
		var carry uint64
		idx, carry = bits.Add64(idx, lo, 0)
		if carry != 0 {
			return 0, false
		}
	}
	return idx, true
}

// coords is the inverse of index.
func (z *linearizer) coords(idx uint64) []uint64 {
	s := make([]uint64, len(z.max))
	for k, d := range z.perm {
		if z.down[k] == 0 {
			continue
		}
		s[d] = idx / z.down[k]
		idx %= z.down[k]
	}
	return s
}

// checkScaled validates a Lookup argument.
func checkScaled(scaled []uint64, rank int) error {
	if len(scaled) != rank {
		return fmt.Errorf("h5: chunk lookup with %d coordinates in a rank %d dataset", len(scaled), rank)
	}
	return nil
}

// blockCache keeps decoded blocks by file address, bounded by entry count
// and bytes; when full it starts over (lookups revisit few blocks, and
// dropping everything is simpler than an LRU). Safe for concurrent use.
type blockCache[T any] struct {
	mu    sync.Mutex
	m     map[uint64]cachedBlock[T]
	bytes int
}

type cachedBlock[T any] struct {
	v    T
	size int
}

const (
	maxCachedBlocks     = 4096
	maxCachedBlockBytes = 16 << 20
)

func (c *blockCache[T]) get(addr uint64) (T, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.m[addr]
	return b.v, ok
}

func (c *blockCache[T]) put(addr uint64, v T, size int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedBlocks || c.bytes+size > maxCachedBlockBytes {
		c.m = map[uint64]cachedBlock[T]{}
		c.bytes = 0
	}
	if old, ok := c.m[addr]; ok {
		c.bytes -= old.size
	}
	c.m[addr] = cachedBlock[T]{v: v, size: size}
	c.bytes += size
}

// readBlock reads a checksummed block of n bytes at addr (n includes the
// trailing checksum) after checking n against the file size, and verifies
// the checksum.
func readBlock(r *format.Reader, addr, n uint64, what string) ([]byte, error) {
	if n < 4 || n > uint64(r.FileSize()) {
		return nil, format.Corruptf(addr, what, "size %d does not fit the file (%d bytes)", n, r.FileSize())
	}
	buf, err := r.Read(addr, int(n), what)
	if err != nil {
		return nil, err
	}
	if err := format.VerifyChecksum(buf, addr, what); err != nil {
		return nil, err
	}
	return buf, nil
}

// mulAdd returns a*b+c, or ok=false on overflow.
func mulAdd(a, b, c uint64) (uint64, bool) {
	hi, lo := bits.Mul64(a, b)
	if hi != 0 {
		return 0, false
	}
	s, carry := bits.Add64(lo, c, 0)
	return s, carry == 0
}

// bitSet reads bit i of a libhdf5 bitmap (H5VM_bit_get: bit 0 is the high
// bit of the first byte).
func bitSet(bm []byte, i uint64) bool {
	if i/8 >= uint64(len(bm)) {
		return false
	}
	return bm[i/8]&(0x80>>(i%8)) != 0
}

// newWriteCodec is the element codec and client ID of an array index
// created for the dataset (H5D__farray_idx_create, H5D__earray_idx_create):
// filtered elements when the dataset has a filter pipeline.
func newWriteCodec(p *Params, addr uint64, what string) (elemCodec, uint8, error) {
	client := uint8(clientChunk)
	es := p.R.Sizes.Offset
	if p.Filtered {
		client = clientFilteredChunk
		es += filteredSizeLen(p) + 4
	}
	if es > 255 {
		return elemCodec{}, 0, format.Corruptf(addr, what, "element size %d", es)
	}
	c, err := newElemCodec(p, addr, what, client, uint8(es))
	return c, client, err
}

// encode writes the element recording c at the start of b. A filtered
// element's size must fit its size field (and libhdf5's 32-bit nbytes).
func (c *elemCodec) encode(b []byte, ch Chunk) error {
	if c.addrLen < 8 && ch.Addr != format.Undefined && ch.Addr>>(8*uint(c.addrLen)) != 0 {
		return fmt.Errorf("chunk %v at 0x%x: address does not fit %d bytes: %w", ch.Scaled, ch.Addr, c.addrLen, format.ErrUnsupported)
	}
	putUint(b[:c.addrLen], ch.Addr)
	if c.sizeLen == 0 {
		return nil
	}
	if ch.Size > math.MaxUint32 || c.sizeLen < 8 && ch.Size>>(8*uint(c.sizeLen)) != 0 {
		return fmt.Errorf("chunk %v: %d filtered bytes do not fit the index's %d-byte size field: %w",
			ch.Scaled, ch.Size, c.sizeLen, format.ErrUnsupported)
	}
	putUint(b[c.addrLen:c.addrLen+c.sizeLen], ch.Size)
	binary.LittleEndian.PutUint32(b[c.addrLen+c.sizeLen:], ch.FilterMask)
	return nil
}

// fill sets every element of b to the class's fill value: an undefined
// address (all ones), and for filtered elements size 0 and mask 0
// (H5D_FARRAY_FILT_FILL, H5D_EARRAY_FILT_FILL).
func (c *elemCodec) fill(b []byte) {
	for off := 0; off+c.elemSize <= len(b); off += c.elemSize {
		e := b[off : off+c.elemSize]
		for i := range e {
			e[i] = 0
		}
		for i := 0; i < c.addrLen; i++ {
			e[i] = 0xff
		}
	}
}

// filled returns n elements of fill value.
func (c *elemCodec) filled(n uint64) []byte {
	b := make([]byte, n*uint64(c.elemSize))
	c.fill(b)
	return b
}

// putUint writes the low len(b) bytes of v, little-endian.
func putUint(b []byte, v uint64) {
	for i := range b {
		b[i] = byte(v >> (8 * uint(i)))
	}
}

// withChecksum returns block followed by its lookup3 checksum.
func withChecksum(block []byte) []byte {
	out := make([]byte, len(block), len(block)+4)
	copy(out, block)
	return binary.LittleEndian.AppendUint32(out, format.Lookup3(block, 0))
}

// setBit sets bit i of a libhdf5 bitmap (H5VM_bit_set).
func setBit(bm []byte, i uint64) {
	bm[i/8] |= 0x80 >> (i % 8)
}
