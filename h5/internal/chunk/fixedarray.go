package chunk

import (
	"sync"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// fixedArray is the fixed array chunk index (layout version 4, index type
// 3), used when no dimension is unlimited. One element per chunk of the
// maximum chunk grid sits in a data block; when there are more elements
// than fit a page (2^page bits), the data block holds a bitmap of
// initialized pages and the pages, each with its own checksum, follow it.
//
// Layout (HDF5 File Format Specification, "The Fixed Array Index";
// libhdf5 H5FAcache.c, H5FApkg.h):
//
//	header "FAHD": version 0, client ID, element size, page bits,
//	    number of elements (size of lengths), data block address, checksum
//	data block "FADB": version 0, client ID, header address,
//	    page bitmap (paged) | elements (not paged), checksum
//	page i at data block + prefix size + i * (page elements * element size + 4):
//	    elements, checksum
type fixedArray struct {
	p     Params
	codec elemCodec
	lin   *linearizer

	hdrAddr  uint64
	client   uint8
	pageBits uint8
	nelmts   uint64

	// geometry of the data block, from the header
	paged      bool
	pageNelmts uint64
	npages     uint64
	prefixSize uint64 // data block bytes before its elements or pages, checksum included
	pageSize   uint64 // bytes of a full page, with its checksum

	// The data block as last read or written: guarded by mu, and replaced
	// (never changed in place) by writes, so that a reader's copy stays
	// consistent.
	mu       sync.Mutex
	dblkAddr uint64 // Undefined until the first chunk is written
	raw      []byte // the data block without its checksum
	elems    []byte // not paged: the elements (within raw)
	pageInit []byte // paged: the bitmap of initialized pages (within raw)

	hdrUnwritten bool // writing: the header was allocated, not yet written

	pages blockCache[[]byte]
}

// faState is a consistent copy of the data block fields.
type faState struct {
	dblkAddr uint64
	raw      []byte
	elems    []byte
	pageInit []byte
}

func (fa *fixedArray) state() faState {
	fa.mu.Lock()
	defer fa.mu.Unlock()
	return faState{dblkAddr: fa.dblkAddr, raw: fa.raw, elems: fa.elems, pageInit: fa.pageInit}
}

// setState records a new data block; the caller holds fa.mu.
func (fa *fixedArray) setState(st faState) {
	fa.dblkAddr, fa.raw, fa.elems, fa.pageInit = st.dblkAddr, st.raw, st.elems, st.pageInit
}

const (
	faHeaderWhat = "fixed array header"
	faDblockWhat = "fixed array data block"
	faPageWhat   = "fixed array data block page"
)

func openFixedArray(p Params) (Index, error) {
	fa, err := readFixedArrayHeader(p)
	if err != nil || fa == nil {
		return emptyIndex{}, err
	}
	return fa, nil
}

// readFixedArrayHeader reads the header and the data block. It returns
// nil when the array has no element (a maximum extent of zero).
func readFixedArrayHeader(p Params) (*fixedArray, error) {
	r := p.R
	addr := p.Layout.Addr
	osz, lsz := uint64(r.Sizes.Offset), uint64(r.Sizes.Length)
	if lsz < 1 || lsz > 8 || osz < 1 || osz > 8 {
		return nil, format.Corruptf(addr, faHeaderWhat, "sizes of offsets %d and lengths %d", osz, lsz)
	}
	buf, err := readBlock(r, addr, faHeaderSize(r.Sizes), faHeaderWhat)
	if err != nil {
		return nil, err
	}
	d := format.NewDecoder(buf, addr, faHeaderWhat, r.Sizes)
	d.Signature("FAHD")
	version := d.U8()
	client := d.U8()
	elemSize := d.U8()
	pageBits := d.U8()
	fa := &fixedArray{p: p, hdrAddr: addr, client: client, pageBits: pageBits}
	fa.nelmts = d.Length()
	dblkAddr := d.Offset()
	if err := d.Err(); err != nil {
		return nil, err
	}
	if version != 0 {
		return nil, format.Unsupportedf(addr, faHeaderWhat, "version %d", version)
	}
	if fa.codec, err = newElemCodec(&p, addr, faHeaderWhat, client, elemSize); err != nil {
		return nil, err
	}
	if fa.lin, err = newLinearizer(&p, -1, faHeaderWhat); err != nil {
		return nil, err
	}
	if fa.nelmts != fa.lin.size {
		return nil, format.Corruptf(addr, faHeaderWhat, "%d elements for a maximum chunk grid of %d chunks", fa.nelmts, fa.lin.size)
	}
	if pageBits >= 64 {
		return nil, format.Corruptf(addr, faHeaderWhat, "page bits %d", pageBits)
	}
	if fa.nelmts == 0 {
		return nil, nil
	}
	fa.setGeometry()
	fa.dblkAddr = format.Undefined
	if dblkAddr == format.Undefined {
		return fa, nil // no chunk written yet
	}
	es := uint64(fa.codec.elemSize)
	// Every element occupies file space: a count beyond what the file can
	// hold is corrupt, and bounding it keeps every size below from
	// overflowing.
	if fa.nelmts > uint64(r.FileSize())/es {
		return nil, format.Corruptf(addr, faHeaderWhat, "%d elements of %d bytes exceed the file (%d bytes)", fa.nelmts, es, r.FileSize())
	}
	size := fa.prefixSize
	if !fa.paged {
		size += fa.nelmts * es
	}
	buf, err = readBlock(r, dblkAddr, size, faDblockWhat)
	if err != nil {
		return nil, err
	}
	d = format.NewDecoder(buf, dblkAddr, faDblockWhat, r.Sizes)
	d.Signature("FADB")
	version = d.U8()
	dclient := d.U8()
	owner := d.Offset()
	if err := d.Err(); err != nil {
		return nil, err
	}
	if version != 0 {
		return nil, format.Unsupportedf(dblkAddr, faDblockWhat, "version %d", version)
	}
	if dclient != client {
		return nil, format.Corruptf(dblkAddr, faDblockWhat, "client ID %d, header says %d", dclient, client)
	}
	if owner != addr {
		return nil, format.Corruptf(dblkAddr, faDblockWhat, "belongs to header 0x%x, not 0x%x", owner, addr)
	}
	fa.dblkAddr, fa.raw = dblkAddr, buf[:len(buf)-4]
	rest := buf[d.Pos() : len(buf)-4]
	if fa.paged {
		fa.pageInit = rest
	} else {
		fa.elems = rest
	}
	return fa, nil
}

// faHeaderSize is the size of a fixed array header, checksum included.
func faHeaderSize(s format.Sizes) uint64 {
	return 4 + 1 + 1 + 1 + 1 + uint64(s.Length) + uint64(s.Offset) + 4
}

// setGeometry computes the data block's layout from the header
// (H5FA__dblock_alloc, H5FA_DBLOCK_PREFIX_SIZE): paged when the elements
// outnumber a page, with a bitmap of initialized pages in the prefix.
func (fa *fixedArray) setGeometry() {
	osz := uint64(fa.p.R.Sizes.Offset)
	fa.pageNelmts = uint64(1) << fa.pageBits
	fa.paged = fa.nelmts > fa.pageNelmts
	fa.prefixSize = 4 + 1 + 1 + osz + 4 // signature, version, client, header address, checksum
	if fa.paged {
		fa.npages = fa.nelmts/fa.pageNelmts + boolU64(fa.nelmts%fa.pageNelmts != 0)
		fa.prefixSize += (fa.npages + 7) / 8
		fa.pageSize = fa.pageNelmts*uint64(fa.codec.elemSize) + 4
	}
}

// pageAddr is the address of page i of the data block at dblk.
func (fa *fixedArray) pageAddr(dblk, i uint64) (uint64, bool) {
	return mulAdd(i, fa.pageSize, dblk+fa.prefixSize)
}

// pageLen is the number of elements of page i (the last may be short).
func (fa *fixedArray) pageLen(i uint64) uint64 {
	if i == fa.npages-1 {
		return fa.nelmts - i*fa.pageNelmts
	}
	return fa.pageNelmts
}

// page returns the elements of page i, or nil when it was never
// initialized (all its chunks unwritten).
func (fa *fixedArray) page(st faState, i uint64) ([]byte, error) {
	if !bitSet(st.pageInit, i) {
		return nil, nil
	}
	addr, ok := fa.pageAddr(st.dblkAddr, i)
	if !ok {
		return nil, format.Corruptf(st.dblkAddr, faDblockWhat, "page %d address overflows", i)
	}
	if b, ok := fa.pages.get(addr); ok {
		return b, nil
	}
	buf, err := readBlock(fa.p.R, addr, fa.pageLen(i)*uint64(fa.codec.elemSize)+4, faPageWhat)
	if err != nil {
		return nil, err
	}
	elems := buf[:len(buf)-4]
	fa.pages.put(addr, elems, len(elems))
	return elems, nil
}

func (fa *fixedArray) Lookup(scaled []uint64) (Chunk, bool, error) {
	if err := checkScaled(scaled, len(fa.lin.max)); err != nil {
		return Chunk{}, false, err
	}
	idx, ok := fa.lin.index(scaled)
	st := fa.state()
	if !ok || idx >= fa.nelmts || st.dblkAddr == format.Undefined {
		return Chunk{}, false, nil
	}
	elems, i := st.elems, idx
	if fa.paged {
		var err error
		if elems, err = fa.page(st, idx/fa.pageNelmts); err != nil {
			return Chunk{}, false, err
		}
		i = idx % fa.pageNelmts
	}
	c, ok := fa.codec.chunk(elems, i, func() []uint64 { return append([]uint64(nil), scaled...) })
	return c, ok, nil
}

func (fa *fixedArray) Walk(visit func(Chunk) error) error {
	st := fa.state()
	if st.dblkAddr == format.Undefined {
		return nil
	}
	if !fa.paged {
		return fa.walkElems(st.elems, 0, visit)
	}
	for pg := uint64(0); pg < fa.npages; pg++ {
		elems, err := fa.page(st, pg)
		if err != nil {
			return err
		}
		if err := fa.walkElems(elems, pg*fa.pageNelmts, visit); err != nil {
			return err
		}
	}
	return nil
}

func (fa *fixedArray) walkElems(elems []byte, first uint64, visit func(Chunk) error) error {
	n := uint64(len(elems)) / uint64(fa.codec.elemSize)
	for i := uint64(0); i < n; i++ {
		idx := first + i
		c, ok := fa.codec.chunk(elems, i, func() []uint64 { return fa.lin.coords(idx) })
		if !ok {
			continue
		}
		if err := visit(c); err != nil {
			return err
		}
	}
	return nil
}
