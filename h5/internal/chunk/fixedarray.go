package chunk

import (
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

	nelmts   uint64
	dblkAddr uint64

	// not paged: the data block's elements
	elems []byte
	// paged
	paged      bool
	pageNelmts uint64
	npages     uint64
	pageInit   []byte
	pagesAddr  uint64 // address of page 0
	pageSize   uint64 // bytes of a full page, with its checksum

	pages blockCache[[]byte]
}

const (
	faHeaderWhat = "fixed array header"
	faDblockWhat = "fixed array data block"
	faPageWhat   = "fixed array data block page"
)

func openFixedArray(p Params) (Index, error) {
	r := p.R
	addr := p.Layout.Addr
	osz, lsz := uint64(r.Sizes.Offset), uint64(r.Sizes.Length)
	if lsz < 1 || lsz > 8 || osz < 1 || osz > 8 {
		return nil, format.Corruptf(addr, faHeaderWhat, "sizes of offsets %d and lengths %d", osz, lsz)
	}
	buf, err := readBlock(r, addr, 4+1+1+1+1+lsz+osz+4, faHeaderWhat)
	if err != nil {
		return nil, err
	}
	d := format.NewDecoder(buf, addr, faHeaderWhat, r.Sizes)
	d.Signature("FAHD")
	version := d.U8()
	client := d.U8()
	elemSize := d.U8()
	pageBits := d.U8()
	fa := &fixedArray{p: p}
	fa.nelmts = d.Length()
	fa.dblkAddr = d.Offset()
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
	if fa.dblkAddr == format.Undefined || fa.nelmts == 0 {
		return emptyIndex{}, nil // no chunk written yet
	}
	es := uint64(fa.codec.elemSize)
	// Every element occupies file space: a count beyond what the file can
	// hold is corrupt, and bounding it keeps every size below from
	// overflowing.
	if fa.nelmts > uint64(r.FileSize())/es {
		return nil, format.Corruptf(addr, faHeaderWhat, "%d elements of %d bytes exceed the file (%d bytes)", fa.nelmts, es, r.FileSize())
	}
	fa.pageNelmts = uint64(1) << pageBits
	fa.paged = fa.nelmts > fa.pageNelmts
	prefix := 4 + 1 + 1 + osz + 4 // signature, version, client, header address, checksum
	if fa.paged {
		fa.npages = (fa.nelmts + fa.pageNelmts - 1) / fa.pageNelmts
		prefix += (fa.npages + 7) / 8
	}
	size := prefix
	if !fa.paged {
		size += fa.nelmts * es
	}
	buf, err = readBlock(r, fa.dblkAddr, size, faDblockWhat)
	if err != nil {
		return nil, err
	}
	d = format.NewDecoder(buf, fa.dblkAddr, faDblockWhat, r.Sizes)
	d.Signature("FADB")
	version = d.U8()
	dclient := d.U8()
	owner := d.Offset()
	if err := d.Err(); err != nil {
		return nil, err
	}
	if version != 0 {
		return nil, format.Unsupportedf(fa.dblkAddr, faDblockWhat, "version %d", version)
	}
	if dclient != client {
		return nil, format.Corruptf(fa.dblkAddr, faDblockWhat, "client ID %d, header says %d", dclient, client)
	}
	if owner != addr {
		return nil, format.Corruptf(fa.dblkAddr, faDblockWhat, "belongs to header 0x%x, not 0x%x", owner, addr)
	}
	rest := buf[d.Pos() : len(buf)-4]
	if fa.paged {
		fa.pageInit = rest
		fa.pagesAddr = fa.dblkAddr + prefix
		fa.pageSize = fa.pageNelmts*es + 4
	} else {
		fa.elems = rest
	}
	return fa, nil
}

// page returns the elements of page i, or nil when it was never
// initialized (all its chunks unwritten).
func (fa *fixedArray) page(i uint64) ([]byte, error) {
	if !bitSet(fa.pageInit, i) {
		return nil, nil
	}
	addr, ok := mulAdd(i, fa.pageSize, fa.pagesAddr)
	if !ok {
		return nil, format.Corruptf(fa.dblkAddr, faDblockWhat, "page %d address overflows", i)
	}
	if b, ok := fa.pages.get(addr); ok {
		return b, nil
	}
	n := fa.pageNelmts
	if i == fa.npages-1 {
		n = fa.nelmts - i*fa.pageNelmts
	}
	buf, err := readBlock(fa.p.R, addr, n*uint64(fa.codec.elemSize)+4, faPageWhat)
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
	if !ok || idx >= fa.nelmts {
		return Chunk{}, false, nil
	}
	elems, i := fa.elems, idx
	if fa.paged {
		var err error
		if elems, err = fa.page(idx / fa.pageNelmts); err != nil {
			return Chunk{}, false, err
		}
		i = idx % fa.pageNelmts
	}
	c, ok := fa.codec.chunk(elems, i, func() []uint64 { return append([]uint64(nil), scaled...) })
	return c, ok, nil
}

func (fa *fixedArray) Walk(visit func(Chunk) error) error {
	if !fa.paged {
		return fa.walkElems(fa.elems, 0, visit)
	}
	for pg := uint64(0); pg < fa.npages; pg++ {
		elems, err := fa.page(pg)
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
