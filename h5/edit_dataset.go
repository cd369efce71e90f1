package h5

import (
	"fmt"
	"slices"

	"github.com/h5mount/h5mount/h5/internal/chunk"
	"github.com/h5mount/h5mount/h5/internal/filter"
	"github.com/h5mount/h5mount/h5/internal/format"
)

// DatasetSpec defines a dataset.
type DatasetSpec struct {
	Type    *Datatype
	Dims    []uint64 // nil: a scalar
	MaxDims []uint64 // nil: the same as Dims; Unlimited where it may grow
	// Chunks asks for chunked storage with these chunk dimensions; nil
	// chooses them when the dataset needs chunks (it can grow, or has
	// filters), else storage is contiguous.
	Chunks  []uint64
	Filters []Filter
	Fill    []byte // one element; nil: zeros
}

// chunkTarget is the chunk size GuessChunks aims for.
const chunkTarget = 1 << 20

// GuessChunks picks chunk dimensions for a dataset: whole trailing
// dimensions up to about 1 MiB per chunk, then as much of the next
// dimension as fits, and 1 along the rest. A chunk then holds a contiguous
// run of the dataset's bytes, which is what reads and writes by byte offset
// want. Unlimited or zero dimensions count as 1024 (as h5py's guess does).
func GuessChunks(dims, maxDims []uint64, elemSize uint32) []uint64 {
	chunks := make([]uint64, len(dims))
	bytes := uint64(max(elemSize, 1))
	for i := len(dims) - 1; i >= 0; i-- {
		d := dims[i]
		if d == 0 || (maxDims != nil && maxDims[i] == Unlimited && d < 1024) {
			d = max(d, 1024)
		}
		fit := max(chunkTarget/bytes, 1)
		if d <= fit {
			chunks[i] = d
			bytes *= d
			continue
		}
		chunks[i] = fit
		for j := i - 1; j >= 0; j-- {
			chunks[j] = 1
		}
		break
	}
	for i := range chunks {
		chunks[i] = max(min(chunks[i], 0xffffffff), 1)
	}
	return chunks
}

// CreateDataset makes a dataset with no storage allocated (every element
// reads as the fill value) and links it into g as name.
func (g *Group) CreateDataset(name string, spec *DatasetSpec) (*Dataset, error) {
	var d *Dataset
	err := g.f.edit(func() error {
		if err := g.nameFree(name); err != nil {
			return err
		}
		msgs, err := g.f.datasetMessages(spec, g.header().Version)
		if err != nil {
			return err
		}
		if g.header().Version == 1 {
			msgs = append(msgs, modTimeMessage())
		}
		hc := g.headerCreate()
		hc.Slack = newHeaderSlack
		addr, err := format.CreateObjectHeader(g.f.r, storage{g.f}, hc, msgs)
		if err != nil {
			return err
		}
		o, err := g.linkNew(name, addr)
		if err != nil {
			return err
		}
		d, err = o.AsDataset()
		return err
	})
	return d, err
}

// datasetMessages are the header messages that define a dataset: in the
// message versions of a header of version hv, as libhdf5 writes them.
func (f *File) datasetMessages(spec *DatasetSpec, hv uint8) ([]format.NewMessage, error) {
	return f.datasetMessagesWith(spec, hv, nil)
}

// datasetMessagesWith is datasetMessages with the storage of keep: its
// address (and a contiguous dataset's size) instead of none.
func (f *File) datasetMessagesWith(spec *DatasetSpec, hv uint8, keep *format.Layout) ([]format.NewMessage, error) {
	t := spec.Type
	if t == nil || t.Size == 0 || t.HasVariableSize() {
		return nil, fmt.Errorf("h5: a dataset needs a datatype of fixed size: %w", ErrInvalid)
	}
	rank := len(spec.Dims)
	maxDims := spec.MaxDims
	if maxDims != nil && len(maxDims) != rank {
		return nil, fmt.Errorf("h5: %d maximum dimensions for rank %d: %w", len(maxDims), rank, ErrInvalid)
	}
	space := &format.Dataspace{Version: 1, Kind: format.SpaceSimple, Dims: spec.Dims}
	if hv == 2 {
		space.Version = 2
	}
	if spec.Dims == nil {
		space.Kind = format.SpaceScalar
	}
	growable := false
	for i, m := range maxDims {
		if m != Unlimited && m < spec.Dims[i] {
			return nil, fmt.Errorf("h5: maximum dimension %d below %d: %w", m, spec.Dims[i], ErrInvalid)
		}
		growable = growable || m != spec.Dims[i]
	}
	if growable {
		space.MaxDims = maxDims
	}
	elems := space.NumElements()
	if elems > (1<<63-1)/uint64(t.Size) {
		return nil, fmt.Errorf("h5: %d elements of %d bytes: %w", elems, t.Size, ErrInvalid)
	}
	layout := &format.Layout{Class: format.LayoutContiguous, Addr: format.Undefined, Size: elems * uint64(t.Size)}
	chunks := spec.Chunks
	if chunks == nil && (growable || len(spec.Filters) > 0) {
		chunks = GuessChunks(spec.Dims, maxDims, t.Size)
	}
	if chunks != nil {
		if len(chunks) != rank || rank == 0 {
			return nil, fmt.Errorf("h5: chunk rank %d for dataset rank %d: %w", len(chunks), rank, ErrInvalid)
		}
		bytes := uint64(t.Size)
		for i, c := range chunks {
			if c == 0 || c > 0xffffffff || bytes*c/c != bytes {
				return nil, fmt.Errorf("h5: chunk dimension %d: %w", c, ErrInvalid)
			}
			// libhdf5 refuses a chunk longer than a fixed dimension that
			// is not empty (H5D__chunk_construct), as h5py does.
			limit := spec.Dims[i]
			if maxDims != nil {
				limit = maxDims[i]
			}
			if spec.Dims[i] > 0 && limit != Unlimited && c > limit {
				return nil, fmt.Errorf("h5: chunks of %v exceed the dataset's fixed dimension %d: %w", chunks, i, ErrInvalid)
			}
			bytes *= c
		}
		if bytes > 0xffffffff {
			return nil, fmt.Errorf("h5: chunks of %d bytes exceed 4 GiB: %w", bytes, ErrInvalid)
		}
		layout = &format.Layout{Class: format.LayoutChunked, Addr: format.Undefined, ChunkDims: chunks, ElementSize: t.Size}
	} else if len(spec.Filters) > 0 {
		return nil, fmt.Errorf("h5: filters need chunked storage: %w", ErrInvalid)
	}
	if keep != nil {
		if keep.Class != layout.Class {
			return nil, fmt.Errorf("h5: storage of class %d kept for a layout of class %d: %w", keep.Class, layout.Class, ErrInvalid)
		}
		layout.Addr, layout.CompactData = keep.Addr, keep.CompactData
		if keep.Class == format.LayoutContiguous {
			layout.Size = keep.Size
		}
	}
	typ, err := format.EncodeDatatype(t)
	if err != nil {
		return nil, err
	}
	lay, err := format.EncodeLayoutV3(layout, f.r.Sizes)
	if err != nil {
		return nil, err
	}
	fill := &format.FillValue{Version: 2, AllocTime: 2, WriteTime: 2, Defined: true}
	if layout.Class == format.LayoutChunked {
		fill.AllocTime = 3
	}
	if hv == 2 {
		fill.Version = 3
	}
	if spec.Fill != nil {
		if len(spec.Fill) != int(t.Size) {
			return nil, fmt.Errorf("h5: fill value of %d bytes for elements of %d: %w", len(spec.Fill), t.Size, ErrInvalid)
		}
		fill.Value = spec.Fill
	}
	msgs := []format.NewMessage{
		{Type: format.MsgDataspace, Data: format.EncodeDataspace(space, f.r.Sizes)},
		{Type: format.MsgDatatype, Flags: 1, Data: typ}, // constant, as libhdf5 marks it
		{Type: format.MsgFillValue, Flags: 1, Data: format.EncodeFillValue(fill)},
		{Type: format.MsgLayout, Data: lay},
	}
	if len(spec.Filters) > 0 {
		version := uint8(1)
		if hv == 2 {
			version = 2
		}
		filters, err := setLocal(spec.Filters, t, layout.ChunkDims)
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, format.NewMessage{Type: format.MsgFilterPipeline, Data: format.EncodeFilterPipeline(version, filters)})
	}
	return msgs, nil
}

// Stored reports whether any element of the dataset was ever written: it
// holds storage, or changes waiting to be written. A dataset of no
// elements holds nothing to see, whatever a shrink to zero left beyond its
// extent (Redefine releases that).
func (d *Dataset) Stored() (bool, error) {
	if d.layout.Class == format.LayoutCompact {
		return true, nil
	}
	if d.space.Kind == SpaceSimple && d.NumElements() == 0 {
		return false, nil
	}
	n, err := d.AllocatedBytes()
	if err != nil || n > 0 {
		return n > 0, err
	}
	if w := d.f.wr; w != nil {
		w.mu.Lock()
		defer w.mu.Unlock()
		for _, dc := range w.dirty {
			if dc.d == d {
				return true, nil
			}
		}
	}
	return false, nil
}

// Redefine gives a dataset that holds nothing yet (Stored is false) a new
// definition. The Dataset is then stale: ask the object again.
func (d *Dataset) Redefine(spec *DatasetSpec) error {
	o := d.Object
	err := o.f.edit(func() error {
		stored, err := d.Stored()
		if err != nil {
			return err
		}
		if stored {
			return fmt.Errorf("h5: dataset at 0x%x holds data: it cannot be redefined: %w", d.Addr, ErrInvalid)
		}
		if !d.hasOwnDefinition() {
			return fmt.Errorf("h5: dataset at 0x%x shares its definition: %w", d.Addr, ErrUnsupported)
		}
		return o.replaceDefinition(spec)
	})
	if err == nil && d.f.wr != nil {
		// Chunks a shrink to zero elements left, stored or pending, belong
		// to the old definition: freed, and never written into it.
		d.releaseStorage()
	}
	return err
}

// hasOwnDefinition reports whether none of the defining messages is shared
// (kept in a named datatype or the shared message table).
func (d *Dataset) hasOwnDefinition() bool {
	for _, t := range []uint16{format.MsgDataspace, format.MsgDatatype, format.MsgFillValue, format.MsgFilterPipeline, format.MsgLayout} {
		if m := d.header().Find(t); m != nil && m.Shared() {
			return false
		}
	}
	return true
}

// Spec is the dataset's definition, to modify and pass to Redefine.
func (d *Dataset) Spec() *DatasetSpec {
	s := &DatasetSpec{Type: d.Type, Filters: d.Filters}
	if d.space.Kind == SpaceSimple {
		s.Dims = append([]uint64(nil), d.dims()...)
		s.MaxDims = append([]uint64(nil), d.space.MaxDims...)
	}
	if d.layout.Class == format.LayoutChunked {
		s.Chunks = append([]uint64(nil), d.layout.ChunkDims...)
	}
	if d.fill != nil && d.fill.Value != nil {
		s.Fill = append([]byte(nil), d.fill.Value...)
	}
	return s
}

// rebuildBlock is how much a rebuild copies at a time.
const rebuildBlock = 4 << 20

// Rebuild gives a dataset that holds data a new definition — change edits
// a copy of its current one — and copies its bytes into storage laid out
// as the new definition says: new chunks, new filters, a new shape or
// type over the same bytes. Parts that read as the old fill value are not
// copied, so they stay unallocated and read as the new fill value. No
// commit happens until the copy is complete, so a crash leaves the old
// dataset whole.
func (d *Dataset) Rebuild(change func(*DatasetSpec)) error {
	f := d.f
	if f.wr == nil {
		return ErrReadOnly
	}
	if d.Type.HasVariableSize() || d.ReadsConverted() || d.layout.Class == format.LayoutVirtual || d.hasExternal() {
		return fmt.Errorf("h5: dataset at 0x%x cannot be laid out anew: %w", d.Addr, ErrUnsupported)
	}
	spec := d.Spec()
	chunks := append([]uint64(nil), spec.Chunks...)
	change(spec)
	if spec.Chunks != nil && slices.Equal(spec.Chunks, chunks) && len(spec.Dims) == len(chunks) {
		// Chunks kept through another change (a fixed maximum shape) are
		// cut to fit: libhdf5 refuses chunks longer than a fixed dimension.
		// Chunks the change sets must fit as they are.
		for i, c := range spec.Chunks {
			limit := spec.Dims[i]
			if spec.MaxDims != nil {
				limit = spec.MaxDims[i]
			}
			if spec.Dims[i] > 0 && limit != Unlimited && c > limit {
				spec.Chunks[i] = limit
			}
		}
	}
	newSize := (&Dataspace{Kind: SpaceSimple, Dims: spec.Dims}).NumElements() * uint64(spec.Type.Size)
	if spec.Dims == nil {
		newSize = uint64(spec.Type.Size)
	}
	if int64(newSize) != d.Size() {
		return fmt.Errorf("h5: dataset at 0x%x: %d bytes cannot become %d: %w", d.Addr, d.Size(), newSize, ErrInvalid)
	}
	w := f.wr
	w.commitMu.Lock()
	defer w.commitMu.Unlock()
	// The old definition's pending chunks go to its storage first, so
	// that reading it back sees them.
	d.lockToChange()
	err := d.flushChunks()
	d.doneChanging()
	if err != nil {
		return err
	}
	o := d.Object
	err = f.edit(func() error {
		if !d.hasOwnDefinition() {
			return fmt.Errorf("h5: dataset at 0x%x shares its definition: %w", d.Addr, ErrUnsupported)
		}
		return o.replaceDefinition(spec)
	})
	if err != nil {
		return err
	}
	nd, err := o.AsDataset()
	if err != nil {
		return err
	}
	buf := make([]byte, min(rebuildBlock, max(newSize, 1)))
	for off := int64(0); off < d.Size(); off += int64(len(buf)) {
		n := min(int64(len(buf)), d.Size()-off)
		if _, err := d.ReadAt(buf[:n], off); err != nil {
			return err
		}
		// What the new definition reads where nothing is stored: its own
		// fill value, which a new type or fill value may have changed.
		if isFillPattern(buf[:n], uint64(off), nd.fillVal) {
			continue
		}
		if _, err := nd.WriteAt(buf[:n], off); err != nil {
			return err
		}
	}
	d.releaseStorage()
	return nil
}

// isFillPattern reports whether p, found at byte offset off, holds nothing
// but the fill value.
func isFillPattern(p []byte, off uint64, fill []byte) bool {
	n := uint64(len(fill))
	if n == 0 {
		return false
	}
	for i := range p {
		if p[i] != fill[(off+uint64(i))%n] {
			return false
		}
	}
	return true
}

// setLocal fills in the filter parameters that depend on the datatype and
// the chunk, as each filter's set_local callback does in libhdf5: the
// element size of shuffle and bitshuffle, LZF's chunk size, Blosc's both,
// szip's byte order, pixel width and scanline.
func setLocal(filters []Filter, t *Datatype, chunkDims []uint64) ([]Filter, error) {
	chunkBytes := uint64(t.Size)
	for _, c := range chunkDims {
		chunkBytes *= c
	}
	out := make([]Filter, len(filters))
	for i, fl := range filters {
		fl.Params = append([]uint32(nil), fl.Params...)
		switch fl.ID {
		case filter.Shuffle:
			fl.Params = []uint32{t.Size}
		case filter.Bitshuffle:
			for len(fl.Params) < 3 {
				fl.Params = append(fl.Params, 0)
			}
			fl.Params[2] = t.Size
		case filter.LZF:
			for len(fl.Params) < 3 {
				fl.Params = append(fl.Params, 0)
			}
			fl.Params[2] = uint32(min(chunkBytes, 0xffffffff))
		case filter.Blosc:
			// hdf5-blosc's: its revision, Blosc's format, the size of an
			// element (of an array's base type; 1 past what Blosc
			// shuffles), the chunk's size.
			for len(fl.Params) < 4 {
				fl.Params = append(fl.Params, 0)
			}
			elem := t.Size
			if t.Class == ClassArray && t.Base != nil {
				elem = t.Base.Size
			}
			if elem > 255 {
				elem = 1
			}
			fl.Params[0], fl.Params[1], fl.Params[2] = 2, 2, elem
			fl.Params[3] = uint32(min(chunkBytes, 0xffffffff))
		case filter.SZip:
			p, err := szipLocal(fl.Params, t, chunkDims)
			if err != nil {
				return nil, err
			}
			fl.Params = p
		}
		out[i] = fl
	}
	return out, nil
}

// szipLocal is libhdf5's H5Z_set_local_szip: from the options mask and
// pixels per block H5Pset_szip records, the four parameters of the
// dataset. szip takes integers and floats (and enums and arrays of them);
// a pixel is as wide as the type's precision, 32 or 64 bits past 24; a
// scanline is the chunk's last dimension, at most 128 blocks, or, where
// that is shorter than a block, the whole chunk up to 128 blocks. Where
// libhdf5 makes a pipeline its coder then fails on (an 80-bit float), we
// refuse it.
func szipLocal(params []uint32, t *Datatype, chunkDims []uint64) ([]uint32, error) {
	const (
		lsb, msb       = 8, 16
		maxBlocksALine = 128
		maxPixelsALine = 32 * maxBlocksALine
	)
	if len(params) < 2 {
		return nil, fmt.Errorf("h5: szip with %d parameters: %w", len(params), ErrInvalid)
	}
	mask, ppb := params[0], params[1]
	if ppb < 2 || ppb > 32 || ppb%2 != 0 {
		return nil, fmt.Errorf("h5: szip with %d pixels a block (even, 2-32): %w", ppb, ErrInvalid)
	}
	base := t
	for (base.Class == format.ClassArray || base.Class == format.ClassEnum) && base.Base != nil {
		base = base.Base
	}
	switch base.Class {
	case format.ClassFixed, format.ClassFloat, format.ClassBitfield:
	default:
		return nil, fmt.Errorf("h5: szip compresses integers and floats, not elements of class %d: %w", base.Class, ErrInvalid)
	}
	// The pixel is the precision of the (base) type, unless the value
	// lies at an offset: then the whole element, as libhdf5 sizes it.
	whole := 8 * t.Size
	bpp := uint32(base.Precision)
	if bpp == 0 {
		bpp = 8 * base.Size
	}
	if bpp < whole && base.BitOffset != 0 {
		bpp = whole
	}
	switch {
	case bpp > 32 && bpp <= 64:
		bpp = 64
	case bpp > 24 && bpp <= 32:
		bpp = 32
	}
	if bpp == 0 || bpp > 64 {
		return nil, fmt.Errorf("h5: szip codes pixels of up to 32 bits or of 64, not %d: %w", bpp, ErrInvalid)
	}
	points := uint64(1)
	for _, c := range chunkDims {
		points *= c
	}
	scanline := uint64(1)
	if len(chunkDims) > 0 {
		scanline = chunkDims[len(chunkDims)-1]
	}
	switch {
	case scanline < uint64(ppb):
		if points < uint64(ppb) {
			return nil, fmt.Errorf("h5: szip blocks of %d pixels in chunks of %d: %w", ppb, points, ErrInvalid)
		}
		scanline = min(uint64(ppb)*maxBlocksALine, points)
	case scanline <= maxPixelsALine:
		scanline = min(uint64(ppb)*maxBlocksALine, scanline)
	default:
		scanline = uint64(ppb) * maxBlocksALine
	}
	mask &^= lsb | msb
	if base.BigEndian {
		mask |= msb
	} else {
		mask |= lsb
	}
	return []uint32{mask, ppb, bpp, uint32(scanline)}, nil
}

// elementSizeFilters reshuffle bytes by element: their chunks do not
// survive a change of element size. (Blosc's shuffle does, its frames
// carrying their own element size.)
func elementSizeFilters(filters []Filter) bool {
	for _, fl := range filters {
		switch fl.ID {
		case filter.Shuffle, filter.Bitshuffle, filter.NBit, filter.ScaleOffset:
			return true
		}
	}
	return false
}

// replaceDefinition swaps the messages that define the dataset for those
// of spec, leaving its storage undefined. The caller holds f.wr.meta.
func (o *Object) replaceDefinition(spec *DatasetSpec) error {
	return o.replaceDefinitionKeeping(spec, nil)
}

// replaceDefinitionKeeping is replaceDefinition with the storage of keep.
func (o *Object) replaceDefinitionKeeping(spec *DatasetSpec, keep *format.Layout) error {
	msgs, err := o.f.datasetMessagesWith(spec, o.header().Version, keep)
	if err != nil {
		return err
	}
	s := storage{o.f}
	e, err := format.EditObjectHeader(o.f.r, o.header())
	if err != nil {
		return err
	}
	e.Remove(func(typ uint16, _ []byte) bool {
		switch typ {
		case format.MsgDataspace, format.MsgDatatype, format.MsgFillValue, format.MsgFillValueOld,
			format.MsgLayout, format.MsgFilterPipeline:
			return true
		}
		return false
	})
	for _, m := range msgs {
		if err := e.Add(s, m); err != nil {
			return err
		}
	}
	if err := e.Commit(s); err != nil {
		return err
	}
	if err := o.reload(); err != nil {
		return err
	}
	o.forgetDataset()
	return nil
}

// Reinterpret gives the dataset's bytes a new element type whose size
// divides the bytes of its last dimension (as NumPy's view): the last
// dimension (and its chunk dimension) scale by the ratio of the sizes.
func (d *Dataset) Reinterpret(t *Datatype) error {
	if t == nil || t.Size == 0 {
		return fmt.Errorf("h5: reinterpreting as a type of no size: %w", ErrInvalid)
	}
	dims := d.dims()
	if d.space.Kind != SpaceSimple || len(dims) == 0 {
		if t.Size != d.Type.Size {
			return fmt.Errorf("h5: a scalar of %d bytes cannot hold an element of %d: %w", d.Type.Size, t.Size, ErrInvalid)
		}
		return d.Rebuild(func(s *DatasetSpec) { s.Type, s.Fill = t, nil })
	}
	last := len(dims) - 1
	lastBytes := dims[last] * uint64(d.Type.Size)
	if lastBytes%uint64(t.Size) != 0 {
		return fmt.Errorf("h5: the last dimension's %d bytes do not divide into elements of %d: %w", lastBytes, t.Size, ErrInvalid)
	}
	if done, err := d.reinterpretInPlace(t); done || err != nil {
		return err
	}
	return d.Rebuild(func(s *DatasetSpec) {
		s.Type, s.Fill = t, nil
		s.Dims[last] = lastBytes / uint64(t.Size)
		if s.MaxDims != nil && s.MaxDims[last] != Unlimited {
			s.MaxDims[last] = s.MaxDims[last] * uint64(d.Type.Size) / uint64(t.Size)
		}
		if s.Chunks != nil {
			if cb := s.Chunks[last] * uint64(d.Type.Size); cb%uint64(t.Size) == 0 {
				s.Chunks[last] = cb / uint64(t.Size)
			} else {
				s.Chunks = GuessChunks(s.Dims, s.MaxDims, t.Size)
			}
		}
	})
}

// Reshape gives the dataset a new shape: with as many elements (the bytes
// stay as they are, in row-major order), or different only along a
// growable first dimension (a resize).
func (d *Dataset) Reshape(dims []uint64) error {
	cur := d.dims()
	if len(dims) == len(cur) && len(dims) > 0 && d.Growable() {
		same := true
		for i := 1; i < len(dims); i++ {
			same = same && dims[i] == cur[i]
		}
		if same {
			return d.Resize(dims[0])
		}
	}
	return d.Rebuild(func(s *DatasetSpec) {
		s.MaxDims = nil
		if len(s.Dims) > 0 && d.Growable() && d.space.MaxDims[0] == Unlimited && len(dims) > 0 {
			s.MaxDims = append([]uint64{Unlimited}, dims[1:]...)
		}
		s.Dims = dims
		if s.Chunks != nil {
			if len(dims) == 0 {
				s.Chunks = nil
			} else {
				s.Chunks = GuessChunks(dims, s.MaxDims, s.Type.Size)
			}
		}
	})
}

// reinterpretInPlace gives the stored bytes a new element type without
// moving them, where the layout allows: contiguous and compact storage, and
// chunks whose last dimension divides into the new elements, stored in a
// v1 B-tree (whose keys are rewritten) and without filters that depend on
// the element size. It reports false when it cannot.
func (d *Dataset) reinterpretInPlace(t *Datatype) (bool, error) {
	if d.f.wr == nil {
		return false, ErrReadOnly
	}
	if d.hasExternal() || d.ReadsConverted() || elementSizeFilters(d.Filters) || !isZero(d.fillVal) || !d.hasOwnDefinition() {
		return false, nil
	}
	l := d.layout
	if l.Class == format.LayoutChunked {
		lastChunk := l.ChunkDims[len(l.ChunkDims)-1] * uint64(d.Type.Size)
		if l.Version >= 4 || lastChunk%uint64(t.Size) != 0 {
			return false, nil
		}
	}
	d.lockToChange()
	defer d.doneChanging()
	if err := d.flushChunks(); err != nil {
		return false, err
	}
	spec := d.Spec()
	last := len(spec.Dims) - 1
	spec.Type, spec.Fill = t, nil
	spec.Dims[last] = spec.Dims[last] * uint64(d.Type.Size) / uint64(t.Size)
	if len(spec.MaxDims) > 0 && spec.MaxDims[last] != Unlimited {
		spec.MaxDims[last] = spec.MaxDims[last] * uint64(d.Type.Size) / uint64(t.Size)
	}
	err := d.f.edit(func() error {
		keep := &format.Layout{Class: l.Class, Addr: l.Addr, Size: l.Size, CompactData: l.CompactData}
		if l.Class == format.LayoutChunked {
			spec.Chunks[last] = spec.Chunks[last] * uint64(d.Type.Size) / uint64(t.Size)
			root, err := d.rekeyBTree(spec, t)
			if err != nil {
				return err
			}
			keep.Addr = root
		}
		return d.Object.replaceDefinitionKeeping(spec, keep)
	})
	return err == nil, err
}

// rekeyBTree writes a new v1 B-tree holding the dataset's chunks under the
// keys of new chunk dimensions (the chunks themselves stay where they are)
// and returns its root, or Undefined for a dataset with no chunks. The
// caller holds f.wr.meta.
func (d *Dataset) rekeyBTree(spec *DatasetSpec, t *Datatype) (uint64, error) {
	idx, err := d.chunkIndex()
	if err != nil {
		return 0, err
	}
	var chunks []chunk.Chunk
	if err := idx.Walk(func(c chunk.Chunk) error {
		chunks = append(chunks, chunk.Chunk{Scaled: append([]uint64(nil), c.Scaled...), Addr: c.Addr, Size: c.Size, FilterMask: c.FilterMask})
		return nil
	}); err != nil {
		return 0, err
	}
	layout := &format.Layout{Version: 3, Class: format.LayoutChunked, Addr: format.Undefined, ChunkDims: spec.Chunks, ElementSize: t.Size}
	p := chunk.Params{R: d.f.r, Layout: layout, Dims: spec.Dims, MaxDims: spec.MaxDims, ElementSize: t.Size,
		Filtered: len(spec.Filters) > 0, BTreeK: d.f.sb.IndexedStorageK}
	w := chunk.NewBTree1Writer(p)
	root := format.Undefined
	for _, c := range chunks {
		layout.Addr = root
		if root, err = w.Put(storage{d.f}, c); err != nil {
			return 0, err
		}
	}
	return root, nil
}
