package format

import (
	"cmp"
	"math"
	"slices"
	"sync"
)

// heapCacheBlocks is how many blocks a heap keeps decoded (a variable for
// the tests that read a heap through fewer).
var heapCacheBlocks = 256

// Heap ID types (bits 4-5 of a fractal heap ID's first byte).
const (
	heapIDVersionMask = 0xc0
	heapIDTypeMask    = 0x30
	heapIDManaged     = 0x00
	heapIDHuge        = 0x10
	heapIDTiny        = 0x20

	heapFlagHugeIDsWrapped  = 0x01
	heapFlagChecksumDBlocks = 0x02

	heapTinyLenShort = 16 // H5HF_TINY_LEN_SHORT

	// heapMaxBlock bounds a direct block's size. libhdf5 writes 64 KiB at
	// most for groups and attributes; a bigger claim is refused before it
	// can make us allocate.
	heapMaxBlock = 64 << 20
	heapMaxDepth = 64
	// heapUnfilterSlack and heapMaxRatio bound what a filtered block or
	// huge object may claim to expand to: deflate stays under 1:1032.
	heapUnfilterSlack = 1 << 20
	heapMaxRatio      = 1100
)

// HeapUnfilter undoes an I/O filter pipeline: pipeline as stored in the heap
// header, mask with a bit set for each filter skipped, data as stored, and
// size the expected unfiltered size (an upper bound for the output).
type HeapUnfilter func(pipeline []Filter, mask uint32, data []byte, size int) ([]byte, error)

// DefaultUnfilter is copied into the Unfilter field of every FractalHeap
// that ReadFractalHeap opens. This package cannot decompress (package filter
// imports it), so whoever links the filters in sets it once, before any
// file is read: format.DefaultUnfilter = filter.DecodePipeline.
var DefaultUnfilter HeapUnfilter

// FractalHeap is an opened fractal heap: its decoded header, the doubling
// table derived from it, and a bounded cache of decoded blocks. It is safe
// for concurrent use once opened (do not change Unfilter while it is used).
type FractalHeap struct {
	r    *Reader
	Addr uint64

	IDLen                 uint16
	FilterLen             uint16
	Flags                 uint8
	MaxManagedSize        uint32
	NextHugeID            uint64
	HugeBTreeAddr         uint64
	FreeSpace             uint64
	FreeSpaceManagerAddr  uint64
	ManagedSpace          uint64
	AllocatedManagedSpace uint64
	IterOffset            uint64
	ManagedObjects        uint64
	HugeSize              uint64
	HugeObjects           uint64
	TinySize              uint64
	TinyObjects           uint64

	// Doubling table.
	TableWidth         uint16
	StartBlockSize     uint64
	MaxDirectBlockSize uint64
	MaxHeapBits        uint16
	StartRootRows      uint16
	RootAddr           uint64
	RootRows           uint16 // 0: RootAddr is a direct block

	// Filtered heaps only.
	RootFilteredSize uint64
	RootFilterMask   uint32
	Filters          []Filter

	// Unfilter decodes filtered blocks and huge objects; nil makes them
	// answer ErrUnsupported.
	Unfilter HeapUnfilter

	// Derived as H5HF__hdr_finish_init_phase1, H5HF__dtable_init,
	// H5HF__tiny_init and H5HF__huge_init do.
	heapOffSize   int
	heapLenSize   int
	startBits     int
	firstRowBits  int
	maxRootRows   int
	maxDirectRows int
	rowBlockSize  []uint64
	rowBlockOff   []uint64
	tinyExtended  bool
	hugeDirect    bool
	hugeIDSize    int

	mu     sync.Mutex
	blocks map[uint64]any // *heapIndirect or []byte (a direct block, unfiltered)
	huge   *BTree2

	// Editing (fractalheap_write.go): wmu serialises edits, w is the
	// editor's state, made on the first edit.
	wmu sync.Mutex
	w   *heapWriter
}

// heapIndirect is a decoded indirect block.
type heapIndirect struct {
	blockOff uint64
	nrows    int
	addrs    []uint64
	filtSize []uint64 // filtered heaps: stored size of each direct child
	filtMask []uint32
}

// ReadFractalHeap reads and checks the fractal heap header at addr.
func ReadFractalHeap(r *Reader, addr uint64) (*FractalHeap, error) {
	const what = "fractal heap header"
	so, sl := r.Sizes.Offset, r.Sizes.Length
	// H5HF_HEADER_SIZE: everything but the optional filter information.
	base := 4 + 1 + 2 + 2 + 1 + 4 + sl + so + sl + so + 8*sl + 2 + sl + sl + 2 + 2 + so + 2 + 4
	buf, err := r.Read(addr, 4+1+2+2, what)
	if err != nil {
		return nil, err
	}
	d := NewDecoder(buf, addr, what, r.Sizes)
	d.Signature("FRHP")
	if err := d.Err(); err != nil {
		return nil, err
	}
	if v := d.U8(); v != 0 {
		return nil, Unsupportedf(addr, what, "version %d", v)
	}
	d.U16()
	filterLen := int(d.U16())
	size := base
	if filterLen > 0 {
		size += sl + 4 + filterLen
	}
	buf, err = r.Read(addr, size, what)
	if err != nil {
		return nil, err
	}
	if err := VerifyChecksum(buf, addr, what); err != nil {
		return nil, err
	}
	h := &FractalHeap{r: r, Addr: addr, Unfilter: DefaultUnfilter, blocks: map[uint64]any{}}
	d = NewDecoder(buf, addr, what, r.Sizes)
	d.Skip(5)
	h.IDLen = d.U16()
	h.FilterLen = d.U16()
	h.Flags = d.U8()
	h.MaxManagedSize = d.U32()
	h.NextHugeID = d.Length()
	h.HugeBTreeAddr = d.Offset()
	h.FreeSpace = d.Length()
	h.FreeSpaceManagerAddr = d.Offset()
	h.ManagedSpace = d.Length()
	h.AllocatedManagedSpace = d.Length()
	h.IterOffset = d.Length()
	h.ManagedObjects = d.Length()
	h.HugeSize = d.Length()
	h.HugeObjects = d.Length()
	h.TinySize = d.Length()
	h.TinyObjects = d.Length()
	h.TableWidth = d.U16()
	h.StartBlockSize = d.Length()
	h.MaxDirectBlockSize = d.Length()
	h.MaxHeapBits = d.U16()
	h.StartRootRows = d.U16()
	h.RootAddr = d.Offset()
	h.RootRows = d.U16()
	if h.FilterLen > 0 {
		h.RootFilteredSize = d.Length()
		h.RootFilterMask = d.U32()
		pipeAddr := d.Addr()
		pipe := d.Bytes(int(h.FilterLen))
		if d.Err() == nil {
			h.Filters, err = DecodeFilterPipeline(pipe, pipeAddr)
			if err != nil {
				return nil, err
			}
		}
	}
	if err := d.Err(); err != nil {
		return nil, err
	}
	if err := h.init(); err != nil {
		return nil, err
	}
	return h, nil
}

func isPow2(x uint64) bool { return x != 0 && x&(x-1) == 0 }

func (h *FractalHeap) init() error {
	const what = "fractal heap header"
	if h.IDLen == 0 {
		return Corruptf(h.Addr, what, "heap ID length 0")
	}
	if !isPow2(uint64(h.TableWidth)) || !isPow2(h.StartBlockSize) || !isPow2(h.MaxDirectBlockSize) {
		return Corruptf(h.Addr, what, "doubling table width %d, start block %d, max direct block %d: not powers of two",
			h.TableWidth, h.StartBlockSize, h.MaxDirectBlockSize)
	}
	if h.MaxDirectBlockSize < h.StartBlockSize {
		return Corruptf(h.Addr, what, "max direct block %d smaller than start block %d", h.MaxDirectBlockSize, h.StartBlockSize)
	}
	if h.MaxDirectBlockSize > heapMaxBlock {
		return Unsupportedf(h.Addr, what, "direct blocks of %d bytes", h.MaxDirectBlockSize)
	}
	// H5HF__dtable_init
	h.startBits = log2Floor(h.StartBlockSize)
	h.firstRowBits = h.startBits + log2Floor(uint64(h.TableWidth))
	if int(h.MaxHeapBits) < h.firstRowBits || h.MaxHeapBits > 64 {
		return Corruptf(h.Addr, what, "heap of %d bits with a first row of %d bits", h.MaxHeapBits, h.firstRowBits)
	}
	h.maxRootRows = int(h.MaxHeapBits) - h.firstRowBits + 1
	h.maxDirectRows = log2Floor(h.MaxDirectBlockSize) - h.startBits + 2
	if int(h.RootRows) > h.maxRootRows {
		return Corruptf(h.Addr, what, "root indirect block of %d rows, at most %d", h.RootRows, h.maxRootRows)
	}
	h.rowBlockSize = make([]uint64, h.maxRootRows)
	h.rowBlockOff = make([]uint64, h.maxRootRows)
	size, off := h.StartBlockSize, h.StartBlockSize*uint64(h.TableWidth)
	h.rowBlockSize[0] = h.StartBlockSize
	for u := 1; u < h.maxRootRows; u++ {
		h.rowBlockSize[u] = size
		h.rowBlockOff[u] = off
		size *= 2
		off *= 2
	}
	// H5HF__hdr_finish_init_phase1
	h.heapOffSize = (int(h.MaxHeapBits) + 7) / 8
	maxDirBlkOffSize := (log2Floor(h.MaxDirectBlockSize) + 7) / 8 // H5HF_SIZEOF_OFFSET_LEN
	h.heapLenSize = min(maxDirBlkOffSize, limitEncSize(uint64(h.MaxManagedSize)))
	// H5HF__tiny_init
	idl := int(h.IDLen) - 1
	h.tinyExtended = idl > heapTinyLenShort+1
	// H5HF__huge_init
	so, sl := h.r.Sizes.Offset, h.r.Sizes.Length
	if h.FilterLen > 0 {
		h.hugeDirect = idl >= so+sl+4+sl
	} else {
		h.hugeDirect = idl >= so+sl
	}
	if !h.hugeDirect {
		h.hugeIDSize = min(idl, 8)
	}
	return nil
}

// directOverhead is H5HF_MAN_ABS_DIRECT_OVERHEAD: a direct block's header.
func (h *FractalHeap) directOverhead() int {
	n := 4 + 1 + h.r.Sizes.Offset + h.heapOffSize
	if h.Flags&heapFlagChecksumDBlocks != 0 {
		n += 4
	}
	return n
}

// Object returns a copy of the object a heap ID names: managed (in a direct
// block), tiny (inside the ID) or huge (stored on its own, found through the
// heap's v2 B-tree or directly from the ID).
func (h *FractalHeap) Object(id []byte) ([]byte, error) {
	const what = "fractal heap ID"
	if len(id) == 0 {
		return nil, Corruptf(h.Addr, what, "empty heap ID")
	}
	if v := id[0] & heapIDVersionMask; v != 0 {
		return nil, Unsupportedf(h.Addr, what, "heap ID version %d", v>>6)
	}
	switch id[0] & heapIDTypeMask {
	case heapIDManaged:
		return h.managed(id)
	case heapIDTiny:
		return h.tiny(id)
	case heapIDHuge:
		return h.hugeObject(id)
	}
	return nil, Corruptf(h.Addr, what, "reserved heap ID type 0x%02x", id[0])
}

// tiny decodes an object stored in the ID itself (H5HF__tiny_op_real).
// libhdf5's decoder of the extended length masks the first byte with 0x0f00,
// dropping the high bits its encoder stores there; the encoder's layout is
// followed here.
func (h *FractalHeap) tiny(id []byte) ([]byte, error) {
	var n, start int
	if !h.tinyExtended {
		n, start = int(id[0]&0x0f)+1, 1
	} else {
		if len(id) < 2 {
			return nil, Corruptf(h.Addr, "fractal heap ID", "truncated tiny object ID")
		}
		n, start = (int(id[0]&0x0f)<<8|int(id[1]))+1, 2
	}
	if start+n > len(id) || start+n > int(h.IDLen) {
		return nil, Corruptf(h.Addr, "fractal heap ID", "tiny object of %d bytes in a %d-byte ID", n, len(id))
	}
	return append([]byte(nil), id[start:start+n]...), nil
}

// InHeapOrder calls fetch(i) for each of n heap IDs (id(i)), in the order
// of the managed objects' offsets in the heap (tiny and huge ones last, in
// their own order). An index orders its records by name hash, which is no
// order of the heap: resolved in that order, the objects of a group of
// 300,000 links took their direct blocks in turn from all over the heap,
// more than the block cache holds, and each was read and checksummed again
// for almost every link (a listing took 6 s). In heap order each block is
// read once.
func (h *FractalHeap) InHeapOrder(n int, id func(i int) []byte, fetch func(i int) error) error {
	type place struct {
		off uint64
		i   int
	}
	order := make([]place, n)
	for i := range order {
		order[i] = place{h.managedOffset(id(i)), i}
	}
	slices.SortFunc(order, func(a, b place) int { return cmp.Or(cmp.Compare(a.off, b.off), cmp.Compare(a.i, b.i)) })
	for _, p := range order {
		if err := fetch(p.i); err != nil {
			return err
		}
	}
	return nil
}

// managedOffset is where in the heap a managed object's ID places it, and
// the largest offset for any other ID.
func (h *FractalHeap) managedOffset(id []byte) uint64 {
	if len(id) < 1+h.heapOffSize || id[0]&(heapIDVersionMask|heapIDTypeMask) != heapIDManaged {
		return math.MaxUint64
	}
	return DecodeUint(id[1 : 1+h.heapOffSize])
}

// managed finds a managed object (H5HF__man_op_real).
func (h *FractalHeap) managed(id []byte) ([]byte, error) {
	const what = "fractal heap ID"
	if len(id) < 1+h.heapOffSize+h.heapLenSize {
		return nil, Corruptf(h.Addr, what, "managed object ID of %d bytes", len(id))
	}
	off := DecodeUint(id[1 : 1+h.heapOffSize])
	n := DecodeUint(id[1+h.heapOffSize : 1+h.heapOffSize+h.heapLenSize])
	switch {
	case off == 0:
		return nil, Corruptf(h.Addr, what, "object offset 0")
	case off > h.ManagedSpace:
		return nil, Corruptf(h.Addr, what, "object offset %d beyond the %d-byte managed space", off, h.ManagedSpace)
	case n == 0:
		return nil, Corruptf(h.Addr, what, "object length 0")
	case n > h.MaxDirectBlockSize || n > uint64(h.MaxManagedSize):
		return nil, Corruptf(h.Addr, what, "managed object of %d bytes", n)
	}
	if h.MaxHeapBits < 64 && off >= uint64(1)<<h.MaxHeapBits {
		return nil, Corruptf(h.Addr, what, "object offset %d beyond a %d-bit heap", off, h.MaxHeapBits)
	}
	blk, blockOff, err := h.locate(off)
	if err != nil {
		return nil, err
	}
	rel := off - blockOff
	if rel < uint64(h.directOverhead()) {
		return nil, Corruptf(h.Addr, what, "object at %d lies in its direct block's header", off)
	}
	if rel > uint64(len(blk)) || n > uint64(len(blk))-rel {
		return nil, Corruptf(h.Addr, what, "object at %d of %d bytes overruns its direct block", off, n)
	}
	return append([]byte(nil), blk[rel:rel+n]...), nil
}

// lookup is H5HF__dtable_lookup: the row and column of a heap offset
// relative to the start of an indirect block.
func (h *FractalHeap) lookup(off uint64) (row, col int) {
	if off < h.StartBlockSize*uint64(h.TableWidth) {
		return 0, int(off / h.StartBlockSize)
	}
	high := log2Floor(off)
	row = high - h.firstRowBits + 1
	if row >= h.maxRootRows {
		return row, 0
	}
	return row, int((off - uint64(1)<<high) / h.rowBlockSize[row])
}

// locate returns the (unfiltered) direct block holding heap offset off and
// that block's offset in the heap.
func (h *FractalHeap) locate(off uint64) ([]byte, uint64, error) {
	if h.RootAddr == Undefined {
		return nil, 0, Corruptf(h.Addr, "fractal heap", "object at %d in an empty heap", off)
	}
	if h.RootRows == 0 {
		blk, err := h.direct(h.RootAddr, h.StartBlockSize, 0, h.RootFilteredSize, h.RootFilterMask)
		return blk, 0, err
	}
	iaddr, nrows, blockOff := h.RootAddr, int(h.RootRows), uint64(0)
	for depth := 0; ; depth++ {
		if depth > heapMaxDepth {
			return nil, 0, Corruptf(iaddr, "fractal heap indirect block", "indirect blocks nest deeper than %d", heapMaxDepth)
		}
		ib, err := h.indirect(iaddr, nrows, blockOff)
		if err != nil {
			return nil, 0, err
		}
		row, col := h.lookup(off - blockOff)
		if row >= ib.nrows {
			return nil, 0, Corruptf(iaddr, "fractal heap indirect block", "heap offset %d beyond its %d rows", off, ib.nrows)
		}
		entry := row*int(h.TableWidth) + col
		childOff := blockOff + h.rowBlockOff[row] + uint64(col)*h.rowBlockSize[row]
		caddr := ib.addrs[entry]
		if caddr == Undefined {
			return nil, 0, Corruptf(iaddr, "fractal heap indirect block", "heap offset %d in an unallocated block", off)
		}
		if row < h.maxDirectRows {
			var fsize uint64
			var fmask uint32
			if ib.filtSize != nil {
				fsize, fmask = ib.filtSize[entry], ib.filtMask[entry]
			}
			blk, err := h.direct(caddr, h.rowBlockSize[row], childOff, fsize, fmask)
			return blk, childOff, err
		}
		// H5HF__dtable_size_to_rows: a child indirect block has fewer rows
		// than its parent, so this loop ends.
		childRows := log2Floor(h.rowBlockSize[row]) - h.firstRowBits + 1
		if childRows >= nrows || childRows < 1 {
			return nil, 0, Corruptf(iaddr, "fractal heap indirect block", "child of %d rows under %d rows", childRows, nrows)
		}
		iaddr, nrows, blockOff = caddr, childRows, childOff
	}
}

func (h *FractalHeap) cached(addr uint64) any {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.blocks[addr]
}

func (h *FractalHeap) cache(addr uint64, v any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.blocks) >= heapCacheBlocks {
		h.blocks = map[uint64]any{}
	}
	h.blocks[addr] = v
}

// indirect reads an indirect block of nrows rows that starts at heap offset
// blockOff (H5HF__cache_iblock_deserialize).
func (h *FractalHeap) indirect(addr uint64, nrows int, blockOff uint64) (*heapIndirect, error) {
	const what = "fractal heap indirect block"
	if v, ok := h.cached(addr).(*heapIndirect); ok {
		if v.nrows != nrows || v.blockOff != blockOff {
			return nil, Corruptf(addr, what, "block reached at two places in the heap")
		}
		return v, nil
	}
	if addr == Undefined {
		return nil, Corruptf(addr, what, "undefined address")
	}
	so, sl := h.r.Sizes.Offset, h.r.Sizes.Length
	width := int(h.TableWidth)
	dirRows := min(nrows, h.maxDirectRows)
	dirEnt := so
	if h.FilterLen > 0 {
		dirEnt = so + sl + 4
	}
	// H5HF_MAN_INDIRECT_SIZE; rows <= 64 and width <= 65535 keep it in range.
	size := 4 + 1 + so + h.heapOffSize + dirRows*width*dirEnt + (nrows-dirRows)*width*so + 4
	d, err := h.r.ReadBlock(addr, size, "FHIB", what)
	if err != nil {
		return nil, err
	}
	if ha := d.Offset(); ha != h.Addr {
		return nil, Corruptf(addr, what, "belongs to the heap at 0x%x, not 0x%x", ha, h.Addr)
	}
	if bo := d.Uint(h.heapOffSize); bo != blockOff {
		return nil, Corruptf(addr, what, "block offset %d, expected %d", bo, blockOff)
	}
	n := nrows * width
	ib := &heapIndirect{blockOff: blockOff, nrows: nrows, addrs: make([]uint64, n)}
	if h.FilterLen > 0 {
		ib.filtSize = make([]uint64, dirRows*width)
		ib.filtMask = make([]uint32, dirRows*width)
	}
	for u := 0; u < n; u++ {
		ib.addrs[u] = d.Offset()
		if h.FilterLen > 0 && u < dirRows*width {
			ib.filtSize[u] = d.Length()
			ib.filtMask[u] = d.U32()
		}
	}
	if err := d.Err(); err != nil {
		return nil, err
	}
	h.cache(addr, ib)
	return ib, nil
}

// direct reads a direct block of size bytes starting at heap offset
// blockOff; filtered heaps store it in filtSize bytes (with filter mask
// fmask). It returns the whole unfiltered block, header included, as heap
// offsets count from the block's start.
func (h *FractalHeap) direct(addr, size, blockOff, filtSize uint64, fmask uint32) ([]byte, error) {
	const what = "fractal heap direct block"
	if v, ok := h.cached(addr).([]byte); ok {
		if uint64(len(v)) != size || DecodeUint(v[5+h.r.Sizes.Offset:5+h.r.Sizes.Offset+h.heapOffSize]) != blockOff {
			return nil, Corruptf(addr, what, "block reached at two places in the heap")
		}
		return v, nil
	}
	if addr == Undefined {
		return nil, Corruptf(addr, what, "undefined address")
	}
	if size < uint64(h.directOverhead()) || size > heapMaxBlock {
		return nil, Corruptf(addr, what, "block size %d", size)
	}
	var blk []byte
	var err error
	if h.FilterLen == 0 {
		blk, err = h.r.Read(addr, int(size), what)
		if err != nil {
			return nil, err
		}
	} else {
		if filtSize == 0 || filtSize > uint64(h.r.FileSize()) {
			return nil, Corruptf(addr, what, "filtered size %d", filtSize)
		}
		raw, err := h.r.Read(addr, int(filtSize), what)
		if err != nil {
			return nil, err
		}
		blk, err = h.unfilter(addr, what, fmask, raw, size)
		if err != nil {
			return nil, err
		}
	}
	d := NewDecoder(blk, addr, what, h.r.Sizes)
	d.Signature("FHDB")
	if err := d.Err(); err != nil {
		return nil, err
	}
	if v := d.U8(); v != 0 {
		return nil, Unsupportedf(addr, what, "version %d", v)
	}
	if ha := d.Offset(); ha != h.Addr {
		return nil, Corruptf(addr, what, "belongs to the heap at 0x%x, not 0x%x", ha, h.Addr)
	}
	if bo := d.Uint(h.heapOffSize); bo != blockOff {
		return nil, Corruptf(addr, what, "block offset %d, expected %d", bo, blockOff)
	}
	if h.Flags&heapFlagChecksumDBlocks != 0 {
		// The checksum covers the whole block with its own field zeroed
		// (H5HF__cache_dblock_verify_chksum).
		pos := d.Pos()
		stored := d.U32()
		if err := d.Err(); err != nil {
			return nil, err
		}
		tmp := make([]byte, len(blk))
		copy(tmp, blk)
		clear(tmp[pos : pos+4])
		if got := Lookup3(tmp, 0); got != stored {
			return nil, Corruptf(addr, what, "checksum mismatch (stored 0x%08x, computed 0x%08x)", stored, got)
		}
	}
	h.cache(addr, blk)
	return blk, nil
}

// unfilter runs the heap's pipeline backwards over raw, which must give
// exactly size bytes.
func (h *FractalHeap) unfilter(addr uint64, what string, mask uint32, raw []byte, size uint64) ([]byte, error) {
	if h.Unfilter == nil {
		return nil, Unsupportedf(addr, what, "filtered fractal heap and no filter pipeline decoder")
	}
	// The expected size comes from the file: bound it by what the stored
	// bytes can plausibly expand to before a decoder allocates it.
	if size > uint64(len(raw))*heapMaxRatio+heapUnfilterSlack || size > 1<<31 {
		return nil, Unsupportedf(addr, what, "%d stored bytes said to expand to %d", len(raw), size)
	}
	out, err := h.Unfilter(h.Filters, mask, raw, int(size))
	if err != nil {
		return nil, &FormatError{Addr: addr, What: what, Msg: "filter pipeline: " + err.Error(), Err: err}
	}
	if uint64(len(out)) != size {
		return nil, Corruptf(addr, what, "unfiltered to %d bytes, expected %d", len(out), size)
	}
	return out, nil
}

// hugeObject reads a huge object (H5HF__huge_op_real).
func (h *FractalHeap) hugeObject(id []byte) ([]byte, error) {
	const what = "fractal heap huge object"
	so, sl := h.r.Sizes.Offset, h.r.Sizes.Length
	var addr, length, size uint64
	var mask uint32
	if h.hugeDirect {
		d := NewDecoder(id[1:], h.Addr, "fractal heap ID", h.r.Sizes)
		addr, length = d.Offset(), d.Length()
		size = length
		if h.FilterLen > 0 {
			mask, size = d.U32(), d.Length()
		}
		if err := d.Err(); err != nil {
			return nil, err
		}
	} else {
		if len(id) < 1+h.hugeIDSize {
			return nil, Corruptf(h.Addr, "fractal heap ID", "huge object ID of %d bytes", len(id))
		}
		key := DecodeUint(id[1 : 1+h.hugeIDSize])
		bt, err := h.hugeBTree()
		if err != nil {
			return nil, err
		}
		// Both record types end with the ID; the filtered one has a
		// filter mask and the unfiltered size before it.
		filtered := bt.Type == BTree2HugeFiltIndirect
		idPos := so + sl
		if filtered {
			idPos += 4 + sl
		}
		rec, found, err := bt.Search(func(rec []byte) int {
			rid := DecodeUint(rec[idPos : idPos+sl])
			switch {
			case key < rid:
				return -1
			case key > rid:
				return 1
			}
			return 0
		})
		if err != nil {
			return nil, err
		}
		if !found {
			return nil, Corruptf(h.HugeBTreeAddr, what, "huge object %d not in the heap's B-tree", key)
		}
		d := NewDecoder(rec, h.HugeBTreeAddr, "v2 B-tree record", h.r.Sizes)
		addr, length = d.Offset(), d.Length()
		size = length
		if filtered {
			mask, size = d.U32(), d.Length()
		}
		if err := d.Err(); err != nil {
			return nil, err
		}
	}
	if length > uint64(h.r.FileSize()) {
		return nil, Corruptf(addr, what, "%d bytes in a %d-byte file", length, h.r.FileSize())
	}
	raw, err := h.r.Read(addr, int(length), what)
	if err != nil {
		return nil, err
	}
	if h.FilterLen == 0 {
		return raw, nil
	}
	return h.unfilter(addr, what, mask, raw, size)
}

// hugeBTree opens (once) the v2 B-tree that indexes indirectly accessed huge
// objects.
func (h *FractalHeap) hugeBTree() (*BTree2, error) {
	h.mu.Lock()
	bt := h.huge
	h.mu.Unlock()
	if bt != nil {
		return bt, nil
	}
	if h.HugeBTreeAddr == Undefined {
		return nil, Corruptf(h.Addr, "fractal heap", "huge object ID but no huge object B-tree")
	}
	bt, err := ReadBTree2(h.r, h.HugeBTreeAddr)
	if err != nil {
		return nil, err
	}
	so, sl := h.r.Sizes.Offset, h.r.Sizes.Length
	want := map[uint8]int{BTree2HugeIndirect: so + 2*sl, BTree2HugeFiltIndirect: so + 3*sl + 4}
	n, ok := want[bt.Type]
	if !ok || (bt.Type == BTree2HugeFiltIndirect) != (h.FilterLen > 0) {
		return nil, Corruptf(h.HugeBTreeAddr, "v2 B-tree header", "record type %d for the huge objects of a heap with %d bytes of filters", bt.Type, h.FilterLen)
	}
	if int(bt.RecordSize) != n {
		return nil, Corruptf(h.HugeBTreeAddr, "v2 B-tree header", "record size %d for type %d, expected %d", bt.RecordSize, bt.Type, n)
	}
	h.mu.Lock()
	if h.huge == nil {
		h.huge = bt
	}
	bt = h.huge
	h.mu.Unlock()
	return bt, nil
}
