package chunk

import (
	"fmt"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// Writing the extensible array index, as libhdf5 1.10 does it (H5Dearray.c,
// H5EA.c, H5EAhdr.c, H5EAiblock.c, H5EAsblock.c, H5EAdblock.c,
// H5EAdblkpage.c, H5EAcache.c):
//
//   - H5D__earray_idx_create makes the header, its parameters from the
//     layout message, client ID and element size from the filter pipeline.
//   - The first H5EA_set creates the index block: elements and data and
//     super block addresses unset; "elements realized" grows by the index
//     block's elements.
//   - An element past the index block's falls in super block s
//     (H5EA__dblock_sblk_idx). The data blocks of the first super blocks
//     hang from the index block, the others from super blocks, each
//     created when first needed: a super block records its offset in the
//     array (its first element, not counting the index block's) and a
//     bitmap of initialized pages per data block when those are paged; a
//     data block records its offset too. For a data block of the index
//     block libhdf5 computes that offset from the data block's position
//     among all the index block's data blocks (start_idx + dblk_idx *
//     dblk_nelmts in H5EA__lookup_elmt), which is what it writes, and what
//     this writer writes.
//   - A paged data block gets all its space (prefix, then every page with
//     its checksum) but only its prefix is written; a page is written and
//     its bit set in the super block when one of its elements is first set.
//   - Creating a super block adds to the header's super block count and
//     bytes; a data block to the data block count and bytes (all of its
//     pages) and to the elements realized. Setting an element at or past
//     "max index set" moves it to the element's index + 1.

var _ Writer = (*extensibleArray)(nil)

func openExtensibleArrayWriter(p Params) (Writer, error) {
	if p.Layout.Addr == format.Undefined {
		return newExtensibleArray(p)
	}
	return readExtensibleArrayHeader(p)
}

// newExtensibleArray is the index of a dataset never written: the first
// Put creates its header and index block.
func newExtensibleArray(p Params) (*extensibleArray, error) {
	l := p.Layout
	ea := &extensibleArray{p: p, hdrAddr: format.Undefined, iblkAddr: format.Undefined,
		maxBits: l.EAMaxBits, idxBlkElmts: uint64(l.EAIndexElements), dblkMinElmts: uint64(l.EAMinElements),
		sblkMinPtrs: uint64(l.EAMinPointers), pageBits: l.EAPageBits}
	var err error
	if ea.codec, ea.client, err = newWriteCodec(&p, l.Addr, eaHeaderWhat); err != nil {
		return nil, err
	}
	// H5EA__hdr_create's checks, beyond those of reading.
	if ea.pageBits == 0 || ea.pageBits > ea.maxBits {
		return nil, format.Corruptf(l.Addr, "layout message", "extensible array page bits %d for max elements bits %d", ea.pageBits, ea.maxBits)
	}
	if err := ea.init(l.Addr); err != nil {
		return nil, err
	}
	return ea, nil
}

func (ea *extensibleArray) encodeHeader() []byte {
	e := &format.Encoder{Sizes: ea.p.R.Sizes}
	e.Bytes([]byte("EAHD"))
	e.U8(0) // version
	e.U8(ea.client)
	e.U8(uint8(ea.codec.elemSize))
	e.U8(ea.maxBits)
	e.U8(uint8(ea.idxBlkElmts))
	e.U8(uint8(ea.dblkMinElmts))
	e.U8(uint8(ea.sblkMinPtrs))
	e.U8(ea.pageBits)
	e.Length(ea.nsuperBlks)
	e.Length(ea.superBlkSize)
	e.Length(ea.ndataBlks)
	e.Length(ea.dataBlkSize)
	e.Length(ea.maxIdxSet)
	e.Length(ea.nelmts)
	e.Offset(ea.iblkAddr)
	e.AppendChecksum()
	return e.Buf
}

// blockPrefix is the start every index, super and data block shares:
// signature, version, client ID, header address, and for super and data
// blocks their offset in the array.
func (ea *extensibleArray) blockPrefix(sig string, withOffset bool, off uint64) *format.Encoder {
	e := &format.Encoder{Sizes: ea.p.R.Sizes}
	e.Bytes([]byte(sig))
	e.U8(0) // version
	e.U8(ea.client)
	e.Offset(ea.hdrAddr)
	if withOffset {
		e.Uint(off, int(ea.arrOffSize))
	}
	return e
}

// newIndexBlockRaw is a new index block without its checksum
// (H5EA__iblock_create): fill elements, no data or super block.
func (ea *extensibleArray) newIndexBlockRaw() []byte {
	e := ea.blockPrefix("EAIB", false, 0)
	e.Bytes(ea.codec.filled(ea.idxBlkElmts))
	for i := uint64(0); i < 2*(ea.sblkMinPtrs-1)+uint64(len(ea.sblks)-ea.iblkNsblks); i++ {
		e.Offset(format.Undefined)
	}
	return e.Buf
}

// superBlockGeometry is the page count of super block s's data blocks (0
// when not paged), the size of each one's bitmap, and the super block's
// size with its checksum (H5EA__sblock_alloc, H5EA_SBLOCK_SIZE).
func (ea *extensibleArray) superBlockGeometry(s int) (npages, bitmap, size uint64) {
	info := ea.sblks[s]
	if info.dblkNelmts > ea.pageNelmts {
		npages = info.dblkNelmts / ea.pageNelmts
		bitmap = (npages + 7) / 8
	}
	osz := uint64(ea.p.R.Sizes.Offset)
	return npages, bitmap, 4 + 1 + 1 + osz + ea.arrOffSize + info.ndblks*(bitmap+osz) + 4
}

// dataBlockSize is the file space of a data block of n elements: prefix,
// elements, and a checksum per page when paged (H5EA_DBLOCK_SIZE).
func (ea *extensibleArray) dataBlockSize(n uint64) (uint64, bool) {
	size, ok := mulAdd(n, uint64(ea.codec.elemSize), ea.dblockPrefixSize())
	if ok && n > ea.pageNelmts {
		size, ok = mulAdd(n/ea.pageNelmts, 4, size)
	}
	return size, ok
}

// newDataBlock allocates a data block of n elements at array offset off
// (H5EA__dblock_create), counts it in the header's statistics and returns
// its address and, unpaged, its bytes without checksum (all elements the
// fill value). A paged one's prefix is written here.
func (ea *extensibleArray) newDataBlock(s Storage, n, off uint64) (uint64, []byte, error) {
	size, ok := ea.dataBlockSize(n)
	if !ok {
		return 0, nil, format.Corruptf(ea.hdrAddr, eaHeaderWhat, "data block of %d elements overflows", n)
	}
	addr, err := s.Alloc(size)
	if err != nil {
		return 0, nil, err
	}
	ea.ndataBlks++
	ea.dataBlkSize += size
	ea.nelmts += n
	e := ea.blockPrefix("EADB", true, off)
	if n > ea.pageNelmts {
		if err := s.WriteAt(withChecksum(e.Buf), addr); err != nil {
			return 0, nil, err
		}
		ea.prefix.put(addr, true, len(e.Buf)+4)
		return addr, nil, nil
	}
	return addr, append(e.Buf, ea.codec.filled(n)...), nil
}

// Put records a chunk's element (H5D__earray_idx_insert, H5EA_set),
// creating the header, index block, super block, data block and page as
// needed, and updates the header's statistics.
func (ea *extensibleArray) Put(s Storage, c Chunk) (uint64, error) {
	if err := checkScaled(c.Scaled, len(ea.lin.max)); err != nil {
		return 0, err
	}
	idx, ok := ea.lin.index(c.Scaled)
	if ok && idx >= ea.idxBlkElmts {
		_, _, ok = ea.sblkOf(idx)
	}
	if !ok || ea.maxBits < 64 && idx >= uint64(1)<<ea.maxBits {
		return 0, fmt.Errorf("chunk %v beyond the extensible array's %d-bit index: %w", c.Scaled, ea.maxBits, format.ErrUnsupported)
	}
	es := uint64(ea.codec.elemSize)
	elem := make([]byte, es)
	if err := ea.codec.encode(elem, c); err != nil {
		return 0, err
	}
	ea.mu.Lock()
	defer ea.mu.Unlock()
	// Statistics change in place; on failure the header in the file keeps
	// the old ones, and so does the array after reopening.
	iblkDirty := false
	if ea.hdrAddr == format.Undefined {
		addr, err := s.Alloc(eaHeaderSize(ea.p.R.Sizes))
		if err != nil {
			return 0, err
		}
		ea.hdrAddr, ea.hdrUnwritten = addr, true
	}
	// A header allocated by a Put that failed is still to be written.
	hdrDirty := ea.hdrUnwritten
	osz := uint64(ea.p.R.Sizes.Offset)
	elemsAt := 4 + 1 + 1 + osz
	dblksAt := elemsAt + ea.idxBlkElmts*es
	sblksAt := dblksAt + 2*(ea.sblkMinPtrs-1)*osz
	var iblk []byte
	iblkAddr := ea.iblkAddr
	if !ea.hasIndexBk {
		addr, err := s.Alloc(ea.iblockSize())
		if err != nil {
			return 0, err
		}
		iblkAddr, iblk = addr, ea.newIndexBlockRaw()
		ea.nelmts += ea.idxBlkElmts
		hdrDirty, iblkDirty = true, true
	} else {
		iblk = append([]byte(nil), ea.iblkRaw...)
	}

	if idx < ea.idxBlkElmts {
		copy(iblk[elemsAt+idx*es:], elem)
		iblkDirty = true
	} else {
		sb, off, _ := ea.sblkOf(idx)
		info := ea.sblks[sb]
		k, eoff := off/info.dblkNelmts, off%info.dblkNelmts
		if sb < ea.iblkNsblks {
			g := info.startDblk + k // among all the index block's data blocks
			at := dblksAt + g*osz
			addr := decodeAddr(iblk[at : at+osz])
			var raw []byte
			if addr == format.Undefined {
				var err error
				if addr, raw, err = ea.newDataBlock(s, info.dblkNelmts, info.startIdx+g*info.dblkNelmts); err != nil {
					return 0, err
				}
				putUint(iblk[at:at+osz], addr)
				hdrDirty, iblkDirty = true, true
			} else {
				old, err := ea.dataBlockRaw(addr, info.dblkNelmts)
				if err != nil {
					return 0, err
				}
				raw = append([]byte(nil), old...)
			}
			if err := ea.setInDataBlock(s, addr, raw, eoff, elem); err != nil {
				return 0, err
			}
		} else {
			at := sblksAt + uint64(sb-ea.iblkNsblks)*osz
			addr := decodeAddr(iblk[at : at+osz])
			before := addr
			created, err := ea.putInSuperBlock(s, sb, &addr, k, eoff, elem)
			if err != nil {
				return 0, err
			}
			if addr != before {
				putUint(iblk[at:at+osz], addr)
				iblkDirty = true
			}
			hdrDirty = hdrDirty || created
		}
	}
	if idx >= ea.maxIdxSet {
		ea.maxIdxSet = idx + 1
		hdrDirty = true
	}
	// Children before parents: blocks below, the index block, the header.
	if iblkDirty {
		if err := s.WriteAt(withChecksum(iblk), iblkAddr); err != nil {
			return 0, err
		}
		d := format.NewDecoder(iblk, iblkAddr, eaIblockWhat, ea.p.R.Sizes)
		d.Skip(int(elemsAt))
		if err := ea.decodeIndexBlock(d, iblk); err != nil {
			return 0, err
		}
		ea.iblkAddr, ea.hasIndexBk = iblkAddr, true
	}
	if hdrDirty {
		if err := s.WriteAt(ea.encodeHeader(), ea.hdrAddr); err != nil {
			return 0, err
		}
		ea.hdrUnwritten = false
	}
	return ea.hdrAddr, nil
}

// setInDataBlock sets element i of the unpaged data block at addr, raw
// being a private copy of its bytes without checksum, and writes it.
func (ea *extensibleArray) setInDataBlock(s Storage, addr uint64, raw []byte, i uint64, elem []byte) error {
	es := uint64(ea.codec.elemSize)
	copy(raw[ea.dblockPrefixSize()-4+i*es:], elem)
	if err := s.WriteAt(withChecksum(raw), addr); err != nil {
		return err
	}
	ea.dblocks.put(addr, raw, len(raw))
	return nil
}

// putInSuperBlock sets element eoff of data block k of super block sb,
// whose address is *sbAddr (created when Undefined, and *sbAddr set). It
// reports whether it created a block, changing the header's statistics.
func (ea *extensibleArray) putInSuperBlock(s Storage, sb int, sbAddr *uint64, k, eoff uint64, elem []byte) (created bool, err error) {
	info := ea.sblks[sb]
	npages, bitmap, size := ea.superBlockGeometry(sb)
	osz := uint64(ea.p.R.Sizes.Offset)
	bitmapAt := 4 + 1 + 1 + osz + ea.arrOffSize
	addrsAt := bitmapAt + info.ndblks*bitmap
	var raw []byte
	dirty := false
	if *sbAddr == format.Undefined {
		addr, err := s.Alloc(size)
		if err != nil {
			return false, err
		}
		e := ea.blockPrefix("EASB", true, info.startIdx)
		e.Zeros(int(info.ndblks * bitmap))
		for i := uint64(0); i < info.ndblks; i++ {
			e.Offset(format.Undefined)
		}
		raw = e.Buf
		ea.nsuperBlks++
		ea.superBlkSize += size
		*sbAddr, dirty, created = addr, true, true
	} else {
		old, err := ea.superBlock(*sbAddr, sb)
		if err != nil {
			return false, err
		}
		raw = append([]byte(nil), old.raw...)
	}
	dblk := decodeAddr(raw[addrsAt+k*osz : addrsAt+(k+1)*osz])
	var draw []byte
	if dblk == format.Undefined {
		if dblk, draw, err = ea.newDataBlock(s, info.dblkNelmts, info.startIdx+k*info.dblkNelmts); err != nil {
			return false, err
		}
		putUint(raw[addrsAt+k*osz:addrsAt+(k+1)*osz], dblk)
		dirty, created = true, true
	}
	if npages == 0 {
		if draw == nil {
			old, err := ea.dataBlockRaw(dblk, info.dblkNelmts)
			if err != nil {
				return false, err
			}
			draw = append([]byte(nil), old...)
		}
		if err := ea.setInDataBlock(s, dblk, draw, eoff, elem); err != nil {
			return false, err
		}
	} else {
		es := uint64(ea.codec.elemSize)
		pg, i := eoff/ea.pageNelmts, eoff%ea.pageNelmts
		bit := k*npages + pg
		bm := raw[bitmapAt : bitmapAt+info.ndblks*bitmap]
		var page []byte
		if bitSet(bm, bit) {
			old, err := ea.page(dblk, pg)
			if err != nil {
				return false, err
			}
			page = append([]byte(nil), old...)
		} else {
			page = ea.codec.filled(ea.pageNelmts)
			setBit(bm, bit)
			dirty = true
		}
		copy(page[i*es:], elem)
		addr, ok := mulAdd(pg, ea.pageNelmts*es+4, dblk+ea.dblockPrefixSize())
		if !ok {
			return false, format.Corruptf(dblk, eaDblockWhat, "page %d address overflows", pg)
		}
		if err := s.WriteAt(withChecksum(page), addr); err != nil {
			return false, err
		}
		ea.pages.put(addr, page, len(page))
	}
	if !dirty {
		return created, nil
	}
	if err := s.WriteAt(withChecksum(raw), *sbAddr); err != nil {
		return false, err
	}
	nsb := &eaSuperBlock{npages: npages, raw: raw, pageInit: raw[bitmapAt:addrsAt], dblks: make([]uint64, info.ndblks)}
	for i := range nsb.dblks {
		nsb.dblks[i] = decodeAddr(raw[addrsAt+uint64(i)*osz : addrsAt+uint64(i+1)*osz])
	}
	ea.sblocks.put(*sbAddr, nsb, len(raw)+4)
	return created, nil
}

// decodeAddr decodes a file address field (all ones: Undefined).
func decodeAddr(b []byte) uint64 {
	v := format.DecodeUint(b)
	if len(b) < 8 && v == uint64(1)<<(8*uint(len(b)))-1 {
		return format.Undefined
	}
	return v
}
