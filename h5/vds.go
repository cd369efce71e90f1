package h5

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// Virtual datasets (layout class 3) map selections of source datasets, in
// this file (".") or in others, onto their own dataspace. They read as
// libhdf5 reads them with its default access properties (the "last
// available" view, no printf gap): the extent along an unlimited mapping
// grows with the source datasets found, every element no mapping covers
// or whose source is missing reads as the virtual dataset's fill value,
// and source elements are converted to the virtual dataset's byte order.
// Regular hyperslab and "all" selections are supported; irregular
// hyperslabs and point selections answer ErrUnsupported when read.
// Virtual datasets are read-only.

const (
	// maxVDSLevel bounds how deep virtual datasets may draw on virtual
	// datasets in other files, so a cycle of files ends.
	maxVDSLevel = 4
	// maxSourceFiles bounds the source files a File opens (they stay open
	// while it is); sources beyond read as missing.
	maxSourceFiles = 1024
	// maxPrintfSources bounds the printf-named source files probed.
	maxPrintfSources = maxSourceFiles
)

// sourceFiles caches the files virtual datasets draw on.
type sourceFiles struct {
	mu    sync.Mutex
	files map[string]*File
}

func (s *sourceFiles) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.files {
		f.Close()
	}
	s.files = nil
}

// sourceFile opens (once) the file a mapping names, or reports it missing.
func (f *File) sourceFile(name string) (*File, error) {
	if name == "." {
		return f, nil
	}
	if f.selfContained {
		return nil, fmt.Errorf("h5: virtual dataset source file %q: other files are not read on behalf of this one: %w", name, ErrUnsupported)
	}
	if f.vdsLevel >= maxVDSLevel {
		return nil, fmt.Errorf("h5: virtual datasets nested more than %d files deep: %w", maxVDSLevel, ErrUnsupported)
	}
	var candidates []string
	switch {
	case filepath.IsAbs(name):
		candidates = append(candidates, name)
		if f.path != "" {
			candidates = append(candidates, filepath.Join(filepath.Dir(f.path), filepath.Base(name)))
		}
	case f.path != "":
		candidates = append(candidates, filepath.Join(filepath.Dir(f.path), name))
	default:
		return nil, fmt.Errorf("h5: source file %q relative to a file opened without a name: %w", name, ErrUnsupported)
	}
	f.sources.mu.Lock()
	defer f.sources.mu.Unlock()
	var firstErr error
	for _, p := range candidates {
		if p == f.path {
			return f, nil
		}
		if sf := f.sources.files[p]; sf != nil {
			return sf, nil
		}
		if len(f.sources.files) >= maxSourceFiles {
			return nil, fmt.Errorf("h5: virtual datasets draw on more than %d files: %w", maxSourceFiles, ErrUnsupported)
		}
		sf, err := openSource(p, &Options{CacheBytes: f.chunks.budget / 4})
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		sf.vdsLevel = f.vdsLevel + 1
		if f.sources.files == nil {
			f.sources.files = map[string]*File{}
		}
		f.sources.files[p] = sf
		return sf, nil
	}
	return nil, firstErr
}

// openSource opens a virtual dataset's source file, a regular file only
// (a name in a hostile file must not make the open block on a FIFO).
func openSource(path string, opt *Options) (*File, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("h5: %s is not a regular file: %w", path, ErrUnsupported)
	}
	return OpenFile(path, opt)
}

// unlimDim is the dimension along which a regular hyperslab is unlimited,
// or -1.
func unlimDim(s *format.Selection) int {
	if s.Kind != format.SelHyperslab || !s.Regular {
		return -1
	}
	for k := 0; k < s.Rank; k++ {
		if s.Count[k] == format.Unlimited || s.Block[k] == format.Unlimited {
			return k
		}
	}
	return -1
}

// clipExtentMatch is the extent a virtual selection unlimited along vdim
// must be cut at to hold as many elements as the source selection,
// unlimited along sdim, holds within a source extent of srcExtent along
// sdim (libhdf5's H5S_hyper_get_clip_extent_match, trailing space
// excluded).
func clipExtentMatch(virt, src *format.Selection, vdim, sdim int, srcExtent uint64) uint64 {
	start, stride, count, block := src.Start[sdim], src.Stride[sdim], src.Count[sdim], src.Block[sdim]
	switch {
	case start >= srcExtent:
		count = 0
	case block == format.Unlimited || block == stride:
		block, count = srcExtent-start, 1
	default:
		if stride == 0 {
			return 0
		}
		count = (srcExtent - start + stride - 1) / stride
	}
	var slices uint64
	switch {
	case block == 0 || count == 0:
	case count == 1:
		slices = block
	default:
		slices = block * count
		if stride*(count-1)+block > srcExtent-start {
			slices -= stride*(count-1) + block - (srcExtent - start)
		}
	}
	vstart, vstride, vblock := virt.Start[vdim], virt.Stride[vdim], virt.Block[vdim]
	switch {
	case slices == 0:
		return 0
	case vblock == format.Unlimited || vblock == vstride:
		return vstart + slices
	case vblock == 0:
		return 0
	}
	n := slices / vblock
	if rem := slices - n*vblock; rem > 0 {
		return vstart + n*vstride + rem
	}
	return vstart + (n-1)*vstride + vblock
}

// selectionEnd is the exclusive upper bound of a selection along each
// dimension, ignoring an unlimited one (0 there).
func selectionEnd(s *format.Selection, rank int) []uint64 {
	end := make([]uint64, rank)
	switch {
	case s.Kind == format.SelHyperslab && s.Regular && s.Rank == rank:
		for k := 0; k < rank; k++ {
			if s.Count[k] == format.Unlimited || s.Block[k] == format.Unlimited || s.Count[k] == 0 || s.Block[k] == 0 {
				continue
			}
			end[k] = s.Start[k] + (s.Count[k]-1)*s.Stride[k] + s.Block[k]
		}
	case s.Kind == format.SelHyperslab && s.Rank == rank:
		for _, b := range s.Blocks {
			for k := 0; k < rank; k++ {
				end[k] = max(end[k], b[rank+k]+1)
			}
		}
	case s.Kind == format.SelPoints && s.Rank == rank:
		for _, p := range s.Points {
			for k := 0; k < rank; k++ {
				end[k] = max(end[k], p[k]+1)
			}
		}
	}
	return end
}

// printfName substitutes block number n for each "%b" ("%%" is "%").
func printfName(name string, n uint64) (string, bool, error) {
	if !strings.Contains(name, "%") {
		return name, false, nil
	}
	var b strings.Builder
	subs := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+1 >= len(name) {
			return "", false, fmt.Errorf("h5: source name %q ends in %%: %w", name, ErrCorrupt)
		}
		i++
		switch name[i] {
		case '%':
			b.WriteByte('%')
		case 'b':
			b.WriteString(strconv.FormatUint(n, 10))
			subs = true
		default:
			return "", false, fmt.Errorf("h5: source name %q has format %%%c: %w", name, name[i], ErrCorrupt)
		}
	}
	return b.String(), subs, nil
}

// vdsPart is one resolved piece of a virtual dataset: the elements virt
// selects read from the elements src selects in dataset srcDset.
type vdsPart struct {
	virt    selSet
	src     selSet
	srcDims []uint64
	srcDset *Dataset
	swap    bool // source stored in the other byte order
	convert bool // source of another numeric type (vds_convert.go)
}

// virtualState is a virtual dataset's resolved mappings.
type virtualState struct {
	dims  []uint64
	parts []vdsPart
	// err is why some mapping cannot be read (an unsupported selection or
	// type): the dataset opens, its reads fail.
	err error
}

// openVirtual reads the mapping list, opens the source datasets found,
// and computes the extent libhdf5 gives the dataset.
func (d *Dataset) openVirtual() error {
	l := d.layout
	c, err := d.f.globalHeap(l.GlobalHeapAddr)
	if err != nil {
		return err
	}
	obj, ok := c.Objects[l.GlobalHeapIndex]
	if !ok {
		return format.Corruptf(l.GlobalHeapAddr, "global heap collection", "no object %d for the virtual dataset mapping list", l.GlobalHeapIndex)
	}
	maps, err := format.DecodeVirtualMappings(obj, l.GlobalHeapAddr, d.f.r.Sizes)
	if err != nil {
		return err
	}
	if d.space.Kind != SpaceSimple {
		return fmt.Errorf("h5: virtual dataset with a %v dataspace: %w", d.space.Kind, ErrUnsupported)
	}
	rank := len(d.space.Dims)
	vs := &virtualState{}
	newDims := make([]uint64, rank)
	defined := make([]bool, rank)
	minDims := make([]uint64, rank)
	type pending struct {
		m       format.VirtualMapping
		clip    uint64 // for unlimited mappings
		blocks  uint64 // printf mappings: source datasets found
		src     *Dataset
		printf  bool
		vdimLim int
	}
	var todo []pending
	for _, m := range maps {
		if d.f.selfContained && m.File != "." {
			// Reads fail rather than show fill where the source would be.
			vs.err = cmp.Or(vs.err, fmt.Errorf("h5: virtual dataset source file %q: other files are not read on behalf of this one: %w", m.File, ErrUnsupported))
		}
		if m.Virtual.Rank != 0 && m.Virtual.Rank != rank && m.Virtual.Kind != format.SelAll {
			return fmt.Errorf("h5: virtual selection of rank %d in a rank-%d virtual dataset: %w", m.Virtual.Rank, rank, ErrCorrupt)
		}
		vdim := unlimDim(m.Virtual)
		sdim := unlimDim(m.Source)
		end := selectionEnd(m.Virtual, rank)
		for k := 0; k < rank; k++ {
			if k != vdim && m.Virtual.Kind != format.SelAll && m.Virtual.Kind != format.SelNone {
				minDims[k] = max(minDims[k], end[k])
			}
		}
		p := pending{m: m, vdimLim: vdim}
		switch {
		case vdim < 0:
			p.src = d.sourceDataset(m.File, m.Dataset)
		case sdim >= 0:
			// The source grows along sdim: the virtual side follows.
			p.src = d.sourceDataset(m.File, m.Dataset)
			if p.src != nil && sdim < len(p.src.dims()) {
				p.clip = clipExtentMatch(m.Virtual, m.Source, vdim, sdim, p.src.dims()[sdim])
			}
		default:
			// printf mapping: block j of the virtual selection comes from
			// the j-th source, for as long as consecutive sources exist.
			p.printf = true
			_, fsubs, err := printfName(m.File, 0)
			if err != nil {
				return err
			}
			_, dsubs, err := printfName(m.Dataset, 0)
			if err != nil {
				return err
			}
			if !fsubs && !dsubs {
				return fmt.Errorf("h5: unlimited virtual selection over a limited source selection without %%b in the source names: %w", ErrCorrupt)
			}
			for j := uint64(0); j < maxPrintfSources; j++ {
				fn, _, err := printfName(m.File, j)
				if err != nil {
					return err
				}
				dn, _, err := printfName(m.Dataset, j)
				if err != nil {
					return err
				}
				if d.sourceDataset(fn, dn) == nil {
					break
				}
				p.blocks = j + 1
			}
			if p.blocks > 0 {
				v := m.Virtual
				p.clip = v.Start[vdim] + (p.blocks-1)*v.Stride[vdim] + v.Block[vdim]
				if v.Block[vdim] == format.Unlimited {
					return fmt.Errorf("h5: printf-named mapping with an unlimited block: %w", ErrUnsupported)
				}
			}
		}
		if vdim >= 0 && (!defined[vdim] || p.clip > newDims[vdim]) {
			newDims[vdim], defined[vdim] = p.clip, true
		}
		todo = append(todo, p)
	}
	vs.dims = make([]uint64, rank)
	for k := range vs.dims {
		vs.dims[k] = d.space.Dims[k]
		if defined[k] {
			vs.dims[k] = max(newDims[k], minDims[k])
		}
	}
	for _, p := range todo {
		if !p.printf {
			if p.src == nil {
				continue
			}
			clip := p.clip
			if p.vdimLim < 0 {
				clip = ^uint64(0)
			}
			part, err := d.newPart(p.m.Virtual, p.m.Source, vs.dims, clip, p.src)
			if err != nil {
				vs.err = cmp.Or(vs.err, err)
				continue
			}
			vs.parts = append(vs.parts, part)
			continue
		}
		v := p.m.Virtual
		vdim := p.vdimLim
		for j := uint64(0); j < p.blocks; j++ {
			fn, _, _ := printfName(p.m.File, j)
			dn, _, _ := printfName(p.m.Dataset, j)
			src := d.sourceDataset(fn, dn)
			if src == nil {
				continue
			}
			blk := *v
			blk.Start = append([]uint64(nil), v.Start...)
			blk.Count = append([]uint64(nil), v.Count...)
			blk.Start[vdim] += j * v.Stride[vdim]
			blk.Count[vdim] = 1
			part, err := d.newPart(&blk, p.m.Source, vs.dims, ^uint64(0), src)
			if err != nil {
				vs.err = cmp.Or(vs.err, err)
				continue
			}
			vs.parts = append(vs.parts, part)
		}
	}
	d.virtual = vs
	d.space.Dims = vs.dims
	if d.space.MaxDims == nil {
		d.space.MaxDims = vs.dims
	}
	return nil
}

// newPart pairs a mapping's virtual selection (cut at clip along an
// unlimited dimension) with its source selection over the source's extent.
func (d *Dataset) newPart(virt, src *format.Selection, dims []uint64, clip uint64, srcDset *Dataset) (vdsPart, error) {
	vset, err := boundedSelection(virt, dims, clip)
	if err != nil {
		return vdsPart{}, err
	}
	srcDims := srcDset.dims()
	if srcDset.space.Kind == SpaceScalar {
		srcDims = []uint64{1}
	}
	sclip := ^uint64(0)
	if k := unlimDim(src); k >= 0 && k < len(srcDims) {
		sclip = srcDims[k]
	}
	sset, err := boundedSelection(src, srcDims, sclip)
	if err != nil {
		return vdsPart{}, err
	}
	part := vdsPart{virt: vset, src: sset, srcDims: srcDims, srcDset: srcDset}
	st, vt := srcDset.Type, d.Type
	switch {
	case (st.Size != vt.Size || st.Class != vt.Class) && numericConvertible(st) && numericConvertible(vt):
		part.convert = true
	case st.Size != vt.Size:
		return vdsPart{}, fmt.Errorf("h5: virtual dataset of %d-byte elements maps a source of %d-byte elements: %w", vt.Size, st.Size, ErrUnsupported)
	case string(st.Raw) == string(vt.Raw):
	case st.Class == vt.Class && (st.Class == ClassInteger || st.Class == ClassFloat) && st.BigEndian != vt.BigEndian &&
		st.Precision == vt.Precision && st.BitOffset == vt.BitOffset && st.Signed == vt.Signed &&
		st.ExpSize == vt.ExpSize && st.MantSize == vt.MantSize && st.ExpBias == vt.ExpBias:
		part.swap = true
	case st.Class == vt.Class && st.Class != ClassCompound && st.Class != ClassArray && st.BigEndian == vt.BigEndian &&
		st.Precision == vt.Precision && st.Signed == vt.Signed:
	default:
		return vdsPart{}, fmt.Errorf("h5: virtual dataset maps a source of another datatype (%v to %v): %w", st.Class, vt.Class, ErrUnsupported)
	}
	return part, nil
}

// sourceDataset opens a mapping's source dataset, or returns nil when the
// file or the dataset does not exist (its elements then read as fill).
func (d *Dataset) sourceDataset(file, dset string) *Dataset {
	sf, err := d.f.sourceFile(file)
	if err != nil {
		return nil
	}
	if !strings.HasPrefix(dset, "/") {
		dset = "/" + dset
	}
	o, err := sf.OpenPath(dset)
	if err != nil {
		return nil
	}
	if sf == d.f {
		// A virtual source in the same file could lead back here.
		lm := o.header().Find(format.MsgLayout)
		if lm == nil {
			return nil
		}
		if l, err := format.DecodeLayout(lm.Data, lm.Addr, sf.r.Sizes); err != nil || l.Class == format.LayoutVirtual {
			return nil
		}
	}
	src, err := o.AsDataset()
	if err != nil {
		return nil
	}
	return src
}

// readVirtual fills dst with the dataset bytes at [off, off+len(dst)).
func (d *Dataset) readVirtual(dst []byte, off uint64) error {
	if d.virtual == nil {
		return fmt.Errorf("h5: dataset at 0x%x: virtual dataset mappings not loaded: %w", d.Addr, ErrCorrupt)
	}
	if d.virtual.err != nil {
		return fmt.Errorf("h5: dataset at 0x%x: %w", d.Addr, d.virtual.err)
	}
	es := uint64(d.Type.Size)
	e0 := off / es
	e1 := (off + uint64(len(dst)) + es - 1) / es
	buf := dst
	if off%es != 0 || uint64(len(dst))%es != 0 {
		buf = make([]byte, (e1-e0)*es)
	}
	fillPattern(buf, 0, d.fillVal)
	for i := range d.virtual.parts {
		if err := d.readPart(&d.virtual.parts[i], buf, e0, e1); err != nil {
			return err
		}
	}
	if &buf[0] != &dst[0] {
		copy(dst, buf[off-e0*es:])
	}
	return nil
}

// readPart copies the elements of one part that fall in [e0, e1).
func (d *Dataset) readPart(p *vdsPart, buf []byte, e0, e1 uint64) error {
	if p.virt.total == 0 || p.src.total == 0 {
		return nil
	}
	dims := d.virtual.dims
	rank := len(dims)
	es := uint64(d.Type.Size)
	last := dims[rank-1]
	if last == 0 {
		return nil
	}
	srcStride := make([]uint64, len(p.srcDims))
	s := uint64(1)
	for k := len(p.srcDims) - 1; k >= 0; k-- {
		srcStride[k] = s
		s *= p.srcDims[k]
	}
	coords := make([]uint64, rank)
	var runDst, runSrc, runN uint64
	ses := uint64(p.srcDset.Type.Size)
	tmp := make([]byte, 0, 64*ses)
	flush := func() error {
		if runN == 0 {
			return nil
		}
		n := runN * ses
		if uint64(cap(tmp)) < n {
			tmp = make([]byte, n)
		}
		t := tmp[:n]
		// Stored bytes: the virtual dataset's own conversion follows.
		if err := p.srcDset.readRange(t, runSrc*ses); err != nil {
			return fmt.Errorf("h5: virtual dataset at 0x%x: source: %w", d.Addr, err)
		}
		switch {
		case p.convert:
			convertNumbers(p.srcDset.Type, d.Type, t, buf[(runDst-e0)*es:], int(runN))
			runN = 0
			return nil
		case p.swap:
			swapElements(t, int(es))
		}
		copy(buf[(runDst-e0)*es:], t)
		runN = 0
		return nil
	}
	emit := func(dstElem, srcElem uint64) error {
		if runN > 0 && dstElem == runDst+runN && srcElem == runSrc+runN && runN < 1<<16 {
			runN++
			return nil
		}
		if err := flush(); err != nil {
			return err
		}
		runDst, runSrc, runN = dstElem, srcElem, 1
		return nil
	}
	srcCoords := make([]uint64, len(p.srcDims))
	// srcElement maps the k-th selected virtual element to its source.
	srcElement := func(k uint64) (uint64, bool) {
		for j := len(p.src.dims) - 1; j >= 0; j-- {
			sz := p.src.sizes[j]
			srcCoords[j] = p.src.dims[j].at(k % sz)
			k /= sz
		}
		var lin uint64
		for j, c := range srcCoords {
			if c >= p.srcDims[j] {
				return 0, false
			}
			lin += c * srcStride[j]
		}
		return lin, true
	}
	lastSet := p.virt.dims[rank-1]
	for e := e0; e < e1; {
		rowStart := e / last * last
		rowEnd := min(e1, rowStart+last)
		rem := e / last
		for k := rank - 2; k >= 0; k-- {
			coords[k] = rem % dims[k]
			rem /= dims[k]
		}
		// Rank of this row's outer coordinates in the selection.
		var outer uint64
		ok := true
		for k := 0; k < rank-1; k++ {
			r, in := p.virt.dims[k].rank(coords[k])
			if !in {
				ok = false
				break
			}
			outer = outer*p.virt.sizes[k] + r
		}
		if ok {
			a, b := e-rowStart, rowEnd-rowStart
			// Walk the selected coordinates of the last dimension in [a, b).
			c := a
			for c < b {
				r, in := lastSet.rank(c)
				if !in {
					c = lastSet.next(c)
					continue
				}
				k := outer*p.virt.sizes[rank-1] + r
				if k < p.src.total {
					if lin, ok := srcElement(k); ok {
						if err := emit(rowStart+c, lin); err != nil {
							return err
						}
					}
				}
				c++
			}
		}
		e = rowEnd
	}
	return flush()
}

// swapElements reverses the bytes of each element.
func swapElements(b []byte, es int) {
	for i := 0; i+es <= len(b); i += es {
		el := b[i : i+es]
		for l, r := 0, es-1; l < r; l, r = l+1, r-1 {
			el[l], el[r] = el[r], el[l]
		}
	}
}
