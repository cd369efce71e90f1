package format

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"sort"
)

// Editing fractal heaps, leaving them as libhdf5 1.10 does (H5HF.c
// H5HF_insert / H5HF_remove / H5HF_write, H5HFman.c, H5HFdblock.c
// H5HF_man_dblock_new / _create, H5HFiblock.c H5HF_man_iblock_root_create /
// _root_double / _create, H5HFhdr.c H5HF_hdr_update_iter / _skip_blocks,
// H5HFiter.c H5HF_man_iter_start_offset, H5HFhuge.c, H5HFtiny.c).
//
// Blocks are laid out exactly where libhdf5's "next block" iterator puts
// them, so the header's iterator offset stays valid for libhdf5 to carry
// on from. What differs is free space: libhdf5 keeps it in a free-space
// manager in the file; here it is kept in memory (see FindFreeSpace), and a
// heap's free-space manager is released on its first edit, which leaves the
// header's address of it undefined (libhdf5 then starts a new, empty one).
// As in libhdf5, direct blocks the iterator skips to reach a big enough one
// are made later for objects they fit; child indirect blocks it skips are
// not. Direct blocks that empty are kept, not freed. Filtered heaps answer
// ErrUnsupported.

// FractalHeapCreate are a fractal heap's creation parameters, H5HF_create_t
// without the I/O filter pipeline.
type FractalHeapCreate struct {
	TableWidth     uint16 // columns of the doubling table, a power of two
	StartBlockSize uint64 // size of the first direct blocks, a power of two
	MaxDirectSize  uint64 // largest direct block, a power of two
	MaxIndex       uint16 // bits of the heap's address space
	StartRootRows  uint16 // rows of a new root indirect block, 0 for all
	ChecksumDirect bool   // direct blocks carry a checksum
	MaxManagedSize uint32 // bigger objects are stored on their own ("huge")
	// IDLen is the heap ID length: 0 for just enough to address managed
	// objects, 1 for enough to address huge objects directly, any other
	// value for that many bytes.
	IDLen uint16
}

// The parameters libhdf5 gives the heaps of dense links (H5Gdense.c
// H5G__dense_create) and of dense attributes (H5Adense.c H5A_dense_create,
// H5Oprivate.h H5O_FHEAP_*).
var (
	LinkHeapCreate = FractalHeapCreate{TableWidth: 4, StartBlockSize: 512, MaxDirectSize: 64 << 10,
		MaxIndex: 32, StartRootRows: 1, ChecksumDirect: true, MaxManagedSize: 4 << 10}
	AttributeHeapCreate = FractalHeapCreate{TableWidth: 4, StartBlockSize: 1024, MaxDirectSize: 64 << 10,
		MaxIndex: 40, StartRootRows: 1, ChecksumDirect: true, MaxManagedSize: 4 << 10}
)

const (
	heapMaxIDLen      = 4096 + 1 // H5HF_MAX_ID_LEN
	heapWidthLimit    = 64 << 10 // H5HF_WIDTH_LIMIT
	hugeBTreeNodeSize = 512      // H5HF_HUGE_BT2_NODE_SIZE
	hugeBTreeSplit    = 100
	hugeBTreeMerge    = 40
	heapMaxIterSteps  = 4096 // bounds the iterator's walks through a hostile heap
)

// CreateFractalHeap writes the header of an empty fractal heap, as
// H5HF_create does, and returns its address. Open it with ReadFractalHeap.
func CreateFractalHeap(r *Reader, s Space, p FractalHeapCreate) (uint64, error) {
	const what = "fractal heap header"
	bad := func(format string, args ...any) error {
		return fmt.Errorf("fractal heap creation: %s: %w", fmt.Sprintf(format, args...), ErrUnsupported)
	}
	// H5HF_hdr_create's checks.
	switch {
	case p.TableWidth == 0 || uint32(p.TableWidth) > heapWidthLimit || !isPow2(uint64(p.TableWidth)):
		return 0, bad("table width %d", p.TableWidth)
	case !isPow2(p.StartBlockSize):
		return 0, bad("start block size %d", p.StartBlockSize)
	case !isPow2(p.MaxDirectSize) || p.MaxDirectSize > heapMaxBlock || p.MaxDirectSize < p.StartBlockSize:
		return 0, bad("max direct block size %d", p.MaxDirectSize)
	case p.MaxDirectSize < uint64(p.MaxManagedSize):
		return 0, bad("max direct block size %d below max managed object size %d", p.MaxDirectSize, p.MaxManagedSize)
	case p.MaxIndex == 0 || int(p.MaxIndex) > 8*r.Sizes.Length || p.MaxIndex > 64:
		return 0, bad("max index %d", p.MaxIndex)
	case p.MaxManagedSize == 0:
		return 0, bad("max managed object size 0")
	}
	h := &FractalHeap{r: r, Addr: Undefined, Flags: 0, MaxManagedSize: p.MaxManagedSize,
		HugeBTreeAddr: Undefined, FreeSpaceManagerAddr: Undefined, TableWidth: p.TableWidth,
		StartBlockSize: p.StartBlockSize, MaxDirectBlockSize: p.MaxDirectSize, MaxHeapBits: p.MaxIndex,
		StartRootRows: p.StartRootRows, RootAddr: Undefined, blocks: map[uint64]any{}}
	if p.ChecksumDirect {
		h.Flags |= heapFlagChecksumDBlocks
	}
	// H5HF_hdr_finish_init_phase1, ahead of the ID length it decides.
	offSize := (int(p.MaxIndex) + 7) / 8
	lenSize := min((log2Floor(p.MaxDirectSize)+7)/8, limitEncSize(uint64(p.MaxManagedSize)))
	switch p.IDLen {
	case 0:
		h.IDLen = uint16(1 + offSize + lenSize)
	case 1:
		h.IDLen = uint16(1 + r.Sizes.Offset + r.Sizes.Length)
	default:
		if int(p.IDLen) < 1+offSize+lenSize || p.IDLen > heapMaxIDLen {
			return 0, bad("heap ID length %d", p.IDLen)
		}
		h.IDLen = p.IDLen
	}
	if err := h.init(); err != nil {
		return 0, err
	}
	if p.StartBlockSize <= uint64(h.directOverhead()) {
		return 0, bad("start block size %d holds no more than a block header", p.StartBlockSize)
	}
	if p.MaxDirectSize-uint64(h.directOverhead()) < uint64(p.MaxManagedSize) {
		return 0, bad("max direct block size %d cannot hold a %d-byte object", p.MaxDirectSize, p.MaxManagedSize)
	}
	hdr := h.encodeHeader()
	addr, err := s.Alloc(uint64(len(hdr)))
	if err != nil {
		return 0, err
	}
	h.Addr = addr
	hdr = h.encodeHeader()
	if err := s.WriteAt(hdr, addr); err != nil {
		return 0, fmt.Errorf("%s at 0x%x: %w", what, addr, err)
	}
	return addr, nil
}

// encodeHeader is the header's image (H5HF__cache_hdr_serialize), for
// heaps without filters.
func (h *FractalHeap) encodeHeader() []byte {
	e := &Encoder{Sizes: h.r.Sizes}
	e.Bytes([]byte("FRHP"))
	e.U8(0)
	e.U16(h.IDLen)
	e.U16(h.FilterLen)
	e.U8(h.Flags)
	e.U32(h.MaxManagedSize)
	e.Length(h.NextHugeID)
	e.Offset(h.HugeBTreeAddr)
	e.Length(h.FreeSpace)
	e.Offset(h.FreeSpaceManagerAddr)
	e.Length(h.ManagedSpace)
	e.Length(h.AllocatedManagedSpace)
	e.Length(h.IterOffset)
	e.Length(h.ManagedObjects)
	e.Length(h.HugeSize)
	e.Length(h.HugeObjects)
	e.Length(h.TinySize)
	e.Length(h.TinyObjects)
	e.U16(h.TableWidth)
	e.Length(h.StartBlockSize)
	e.Length(h.MaxDirectBlockSize)
	e.U16(h.MaxHeapBits)
	e.U16(h.StartRootRows)
	e.Offset(h.RootAddr)
	e.U16(h.RootRows)
	e.AppendChecksum()
	return e.Buf
}

// heapWriter is what editing a heap keeps between edits.
type heapWriter struct {
	free       heapFreeList
	slots      []heapSlot             // by free space, then offset
	iblocks    map[uint64]*heapIBlock // the indirect blocks being edited, by address
	iter       []heapIterLevel        // the "next block" iterator; nil until needed
	rowTotFree []uint64               // row_tot_dblock_free
	tinyMax    int
	releaseFS  bool // the heap's free-space manager goes at the next header write
}

// heapSlot is an unallocated direct block below the block iterator: one
// the iterator skipped, or one libhdf5 freed.
type heapSlot struct {
	ib       *heapIBlock
	entry    int
	blockOff uint64
	free     uint64 // the block's size less its header
}

func (w *heapWriter) slotIndex(sl heapSlot) int {
	return sort.Search(len(w.slots), func(i int) bool {
		b := w.slots[i]
		return b.free > sl.free || b.free == sl.free && b.blockOff >= sl.blockOff
	})
}

func (w *heapWriter) addSlot(sl heapSlot) {
	w.slots = insertAt(w.slots, w.slotIndex(sl), sl)
}

// heapIBlock is an indirect block being edited.
type heapIBlock struct {
	addr     uint64
	nrows    int
	maxRows  int
	blockOff uint64
	entries  []uint64
}

// heapIterLevel is one level of the block iterator (H5HF_block_loc_t).
type heapIterLevel struct {
	ib    *heapIBlock
	entry int
}

// heapExtent is free space at a heap offset.
type heapExtent struct{ off, size uint64 }

// heapFreeList is the free space known inside allocated direct blocks,
// indexed by offset (for merging and overlap checks) and by size (to find
// the smallest piece that fits, as libhdf5's free-space bins do).
type heapFreeList struct {
	byOff  []heapExtent
	bySize []heapExtent // by size, then offset
}

func (f *heapFreeList) sizeIndex(e heapExtent) int {
	return sort.Search(len(f.bySize), func(i int) bool {
		b := f.bySize[i]
		return b.size > e.size || b.size == e.size && b.off >= e.off
	})
}

func (f *heapFreeList) insert(e heapExtent) {
	i := sort.Search(len(f.byOff), func(i int) bool { return f.byOff[i].off >= e.off })
	f.byOff = insertAt(f.byOff, i, e)
	j := f.sizeIndex(e)
	f.bySize = insertAt(f.bySize, j, e)
}

func (f *heapFreeList) delete(e heapExtent) {
	i := sort.Search(len(f.byOff), func(i int) bool { return f.byOff[i].off >= e.off })
	if i < len(f.byOff) && f.byOff[i] == e {
		f.byOff = append(f.byOff[:i], f.byOff[i+1:]...)
	}
	j := f.sizeIndex(e)
	if j < len(f.bySize) && f.bySize[j] == e {
		f.bySize = append(f.bySize[:j], f.bySize[j+1:]...)
	}
}

// add returns [off, off+n) to the free space, merged with its neighbours.
// It reports space that is free already, as a corrupt heap would have it.
func (f *heapFreeList) add(off, n uint64) bool {
	i := sort.Search(len(f.byOff), func(i int) bool { return f.byOff[i].off >= off })
	if i > 0 && f.byOff[i-1].off+f.byOff[i-1].size > off || i < len(f.byOff) && off+n > f.byOff[i].off {
		return false
	}
	e := heapExtent{off, n}
	if i > 0 && f.byOff[i-1].off+f.byOff[i-1].size == off {
		p := f.byOff[i-1]
		f.delete(p)
		e = heapExtent{p.off, p.size + n}
		i--
	}
	if i < len(f.byOff) && e.off+e.size == f.byOff[i].off {
		nx := f.byOff[i]
		f.delete(nx)
		e.size += nx.size
	}
	f.insert(e)
	return true
}

// take allocates n bytes from the smallest free piece that holds them,
// from its start, as H5HF_sect_single_reduce does.
func (f *heapFreeList) take(n uint64) (uint64, bool) {
	j := sort.Search(len(f.bySize), func(i int) bool { return f.bySize[i].size >= n })
	if j == len(f.bySize) {
		return 0, false
	}
	e := f.bySize[j]
	f.delete(e)
	if e.size > n {
		f.insert(heapExtent{e.off + n, e.size - n})
	}
	return e.off, true
}

// writer returns the editing state, made on the first edit.
func (h *FractalHeap) writer() (*heapWriter, error) {
	if h.w != nil {
		return h.w, nil
	}
	if h.FilterLen > 0 {
		return nil, Unsupportedf(h.Addr, "fractal heap", "editing a heap with I/O filters")
	}
	// Bounds a hostile header puts on what editing would allocate.
	if h.StartBlockSize <= uint64(h.directOverhead()) {
		return nil, Corruptf(h.Addr, "fractal heap header", "start block size %d holds no more than a block header", h.StartBlockSize)
	}
	if h.indirectSize(h.maxRootRows) > heapMaxBlock {
		return nil, Unsupportedf(h.Addr, "fractal heap header", "root indirect blocks of up to %d bytes", h.indirectSize(h.maxRootRows))
	}
	w := &heapWriter{releaseFS: h.FreeSpaceManagerAddr != Undefined, iblocks: map[uint64]*heapIBlock{}}
	// H5HF_hdr_finish_init_phase2 and H5HF_hdr_compute_free_space.
	width := uint64(h.TableWidth)
	w.rowTotFree = make([]uint64, h.maxRootRows)
	for u := range w.rowTotFree {
		if u < h.maxDirectRows {
			w.rowTotFree[u] = h.rowBlockSize[u] - uint64(h.directOverhead())
			continue
		}
		var acc, accFree uint64
		for r := 0; acc < h.rowBlockSize[u] && r < u; r++ {
			acc += h.rowBlockSize[r] * width
			accFree += w.rowTotFree[r] * width
		}
		w.rowTotFree[u] = accFree
	}
	// H5HF__tiny_init
	idl := int(h.IDLen) - 1
	switch {
	case idl <= heapTinyLenShort:
		w.tinyMax = idl
	case idl == heapTinyLenShort+1:
		w.tinyMax = heapTinyLenShort
	default:
		w.tinyMax = int(h.IDLen) - 2
	}
	h.w = w
	return w, nil
}

// FindFreeSpace tells the heap which managed objects are live (the heap
// IDs of every object its owner still references): the rest of its
// allocated direct blocks becomes free space for Insert. Without it, the
// space free in blocks from before this FractalHeap was opened is not used.
// It answers ErrCorrupt if two objects overlap or one lies outside the
// heap's blocks.
func (h *FractalHeap) FindFreeSpace(live [][]byte) error {
	h.wmu.Lock()
	defer h.wmu.Unlock()
	w, err := h.writer()
	if err != nil {
		return err
	}
	type block struct{ off, size uint64 }
	var blocks []block
	if err := h.directBlocks(func(off, size, _ uint64) error {
		blocks = append(blocks, block{off, size})
		return nil
	}); err != nil {
		return err
	}
	sort.Slice(blocks, func(i, j int) bool { return blocks[i].off < blocks[j].off })
	var used []heapExtent
	for _, id := range live {
		if len(id) == 0 || id[0]&heapIDTypeMask != heapIDManaged {
			continue
		}
		off, n, err := h.managedID(id)
		if err != nil {
			return err
		}
		used = append(used, heapExtent{off, n})
	}
	sort.Slice(used, func(i, j int) bool { return used[i].off < used[j].off })
	var free heapFreeList
	oh := uint64(h.directOverhead())
	u := 0
	for _, b := range blocks {
		pos, end := b.off+oh, b.off+b.size
		for ; u < len(used) && used[u].off < end; u++ {
			e := used[u]
			if e.off < pos || e.size > end-e.off {
				return Corruptf(h.Addr, "fractal heap", "object at %d of %d bytes overlaps another or a block header", e.off, e.size)
			}
			if e.off > pos {
				free.insert(heapExtent{pos, e.off - pos})
			}
			pos = e.off + e.size
		}
		if pos < end {
			free.insert(heapExtent{pos, end - pos})
		}
	}
	if u < len(used) {
		return Corruptf(h.Addr, "fractal heap", "object at %d outside every direct block", used[u].off)
	}
	w.free = free
	return h.findSlots(w)
}

// findSlots lists the unallocated direct blocks below the block iterator.
func (h *FractalHeap) findSlots(w *heapWriter) error {
	w.slots = nil
	if h.RootAddr == Undefined || h.RootRows == 0 {
		return nil
	}
	width := int(h.TableWidth)
	oh := uint64(h.directOverhead())
	seen := map[uint64]bool{}
	var walk func(ib *heapIBlock, depth int) error
	walk = func(ib *heapIBlock, depth int) error {
		if seen[ib.addr] || depth > heapMaxDepth {
			return Corruptf(ib.addr, "fractal heap indirect block", "block reached twice")
		}
		seen[ib.addr] = true
		for i, c := range ib.entries {
			row := i / width
			off := ib.blockOff + h.rowBlockOff[row] + uint64(i%width)*h.rowBlockSize[row]
			if off >= h.IterOffset {
				break
			}
			if row < h.maxDirectRows {
				if c == Undefined && off+h.rowBlockSize[row] <= h.IterOffset {
					w.addSlot(heapSlot{ib: ib, entry: i, blockOff: off, free: h.rowBlockSize[row] - oh})
				}
				continue
			}
			if c == Undefined {
				continue
			}
			rows := h.sizeToRows(h.rowBlockSize[row])
			if rows >= ib.nrows || rows < 1 {
				return Corruptf(ib.addr, "fractal heap indirect block", "child of %d rows under %d rows", rows, ib.nrows)
			}
			child, err := h.iblock(w, c, rows, rows, off)
			if err != nil {
				return err
			}
			if err := walk(child, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	root, err := h.iblock(w, h.RootAddr, int(h.RootRows), h.maxRootRows, 0)
	if err != nil {
		return err
	}
	return walk(root, 0)
}

// directBlocks visits every allocated direct block: its heap offset, size
// and address.
func (h *FractalHeap) directBlocks(visit func(off, size, addr uint64) error) error {
	if h.RootAddr == Undefined {
		return nil
	}
	if h.RootRows == 0 {
		return visit(0, h.StartBlockSize, h.RootAddr)
	}
	seen := map[uint64]bool{}
	var walk func(addr uint64, nrows int, blockOff uint64, depth int) error
	walk = func(addr uint64, nrows int, blockOff uint64, depth int) error {
		if seen[addr] || depth > heapMaxDepth {
			return Corruptf(addr, "fractal heap indirect block", "block reached twice")
		}
		seen[addr] = true
		ib, err := h.indirect(addr, nrows, blockOff)
		if err != nil {
			return err
		}
		width := int(h.TableWidth)
		for i, c := range ib.addrs {
			if c == Undefined {
				continue
			}
			row := i / width
			off := blockOff + h.rowBlockOff[row] + uint64(i%width)*h.rowBlockSize[row]
			if row < h.maxDirectRows {
				if err := visit(off, h.rowBlockSize[row], c); err != nil {
					return err
				}
				continue
			}
			rows := h.sizeToRows(h.rowBlockSize[row])
			if rows >= nrows || rows < 1 {
				return Corruptf(addr, "fractal heap indirect block", "child of %d rows under %d rows", rows, nrows)
			}
			if err := walk(c, rows, off, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(h.RootAddr, int(h.RootRows), 0, 0)
}

// managedID decodes and checks a managed object's ID as H5HF_man_remove
// does: its heap offset and length.
func (h *FractalHeap) managedID(id []byte) (off, n uint64, err error) {
	const what = "fractal heap ID"
	if len(id) < 1+h.heapOffSize+h.heapLenSize {
		return 0, 0, Corruptf(h.Addr, what, "managed object ID of %d bytes", len(id))
	}
	off = DecodeUint(id[1 : 1+h.heapOffSize])
	n = DecodeUint(id[1+h.heapOffSize : 1+h.heapOffSize+h.heapLenSize])
	switch {
	case off == 0 || off > h.ManagedSpace:
		return 0, 0, Corruptf(h.Addr, what, "object offset %d in a %d-byte managed space", off, h.ManagedSpace)
	case n == 0 || n > h.MaxDirectBlockSize || n > uint64(h.MaxManagedSize):
		return 0, 0, Corruptf(h.Addr, what, "managed object of %d bytes", n)
	}
	return off, n, nil
}

// directBlockAt finds the allocated direct block holding heap offset off
// (H5HF_man_dblock_locate): its address, size and heap offset.
func (h *FractalHeap) directBlockAt(off uint64) (addr, size, blockOff uint64, err error) {
	const what = "fractal heap indirect block"
	if h.RootAddr == Undefined {
		return 0, 0, 0, Corruptf(h.Addr, "fractal heap", "object at %d in an empty heap", off)
	}
	if h.RootRows == 0 {
		return h.RootAddr, h.StartBlockSize, 0, nil
	}
	iaddr, nrows := h.RootAddr, int(h.RootRows)
	for depth := 0; depth <= heapMaxDepth; depth++ {
		ib, err := h.indirect(iaddr, nrows, blockOff)
		if err != nil {
			return 0, 0, 0, err
		}
		row, col := h.lookup(off - blockOff)
		if row >= ib.nrows {
			return 0, 0, 0, Corruptf(iaddr, what, "heap offset %d beyond its %d rows", off, ib.nrows)
		}
		c := ib.addrs[row*int(h.TableWidth)+col]
		childOff := blockOff + h.rowBlockOff[row] + uint64(col)*h.rowBlockSize[row]
		if c == Undefined {
			return 0, 0, 0, Corruptf(iaddr, what, "heap offset %d in an unallocated block", off)
		}
		if row < h.maxDirectRows {
			return c, h.rowBlockSize[row], childOff, nil
		}
		rows := h.sizeToRows(h.rowBlockSize[row])
		if rows >= nrows || rows < 1 {
			return 0, 0, 0, Corruptf(iaddr, what, "child of %d rows under %d rows", rows, nrows)
		}
		iaddr, nrows, blockOff = c, rows, childOff
	}
	return 0, 0, 0, Corruptf(iaddr, what, "indirect blocks nest deeper than %d", heapMaxDepth)
}

// sizeToRow is H5HF_dtable_size_to_row: the row of direct blocks of a size.
func (h *FractalHeap) sizeToRow(size uint64) int {
	if size == h.StartBlockSize {
		return 0
	}
	return log2Floor(size) - h.startBits + 1
}

// sizeToRows is H5HF_dtable_size_to_rows: the rows of an indirect block
// spanning size bytes.
func (h *FractalHeap) sizeToRows(size uint64) int {
	return log2Floor(size) - h.firstRowBits + 1
}

// span is the heap space of the first nrows rows of an indirect block.
func (h *FractalHeap) span(nrows int) uint64 {
	last := nrows - 1
	end, carry := bits.Add64(h.rowBlockOff[last], h.rowBlockSize[last]*uint64(h.TableWidth), 0)
	if carry != 0 {
		return math.MaxUint64
	}
	return end
}

// spanSize is H5HF_dtable_span_size: the heap space of n entries from
// entry start of an indirect block.
func (h *FractalHeap) spanSize(start, n int) (uint64, error) {
	width := int(h.TableWidth)
	sr, sc := start/width, start%width
	end := start + n - 1
	er, ec := end/width, end%width
	if n <= 0 || er >= h.maxRootRows {
		return 0, Corruptf(h.Addr, "fractal heap", "%d entries from entry %d beyond the doubling table", n, start)
	}
	if sr == er {
		return h.rowBlockSize[sr] * uint64(ec-sc+1), nil
	}
	var acc uint64
	if sc > 0 {
		acc = h.rowBlockSize[sr] * uint64(width-sc)
		sr++
	}
	for ; sr < er; sr++ {
		acc += h.rowBlockSize[sr] * uint64(width)
	}
	return acc + h.rowBlockSize[er]*uint64(ec+1), nil
}

// indirectSize is H5HF_MAN_INDIRECT_SIZE for an unfiltered heap.
func (h *FractalHeap) indirectSize(nrows int) uint64 {
	so := uint64(h.r.Sizes.Offset)
	return uint64(4+1+h.r.Sizes.Offset+h.heapOffSize+4) + uint64(nrows)*uint64(h.TableWidth)*so
}

func (h *FractalHeap) uncache(addr uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.blocks, addr)
}

// Insert stores obj and returns its heap ID: in the ID itself when it is
// small enough ("tiny"), on its own when it is bigger than the heap's
// largest managed object ("huge", unfiltered), else in a direct block. It
// rewrites the header. Edits must not overlap reads of the same
// FractalHeap; readers open their own.
func (h *FractalHeap) Insert(s Space, obj []byte) ([]byte, error) {
	h.wmu.Lock()
	defer h.wmu.Unlock()
	w, err := h.writer()
	if err != nil {
		return nil, err
	}
	n := len(obj)
	var id []byte
	switch {
	case n == 0:
		return nil, fmt.Errorf("fractal heap at 0x%x: empty object: %w", h.Addr, ErrUnsupported)
	case uint64(n) > uint64(h.MaxManagedSize):
		id, err = h.insertHuge(s, obj)
	case n <= w.tinyMax:
		id = h.insertTiny(obj)
	default:
		id, err = h.insertManaged(s, w, obj)
	}
	if err != nil {
		return nil, err
	}
	return id, h.writeHeader(s)
}

// Remove deletes the object a heap ID names and rewrites the header.
func (h *FractalHeap) Remove(s Space, id []byte) error {
	h.wmu.Lock()
	defer h.wmu.Unlock()
	w, err := h.writer()
	if err != nil {
		return err
	}
	if len(id) == 0 || len(id) > int(h.IDLen) {
		return Corruptf(h.Addr, "fractal heap ID", "%d-byte heap ID", len(id))
	}
	if v := id[0] & heapIDVersionMask; v != 0 {
		return Unsupportedf(h.Addr, "fractal heap ID", "heap ID version %d", v>>6)
	}
	switch id[0] & heapIDTypeMask {
	case heapIDManaged:
		err = h.removeManaged(w, id)
	case heapIDHuge:
		err = h.removeHuge(s, id)
	case heapIDTiny:
		err = h.removeTiny(id)
	default:
		err = Corruptf(h.Addr, "fractal heap ID", "reserved heap ID type 0x%02x", id[0])
	}
	if err != nil {
		return err
	}
	return h.writeHeader(s)
}

// Write replaces the object a heap ID names with obj of the same length,
// in place, as H5HF_write does; tiny objects answer ErrUnsupported (their
// ID would change).
func (h *FractalHeap) Write(s Space, id, obj []byte) error {
	h.wmu.Lock()
	defer h.wmu.Unlock()
	if _, err := h.writer(); err != nil {
		return err
	}
	if len(id) == 0 {
		return Corruptf(h.Addr, "fractal heap ID", "empty heap ID")
	}
	if v := id[0] & heapIDVersionMask; v != 0 {
		return Unsupportedf(h.Addr, "fractal heap ID", "heap ID version %d", v>>6)
	}
	switch id[0] & heapIDTypeMask {
	case heapIDManaged:
		off, n, err := h.managedID(id)
		if err != nil {
			return err
		}
		if n != uint64(len(obj)) {
			return fmt.Errorf("fractal heap at 0x%x: %d bytes over a %d-byte object: %w", h.Addr, len(obj), n, ErrUnsupported)
		}
		addr, size, blockOff, err := h.directBlockAt(off)
		if err != nil {
			return err
		}
		if off-blockOff < uint64(h.directOverhead()) || n > size-(off-blockOff) {
			return Corruptf(h.Addr, "fractal heap ID", "object at %d of %d bytes outside its direct block", off, n)
		}
		return h.writeObject(s, addr, size, blockOff, off-blockOff, obj)
	case heapIDHuge:
		addr, n, _, err := h.hugeLocation(id)
		if err != nil {
			return err
		}
		if n != uint64(len(obj)) {
			return fmt.Errorf("fractal heap at 0x%x: %d bytes over a %d-byte huge object: %w", h.Addr, len(obj), n, ErrUnsupported)
		}
		if end := addr + n + h.r.Base; end < addr || end > uint64(h.r.FileSize()) {
			return Corruptf(addr, "fractal heap huge object", "%d bytes past the end of the file", n)
		}
		return s.WriteAt(obj, addr)
	case heapIDTiny:
		return Unsupportedf(h.Addr, "fractal heap ID", "rewriting a tiny object")
	}
	return Corruptf(h.Addr, "fractal heap ID", "reserved heap ID type 0x%02x", id[0])
}

// writeHeader writes the header back; the first time, it also lets go of
// the heap's free-space manager, whose sections no longer describe the
// heap.
func (h *FractalHeap) writeHeader(s Space) error {
	if h.w.releaseFS {
		h.releaseFreeSpaceManager(s)
		h.w.releaseFS = false
	}
	return s.WriteAt(h.encodeHeader(), h.Addr)
}

// releaseFreeSpaceManager frees the heap's free-space manager header and
// section list (H5FS_HEADER_SIZE, H5FS__cache_hdr_serialize) and forgets
// them. What cannot be read is left where it is: nothing references it any
// more.
func (h *FractalHeap) releaseFreeSpaceManager(s Space) {
	addr := h.FreeSpaceManagerAddr
	h.FreeSpaceManagerAddr = Undefined
	so, sl := h.r.Sizes.Offset, h.r.Sizes.Length
	size := 4 + 1 + 1 + 4*sl + 4*2 + sl + so + sl + sl + 4
	d, err := h.r.ReadBlock(addr, size, "FSHD", "free-space manager header")
	if err != nil {
		return
	}
	d.U8() // client
	for i := 0; i < 4; i++ {
		d.Length()
	}
	d.Skip(8)
	d.Length()
	sectAddr := d.Offset()
	d.Length()
	sectAlloc := d.Length()
	if d.Err() != nil {
		return
	}
	s.Free(addr, uint64(size))
	if sectAddr != Undefined && sectAlloc > 0 && sectAlloc <= uint64(h.r.FileSize()) {
		if sig, err := h.r.Read(sectAddr, 4, "free-space section list"); err == nil && string(sig) == "FSSE" {
			s.Free(sectAddr, sectAlloc)
		}
	}
}

// insertTiny is H5HF_tiny_insert.
func (h *FractalHeap) insertTiny(obj []byte) []byte {
	id := make([]byte, h.IDLen)
	n := len(obj) - 1
	if !h.tinyExtended {
		id[0] = heapIDTiny | byte(n&0x0f)
		copy(id[1:], obj)
	} else {
		id[0] = heapIDTiny | byte(n&0x0f00>>8)
		id[1] = byte(n)
		copy(id[2:], obj)
	}
	h.TinySize += uint64(len(obj))
	h.TinyObjects++
	return id
}

// removeTiny is H5HF_tiny_remove.
func (h *FractalHeap) removeTiny(id []byte) error {
	obj, err := h.tiny(id)
	if err != nil {
		return err
	}
	if h.TinyObjects == 0 || h.TinySize < uint64(len(obj)) {
		return Corruptf(h.Addr, "fractal heap header", "%d tiny objects of %d bytes, removing one of %d", h.TinyObjects, h.TinySize, len(obj))
	}
	h.TinySize -= uint64(len(obj))
	h.TinyObjects--
	return nil
}

// insertManaged is H5HF_man_insert.
func (h *FractalHeap) insertManaged(s Space, w *heapWriter, obj []byte) ([]byte, error) {
	n := uint64(len(obj))
	// A skipped block that fits better than the free space in allocated
	// blocks is made first.
	j := sort.Search(len(w.slots), func(i int) bool { return w.slots[i].free >= n })
	if j < len(w.slots) {
		k := sort.Search(len(w.free.bySize), func(i int) bool { return w.free.bySize[i].size >= n })
		if k == len(w.free.bySize) || w.free.bySize[k].size > w.slots[j].free {
			if err := h.fillSlot(s, w, j); err != nil {
				return nil, err
			}
		}
	}
	off, ok := w.free.take(n)
	if !ok {
		if err := h.newDirectBlock(s, w, n); err != nil {
			return nil, err
		}
		if off, ok = w.free.take(n); !ok {
			return nil, fmt.Errorf("fractal heap at 0x%x: new direct block without room for %d bytes: %w", h.Addr, n, ErrCorrupt)
		}
	}
	addr, size, blockOff, err := h.directBlockAt(off)
	if err != nil {
		return nil, err
	}
	if err := h.writeObject(s, addr, size, blockOff, off-blockOff, obj); err != nil {
		return nil, err
	}
	if h.FreeSpace < n {
		return nil, Corruptf(h.Addr, "fractal heap header", "%d bytes free, %d stored", h.FreeSpace, n)
	}
	h.ManagedObjects++
	h.FreeSpace -= n
	id := make([]byte, h.IDLen)
	putUint(id[1:1+h.heapOffSize], off)
	putUint(id[1+h.heapOffSize:1+h.heapOffSize+h.heapLenSize], n)
	return id, nil
}

func putUint(b []byte, v uint64) {
	for i := range b {
		b[i] = byte(v >> (8 * uint(i)))
	}
}

// removeManaged is H5HF_man_remove: the object's space goes back to the
// free space; the block itself is not touched.
func (h *FractalHeap) removeManaged(w *heapWriter, id []byte) error {
	off, n, err := h.managedID(id)
	if err != nil {
		return err
	}
	_, size, blockOff, err := h.directBlockAt(off)
	if err != nil {
		return err
	}
	rel := off - blockOff
	if rel < uint64(h.directOverhead()) || n > size-rel {
		return Corruptf(h.Addr, "fractal heap ID", "object at %d of %d bytes outside its direct block", off, n)
	}
	if h.ManagedObjects == 0 {
		return Corruptf(h.Addr, "fractal heap header", "removing an object from a heap of none")
	}
	if !w.free.add(off, n) {
		return Corruptf(h.Addr, "fractal heap ID", "object at %d of %d bytes is free space already", off, n)
	}
	h.ManagedObjects--
	h.FreeSpace += n
	return nil
}

// writeObject writes obj at rel in the direct block at addr and refreshes
// the block's checksum.
func (h *FractalHeap) writeObject(s Space, addr, size, blockOff, rel uint64, obj []byte) error {
	blk, err := h.direct(addr, size, blockOff, 0, 0)
	if err != nil {
		return err
	}
	nb := append([]byte(nil), blk...)
	copy(nb[rel:], obj)
	if err := s.WriteAt(nb[rel:rel+uint64(len(obj))], addr+rel); err != nil {
		return err
	}
	if h.Flags&heapFlagChecksumDBlocks != 0 {
		pos := uint64(5 + h.r.Sizes.Offset + h.heapOffSize)
		clear(nb[pos : pos+4])
		binary.LittleEndian.PutUint32(nb[pos:], Lookup3(nb, 0))
		if err := s.WriteAt(nb[pos:pos+4], addr+pos); err != nil {
			return err
		}
	}
	h.cache(addr, nb)
	return nil
}

// newDirectBlock is H5HF_man_dblock_new: a direct block big enough for an
// object of n bytes, where the block iterator says the next one goes. Its
// space joins the free space.
func (h *FractalHeap) newDirectBlock(s Space, w *heapWriter, n uint64) error {
	oh := uint64(h.directOverhead())
	minSize := h.StartBlockSize
	if n >= h.StartBlockSize {
		minSize = uint64(1) << (1 + log2Floor(n))
	}
	if minSize < oh+n {
		minSize *= 2
	}
	if minSize > h.MaxDirectBlockSize {
		return Corruptf(h.Addr, "fractal heap header", "a %d-byte object needs a %d-byte direct block, at most %d", n, minSize, h.MaxDirectBlockSize)
	}
	if h.RootAddr == Undefined && minSize == h.StartBlockSize {
		addr, err := h.createDirectBlock(s, 0, h.StartBlockSize)
		if err != nil {
			return err
		}
		h.RootAddr, h.RootRows = addr, 0
		h.ManagedSpace = h.StartBlockSize
		h.FreeSpace += w.rowTotFree[0]
		h.AllocatedManagedSpace += h.StartBlockSize
		w.free.add(oh, h.StartBlockSize-oh)
		return nil
	}
	if err := h.updateIter(s, w, minSize); err != nil {
		return err
	}
	lvl := &w.iter[len(w.iter)-1]
	ib, width := lvl.ib, int(h.TableWidth)
	row, col := lvl.entry/width, lvl.entry%width
	if row >= ib.nrows || row >= h.maxDirectRows {
		return Corruptf(ib.addr, "fractal heap indirect block", "block iterator at row %d of %d", row, ib.nrows)
	}
	size := h.rowBlockSize[row]
	if minSize > size {
		return Unsupportedf(h.Addr, "fractal heap", "skipping direct block sizes")
	}
	blockOff := ib.blockOff + h.rowBlockOff[row] + uint64(col)*size
	if blockOff != h.IterOffset || ib.entries[lvl.entry] != Undefined {
		return Corruptf(ib.addr, "fractal heap indirect block", "block iterator at heap offset %d meets an allocated block or offset %d", h.IterOffset, blockOff)
	}
	addr, err := h.createDirectBlock(s, blockOff, size)
	if err != nil {
		return err
	}
	h.IterOffset += size
	lvl.entry++
	ib.entries[row*width+col] = addr
	if err := h.writeIBlock(s, ib); err != nil {
		return err
	}
	h.AllocatedManagedSpace += size
	w.free.add(blockOff+oh, size-oh)
	return nil
}

// fillSlot makes the direct block of slot j.
func (h *FractalHeap) fillSlot(s Space, w *heapWriter, j int) error {
	sl := w.slots[j]
	w.slots = append(w.slots[:j], w.slots[j+1:]...)
	if sl.ib.entries[sl.entry] != Undefined {
		return Corruptf(sl.ib.addr, "fractal heap indirect block", "entry %d allocated twice", sl.entry)
	}
	oh := uint64(h.directOverhead())
	size := sl.free + oh
	addr, err := h.createDirectBlock(s, sl.blockOff, size)
	if err != nil {
		return err
	}
	sl.ib.entries[sl.entry] = addr
	if err := h.writeIBlock(s, sl.ib); err != nil {
		return err
	}
	h.AllocatedManagedSpace += size
	if !w.free.add(sl.blockOff+oh, sl.free) {
		return Corruptf(h.Addr, "fractal heap", "new direct block at %d overlaps free space", sl.blockOff)
	}
	return nil
}

// createDirectBlock allocates and writes an empty direct block
// (H5HF_man_dblock_create, H5HF__cache_dblock_serialize).
func (h *FractalHeap) createDirectBlock(s Space, blockOff, size uint64) (uint64, error) {
	addr, err := s.Alloc(size)
	if err != nil {
		return 0, err
	}
	e := &Encoder{Sizes: h.r.Sizes}
	e.Bytes([]byte("FHDB"))
	e.U8(0)
	e.Offset(h.Addr)
	e.Uint(blockOff, h.heapOffSize)
	blk := make([]byte, size)
	pos := copy(blk, e.Buf)
	if h.Flags&heapFlagChecksumDBlocks != 0 {
		// The checksum covers the whole block, its own field zeroed.
		binary.LittleEndian.PutUint32(blk[pos:], Lookup3(blk, 0))
	}
	if err := s.WriteAt(blk, addr); err != nil {
		return 0, err
	}
	h.cache(addr, blk)
	return addr, nil
}

// writeIBlock writes an indirect block (H5HF__cache_iblock_serialize) and
// drops the reader's copy of it.
func (h *FractalHeap) writeIBlock(s Space, ib *heapIBlock) error {
	e := &Encoder{Sizes: h.r.Sizes}
	e.Bytes([]byte("FHIB"))
	e.U8(0)
	e.Offset(h.Addr)
	e.Uint(ib.blockOff, h.heapOffSize)
	for _, a := range ib.entries {
		e.Offset(a)
	}
	e.AppendChecksum()
	if uint64(len(e.Buf)) != h.indirectSize(ib.nrows) {
		return fmt.Errorf("fractal heap at 0x%x: indirect block of %d bytes for %d rows: %w", h.Addr, len(e.Buf), ib.nrows, ErrCorrupt)
	}
	h.uncache(ib.addr)
	return s.WriteAt(e.Buf, ib.addr)
}

// iblock returns the editable indirect block at addr, read from the file
// the first time: one copy of each, shared by the iterator and the slots.
func (h *FractalHeap) iblock(w *heapWriter, addr uint64, nrows, maxRows int, blockOff uint64) (*heapIBlock, error) {
	if ib := w.iblocks[addr]; ib != nil {
		if ib.nrows != nrows || ib.blockOff != blockOff {
			return nil, Corruptf(addr, "fractal heap indirect block", "block reached at two places in the heap")
		}
		return ib, nil
	}
	ib, err := h.indirect(addr, nrows, blockOff)
	if err != nil {
		return nil, err
	}
	e := &heapIBlock{addr: addr, nrows: nrows, maxRows: maxRows, blockOff: blockOff,
		entries: append([]uint64(nil), ib.addrs...)}
	w.iblocks[addr] = e
	return e, nil
}

// iterStart is H5HF_man_iter_start_offset: the block iterator at heap
// offset off, where the next block goes.
func (h *FractalHeap) iterStart(w *heapWriter, off uint64) ([]heapIterLevel, error) {
	const what = "fractal heap indirect block"
	ib, err := h.iblock(w, h.RootAddr, int(h.RootRows), h.maxRootRows, 0)
	if err != nil {
		return nil, err
	}
	width := uint64(h.TableWidth)
	var iter []heapIterLevel
	for depth := 0; ; depth++ {
		if depth > heapMaxDepth {
			return nil, Corruptf(ib.addr, what, "indirect blocks nest deeper than %d", heapMaxDepth)
		}
		row := -1
		for r := 0; r < h.maxRootRows; r++ {
			end, carry := bits.Add64(h.rowBlockOff[r], width*h.rowBlockSize[r], 0)
			if off >= h.rowBlockOff[r] && (carry != 0 || off < end) {
				row = r
				break
			}
		}
		if row < 0 {
			return nil, Unsupportedf(h.Addr, "fractal heap", "heap full: next block at offset %d", off)
		}
		cur := off - h.rowBlockOff[row]
		col := cur / h.rowBlockSize[row]
		entry := row*int(width) + int(col)
		iter = append(iter, heapIterLevel{ib: ib, entry: entry})
		if cur == col*h.rowBlockSize[row] || row < h.maxDirectRows {
			return iter, nil
		}
		if row >= ib.nrows || ib.entries[entry] == Undefined {
			return nil, Corruptf(ib.addr, what, "block iterator offset %d inside a missing indirect block", h.IterOffset)
		}
		rows := h.sizeToRows(h.rowBlockSize[row])
		if rows >= ib.nrows || rows < 1 {
			return nil, Corruptf(ib.addr, what, "child of %d rows under %d rows", rows, ib.nrows)
		}
		child, err := h.iblock(w, ib.entries[entry], rows, rows, ib.blockOff+h.rowBlockOff[row]+col*h.rowBlockSize[row])
		if err != nil {
			return nil, err
		}
		off = cur - col*h.rowBlockSize[row]
		ib = child
	}
}

// skipBlocks is H5HF_hdr_skip_blocks: the iterator passes n entries,
// which stay unallocated; the direct blocks among them become slots (as
// libhdf5 makes them free-space sections).
func (h *FractalHeap) skipBlocks(w *heapWriter, lvl *heapIterLevel, n int) error {
	span, err := h.spanSize(lvl.entry, n)
	if err != nil {
		return err
	}
	width, oh := int(h.TableWidth), uint64(h.directOverhead())
	for e := lvl.entry; e < lvl.entry+n && e < len(lvl.ib.entries); e++ {
		row := e / width
		if row >= h.maxDirectRows || lvl.ib.entries[e] != Undefined {
			continue
		}
		w.addSlot(heapSlot{ib: lvl.ib, entry: e, free: h.rowBlockSize[row] - oh,
			blockOff: lvl.ib.blockOff + h.rowBlockOff[row] + uint64(e%width)*h.rowBlockSize[row]})
	}
	h.IterOffset += span
	lvl.entry += n
	return nil
}

// updateIter is H5HF_hdr_update_iter: it moves the block iterator to where
// a direct block of at least minSize bytes goes, growing the root indirect
// block and creating child indirect blocks on the way.
func (h *FractalHeap) updateIter(s Space, w *heapWriter, minSize uint64) error {
	if h.RootRows == 0 {
		// libhdf5 returns here; the walk below changes nothing then,
		// unless a root made with all its rows (start_root_rows 0) left
		// the iterator in a row of indirect blocks, which libhdf5 would
		// fill with a direct block.
		if err := h.rootCreate(s, w, minSize); err != nil {
			return err
		}
	}
	if w.iter == nil {
		iter, err := h.iterStart(w, h.IterOffset)
		if err != nil {
			return err
		}
		w.iter = iter
	}
	width := int(h.TableWidth)
	minRow := h.sizeToRow(minSize)
	top := &w.iter[len(w.iter)-1]
	if next := top.entry / width; minRow > next && next < top.ib.nrows {
		skip := minRow*width - top.entry
		if minRow >= top.ib.nrows {
			skip = top.ib.nrows*width - top.entry
		}
		if err := h.skipBlocks(w, top, skip); err != nil {
			return err
		}
	}
	for steps := 0; ; steps++ {
		if steps > heapMaxIterSteps {
			return Corruptf(h.Addr, "fractal heap", "block iterator does not settle")
		}
		walked := false
		for top = &w.iter[len(w.iter)-1]; top.entry/width >= top.ib.nrows; top = &w.iter[len(w.iter)-1] {
			if len(w.iter) == 1 {
				if err := h.rootDouble(s, w, minSize); err != nil {
					return err
				}
			} else {
				w.iter = w.iter[:len(w.iter)-1]
				w.iter[len(w.iter)-1].entry++
			}
			walked = true
		}
		row := top.entry / width
		if row >= h.maxDirectRows {
			rows := h.sizeToRows(h.rowBlockSize[row])
			if rows < 1 || rows >= top.ib.nrows {
				return Corruptf(top.ib.addr, "fractal heap indirect block", "child of %d rows under %d rows", rows, top.ib.nrows)
			}
			if h.rowBlockSize[rows-1] < minSize {
				// No direct block of the child is big enough: skip it.
				needed := log2Floor(minSize) - h.startBits + 2
				childEntry := (row + needed - rows) * width
				if childEntry > top.ib.nrows*width {
					childEntry = top.ib.nrows * width
				}
				if err := h.skipBlocks(w, top, childEntry-top.entry); err != nil {
					return err
				}
			} else {
				child, err := h.createIBlock(s, w, top, rows)
				if err != nil {
					return err
				}
				w.iter = append(w.iter, heapIterLevel{ib: child})
				if minSize > h.StartBlockSize {
					if err := h.skipBlocks(w, &w.iter[len(w.iter)-1], width*minRow); err != nil {
						return err
					}
				}
			}
			walked = true
		}
		if !walked {
			return nil
		}
	}
}

// createIBlock is H5HF_man_iblock_create for a child: an empty indirect
// block of nrows rows where the iterator level lvl points, attached to
// lvl's block.
func (h *FractalHeap) createIBlock(s Space, w *heapWriter, lvl *heapIterLevel, nrows int) (*heapIBlock, error) {
	parent, width := lvl.ib, int(h.TableWidth)
	if parent.entries[lvl.entry] != Undefined {
		return nil, Corruptf(parent.addr, "fractal heap indirect block", "block iterator meets an allocated block at entry %d", lvl.entry)
	}
	row, col := lvl.entry/width, lvl.entry%width
	ib := &heapIBlock{nrows: nrows, maxRows: nrows,
		blockOff: parent.blockOff + h.rowBlockOff[row] + uint64(col)*h.rowBlockSize[row]}
	ib.entries = make([]uint64, nrows*width)
	for i := range ib.entries {
		ib.entries[i] = Undefined
	}
	addr, err := s.Alloc(h.indirectSize(nrows))
	if err != nil {
		return nil, err
	}
	ib.addr = addr
	w.iblocks[addr] = ib
	if err := h.writeIBlock(s, ib); err != nil {
		return nil, err
	}
	parent.entries[lvl.entry] = addr
	return ib, h.writeIBlock(s, parent)
}

// rootCreate is H5HF_man_iblock_root_create: the first indirect block,
// over the root direct block if there is one.
func (h *FractalHeap) rootCreate(s Space, w *heapWriter, minSize uint64) error {
	width := int(h.TableWidth)
	nrows := h.maxRootRows
	if h.StartRootRows != 0 {
		nrows = int(h.StartRootRows)
		off := log2Floor(minSize) - h.startBits
		if off > 0 {
			off++
		}
		nrows = max(nrows, 1+off)
	}
	if nrows > h.maxRootRows {
		return Unsupportedf(h.Addr, "fractal heap", "root indirect block of %d rows, at most %d", nrows, h.maxRootRows)
	}
	ib := &heapIBlock{nrows: nrows, maxRows: h.maxRootRows, entries: make([]uint64, nrows*width)}
	for i := range ib.entries {
		ib.entries[i] = Undefined
	}
	addr, err := s.Alloc(h.indirectSize(nrows))
	if err != nil {
		return err
	}
	ib.addr = addr
	w.iblocks[addr] = ib
	have := 0
	if h.RootAddr != Undefined {
		have = 1
		ib.entries[0] = h.RootAddr
	}
	w.iter = []heapIterLevel{{ib: ib, entry: have}}
	h.IterOffset = uint64(have) * h.StartBlockSize
	if minSize > h.StartBlockSize {
		if err := h.skipBlocks(w, &w.iter[0], (nrows-1)*width-have); err != nil {
			return err
		}
	}
	if err := h.writeIBlock(s, ib); err != nil {
		return err
	}
	var acc uint64
	for u := 0; u < nrows; u++ {
		acc += w.rowTotFree[u] * uint64(width)
	}
	if have == 1 {
		acc -= w.rowTotFree[0]
	}
	h.RootAddr, h.RootRows = addr, uint16(nrows)
	h.ManagedSpace = h.span(nrows)
	h.FreeSpace += acc
	return nil
}

// rootDouble is H5HF_man_iblock_root_double: the root indirect block,
// full, moves to a block of twice its rows (or enough for a direct block
// of minSize).
func (h *FractalHeap) rootDouble(s Space, w *heapWriter, minSize uint64) error {
	lvl := &w.iter[0]
	ib, width := lvl.ib, int(h.TableWidth)
	next := lvl.entry / width
	if next >= h.maxRootRows || ib.nrows >= ib.maxRows {
		return Unsupportedf(h.Addr, "fractal heap", "heap full: root indirect block of %d rows", ib.nrows)
	}
	old := ib.nrows
	skip, minRows, newNext := false, 0, 0
	if old < h.maxDirectRows && minSize > h.rowBlockSize[next] {
		skip = true
		minRows = 1 + h.sizeToRow(minSize)
		newNext = (minRows - 1) * width
	}
	nrows := max(minRows, min(2*old, ib.maxRows))
	if nrows > h.maxRootRows {
		return Unsupportedf(h.Addr, "fractal heap", "root indirect block of %d rows, at most %d", nrows, h.maxRootRows)
	}
	addr, err := s.Alloc(h.indirectSize(nrows))
	if err != nil {
		return err
	}
	s.Free(ib.addr, h.indirectSize(old))
	h.uncache(ib.addr)
	delete(w.iblocks, ib.addr)
	ib.addr, ib.nrows = addr, nrows
	w.iblocks[addr] = ib
	for len(ib.entries) < nrows*width {
		ib.entries = append(ib.entries, Undefined)
	}
	if skip {
		if err := h.skipBlocks(w, lvl, newNext-lvl.entry); err != nil {
			return err
		}
	}
	var acc uint64
	for u := old * width; u < nrows*width; u++ {
		acc += w.rowTotFree[u/width]
	}
	if err := h.writeIBlock(s, ib); err != nil {
		return err
	}
	h.RootAddr, h.RootRows = addr, uint16(nrows)
	h.ManagedSpace = h.span(nrows)
	h.FreeSpace += acc
	return nil
}

// hugeRecord describes the v2 B-tree records of huge objects of this
// (unfiltered) heap: directly addressed ones (type 3: address, length)
// or through an ID (type 1: address, length, ID).
func (h *FractalHeap) hugeRecord() (typ uint8, size int) {
	so, sl := h.r.Sizes.Offset, h.r.Sizes.Length
	if h.hugeDirect {
		return BTree2HugeDirect, so + sl
	}
	return BTree2HugeIndirect, so + 2*sl
}

// hugeTree opens, or with create makes (H5HF_huge_bt2_create), the v2
// B-tree of huge objects.
func (h *FractalHeap) hugeTree(s Space, create bool) (*BTree2, error) {
	typ, size := h.hugeRecord()
	if h.HugeBTreeAddr == Undefined {
		if !create {
			return nil, Corruptf(h.Addr, "fractal heap", "huge object ID but no huge object B-tree")
		}
		bt, err := CreateBTree2(h.r, s, BTree2Create{Type: typ, NodeSize: hugeBTreeNodeSize,
			RecordSize: uint16(size), SplitPercent: hugeBTreeSplit, MergePercent: hugeBTreeMerge})
		if err != nil {
			return nil, err
		}
		h.HugeBTreeAddr = bt.Addr
		h.mu.Lock()
		h.huge = bt
		h.mu.Unlock()
		return bt, nil
	}
	if !h.hugeDirect {
		return h.hugeBTree()
	}
	h.mu.Lock()
	bt := h.huge
	h.mu.Unlock()
	if bt != nil {
		return bt, nil
	}
	bt, err := ReadBTree2(h.r, h.HugeBTreeAddr)
	if err != nil {
		return nil, err
	}
	if bt.Type != typ || int(bt.RecordSize) != size {
		return nil, Corruptf(h.HugeBTreeAddr, "v2 B-tree header", "type %d with %d-byte records for directly addressed huge objects", bt.Type, bt.RecordSize)
	}
	h.mu.Lock()
	h.huge = bt
	h.mu.Unlock()
	return bt, nil
}

// hugeCompare orders huge object records: by ID, or by address and length
// for directly addressed objects (H5HF__huge_bt2_indir_compare,
// H5HF__huge_bt2_dir_compare).
func (h *FractalHeap) hugeCompare(addr, length, key uint64) func(rec []byte) int {
	so, sl := h.r.Sizes.Offset, h.r.Sizes.Length
	cmp := func(a, b uint64) int {
		switch {
		case a < b:
			return -1
		case a > b:
			return 1
		}
		return 0
	}
	if h.hugeDirect {
		return func(rec []byte) int {
			if c := cmp(addr, DecodeUint(rec[:so])); c != 0 {
				return c
			}
			return cmp(length, DecodeUint(rec[so:so+sl]))
		}
	}
	return func(rec []byte) int { return cmp(key, DecodeUint(rec[so+sl:so+2*sl])) }
}

// insertHuge is H5HF_huge_insert for unfiltered heaps.
func (h *FractalHeap) insertHuge(s Space, obj []byte) ([]byte, error) {
	var key uint64
	if !h.hugeDirect {
		// H5HF_huge_new_id
		if h.Flags&heapFlagHugeIDsWrapped != 0 {
			return nil, Unsupportedf(h.Addr, "fractal heap", "huge object IDs have wrapped around")
		}
		maxID := uint64(math.MaxUint64)
		if h.hugeIDSize < 8 {
			maxID = uint64(1)<<(8*uint(h.hugeIDSize)) - 1
		}
		if h.NextHugeID >= maxID {
			return nil, Corruptf(h.Addr, "fractal heap header", "next huge object ID %d beyond %d", h.NextHugeID, maxID)
		}
		key = h.NextHugeID + 1
	}
	bt, err := h.hugeTree(s, true)
	if err != nil {
		return nil, err
	}
	n := uint64(len(obj))
	addr, err := s.Alloc(n)
	if err != nil {
		return nil, err
	}
	if err := s.WriteAt(obj, addr); err != nil {
		return nil, err
	}
	e := &Encoder{Sizes: h.r.Sizes}
	e.Offset(addr)
	e.Length(n)
	id := make([]byte, h.IDLen)
	id[0] = heapIDHuge
	if h.hugeDirect {
		copy(id[1:], e.Buf)
	} else {
		e.Length(key)
		putUint(id[1:1+h.hugeIDSize], key)
	}
	inserted, err := bt.Update(s, h.hugeCompare(addr, n, key), e.Buf)
	if err != nil {
		return nil, err
	}
	if !inserted {
		return nil, Corruptf(h.HugeBTreeAddr, "v2 B-tree", "huge object record (ID %d, address 0x%x) already present", key, addr)
	}
	if !h.hugeDirect {
		h.NextHugeID = key
		if key == uint64(math.MaxUint64) || h.hugeIDSize < 8 && key == uint64(1)<<(8*uint(h.hugeIDSize))-1 {
			h.Flags |= heapFlagHugeIDsWrapped
		}
	}
	h.HugeSize += n
	h.HugeObjects++
	return id, nil
}

// hugeLocation finds where a huge object is stored: its address and
// length, and its B-tree comparison.
func (h *FractalHeap) hugeLocation(id []byte) (addr, length uint64, cmp func([]byte) int, err error) {
	if h.hugeDirect {
		d := NewDecoder(id[1:], h.Addr, "fractal heap ID", h.r.Sizes)
		addr, length = d.Offset(), d.Length()
		if err := d.Err(); err != nil {
			return 0, 0, nil, err
		}
		return addr, length, h.hugeCompare(addr, length, 0), nil
	}
	if len(id) < 1+h.hugeIDSize {
		return 0, 0, nil, Corruptf(h.Addr, "fractal heap ID", "huge object ID of %d bytes", len(id))
	}
	key := DecodeUint(id[1 : 1+h.hugeIDSize])
	bt, err := h.hugeTree(nil, false)
	if err != nil {
		return 0, 0, nil, err
	}
	cmp = h.hugeCompare(0, 0, key)
	rec, found, err := bt.Search(cmp)
	if err != nil {
		return 0, 0, nil, err
	}
	if !found {
		return 0, 0, nil, fmt.Errorf("fractal heap at 0x%x: huge object %d: %w", h.Addr, key, ErrNotFound)
	}
	d := NewDecoder(rec, h.HugeBTreeAddr, "v2 B-tree record", h.r.Sizes)
	addr, length = d.Offset(), d.Length()
	return addr, length, cmp, d.Err()
}

// removeHuge is H5HF_huge_remove: the record leaves the B-tree and the
// object's space is freed.
func (h *FractalHeap) removeHuge(s Space, id []byte) error {
	var cmp func([]byte) int
	if h.hugeDirect {
		_, _, c, err := h.hugeLocation(id)
		if err != nil {
			return err
		}
		cmp = c
	} else {
		if len(id) < 1+h.hugeIDSize {
			return Corruptf(h.Addr, "fractal heap ID", "huge object ID of %d bytes", len(id))
		}
		cmp = h.hugeCompare(0, 0, DecodeUint(id[1:1+h.hugeIDSize]))
	}
	bt, err := h.hugeTree(s, false)
	if err != nil {
		return err
	}
	rec, err := bt.Remove(s, cmp)
	if err != nil {
		return err
	}
	d := NewDecoder(rec, h.HugeBTreeAddr, "v2 B-tree record", h.r.Sizes)
	addr, length := d.Offset(), d.Length()
	if err := d.Err(); err != nil {
		return err
	}
	if h.HugeObjects == 0 || h.HugeSize < length {
		return Corruptf(h.Addr, "fractal heap header", "%d huge objects of %d bytes, removing one of %d", h.HugeObjects, h.HugeSize, length)
	}
	s.Free(addr, length)
	h.HugeSize -= length
	h.HugeObjects--
	return nil
}

// Delete frees the whole heap: its blocks, huge objects and their B-tree,
// its free-space manager and header (H5HF_delete). The heap must not be
// used afterwards.
func (h *FractalHeap) Delete(s Space) error {
	h.wmu.Lock()
	defer h.wmu.Unlock()
	if h.FilterLen > 0 {
		return Unsupportedf(h.Addr, "fractal heap", "deleting a heap with I/O filters")
	}
	if h.HugeBTreeAddr != Undefined {
		bt, err := h.hugeTree(s, false)
		if err != nil {
			return err
		}
		var objs [][2]uint64
		if err := bt.Walk(func(rec []byte) error {
			d := NewDecoder(rec, h.HugeBTreeAddr, "v2 B-tree record", h.r.Sizes)
			objs = append(objs, [2]uint64{d.Offset(), d.Length()})
			return d.Err()
		}); err != nil {
			return err
		}
		if err := bt.Delete(s); err != nil {
			return err
		}
		for _, o := range objs {
			s.Free(o[0], o[1])
		}
	}
	if h.RootAddr != Undefined {
		if h.RootRows == 0 {
			s.Free(h.RootAddr, h.StartBlockSize)
		} else {
			var iblocks [][2]uint64
			seen := map[uint64]bool{}
			var walk func(addr uint64, nrows int, blockOff uint64, depth int) error
			walk = func(addr uint64, nrows int, blockOff uint64, depth int) error {
				if seen[addr] || depth > heapMaxDepth {
					return Corruptf(addr, "fractal heap indirect block", "block reached twice")
				}
				seen[addr] = true
				ib, err := h.indirect(addr, nrows, blockOff)
				if err != nil {
					return err
				}
				iblocks = append(iblocks, [2]uint64{addr, h.indirectSize(nrows)})
				width := int(h.TableWidth)
				for i, c := range ib.addrs {
					row := i / width
					if c == Undefined || row < h.maxDirectRows {
						continue
					}
					rows := h.sizeToRows(h.rowBlockSize[row])
					if rows >= nrows || rows < 1 {
						return Corruptf(addr, "fractal heap indirect block", "child of %d rows under %d rows", rows, nrows)
					}
					if err := walk(c, rows, blockOff+h.rowBlockOff[row]+uint64(i%width)*h.rowBlockSize[row], depth+1); err != nil {
						return err
					}
				}
				return nil
			}
			if err := walk(h.RootAddr, int(h.RootRows), 0, 0); err != nil {
				return err
			}
			var dblocks [][2]uint64
			if err := h.directBlocks(func(_, size, addr uint64) error {
				dblocks = append(dblocks, [2]uint64{addr, size})
				return nil
			}); err != nil {
				return err
			}
			for _, b := range append(dblocks, iblocks...) {
				s.Free(b[0], b[1])
			}
		}
	}
	if h.FreeSpaceManagerAddr != Undefined {
		h.releaseFreeSpaceManager(s)
	}
	s.Free(h.Addr, uint64(len(h.encodeHeader())))
	h.mu.Lock()
	h.blocks = map[uint64]any{}
	h.mu.Unlock()
	return nil
}
