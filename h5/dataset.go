package h5

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/h5mount/h5mount/h5/internal/chunk"
	"github.com/h5mount/h5mount/h5/internal/format"
)

// Dataset is an n-dimensional array of elements of one datatype.
type Dataset struct {
	*Object
	// decodedAt is the file's change count when the definition was read.
	decodedAt uint64
	Type      *Datatype
	space     Dataspace // as stored; the extent is in extent
	extent    atomic.Pointer[[]uint64]
	layout    *format.Layout
	// Filters is the filter pipeline, in the order it was applied on write.
	Filters []Filter
	fill    *format.FillValue
	fillVal []byte // one element: the fill value or zeros
	// conv converts elements to what h5py reads (nil: stored bytes).
	conv *converter
	// virtual holds the resolved mappings of a virtual dataset.
	virtual *virtualState

	// cacheID names the dataset's chunks in the chunk cache: unique per
	// decoding, so chunks of a former definition are never taken for its.
	cacheID uint64

	// mu orders writes against reads: ReadAt shares it, WriteAt and Flush
	// hold it alone.
	mu sync.RWMutex
	// modified is set once anything changes the dataset (lockToChange):
	// such a dataset may hold state of its own (pending chunks, disk
	// space reserved ahead of writes), and its object keeps it decoded
	// (loadedDatasets).
	modified atomic.Bool

	indexMu  sync.Mutex
	index    chunk.Index
	indexErr error

	// geo caches the chunk geometry of the current extent.
	geo atomic.Pointer[chunkGeometry]

	// lastEnd is where the previous read ended: a read starting there is
	// sequential and triggers read-ahead.
	lastEnd atomic.Uint64
	// streak counts reads in a row that started near where the previous
	// one ended.
	streak atomic.Uint32
	// hinting is set while the dataset's hinter runs (read.go), hints
	// once a sequential reader is seen: most datasets are never read so,
	// and a file can hold 100,000.
	hinting  atomic.Bool
	hintWant atomic.Uint64 // where the latest sequential read ended
	hints    atomic.Pointer[hintRing]
	// ahead is the decode-ahead window of a sequential reader (read.go),
	// allocated by the first.
	ahead atomic.Pointer[aheadState]

	// writeEnd is where the previous write into contiguous storage ended,
	// writeRun how many bytes were written in sequence up to there, and
	// reservedTo how far the storage's disk blocks have been reserved
	// ahead of them (write.go). Guarded by mu.
	writeEnd, writeRun, reservedTo uint64

	allocMu    sync.Mutex
	allocValid bool
	allocated  int64
	allocErr   error

	eflOnce sync.Once
	efl     []format.ExternalFile
	eflErr  error
}

var datasetIDs atomic.Uint64

// lockToChange takes mu to change the dataset, which its object then
// keeps decoded.
func (d *Dataset) lockToChange() {
	d.mu.Lock()
	d.f.changes.Add(1)
	if !d.modified.Swap(true) {
		d.Object.keepDataset(d)
	}
}

// doneChanging ends what lockToChange began.
func (d *Dataset) doneChanging() {
	d.f.changes.Add(1)
	d.mu.Unlock()
}

// readOnlyCacheIDs marks the cacheIDs of a read-only file's datasets (their
// object addresses), apart from the counted ones.
const readOnlyCacheIDs = 1 << 63

// maxElementSize bounds the element size of a dataset h5mount opens (libhdf5's
// own test files hold an array element of 128 MiB).
const maxElementSize = 256 << 20

func openDataset(o *Object) (*Dataset, error) {
	d := &Dataset{Object: o, cacheID: datasetIDs.Add(1)}
	if o.f.wr == nil {
		// Nothing redefines a dataset of a read-only file: one decoded
		// again after loadedDatasets dropped it finds its chunks cached.
		d.cacheID = o.Addr | readOnlyCacheIDs
	}
	wrap := func(err error) error { return fmt.Errorf("dataset at 0x%x: %w", o.Addr, err) }
	h := o.header()
	tm := h.Find(format.MsgDatatype)
	sm := h.Find(format.MsgDataspace)
	lm := h.Find(format.MsgLayout)
	if tm == nil || sm == nil || lm == nil {
		return nil, wrap(format.Corruptf(o.Addr, "object header", "dataset lacks datatype, dataspace or layout"))
	}
	body, addr, err := o.messageBody(tm)
	if err != nil {
		return nil, wrap(err)
	}
	if d.Type, err = format.DecodeDatatype(body, addr); err != nil {
		return nil, wrap(err)
	}
	if d.Type.Size == 0 {
		return nil, wrap(format.Corruptf(addr, "datatype message", "element size 0"))
	}
	if d.Type.Size > maxElementSize {
		// Buffers of one element (fill value, conversions) are made before
		// any data is read: a size the file merely claims must not make them.
		return nil, wrap(format.Unsupportedf(addr, "datatype message", "elements of %d bytes (more than %d)", d.Type.Size, maxElementSize))
	}
	d.conv = newConverter(d.Type)
	body, addr, err = o.messageBody(sm)
	if err != nil {
		return nil, wrap(err)
	}
	space, err := format.DecodeDataspace(body, addr, o.f.r.Sizes)
	if err != nil {
		return nil, wrap(err)
	}
	d.space = dataspaceFrom(space)
	if d.layout, err = format.DecodeLayout(lm.Data, lm.Addr, o.f.r.Sizes); err != nil {
		return nil, wrap(err)
	}
	if m := h.Find(format.MsgFilterPipeline); m != nil {
		body, addr, err := o.messageBody(m)
		if err != nil {
			return nil, wrap(err)
		}
		if d.Filters, err = format.DecodeFilterPipeline(body, addr); err != nil {
			return nil, wrap(err)
		}
	}
	if m := h.Find(format.MsgFillValue); m != nil {
		body, addr, err := o.messageBody(m)
		if err == nil {
			d.fill, err = format.DecodeFillValue(body, addr)
		}
		if err != nil {
			return nil, wrap(err)
		}
	} else if m := h.Find(format.MsgFillValueOld); m != nil {
		if d.fill, err = format.DecodeFillValueOld(m.Data, m.Addr); err != nil {
			return nil, wrap(err)
		}
	}
	d.fillVal = make([]byte, d.Type.Size)
	if d.fill != nil && d.fill.Value != nil && len(d.fill.Value) == int(d.Type.Size) {
		copy(d.fillVal, d.fill.Value)
	}
	if d.layout.Class == format.LayoutVirtual {
		// The extent depends on the sources: Space is copied first so the
		// object's decoded dataspace stays as stored.
		d.space.Dims = append([]uint64(nil), d.space.Dims...)
		if err := d.openVirtual(); err != nil {
			return nil, wrap(err)
		}
	}
	if d.layout.Class == format.LayoutChunked {
		if len(d.layout.ChunkDims) != len(d.space.Dims) {
			return nil, wrap(format.Corruptf(lm.Addr, "data layout message", "chunk rank %d for dataspace rank %d", len(d.layout.ChunkDims), len(d.space.Dims)))
		}
		bytes := uint64(d.Type.Size)
		for _, c := range d.layout.ChunkDims {
			if c == 0 {
				return nil, wrap(format.Corruptf(lm.Addr, "data layout message", "chunk dimension 0"))
			}
			// libhdf5 refuses chunks of 4 GiB or more; a larger claim would
			// size the buffers of every read of the dataset.
			if bytes > maxChunkBytes/c {
				return nil, wrap(format.Corruptf(lm.Addr, "data layout message", "chunks of %v elements of %d bytes reach 4 GiB", d.layout.ChunkDims, d.Type.Size))
			}
			bytes *= c
		}
	}
	dims := d.space.Dims
	d.extent.Store(&dims)
	return d, nil
}

// maxChunkBytes is the largest chunk libhdf5 makes or reads.
const maxChunkBytes = 1<<32 - 1

// Shape is the current extent (empty for scalar and null datasets).
func (d *Dataset) Shape() []uint64 { return d.dims() }

// dims is the current extent. It changes only when the dataset grows or
// shrinks along its first dimension, by swapping in a new slice, so a reader
// holding the old one still sees a consistent extent.
func (d *Dataset) dims() []uint64 { return *d.extent.Load() }

// Dataspace is the dataset's dataspace with its current extent.
func (d *Dataset) Dataspace() Dataspace {
	s := d.space
	s.Dims = d.dims()
	return s
}

// MaxShape is the maximum extent; Unlimited marks unbounded dimensions.
func (d *Dataset) MaxShape() []uint64 { return d.space.MaxDims }

// NumElements is the number of elements.
func (d *Dataset) NumElements() uint64 { return d.Dataspace().NumElements() }

// Size is the number of bytes ReadAt can return: elements × element size.
// Datasets too large to address in an int64 are reported as ErrUnsupported
// by ReadAt; Size then saturates.
func (d *Dataset) Size() int64 {
	n := d.NumElements()
	es := uint64(d.Type.Size)
	if n != 0 && n > uint64(1<<63-1)/es {
		return 1<<63 - 1
	}
	return int64(n * es)
}

// Layout is the storage layout class.
func (d *Dataset) Layout() Layout { return Layout(d.layout.Class) }

// ChunkDims is the chunk shape of a chunked dataset, else nil.
func (d *Dataset) ChunkDims() []uint64 {
	if d.layout.Class != format.LayoutChunked {
		return nil
	}
	return d.layout.ChunkDims
}

// FillValue is one element's fill value (zeros when the file defines none).
func (d *Dataset) FillValue() []byte { return d.fillVal }

// FillValueDefined reports whether the file stores an explicit fill value.
func (d *Dataset) FillValueDefined() bool { return d.fill != nil && d.fill.Value != nil }

// FilterName is the conventional name of a filter ("deflate", "shuffle", ...).
func FilterName(f *Filter) string { return filterName(f) }

func (d *Dataset) chunkParams() chunk.Params {
	return chunk.Params{
		R: d.f.r, Layout: d.layout, Dims: d.dims(), MaxDims: d.space.MaxDims,
		ElementSize: d.Type.Size, Filtered: len(d.Filters) > 0, BTreeK: d.f.sb.IndexedStorageK,
	}
}

// chunkIndex opens the chunk index once; writers reset it when the layout
// message points somewhere new.
func (d *Dataset) chunkIndex() (chunk.Index, error) {
	d.indexMu.Lock()
	defer d.indexMu.Unlock()
	if d.index == nil && d.indexErr == nil {
		d.index, d.indexErr = chunk.Open(d.chunkParams())
		if d.indexErr != nil {
			d.indexErr = fmt.Errorf("dataset at 0x%x: %w", d.Addr, d.indexErr)
		}
	}
	return d.index, d.indexErr
}

func (d *Dataset) resetIndex() {
	d.indexMu.Lock()
	d.index, d.indexErr = nil, nil
	d.indexMu.Unlock()
}

// AllocatedBytes is the storage the dataset's raw data occupies in the file.
func (d *Dataset) AllocatedBytes() (int64, error) {
	d.allocMu.Lock()
	defer d.allocMu.Unlock()
	if !d.allocValid {
		d.allocated, d.allocErr = d.sumAllocated()
		d.allocValid = true
	}
	return d.allocated, d.allocErr
}

// invalidateAllocated makes the next AllocatedBytes count again.
func (d *Dataset) invalidateAllocated() {
	d.allocMu.Lock()
	d.allocValid = false
	d.allocMu.Unlock()
}

func (d *Dataset) sumAllocated() (int64, error) {
	switch d.layout.Class {
	case format.LayoutCompact:
		return int64(len(d.layout.CompactData)), nil
	case format.LayoutContiguous:
		if d.hasExternal() {
			return d.externalBytes()
		} else if d.layout.Addr != format.Undefined {
			return int64(d.layout.Size), nil
		}
	case format.LayoutChunked:
		idx, err := d.chunkIndex()
		if err != nil {
			return 0, err
		}
		var total int64
		err = idx.Walk(func(c chunk.Chunk) error {
			total += int64(c.Size)
			return nil
		})
		return total, err
	}
	return 0, nil
}
