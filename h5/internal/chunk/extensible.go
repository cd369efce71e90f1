package chunk

import (
	"math/bits"
	"sync"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// extensibleArray is the extensible array chunk index (layout version 4,
// index type 4), used when exactly one dimension is unlimited. Chunk
// coordinates are linearized with the unlimited dimension moved to the
// front, so the array grows at its end as the dataset is extended.
//
// Layout (HDF5 File Format Specification, "The Extensible Array Index";
// libhdf5 H5EAcache.c, H5EApkg.h, H5EAhdr.c, H5EA.c):
//
//	header "EAHD": version 0, client ID, element size, max elements bits,
//	    index block elements, data block min elements, super block min
//	    data block pointers, max data block page elements bits,
//	    6 statistics (size of lengths; the 5th is max index set + 1),
//	    index block address, checksum
//	index block "EAIB": version, client ID, header address, elements,
//	    data block addresses, super block addresses, checksum
//	super block "EASB": version, client ID, header address, block offset,
//	    page bitmaps (when its data blocks are paged), data block addresses,
//	    checksum
//	data block "EADB": version, client ID, header address, block offset,
//	    elements (not paged), checksum; when paged its pages follow it,
//	    each elements + checksum
//
// Array index i >= index block elements falls in super block
// s = log2((i - idx_blk_elmts) / dblk_min_elmts + 1), whose data blocks
// number 2^(s/2) and hold 2^((s+1)/2) * dblk_min_elmts elements each
// (H5EA__hdr_init). The data blocks of the first 2*log2(sblk_min_ptrs)
// super blocks are addressed straight from the index block.
type extensibleArray struct {
	p     Params
	codec elemCodec
	lin   *linearizer

	hdrAddr      uint64
	client       uint8
	maxBits      uint8
	sblkMinPtrs  uint64
	pageBits     uint8
	idxBlkElmts  uint64
	dblkMinElmts uint64
	pageNelmts   uint64
	arrOffSize   uint64
	sblks        []eaSblkInfo
	iblkNsblks   int // super blocks whose data blocks the index block addresses

	// What writes change: guarded by mu, and replaced (never changed in
	// place) by writes, so that a reader's copy stays consistent.
	mu sync.Mutex
	// header statistics: super blocks and their bytes, data blocks and
	// their bytes, max index set + 1, elements realized (H5EA_stat_t)
	nsuperBlks, superBlkSize, ndataBlks, dataBlkSize, maxIdxSet, nelmts uint64
	// the index block (hasIndexBk false when never created)
	iblkAddr   uint64
	iblkRaw    []byte // without its checksum
	iblkElems  []byte
	iblkDblks  []uint64
	iblkSblks  []uint64
	hasIndexBk bool

	hdrUnwritten bool // writing: the header was allocated, not yet written

	sblocks blockCache[*eaSuperBlock]
	dblocks blockCache[[]byte] // unpaged data blocks, without their checksum
	prefix  blockCache[bool]   // verified prefixes of paged data blocks
	pages   blockCache[[]byte]
}

// eaState is a consistent copy of what writes change.
type eaState struct {
	maxIdxSet  uint64
	iblkElems  []byte
	iblkDblks  []uint64
	iblkSblks  []uint64
	hasIndexBk bool
}

func (ea *extensibleArray) state() eaState {
	ea.mu.Lock()
	defer ea.mu.Unlock()
	return eaState{maxIdxSet: ea.maxIdxSet, iblkElems: ea.iblkElems, iblkDblks: ea.iblkDblks,
		iblkSblks: ea.iblkSblks, hasIndexBk: ea.hasIndexBk}
}

type eaSblkInfo struct {
	ndblks     uint64
	dblkNelmts uint64
	startIdx   uint64 // first element index (after the index block's elements)
	startDblk  uint64
}

type eaSuperBlock struct {
	dblks    []uint64
	pageInit []byte
	npages   uint64 // pages per data block, 0 when not paged
	raw      []byte // the block without its checksum
}

const (
	eaHeaderWhat = "extensible array header"
	eaIblockWhat = "extensible array index block"
	eaSblockWhat = "extensible array super block"
	eaDblockWhat = "extensible array data block"
	eaPageWhat   = "extensible array data block page"
)

// saturating arithmetic for the super block table: entries past 2^64
// elements are never reached by a uint64 index.
func satAdd(a, b uint64) uint64 {
	s, c := bits.Add64(a, b, 0)
	if c != 0 {
		return ^uint64(0)
	}
	return s
}

func satMul(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	if hi != 0 {
		return ^uint64(0)
	}
	return lo
}

func log2Exact(v uint64) (int, bool) {
	if v == 0 || v&(v-1) != 0 {
		return 0, false
	}
	return bits.TrailingZeros64(v), true
}

func openExtensibleArray(p Params) (Index, error) {
	ea, err := readExtensibleArrayHeader(p)
	if err != nil {
		return nil, err
	}
	if !ea.hasIndexBk {
		return emptyIndex{}, nil // no chunk written yet
	}
	return ea, nil
}

// eaHeaderSize is the size of an extensible array header, checksum included.
func eaHeaderSize(s format.Sizes) uint64 {
	return 4 + 1 + 1 + 6 + 6*uint64(s.Length) + uint64(s.Offset) + 4
}

// readExtensibleArrayHeader reads the header and the index block, when
// there is one.
func readExtensibleArrayHeader(p Params) (*extensibleArray, error) {
	r := p.R
	addr := p.Layout.Addr
	osz, lsz := uint64(r.Sizes.Offset), uint64(r.Sizes.Length)
	if lsz < 1 || lsz > 8 || osz < 1 || osz > 8 {
		return nil, format.Corruptf(addr, eaHeaderWhat, "sizes of offsets %d and lengths %d", osz, lsz)
	}
	buf, err := readBlock(r, addr, eaHeaderSize(r.Sizes), eaHeaderWhat)
	if err != nil {
		return nil, err
	}
	d := format.NewDecoder(buf, addr, eaHeaderWhat, r.Sizes)
	d.Signature("EAHD")
	version := d.U8()
	ea := &extensibleArray{p: p, hdrAddr: addr}
	ea.client = d.U8()
	elemSize := d.U8()
	ea.maxBits = d.U8()
	ea.idxBlkElmts = uint64(d.U8())
	ea.dblkMinElmts = uint64(d.U8())
	ea.sblkMinPtrs = uint64(d.U8())
	ea.pageBits = d.U8()
	ea.nsuperBlks = d.Length()
	ea.superBlkSize = d.Length()
	ea.ndataBlks = d.Length()
	ea.dataBlkSize = d.Length()
	ea.maxIdxSet = d.Length()
	ea.nelmts = d.Length()
	iblkAddr := d.Offset()
	if err := d.Err(); err != nil {
		return nil, err
	}
	if version != 0 {
		return nil, format.Unsupportedf(addr, eaHeaderWhat, "version %d", version)
	}
	if ea.codec, err = newElemCodec(&p, addr, eaHeaderWhat, ea.client, elemSize); err != nil {
		return nil, err
	}
	if err := ea.init(addr); err != nil {
		return nil, err
	}
	ea.iblkAddr = iblkAddr
	if iblkAddr == format.Undefined {
		return ea, nil
	}
	if err := ea.readIndexBlock(iblkAddr); err != nil {
		return nil, err
	}
	return ea, nil
}

// init checks the creation parameters against the dataset and computes
// the super block table, as H5EA__hdr_init does.
func (ea *extensibleArray) init(addr uint64) error {
	p := &ea.p
	unlim := -1
	maxd := p.MaxDims
	if maxd == nil {
		maxd = p.Dims
	}
	for i, m := range maxd {
		if m == format.Unlimited {
			if unlim >= 0 {
				return format.Corruptf(addr, eaHeaderWhat, "extensible array index for a dataset with several unlimited dimensions")
			}
			unlim = i
		}
	}
	if unlim < 0 {
		return format.Corruptf(addr, eaHeaderWhat, "extensible array index for a dataset without an unlimited dimension")
	}
	var err error
	if ea.lin, err = newLinearizer(p, unlim, eaHeaderWhat); err != nil {
		return err
	}

	// Creation parameters, as H5EA__hdr_init and H5EA__hdr_create use them.
	maxBits, pageBits := ea.maxBits, ea.pageBits
	minBits, ok1 := log2Exact(ea.dblkMinElmts)
	ptrBits, ok2 := log2Exact(ea.sblkMinPtrs)
	if !ok1 || !ok2 || ea.sblkMinPtrs < 2 || maxBits == 0 || maxBits > 64 || int(maxBits) < minBits || pageBits >= 64 {
		return format.Corruptf(addr, eaHeaderWhat,
			"parameters: max elements bits %d, data block min elements %d, super block min pointers %d, page bits %d",
			maxBits, ea.dblkMinElmts, ea.sblkMinPtrs, pageBits)
	}
	nsblks := 1 + int(maxBits) - minBits
	ea.iblkNsblks = 2 * ptrBits
	if ea.iblkNsblks > nsblks {
		return format.Corruptf(addr, eaHeaderWhat, "index block covers %d super blocks of %d", ea.iblkNsblks, nsblks)
	}
	ea.pageNelmts = uint64(1) << pageBits
	ea.arrOffSize = (uint64(maxBits) + 7) / 8
	ea.sblks = make([]eaSblkInfo, nsblks)
	var startIdx, startDblk uint64
	for u := range ea.sblks {
		s := &ea.sblks[u]
		s.ndblks = uint64(1) << (u / 2)
		s.dblkNelmts = satMul(uint64(1)<<((u+1)/2), ea.dblkMinElmts)
		s.startIdx, s.startDblk = startIdx, startDblk
		startIdx = satAdd(startIdx, satMul(s.ndblks, s.dblkNelmts))
		startDblk = satAdd(startDblk, s.ndblks)
	}
	if ea.iblkNsblks > 0 && ea.sblks[ea.iblkNsblks-1].dblkNelmts > ea.pageNelmts {
		// libhdf5 reads the index block's data blocks unpaged.
		return format.Corruptf(addr, eaHeaderWhat, "data blocks of the index block would be paged")
	}
	return nil
}

// iblockSize is the size of the index block, checksum included
// (H5EA_IBLOCK_SIZE).
func (ea *extensibleArray) iblockSize() uint64 {
	osz := uint64(ea.p.R.Sizes.Offset)
	ndblk := 2 * (ea.sblkMinPtrs - 1)
	nsblk := uint64(len(ea.sblks) - ea.iblkNsblks)
	return 4 + 1 + 1 + osz + ea.idxBlkElmts*uint64(ea.codec.elemSize) + (ndblk+nsblk)*osz + 4
}

// checkPrefix decodes the common start of an index, super or data block:
// signature, version, client ID and owning header address.
func (ea *extensibleArray) checkPrefix(d *format.Decoder, sig string, addr uint64, what string) error {
	d.Signature(sig)
	version := d.U8()
	client := d.U8()
	owner := d.Offset()
	if err := d.Err(); err != nil {
		return err
	}
	if version != 0 {
		return format.Unsupportedf(addr, what, "version %d", version)
	}
	if client != ea.client {
		return format.Corruptf(addr, what, "client ID %d, header says %d", client, ea.client)
	}
	if owner != ea.hdrAddr {
		return format.Corruptf(addr, what, "belongs to header 0x%x, not 0x%x", owner, ea.hdrAddr)
	}
	return nil
}

func (ea *extensibleArray) readIndexBlock(addr uint64) error {
	r := ea.p.R
	buf, err := readBlock(r, addr, ea.iblockSize(), eaIblockWhat)
	if err != nil {
		return err
	}
	d := format.NewDecoder(buf, addr, eaIblockWhat, r.Sizes)
	if err := ea.checkPrefix(d, "EAIB", addr, eaIblockWhat); err != nil {
		return err
	}
	if err := ea.decodeIndexBlock(d, buf[:len(buf)-4]); err != nil {
		return err
	}
	if last := ea.sblks[ea.iblkNsblks-1]; ea.iblkNsblks < 1 || uint64(len(ea.iblkDblks)) < last.startDblk+last.ndblks {
		return format.Corruptf(addr, eaIblockWhat, "%d data block addresses for %d super blocks", len(ea.iblkDblks), ea.iblkNsblks)
	}
	ea.hasIndexBk = true
	return nil
}

// decodeIndexBlock sets the index block's fields from raw (the block
// without its checksum), d positioned past its prefix.
func (ea *extensibleArray) decodeIndexBlock(d *format.Decoder, raw []byte) error {
	ndblk := 2 * (ea.sblkMinPtrs - 1)
	nsblk := uint64(len(ea.sblks) - ea.iblkNsblks)
	ea.iblkRaw = raw
	ea.iblkElems = d.Bytes(int(ea.idxBlkElmts) * ea.codec.elemSize)
	ea.iblkDblks = make([]uint64, ndblk)
	for i := range ea.iblkDblks {
		ea.iblkDblks[i] = d.Offset()
	}
	ea.iblkSblks = make([]uint64, nsblk)
	for i := range ea.iblkSblks {
		ea.iblkSblks[i] = d.Offset()
	}
	return d.Err()
}

// superBlock reads super block s (s >= iblkNsblks) at addr.
func (ea *extensibleArray) superBlock(addr uint64, s int) (*eaSuperBlock, error) {
	if sb, ok := ea.sblocks.get(addr); ok {
		if uint64(len(sb.dblks)) != ea.sblks[s].ndblks {
			return nil, format.Corruptf(addr, eaSblockWhat, "super block used for two super block indexes")
		}
		return sb, nil
	}
	r := ea.p.R
	osz := uint64(r.Sizes.Offset)
	info := ea.sblks[s]
	sb := &eaSuperBlock{}
	var bitmap uint64
	if info.dblkNelmts > ea.pageNelmts {
		sb.npages = info.dblkNelmts / ea.pageNelmts
		bitmap = (sb.npages + 7) / 8
	}
	// ndblks * (address + bitmap) must fit the file; check before sizing.
	per := osz + bitmap
	if info.ndblks > uint64(r.FileSize())/per {
		return nil, format.Corruptf(addr, eaSblockWhat, "%d data blocks exceed the file", info.ndblks)
	}
	size := 4 + 1 + 1 + osz + ea.arrOffSize + info.ndblks*per + 4
	buf, err := readBlock(r, addr, size, eaSblockWhat)
	if err != nil {
		return nil, err
	}
	d := format.NewDecoder(buf, addr, eaSblockWhat, r.Sizes)
	if err := ea.checkPrefix(d, "EASB", addr, eaSblockWhat); err != nil {
		return nil, err
	}
	d.Skip(int(ea.arrOffSize)) // block offset: informational
	sb.pageInit = d.Bytes(int(info.ndblks * bitmap))
	sb.dblks = make([]uint64, info.ndblks)
	for i := range sb.dblks {
		sb.dblks[i] = d.Offset()
	}
	if err := d.Err(); err != nil {
		return nil, err
	}
	sb.raw = buf[:len(buf)-4]
	ea.sblocks.put(addr, sb, len(buf))
	return sb, nil
}

// dataBlock returns the elements of an unpaged data block of n elements.
func (ea *extensibleArray) dataBlock(addr, n uint64) ([]byte, error) {
	raw, err := ea.dataBlockRaw(addr, n)
	if err != nil {
		return nil, err
	}
	return raw[ea.dblockPrefixSize()-4:], nil
}

// dataBlockRaw returns an unpaged data block of n elements without its
// checksum.
func (ea *extensibleArray) dataBlockRaw(addr, n uint64) ([]byte, error) {
	if b, ok := ea.dblocks.get(addr); ok {
		if uint64(len(b)) != ea.dblockPrefixSize()-4+n*uint64(ea.codec.elemSize) {
			return nil, format.Corruptf(addr, eaDblockWhat, "data block used with two sizes")
		}
		return b, nil
	}
	r := ea.p.R
	es := uint64(ea.codec.elemSize)
	if n > uint64(r.FileSize())/es {
		return nil, format.Corruptf(addr, eaDblockWhat, "%d elements exceed the file", n)
	}
	size := 4 + 1 + 1 + uint64(r.Sizes.Offset) + ea.arrOffSize + n*es + 4
	buf, err := readBlock(r, addr, size, eaDblockWhat)
	if err != nil {
		return nil, err
	}
	d := format.NewDecoder(buf, addr, eaDblockWhat, r.Sizes)
	if err := ea.checkPrefix(d, "EADB", addr, eaDblockWhat); err != nil {
		return nil, err
	}
	d.Skip(int(ea.arrOffSize)) // block offset: informational
	d.Bytes(int(n * es))
	if err := d.Err(); err != nil {
		return nil, err
	}
	raw := buf[:len(buf)-4]
	ea.dblocks.put(addr, raw, len(raw))
	return raw, nil
}

// dblockPrefixSize is the size of a data block without its elements: what
// precedes the pages of a paged data block.
func (ea *extensibleArray) dblockPrefixSize() uint64 {
	return 4 + 1 + 1 + uint64(ea.p.R.Sizes.Offset) + ea.arrOffSize + 4
}

// page returns the elements of page pg of the paged data block at addr.
func (ea *extensibleArray) page(dblk, pg uint64) ([]byte, error) {
	if _, ok := ea.prefix.get(dblk); !ok {
		buf, err := readBlock(ea.p.R, dblk, ea.dblockPrefixSize(), eaDblockWhat)
		if err != nil {
			return nil, err
		}
		d := format.NewDecoder(buf, dblk, eaDblockWhat, ea.p.R.Sizes)
		if err := ea.checkPrefix(d, "EADB", dblk, eaDblockWhat); err != nil {
			return nil, err
		}
		ea.prefix.put(dblk, true, len(buf))
	}
	es := uint64(ea.codec.elemSize)
	psize := ea.pageNelmts*es + 4
	addr, ok := mulAdd(pg, psize, dblk+ea.dblockPrefixSize())
	if !ok || addr < dblk {
		return nil, format.Corruptf(dblk, eaDblockWhat, "page %d address overflows", pg)
	}
	if b, ok := ea.pages.get(addr); ok {
		return b, nil
	}
	buf, err := readBlock(ea.p.R, addr, psize, eaPageWhat)
	if err != nil {
		return nil, err
	}
	elems := buf[:len(buf)-4]
	ea.pages.put(addr, elems, len(elems))
	return elems, nil
}

// sblkOf returns the super block holding array index idx (>= idxBlkElmts)
// and the element's offset within it, or ok=false past the array's end.
func (ea *extensibleArray) sblkOf(idx uint64) (int, uint64, bool) {
	rel := idx - ea.idxBlkElmts
	s := bits.Len64(rel/ea.dblkMinElmts+1) - 1
	if s >= len(ea.sblks) || rel < ea.sblks[s].startIdx {
		return 0, 0, false
	}
	return s, rel - ea.sblks[s].startIdx, true
}

func (ea *extensibleArray) Lookup(scaled []uint64) (Chunk, bool, error) {
	if err := checkScaled(scaled, len(ea.lin.max)); err != nil {
		return Chunk{}, false, err
	}
	idx, ok := ea.lin.index(scaled)
	st := ea.state()
	if !ok || idx >= st.maxIdxSet || !st.hasIndexBk {
		return Chunk{}, false, nil
	}
	copyScaled := func() []uint64 { return append([]uint64(nil), scaled...) }
	if idx < ea.idxBlkElmts {
		c, ok := ea.codec.chunk(st.iblkElems, idx, copyScaled)
		return c, ok, nil
	}
	s, off, ok := ea.sblkOf(idx)
	if !ok {
		return Chunk{}, false, nil
	}
	info := ea.sblks[s]
	k := off / info.dblkNelmts // data block within the super block
	off %= info.dblkNelmts
	if s < ea.iblkNsblks {
		addr := st.iblkDblks[info.startDblk+k]
		if addr == format.Undefined {
			return Chunk{}, false, nil
		}
		elems, err := ea.dataBlock(addr, info.dblkNelmts)
		if err != nil {
			return Chunk{}, false, err
		}
		c, ok := ea.codec.chunk(elems, off, copyScaled)
		return c, ok, nil
	}
	sbAddr := st.iblkSblks[s-ea.iblkNsblks]
	if sbAddr == format.Undefined {
		return Chunk{}, false, nil
	}
	sb, err := ea.superBlock(sbAddr, s)
	if err != nil {
		return Chunk{}, false, err
	}
	if k >= uint64(len(sb.dblks)) {
		return Chunk{}, false, nil
	}
	dblk := sb.dblks[k]
	if dblk == format.Undefined {
		return Chunk{}, false, nil
	}
	var elems []byte
	if sb.npages == 0 {
		elems, err = ea.dataBlock(dblk, info.dblkNelmts)
	} else {
		pg := off / ea.pageNelmts
		off %= ea.pageNelmts
		if !bitSet(sb.pageInit, k*sb.npages+pg) {
			return Chunk{}, false, nil
		}
		elems, err = ea.page(dblk, pg)
	}
	if err != nil {
		return Chunk{}, false, err
	}
	c, ok := ea.codec.chunk(elems, off, copyScaled)
	return c, ok, nil
}

func (ea *extensibleArray) Walk(visit func(Chunk) error) error {
	st := ea.state()
	if !st.hasIndexBk {
		return nil
	}
	if err := ea.walkElems(st.iblkElems, 0, st.maxIdxSet, visit); err != nil {
		return err
	}
	// A block reached twice would be walked twice (or, in a damaged file,
	// thousands of times): refuse it.
	seen := map[uint64]bool{}
	once := func(addr uint64, what string) error {
		if seen[addr] {
			return format.Corruptf(addr, what, "block referenced twice")
		}
		seen[addr] = true
		return nil
	}
	for s := range ea.sblks {
		info := ea.sblks[s]
		first := satAdd(ea.idxBlkElmts, info.startIdx)
		if first >= st.maxIdxSet {
			break
		}
		var sb *eaSuperBlock
		if s >= ea.iblkNsblks {
			addr := st.iblkSblks[s-ea.iblkNsblks]
			if addr == format.Undefined {
				continue
			}
			if err := once(addr, eaSblockWhat); err != nil {
				return err
			}
			var err error
			if sb, err = ea.superBlock(addr, s); err != nil {
				return err
			}
		}
		for k := uint64(0); k < info.ndblks; k++ {
			dfirst, ok := mulAdd(k, info.dblkNelmts, first)
			if !ok || dfirst >= st.maxIdxSet {
				break
			}
			var dblk uint64
			if sb == nil {
				dblk = st.iblkDblks[info.startDblk+k]
			} else {
				dblk = sb.dblks[k]
			}
			if dblk == format.Undefined {
				continue
			}
			if err := once(dblk, eaDblockWhat); err != nil {
				return err
			}
			if sb == nil || sb.npages == 0 {
				elems, err := ea.dataBlock(dblk, info.dblkNelmts)
				if err != nil {
					return err
				}
				if err := ea.walkElems(elems, dfirst, st.maxIdxSet, visit); err != nil {
					return err
				}
				continue
			}
			for pg := uint64(0); pg < sb.npages; pg++ {
				pfirst := dfirst + pg*ea.pageNelmts
				if pfirst >= st.maxIdxSet {
					break
				}
				if !bitSet(sb.pageInit, k*sb.npages+pg) {
					continue
				}
				elems, err := ea.page(dblk, pg)
				if err != nil {
					return err
				}
				if err := ea.walkElems(elems, pfirst, st.maxIdxSet, visit); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// walkElems visits the written elements of a block whose first element has
// array index first, up to the highest index set.
func (ea *extensibleArray) walkElems(elems []byte, first, maxIdxSet uint64, visit func(Chunk) error) error {
	n := uint64(len(elems)) / uint64(ea.codec.elemSize)
	for i := uint64(0); i < n; i++ {
		idx := first + i
		if idx >= maxIdxSet || idx < first {
			break
		}
		c, ok := ea.codec.chunk(elems, i, func() []uint64 { return ea.lin.coords(idx) })
		if !ok {
			continue
		}
		if err := visit(c); err != nil {
			return err
		}
	}
	return nil
}
