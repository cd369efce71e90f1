package h5

import (
	"fmt"
	"runtime"
	"sort"
	"sync"

	"github.com/h5mount/h5mount/h5/internal/chunk"
	"github.com/h5mount/h5mount/h5/internal/filter"
	"github.com/h5mount/h5mount/h5/internal/format"
)

// Dirty chunks may use three quarters of the cache budget before a write
// flushes them: the chunks one block of a cube's planes spans (272 chunks
// of (8, 45, 90) floats, 35 MB, for a 721 x 1440 grid) fit the default's.
// A write that takes more flushes the chunks written in full first
// (flushChunks); a chunk flushed and then written again is compressed
// again.
const (
	maxDirtyNum = 3
	maxDirtyDen = 4
)

// MaxDirtyBytes is how much a writable file with a cache of cacheBytes
// holds of chunks written but not yet stored, beside the cache.
func MaxDirtyBytes(cacheBytes int64) int64 { return cacheBytes / maxDirtyDen * maxDirtyNum }

// WriteAt writes p at byte offset off of the dataset's element bytes. Whole
// chunks are replaced, partial chunks read, modified and (at Flush, or when
// too many are pending) written back through the filter pipeline. A write
// past the end answers ErrNoSpace and changes nothing.
func (d *Dataset) WriteAt(p []byte, off int64) (int, error) {
	if d.f.wr == nil {
		return 0, ErrReadOnly
	}
	if d.Type.HasVariableSize() || d.Type.Class == ClassReference {
		return 0, fmt.Errorf("h5: dataset at 0x%x has elements of no fixed size: %w", d.Addr, ErrNotWritable)
	}
	if d.layout.Class == format.LayoutVirtual {
		// Reads assemble these bytes from other datasets.
		return 0, fmt.Errorf("h5: virtual dataset at 0x%x: %w", d.Addr, ErrNotWritable)
	}
	if off < 0 {
		return 0, fmt.Errorf("h5: write at %d: %w", off, ErrOutOfRange)
	}
	if len(p) == 0 {
		return 0, nil
	}
	d.lockToChange()
	defer d.doneChanging()
	origOff := off
	end := uint64(off) + uint64(len(p))
	if size := uint64(d.Size()); end > size {
		// A dataset whose first dimension can grow grows to hold the
		// write (a partial last row reads as the fill value); any other
		// answers like a full device.
		row := uint64(d.RowBytes())
		if !d.Growable() || row == 0 {
			return 0, fmt.Errorf("h5: write of %d bytes at %d in a %d-byte dataset: %w", len(p), off, size, ErrNoSpace)
		}
		if err := d.resizeLocked((end + row - 1) / row); err != nil {
			return 0, err
		}
	}
	if d.conv != nil {
		// The bytes are in their read form (h5py's): whole elements are
		// read as stored, patched in their read form, and stored back
		// converted, as libhdf5 converts h5py's values.
		es := uint64(d.Type.Size)
		start := uint64(off) / es * es
		stop := (end + es - 1) / es * es
		stored := make([]byte, stop-start)
		if err := d.readRange(stored, start); err != nil {
			return 0, err
		}
		before := append([]byte(nil), stored...)
		d.conv.convert(before)
		readForm := append([]byte(nil), before...)
		copy(readForm[uint64(off)-start:], p)
		d.conv.unconvert(readForm, before, stored)
		p, off = stored, int64(start)
	}
	var err error
	switch d.layout.Class {
	case format.LayoutContiguous:
		err = d.writeContiguous(p, uint64(off))
	case format.LayoutCompact:
		err = d.writeCompact(p, uint64(off))
	case format.LayoutChunked:
		err = d.writeChunked(p, uint64(off))
	default:
		err = fmt.Errorf("h5: dataset at 0x%x: writing %v layout: %w", d.Addr, d.Layout(), ErrUnsupported)
	}
	if err != nil {
		return 0, err
	}
	return int(end - uint64(origOff)), nil
}

// WriteHyperslab writes the block of elements starting at start with count
// elements along each dimension from src, row-major.
func (d *Dataset) WriteHyperslab(start, count []uint64, src []byte) error {
	dims := d.dims()
	total, err := checkSlab(dims, start, count, uint64(d.Type.Size), len(src), ErrNoSpace)
	if err != nil || total == 0 {
		return err
	}
	if len(dims) == 0 {
		_, err := d.WriteAt(src[:d.Type.Size], 0)
		return err
	}
	return forEachRow(dims, start, count, uint64(d.Type.Size), func(fileOff, srcOff, n uint64) error {
		_, err := d.WriteAt(src[srcOff:srcOff+n], int64(fileOff))
		return err
	})
}

func (d *Dataset) layoutMessage() (*format.Message, error) {
	m := d.header().Find(format.MsgLayout)
	if m == nil {
		return nil, format.Corruptf(d.Addr, "object header", "dataset lost its layout message")
	}
	return m, nil
}

func (d *Dataset) rewriteLayout() error {
	m, err := d.layoutMessage()
	if err != nil {
		return err
	}
	return d.f.rewriteMessage(d.Object, m, d.layout.Encode(d.f.r.Sizes))
}

func (d *Dataset) writeContiguous(p []byte, off uint64) error {
	if d.hasExternal() {
		return d.writeExternal(p, off)
	}
	if d.layout.Addr == format.Undefined {
		// Storage allocated on first write, as libhdf5's late allocation.
		size := uint64(d.Size())
		addr, err := d.f.alloc(size)
		if err != nil {
			return err
		}
		if err := d.f.extendFile(addr + size); err != nil {
			return err
		}
		if !isZero(d.fillVal) {
			if err := d.fillStorage(addr, size); err != nil {
				return err
			}
		}
		d.reserveAhead(addr, size, off, uint64(len(p)))
		if err := d.f.writeData(p, addr+off); err != nil {
			return err
		}
		d.f.wr.meta.Lock()
		defer d.f.wr.meta.Unlock()
		d.layout.Addr, d.layout.Size = addr, size
		d.invalidateAllocated()
		return d.rewriteLayout()
	}
	if off+uint64(len(p)) > d.layout.Size {
		return fmt.Errorf("h5: dataset at 0x%x: contiguous storage of %d bytes: %w", d.Addr, d.layout.Size, ErrCorrupt)
	}
	d.reserveAhead(d.layout.Addr, d.layout.Size, off, uint64(len(p)))
	return d.f.writeData(p, d.layout.Addr+off)
}

// reserveAhead is how far ahead of a sequential writer the disk blocks of
// contiguous storage are reserved, at most; streamMin how much it must
// have written in sequence first.
const (
	reserveAhead = 8 << 20
	streamMin    = 1 << 20
)

// reserveAhead reserves the disk blocks of the contiguous storage at addr
// (size bytes) ahead of a write of n bytes at off, once the writes have
// been sequential for streamMin bytes. A write into blocks the file system
// already holds costs a third less than one into a hole, which it must
// reserve page by page as it goes (ext4's delayed allocation; dd of 256
// MiB through the mount: 145 -> 125 ms). The bytes stay what they were
// (never written, they read as zeros); only disk space is taken a little
// early: no more past the last write than was written in sequence before
// it, and never more than reserveAhead, so small or scattered writes into
// a large sparse dataset take none. The caller holds d.mu.
func (d *Dataset) reserveAhead(addr, size, off, n uint64) {
	end := off + n
	if d.writeEnd != 0 && off == d.writeEnd {
		d.writeRun += n
	} else {
		d.writeRun, d.reservedTo = n, 0 // a new run
	}
	d.writeEnd = end
	if d.writeRun < streamMin {
		return
	}
	ahead := min(reserveAhead, d.writeRun)
	if end+ahead/2 <= d.reservedTo {
		return // reserved already, far enough ahead
	}
	from, to := max(off, d.reservedTo), min(size, end+ahead)
	if from < to {
		d.f.reserve(addr+from, to-from)
	}
	d.reservedTo = to
}

// fillStorage writes the fill value over newly allocated storage.
func (d *Dataset) fillStorage(addr, size uint64) error {
	const block = 1 << 20
	buf := make([]byte, min(size, block))
	for done := uint64(0); done < size; done += uint64(len(buf)) {
		n := min(uint64(len(buf)), size-done)
		fillPattern(buf[:n], done, d.fillVal)
		if err := d.f.writeData(buf[:n], addr+done); err != nil {
			return err
		}
	}
	return nil
}

func (d *Dataset) writeCompact(p []byte, off uint64) error {
	data := d.layout.CompactData
	if off+uint64(len(p)) > uint64(len(data)) {
		return fmt.Errorf("h5: dataset at 0x%x: compact data holds %d bytes: %w", d.Addr, len(data), ErrCorrupt)
	}
	d.f.wr.meta.Lock()
	defer d.f.wr.meta.Unlock()
	copy(data[off:], p)
	return d.rewriteLayout()
}

// chunkWriter is the index as a writer, or an error saying why this index
// cannot take new chunks. It is asked before anything changes.
func (d *Dataset) chunkWriter() (chunk.Writer, error) {
	idx, err := d.chunkIndex()
	if err != nil {
		return nil, err
	}
	l := d.layout
	if l.Version >= 4 && l.IndexType == format.IndexSingle {
		return singleChunkWriter{d}, nil
	}
	if w, ok := idx.(chunk.Writer); ok {
		return w, nil // the index that reads also writes: one node cache
	}
	w, err := chunk.OpenWriter(d.chunkParams())
	if err != nil {
		return nil, fmt.Errorf("h5: dataset at 0x%x: %w", d.Addr, err)
	}
	return w, nil
}

func indexName(t uint8) string {
	switch t {
	case format.IndexImplicit:
		return "implicit"
	case format.IndexFixedArray:
		return "fixed array"
	case format.IndexExtensible:
		return "extensible array"
	case format.IndexBTree2:
		return "version 2 B-tree"
	}
	return fmt.Sprintf("type %d", t)
}

// singleChunkWriter keeps the one chunk's address in the layout message.
type singleChunkWriter struct{ d *Dataset }

func (s singleChunkWriter) Put(_ chunk.Storage, c chunk.Chunk) (uint64, error) {
	l := s.d.layout
	l.Addr = c.Addr
	if l.SinglePos > 0 {
		l.SingleFilteredLen, l.SingleFilterMask = c.Size, c.FilterMask
	} else if len(s.d.Filters) > 0 {
		return 0, fmt.Errorf("h5: single-chunk layout without room for a filtered size: %w", ErrUnsupported)
	}
	return c.Addr, s.d.rewriteLayout()
}

// oversizedChunkLimit is the size above which chunks longer than a fixed
// dimension of their dataset are not written.
const oversizedChunkLimit = 64 << 20

func (d *Dataset) writeChunked(p []byte, off uint64) error {
	if _, err := d.chunkWriter(); err != nil {
		return err
	}
	// A write holds whole chunks in memory. libhdf5 makes no chunk longer
	// than a fixed dimension that is not empty (H5D__chunk_construct): a
	// damaged layout claiming a large one would have a one-byte write
	// allocate up to 4 GiB. Small ones (older h5mount made some) are
	// written.
	if g := d.geometry(); g.chunkBytes > oversizedChunkLimit {
		dims := d.dims()
		for i, c := range d.layout.ChunkDims {
			limit := dims[i]
			if i < len(d.space.MaxDims) {
				limit = d.space.MaxDims[i]
			}
			if limit != Unlimited && dims[i] > 0 && c > limit {
				return fmt.Errorf("h5: dataset at 0x%x: chunks of %v (%d bytes) exceed its fixed shape %v: %w",
					d.Addr, d.layout.ChunkDims, g.chunkBytes, dims, ErrUnsupported)
			}
		}
	}
	if err := filter.CanEncode(d.Filters); err != nil {
		return fmt.Errorf("h5: dataset at 0x%x: %w", d.Addr, err)
	}
	idx, err := d.chunkIndex()
	if err != nil {
		return err
	}
	g := d.geometry()
	end := off + uint64(len(p))
	w := d.f.wr
	var scratch runIterScratch
	runs := g.runs(off, end, &scratch)
	storedDirect := false
	defer func() {
		if storedDirect {
			d.invalidateAllocated()
		}
	}()
	for pos := off; ; {
		r, ok := runs.next()
		if !ok {
			break
		}
		src := p[pos-off : pos-off+r.n]
		pos += r.n
		whole := r.srcOff == 0 && r.n == g.chunkBytes
		if whole && len(d.Filters) == 0 {
			stored, err := d.storeWholeChunk(&g, r.scaled, src)
			if err != nil {
				return err
			}
			if stored {
				storedDirect = true
				// Storing may have replaced the index.
				if idx, err = d.chunkIndex(); err != nil {
					return err
				}
				continue
			}
		}
		dc, err := d.dirtyChunkFor(idx, &g, r.scaled, whole)
		if err != nil {
			return err
		}
		copy(dc.data[r.srcOff:], src)
		dc.written += r.n
	}
	limit := MaxDirtyBytes(d.f.chunks.budget)
	if chunks, _ := g.rowOfChunks(); chunks > 1 {
		// A writer going through the dataset in order fills every chunk
		// of a row of chunks a little at a time, whatever its writes'
		// size: below that row's size, each flush stored them half
		// written, and the writes after it read them back (a dd of 256
		// MiB in rows crossing eight (2048, 2048) gzip chunks took 74 s).
		// As for reads, up to four times the cache.
		band := int64(mulAtMost(chunks+1, g.chunkBytes, 1<<62))
		limit = max(limit, min(band, maxBandFactor*d.f.chunks.budget))
	}
	w.mu.Lock()
	over := w.dirtyBytes > limit
	w.mu.Unlock()
	if !over {
		return nil
	}
	// A writer going through the dataset in order is done with the
	// chunks it wrote in full: those go first. Only when the limit is
	// still exceeded does the rest follow, and then chunks still being
	// written are compressed twice or more.
	if err := d.flushChunksWhere(func(dc *dirtyChunk) bool { return dc.written >= g.chunkBytes }); err != nil {
		return err
	}
	w.mu.Lock()
	over = w.dirtyBytes > limit
	w.mu.Unlock()
	if over {
		return d.flushChunks()
	}
	return nil
}

// storeWholeChunk stores src, the whole of an unfiltered chunk, straight
// into the file, as a flush would store it: there is nothing to merge and
// nothing to compress, and holding it as a pending chunk only cost a copy
// and an allocation on the writer's path (an append of 64 KiB rows spent
// a third of its time there). A chunk with a pending version keeps going
// through that one, which a flush writes. The caller holds d.mu.
func (d *Dataset) storeWholeChunk(g *chunkGeometry, scaled []uint64, src []byte) (bool, error) {
	key := chunkKey{dataset: d.cacheID, index: ravel(scaled, g.grid)}
	if d.f.wr.pending(key) != nil {
		return false, nil
	}
	cw, err := d.chunkWriter()
	if err != nil {
		return false, err
	}
	idx, err := d.chunkIndex()
	if err != nil {
		return false, err
	}
	dc := &dirtyChunk{d: d, scaled: append([]uint64(nil), scaled...), data: src}
	if err := d.storeChunk(cw, idx, g, dc, encodedChunk{stored: src}); err != nil {
		return false, err
	}
	d.f.chunks.drop(key)
	return true, nil
}

// dirtyChunkFor returns the in-memory, modifiable version of a chunk,
// making it from the stored chunk (or the fill value) unless whole says the
// caller replaces all of it. The caller holds d.mu.
func (d *Dataset) dirtyChunkFor(idx chunk.Index, g *chunkGeometry, scaled []uint64, whole bool) (*dirtyChunk, error) {
	key := chunkKey{dataset: d.cacheID, index: ravel(scaled, g.grid)}
	w := d.f.wr
	if dc := w.pending(key); dc != nil {
		return dc, nil
	}
	buf := make([]byte, g.chunkBytes)
	if !whole {
		cur, hold, err := d.chunkData(idx, g, scaled, key)
		if err != nil {
			return nil, err
		}
		if cur != nil {
			copy(buf, cur)
		} else {
			fillPattern(buf, 0, d.fillVal)
		}
		hold.release()
	}
	dc := &dirtyChunk{d: d, scaled: append([]uint64(nil), scaled...), data: buf}
	w.mu.Lock()
	w.dirty[key] = dc
	w.dirtyBytes += int64(len(buf))
	w.mu.Unlock()
	return dc, nil
}

// WriteBack writes the dataset's pending chunks through its filter pipeline
// into the file's storage; they become durable at the next commit.
func (d *Dataset) WriteBack() error {
	if d.f.wr == nil {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.flushChunks()
}

// flushChunks writes this dataset's dirty chunks. The caller holds d.mu.
func (d *Dataset) flushChunks() error {
	return d.flushChunksWhere(func(*dirtyChunk) bool { return true })
}

// flushChunksWhere writes the dataset's dirty chunks that pick selects.
// The caller holds d.mu.
func (d *Dataset) flushChunksWhere(pick func(*dirtyChunk) bool) error {
	w := d.f.wr
	w.mu.Lock()
	var keys []chunkKey
	for k, dc := range w.dirty {
		if dc.d == d && pick(dc) {
			keys = append(keys, k)
		}
	}
	w.mu.Unlock()
	if len(keys) == 0 {
		return nil
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].index < keys[j].index })
	g := d.geometry()
	// Chunks are compressed in parallel, a window of a few per core at a
	// time (the window bounds the compressed copies held), then stored one
	// by one in order: the index and the file's space are not shared.
	window := 2 * runtime.GOMAXPROCS(0)
	for len(keys) > 0 {
		batch := keys[:min(window, len(keys))]
		keys = keys[len(batch):]
		dcs := make([]*dirtyChunk, len(batch))
		for i, k := range batch {
			dcs[i] = w.pending(k)
		}
		encs := d.encodeChunks(&g, dcs)
		for i, k := range batch {
			if encs[i].err != nil {
				return encs[i].err
			}
			// Asked again for every chunk: storing one may replace the index.
			cw, err := d.chunkWriter()
			if err != nil {
				return err
			}
			idx, err := d.chunkIndex()
			if err != nil {
				return err
			}
			dc := dcs[i]
			if err := d.storeChunk(cw, idx, &g, dc, encs[i]); err != nil {
				return err
			}
			w.mu.Lock()
			delete(w.dirty, k)
			w.dirtyBytes -= int64(len(dc.data))
			w.mu.Unlock()
			d.f.chunks.put(k, dc.data)
		}
	}
	d.invalidateAllocated()
	return nil
}

// encodedChunk is a dirty chunk as it will be stored.
type encodedChunk struct {
	stored     []byte
	mask       uint32
	unfiltered bool // an edge chunk the layout stores without filters
	err        error
}

// encodeChunks runs the filter pipeline over chunks, in parallel when there
// are filters to run.
func (d *Dataset) encodeChunks(g *chunkGeometry, dcs []*dirtyChunk) []encodedChunk {
	encs := make([]encodedChunk, len(dcs))
	var wg sync.WaitGroup
	for i, dc := range dcs {
		e := &encs[i]
		e.stored = dc.data
		e.unfiltered = d.layout.NoFilterEdgeChunks() && g.isEdgeChunk(dc.scaled)
		if len(d.Filters) == 0 || e.unfiltered {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			d.f.encodes.Add(1)
			if e.stored, e.mask, err = filter.EncodePipeline(d.Filters, dc.data); err != nil {
				e.err = fmt.Errorf("h5: chunk %v of dataset at 0x%x: %w", dc.scaled, d.Addr, err)
			}
		}()
	}
	wg.Wait()
	return encs
}

// storeChunk encodes one chunk and records where it now is: in place when
// it fits its old space, else in new space at the end of the file.
func (d *Dataset) storeChunk(cw chunk.Writer, idx chunk.Index, g *chunkGeometry, dc *dirtyChunk, enc encodedChunk) error {
	stored, mask, unfiltered := enc.stored, enc.mask, enc.unfiltered
	old, exists, err := idx.Lookup(dc.scaled)
	if err != nil {
		return err
	}
	d.f.wr.meta.Lock()
	defer d.f.wr.meta.Unlock()
	// An index that places chunks itself (implicit) says where this one
	// goes, allocating all its storage on first use.
	var place chunk.Placement
	if pl, ok := cw.(chunk.Placer); ok {
		if place, err = pl.Place(storage{d.f}, dc.scaled); err != nil {
			return err
		}
		if place.FreshSize > 0 && !isZero(d.fillVal) {
			if err := d.fillStorage(place.FreshAddr, place.FreshSize); err != nil {
				return err
			}
		}
	}
	// A filtered chunk a commit has recorded is never overwritten: the new
	// version goes to new space and the old is freed, so that a crash
	// leaves the committed version whole (half a compressed chunk is
	// none). Raw chunks are rewritten in place, as contiguous data is: a
	// torn write leaves each byte old or new, and the bytes the write did
	// not change are the same either way. An implicit index fixes the place.
	raw := uint64(len(stored)) == uint64(len(dc.data)) && mask == 0 && (len(d.Filters) == 0 || unfiltered)
	addr := old.Addr
	stale := uint64(0)
	if place.Fixed {
		addr = place.Addr
	} else if !exists || addr == format.Undefined || uint64(len(stored)) > old.Size ||
		!(d.f.fresh(old.Addr, old.Size) || (raw && uint64(len(stored)) == old.Size)) {
		if addr, err = d.f.alloc(uint64(len(stored))); err != nil {
			return err
		}
		if exists && old.Addr != format.Undefined {
			stale = old.Size
		}
	}
	if err := d.f.writeData(stored, addr); err != nil {
		return err
	}
	before := d.layout.Addr
	newRoot, err := cw.Put(storage{d.f}, chunk.Chunk{Scaled: dc.scaled, Addr: addr, Size: uint64(len(stored)), FilterMask: mask})
	if err != nil {
		return err
	}
	d.f.free(old.Addr, stale)
	if newRoot != before {
		d.layout.Addr = newRoot
		if err := d.rewriteLayout(); err != nil {
			return err
		}
	}
	// A writer apart from the reading index (a new index, a single chunk)
	// leaves the reader's view stale.
	if any(cw) != any(idx) || newRoot != before {
		d.resetIndex()
	}
	return nil
}
