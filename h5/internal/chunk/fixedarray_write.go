package chunk

import (
	"fmt"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// Writing the fixed array index, as libhdf5 1.10 does it (H5Dfarray.c,
// H5FA.c, H5FAhdr.c, H5FAdblock.c, H5FAdblkpage.c, H5FAcache.c):
//
//   - H5D__farray_idx_create makes the header: client ID and element size
//     from the filter pipeline, page bits from the layout message, one
//     element per chunk of the maximum chunk grid (layout max_nchunks).
//   - The first H5FA_set allocates the data block: its prefix and, when
//     paged, every page's space at once (H5FA_DBLOCK_SIZE), but writes
//     only the prefix (elements set to the fill value when not paged).
//   - A page is written (all fill values but the element set) and its bit
//     set in the data block's bitmap when one of its elements is first
//     set; the pages stay where the data block put them.
//   - Setting an element rewrites the data block, or the page holding it,
//     with a new checksum. The header changes once, when the data block
//     appears; its only statistic is the element count.

var _ Writer = (*fixedArray)(nil)

func openFixedArrayWriter(p Params) (Writer, error) {
	if p.Layout.Addr == format.Undefined {
		return newFixedArray(p)
	}
	fa, err := readFixedArrayHeader(p)
	if err != nil {
		return nil, err
	}
	if fa == nil {
		return nil, format.Corruptf(p.Layout.Addr, faHeaderWhat, "no element to write: the maximum chunk grid is empty")
	}
	return fa, nil
}

// newFixedArray is the index of a dataset never written: the first Put
// creates its header and data block.
func newFixedArray(p Params) (*fixedArray, error) {
	fa := &fixedArray{p: p, hdrAddr: format.Undefined, pageBits: p.Layout.FAPageBits, dblkAddr: format.Undefined}
	var err error
	if fa.codec, fa.client, err = newWriteCodec(&p, p.Layout.Addr, faHeaderWhat); err != nil {
		return nil, err
	}
	if fa.lin, err = newLinearizer(&p, -1, faHeaderWhat); err != nil {
		return nil, err
	}
	fa.nelmts = fa.lin.size
	if fa.nelmts == 0 {
		return nil, format.Corruptf(p.Layout.Addr, faHeaderWhat, "no element to write: the maximum chunk grid is empty")
	}
	// libhdf5 asserts a page of at least two elements.
	if fa.pageBits == 0 || fa.pageBits >= 64 {
		return nil, format.Corruptf(p.Layout.Addr, "layout message", "fixed array page bits %d", fa.pageBits)
	}
	fa.setGeometry()
	return fa, nil
}

// encodeHeader is the header "FAHD" (H5FA__cache_hdr_serialize).
func (fa *fixedArray) encodeHeader(dblkAddr uint64) []byte {
	e := &format.Encoder{Sizes: fa.p.R.Sizes}
	e.Bytes([]byte("FAHD"))
	e.U8(0) // version
	e.U8(fa.client)
	e.U8(uint8(fa.codec.elemSize))
	e.U8(fa.pageBits)
	e.Length(fa.nelmts)
	e.Offset(dblkAddr)
	e.AppendChecksum()
	return e.Buf
}

// dblockSize is the file space of the data block: its prefix and its
// elements, and a checksum per page when paged (H5FA_DBLOCK_SIZE).
func (fa *fixedArray) dblockSize() (uint64, bool) {
	es := uint64(fa.codec.elemSize)
	n, ok := mulAdd(fa.nelmts, es, fa.prefixSize)
	if !ok {
		return 0, false
	}
	if fa.paged {
		return mulAdd(fa.npages, 4, n)
	}
	return n, true
}

// newDblockRaw is a new data block without its checksum: the prefix, with
// a clear bitmap when paged, else every element the fill value.
func (fa *fixedArray) newDblockRaw() []byte {
	e := &format.Encoder{Sizes: fa.p.R.Sizes}
	e.Bytes([]byte("FADB"))
	e.U8(0) // version
	e.U8(fa.client)
	e.Offset(fa.hdrAddr)
	if fa.paged {
		e.Zeros(int(fa.prefixSize) - 4 - len(e.Buf))
		return e.Buf
	}
	return append(e.Buf, fa.codec.filled(fa.nelmts)...)
}

// Put records a chunk's element (H5D__farray_idx_insert, H5FA_set),
// creating the header, data block and page as needed.
func (fa *fixedArray) Put(s Storage, c Chunk) (uint64, error) {
	if err := checkScaled(c.Scaled, len(fa.lin.max)); err != nil {
		return 0, err
	}
	idx, ok := fa.lin.index(c.Scaled)
	if !ok || idx >= fa.nelmts {
		return 0, fmt.Errorf("chunk %v outside the fixed array's chunk grid %v: %w", c.Scaled, fa.lin.max, format.ErrCorrupt)
	}
	es := uint64(fa.codec.elemSize)
	elem := make([]byte, es)
	if err := fa.codec.encode(elem, c); err != nil {
		return 0, err
	}
	fa.mu.Lock()
	defer fa.mu.Unlock()
	if fa.hdrAddr == format.Undefined {
		addr, err := s.Alloc(faHeaderSize(fa.p.R.Sizes))
		if err != nil {
			return 0, err
		}
		fa.hdrAddr, fa.hdrUnwritten = addr, true
	}
	// A header allocated by a Put that failed is still to be written.
	hdrDirty := fa.hdrUnwritten
	st := faState{dblkAddr: fa.dblkAddr, raw: fa.raw, elems: fa.elems, pageInit: fa.pageInit}
	dblkDirty := false
	if st.dblkAddr == format.Undefined {
		size, ok := fa.dblockSize()
		if !ok {
			return 0, format.Corruptf(fa.hdrAddr, faHeaderWhat, "data block of %d elements overflows", fa.nelmts)
		}
		addr, err := s.Alloc(size)
		if err != nil {
			return 0, err
		}
		st.dblkAddr, st.raw = addr, fa.newDblockRaw()
		hdrDirty, dblkDirty = true, true
	} else {
		st.raw = append([]byte(nil), st.raw...)
	}
	bitmapAt := 4 + 1 + 1 + fa.p.R.Sizes.Offset
	elemsAt := fa.prefixSize - 4
	if fa.paged {
		st.pageInit = st.raw[bitmapAt:]
	} else {
		st.elems = st.raw[elemsAt:]
	}
	if !fa.paged {
		copy(st.elems[idx*es:], elem)
		dblkDirty = true
	} else {
		pg, i := idx/fa.pageNelmts, idx%fa.pageNelmts
		var page []byte
		if bitSet(st.pageInit, pg) {
			old, err := fa.page(st, pg)
			if err != nil {
				return 0, err
			}
			page = append([]byte(nil), old...)
		} else {
			page = fa.codec.filled(fa.pageLen(pg))
			setBit(st.pageInit, pg)
			dblkDirty = true
		}
		copy(page[i*es:], elem)
		addr, ok := fa.pageAddr(st.dblkAddr, pg)
		if !ok {
			return 0, format.Corruptf(st.dblkAddr, faDblockWhat, "page %d address overflows", pg)
		}
		if err := s.WriteAt(withChecksum(page), addr); err != nil {
			return 0, err
		}
		fa.pages.put(addr, page, len(page))
	}
	// Children before parents: the page, the data block, the header.
	if dblkDirty {
		if err := s.WriteAt(withChecksum(st.raw), st.dblkAddr); err != nil {
			return 0, err
		}
	}
	if hdrDirty {
		if err := s.WriteAt(fa.encodeHeader(st.dblkAddr), fa.hdrAddr); err != nil {
			return 0, err
		}
		fa.hdrUnwritten = false
	}
	fa.setState(st)
	return fa.hdrAddr, nil
}
