package h5

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"

	"github.com/h5mount/h5mount/h5/internal/chunk"
	"github.com/h5mount/h5mount/h5/internal/filter"
	"github.com/h5mount/h5mount/h5/internal/format"
)

func filterName(f *Filter) string { return filter.Name(f) }

// ReadAt reads len(p) bytes of the dataset's element bytes (row-major, in
// the stored representation) starting at byte offset off. Only the chunks
// the range overlaps are read; never-written regions read as the fill value.
// Variable-length elements are stored as references into the global heap;
// File.ReadVLen resolves them.
func (d *Dataset) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("h5: negative offset %d: %w", off, ErrOutOfRange)
	}
	size := d.Size()
	if off >= size {
		return 0, io.EOF
	}
	n := len(p)
	if int64(n) > size-off {
		n = int(size - off)
	}
	if err := d.readConverted(p[:n], uint64(off)); err != nil {
		return 0, err
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// ReadHyperslab reads the block of elements starting at start with count
// elements along each dimension into dst, row-major.
func (d *Dataset) ReadHyperslab(start, count []uint64, dst []byte) error {
	dims := d.dims()
	total, err := checkSlab(dims, start, count, uint64(d.Type.Size), len(dst), ErrOutOfRange)
	if err != nil || total == 0 {
		return err
	}
	if len(dims) == 0 {
		_, err := d.ReadAt(dst[:d.Type.Size], 0)
		return err
	}
	return forEachRow(dims, start, count, uint64(d.Type.Size), func(fileOff, dstOff, n uint64) error {
		return d.readConverted(dst[dstOff:dstOff+n], fileOff)
	})
}

// readConverted is readRange followed by the element conversion h5py's
// read applies (see convert.go). Partial elements at either end are read
// whole and converted before their bytes are copied out.
func (d *Dataset) readConverted(dst []byte, off uint64) error {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.conv == nil {
		return d.readRange(dst, off)
	}
	es := uint64(d.Type.Size)
	for len(dst) > 0 {
		within := off % es
		if within != 0 || uint64(len(dst)) < es {
			el := make([]byte, es)
			if err := d.readRange(el, off-within); err != nil {
				return err
			}
			d.conv.convert(el)
			n := copy(dst, el[within:])
			dst = dst[n:]
			off += uint64(n)
			continue
		}
		whole := uint64(len(dst)) / es * es
		if err := d.readRange(dst[:whole], off); err != nil {
			return err
		}
		d.conv.convert(dst[:whole])
		dst = dst[whole:]
		off += whole
	}
	return nil
}

// checkSlab validates a hyperslab against an extent and a buffer, and
// returns its size in bytes. outside is the error for a slab past the
// extent (a read is out of range, a write finds no space).
func checkSlab(dims, start, count []uint64, esize uint64, buf int, outside error) (uint64, error) {
	if len(start) != len(dims) || len(count) != len(dims) {
		return 0, fmt.Errorf("h5: hyperslab rank %d for a rank-%d dataset: %w", len(start), len(dims), ErrOutOfRange)
	}
	total := esize
	for i := range dims {
		if start[i] > dims[i] || count[i] > dims[i]-start[i] {
			return 0, fmt.Errorf("h5: hyperslab [%d,+%d) outside dimension %d of %d: %w", start[i], count[i], i, dims[i], outside)
		}
		total *= count[i]
	}
	if uint64(buf) < total {
		return 0, fmt.Errorf("h5: hyperslab needs %d bytes, buffer has %d: %w", total, buf, ErrOutOfRange)
	}
	return total, nil
}

// forEachRow calls fn for each run of the hyperslab that is contiguous in
// the dataset's byte layout: fileOff is the run's byte offset in the
// dataset, dstOff its offset in the packed hyperslab buffer.
func forEachRow(dims, start, count []uint64, esize uint64, fn func(fileOff, dstOff, n uint64) error) error {
	rank := len(dims)
	// Merge trailing dimensions that the slab covers fully into one run.
	inner := rank - 1
	runElems := count[inner]
	for inner > 0 && start[inner] == 0 && count[inner] == dims[inner] {
		inner--
		runElems *= count[inner]
	}
	stride := make([]uint64, rank) // elements per step along each dimension
	s := uint64(1)
	for i := rank - 1; i >= 0; i-- {
		stride[i] = s
		s *= dims[i]
	}
	idx := make([]uint64, inner) // position within the outer dimensions
	var dstOff uint64
	for {
		elem := start[inner] * stride[inner]
		for i := 0; i < inner; i++ {
			elem += (start[i] + idx[i]) * stride[i]
		}
		for i := inner + 1; i < rank; i++ {
			elem += start[i] * stride[i]
		}
		n := runElems * esize
		if err := fn(elem*esize, dstOff, n); err != nil {
			return err
		}
		dstOff += n
		i := inner - 1
		for ; i >= 0; i-- {
			idx[i]++
			if idx[i] < count[i] {
				break
			}
			idx[i] = 0
		}
		if i < 0 {
			return nil
		}
	}
}

// readRange fills dst with the dataset bytes at [off, off+len(dst)), which
// the caller has checked to lie inside the dataset.
func (d *Dataset) readRange(dst []byte, off uint64) error {
	switch d.layout.Class {
	case format.LayoutCompact:
		data := d.layout.CompactData
		if off+uint64(len(dst)) > uint64(len(data)) {
			return fmt.Errorf("h5: dataset at 0x%x: compact data holds %d bytes, need %d: %w", d.Addr, len(data), off+uint64(len(dst)), ErrCorrupt)
		}
		copy(dst, data[off:])
		return nil
	case format.LayoutContiguous:
		return d.readContiguous(dst, off)
	case format.LayoutChunked:
		return d.readChunked(dst, off)
	case format.LayoutVirtual:
		return d.readVirtual(dst, off)
	}
	return fmt.Errorf("h5: dataset at 0x%x: layout class %d: %w", d.Addr, d.layout.Class, ErrUnsupported)
}

// DecodedSpan returns the decoded chunk that holds dataset byte off as the
// dataset bytes [start, start+len(data)), when that chunk is in the cache,
// its bytes are shown as stored and they are one run of the dataset's
// bytes (one-dimensional datasets, chunks as wide as the dataset's rows).
// It never decodes, and only answers while the dataset's reads are not
// sequential (the kernel's read-ahead brings a sequential reader its
// pages); data must not be modified, and is pinned in pins until their
// Release. On a file open for writing it answers for a chunk no write
// has changed since it was stored; data then holds the dataset's bytes
// only as long as no change comes, which the caller must see to.
func (d *Dataset) DecodedSpan(off int64, pins *Pins) (start int64, data []byte, ok bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.streak.Load() >= 2 || d.conv != nil || d.layout.Class != format.LayoutChunked || len(d.Filters) == 0 || off < 0 || off >= d.Size() {
		return 0, nil, false
	}
	g := d.geometry()
	if len(g.dims) == 0 {
		return 0, nil, false
	}
	rowBytes := g.esize
	for i := 1; i < len(g.dims); i++ {
		if g.chunk[i] != g.dims[i] {
			return 0, nil, false
		}
		rowBytes *= g.dims[i]
	}
	if rowBytes == 0 {
		return 0, nil, false
	}
	first := uint64(off) / rowBytes / g.chunk[0] * g.chunk[0]
	key := chunkKey{dataset: d.cacheID, index: first / g.chunk[0]}
	if d.f.wr != nil && d.f.wr.pending(key) != nil {
		return 0, nil, false // the cache holds the bytes before the write
	}
	cached, ok := d.f.chunks.peek(key)
	if !ok {
		return 0, nil, false
	}
	pins.add(cached)
	n := min(g.chunk[0], g.dims[0]-first) * rowBytes
	if uint64(len(cached.data)) < n {
		return 0, nil, false
	}
	return int64(first * rowBytes), cached.data[:n], true
}

// FileRange is a run of a dataset's bytes held verbatim in its file.
type FileRange struct {
	Off int64 // absolute offset in the file
	N   int64
}

// maxStoredRanges bounds the ranges of one StoredRanges answer.
const maxStoredRanges = 16

// StoredRanges says where the dataset bytes [off, off+n) lie verbatim in
// the file, as ranges appended to dst, so that a caller holding the file's
// descriptor can move them without copying (splice): contiguous data (see
// FileExtent), and chunks stored with no filter applied or as one LZ4
// block left as it was (incompressible data). ok is false when some of
// the bytes are held otherwise (compressed, never written, converted,
// written since and not yet stored) or would take more than
// maxStoredRanges ranges.
//
// On a file open for writing, an answer holds the dataset in pins: its
// changes (which rewrite chunks in place, move them, or free their space
// for others) wait until pins' Release, so that the ranges keep the bytes
// they were said to hold while the caller moves them. The caller releases
// pins as soon as it has, and changes nothing before (it would wait on
// itself); pins must hold no dataset yet.
func (d *Dataset) StoredRanges(off, n int64, dst []FileRange, pins *Pins) (_ []FileRange, ok bool, err error) {
	writable := d.f.wr != nil
	if writable && (pins == nil || pins.held != nil) {
		return dst, false, nil
	}
	d.mu.RLock()
	defer func() {
		if ok && writable {
			pins.held = &d.mu
		} else {
			d.mu.RUnlock()
		}
	}()
	if writable {
		return d.storedRangesWritable(off, n, dst)
	}
	if at, ok := d.FileExtent(off, n); ok {
		return append(dst, FileRange{Off: at, N: n}), true, nil
	}
	return d.storedChunkRanges(off, n, dst)
}

// storedRangesWritable is StoredRanges on a file open for writing. The
// caller holds d.mu.
func (d *Dataset) storedRangesWritable(off, n int64, dst []FileRange) ([]FileRange, bool, error) {
	// Storage allocated since the last commit may end past the file's
	// physical end (the overlay reads it as zeros): a splice would meet
	// the end and the reader a dataset cut short.
	st, err := d.f.wr.file.Stat()
	if err != nil {
		return dst, false, fmt.Errorf("h5: dataset at 0x%x: %w", d.Addr, err)
	}
	physical := uint64(st.Size())
	from := len(dst)
	var ok bool
	if at, contiguous := d.FileExtent(off, n); contiguous {
		dst, ok = append(dst, FileRange{Off: at, N: n}), true
	} else if dst, ok, err = d.storedChunkRanges(off, n, dst); !ok || err != nil {
		return dst[:from], false, err
	}
	for _, r := range dst[from:] {
		// Bytes a change left in the overlay are not the file's: only a
		// read through it sees them. (Dataset storage is written straight
		// into the file, and nothing else should lie over it.)
		if uint64(r.Off)+uint64(r.N) > physical || d.f.wr.ov.touches(r.Off, r.N) {
			return dst[:from], false, nil
		}
	}
	return dst, ok, nil
}

// storedChunkRanges is StoredRanges for chunked data. The caller holds
// d.mu.
func (d *Dataset) storedChunkRanges(off, n int64, dst []FileRange) ([]FileRange, bool, error) {
	if d.conv != nil || d.layout.Class != format.LayoutChunked || off < 0 || n <= 0 || n > d.Size()-off {
		return dst, false, nil
	}
	idx, err := d.chunkIndex()
	if err != nil {
		return dst, false, err
	}
	g := d.geometry()
	fileSize := uint64(d.f.r.FileSize())
	var scratch runIterScratch
	runs := g.runs(uint64(off), uint64(off+n), &scratch)
	for r, more := runs.next(); more; r, more = runs.next() {
		if d.f.wr != nil && d.f.wr.pending(chunkKey{dataset: d.cacheID, index: r.chunkIdx}) != nil {
			return dst, false, nil // its bytes are in memory, newer than the file's
		}
		c, found, err := idx.Lookup(r.scaled)
		if err != nil {
			return dst, false, err
		}
		if !found || c.Addr == format.Undefined {
			return dst, false, nil
		}
		pipeline := d.Filters
		if len(pipeline) > 0 && d.layout.NoFilterEdgeChunks() && g.isEdgeChunk(c.Scaled) {
			pipeline = nil
		}
		start, verbatim, err := filter.VerbatimStart(pipeline, c.FilterMask, c.Size, g.chunkBytes, func(head []byte) error {
			return d.f.r.ReadInto(head, c.Addr, "chunk")
		})
		if err != nil {
			return dst, false, err
		}
		if !verbatim || start+r.srcOff+r.n > c.Size {
			return dst, false, nil
		}
		abs := c.Addr + d.f.r.Base + start + r.srcOff
		if abs < c.Addr || abs > fileSize || r.n > fileSize-abs {
			return dst, false, format.Corruptf(c.Addr, "chunk", "%d bytes stored at 0x%x run past the end of the file", c.Size, c.Addr)
		}
		if k := len(dst) - 1; k >= 0 && dst[k].Off+dst[k].N == int64(abs) {
			dst[k].N += int64(r.n)
		} else if len(dst) == maxStoredRanges {
			return dst, false, nil
		} else {
			dst = append(dst, FileRange{Off: int64(abs), N: int64(r.n)})
		}
	}
	// No hints to the disk here: such a reader's spliced reads meet the
	// kernel's own read-ahead, as contiguous data does, and hinting each
	// chunk ahead broke the disk's reads up (a cold cat of 256 MiB of LZ4
	// chunks: 300-350 reads and 0.22-0.23 s with hints, 180-390 reads and
	// 0.16-0.20 s without).
	return dst, true, nil
}

// FileExtent says where the dataset bytes [off, off+n) lie in the file, when
// they are stored there verbatim (contiguous layout, allocated, in the file
// itself): the absolute offset to read them from. Callers that hold the
// file's descriptor can then move the bytes without copying them.
func (d *Dataset) FileExtent(off, n int64) (int64, bool) {
	l := d.layout
	if l.Class != format.LayoutContiguous || l.Addr == format.Undefined || off < 0 || n < 0 ||
		d.hasExternal() || d.conv != nil {
		return 0, false
	}
	if uint64(off)+uint64(n) > l.Size {
		return 0, false
	}
	abs := l.Addr + d.f.r.Base + uint64(off)
	if abs < l.Addr || abs+uint64(n) > uint64(d.f.r.FileSize()) {
		return 0, false
	}
	return int64(abs), true
}

func (d *Dataset) readContiguous(dst []byte, off uint64) error {
	if d.hasExternal() {
		return d.readExternal(dst, off)
	}
	if d.layout.Addr == format.Undefined {
		fillPattern(dst, off, d.fillVal)
		return nil
	}
	end := off + uint64(len(dst))
	if end > d.layout.Size {
		return fmt.Errorf("h5: dataset at 0x%x: contiguous storage of %d bytes, read to %d: %w", d.Addr, d.layout.Size, end, ErrCorrupt)
	}
	return d.f.r.ReadInto(dst, d.layout.Addr+off, "contiguous dataset storage")
}

// fillPattern fills dst, which starts at dataset byte offset off, with the
// repeated fill element.
func fillPattern(dst []byte, off uint64, elem []byte) {
	es := uint64(len(elem))
	if isZero(elem) {
		clear(dst)
		return
	}
	phase := off % es
	for i := range dst {
		dst[i] = elem[phase]
		phase++
		if phase == es {
			phase = 0
		}
	}
}

func isZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

// chunkGeometry holds what the chunked read path derives from the layout.
type chunkGeometry struct {
	dims, chunk []uint64
	grid        []uint64 // chunks along each dimension
	esize       uint64
	chunkBytes  uint64
}

// geometry is derived once per extent: a resize swaps in a new dims slice,
// which the cached geometry no longer matches.
func (d *Dataset) geometry() chunkGeometry {
	dims := d.dims()
	if c := d.geo.Load(); c != nil && len(c.dims) == len(dims) && (len(dims) == 0 || &c.dims[0] == &dims[0]) {
		return *c
	}
	g := chunkGeometry{dims: dims, chunk: d.layout.ChunkDims, esize: uint64(d.Type.Size)}
	g.grid = make([]uint64, len(g.dims))
	g.chunkBytes = g.esize
	for i := range g.dims {
		g.grid[i] = (g.dims[i] + g.chunk[i] - 1) / g.chunk[i]
		g.chunkBytes *= g.chunk[i]
	}
	d.geo.Store(&g)
	return g
}

// chunkCount is the number of chunks in the grid (saturating: it bounds
// chunk numbers, which never reach it then).
func (g *chunkGeometry) chunkCount() uint64 {
	n := uint64(1)
	for _, c := range g.grid {
		hi, lo := bits.Mul64(n, c)
		if hi != 0 {
			return math.MaxUint64
		}
		n = lo
	}
	return n
}

// unravel sets scaled to the grid coordinates of chunk number i (ravel's
// inverse).
func (g *chunkGeometry) unravel(i uint64, scaled []uint64) { unravelInto(i, g.grid, scaled) }

// stackRank is the rank up to which the read path keeps its per-dimension
// scratch on the stack: a read of a cached chunk allocates nothing.
const stackRank = 8

// run is one piece of a read: a span of bytes that is contiguous both in
// the dataset and inside one chunk.
type run struct {
	scaled   []uint64
	chunkIdx uint64 // row-major chunk number
	srcOff   uint64 // byte offset inside the decoded chunk
	n        uint64 // bytes
}

// chunkAt is the number of the chunk holding dataset byte pos.
func (g *chunkGeometry) chunkAt(pos uint64) uint64 {
	elem := pos / g.esize
	var idx, mult uint64 = 0, 1
	for i := len(g.dims) - 1; i >= 0; i-- {
		idx += elem % g.dims[i] / g.chunk[i] * mult
		elem /= g.dims[i]
		mult *= g.grid[i]
	}
	return idx
}

// runIter walks the runs of a byte range in order. The first run's
// coordinates come from its offset (five divisions a dimension); each later
// one's from the run before it, by adding along the dimensions, with no
// division: a read of a cube whose chunks are narrower than its rows is
// thousands of runs, and dividing them out spent a tenth of it.
type runIter struct {
	g        *chunkGeometry
	pos, end uint64
	coords   []uint64 // the next run's first element
	scaled   []uint64 // its chunk, in the grid
	inner    []uint64 // its place in that chunk
	started  bool
}

// runIterScratch holds a runIter's coordinates on the caller's stack for
// ranks up to stackRank.
type runIterScratch [3 * stackRank]uint64

func (s *runIterScratch) slices(rank int) (coords, scaled, inner []uint64) {
	if rank > stackRank {
		return make([]uint64, rank), make([]uint64, rank), make([]uint64, rank)
	}
	return s[:rank], s[stackRank : stackRank+rank], s[2*stackRank : 2*stackRank+rank]
}

func (g *chunkGeometry) runs(pos, end uint64, s *runIterScratch) runIter {
	it := runIter{g: g, pos: pos, end: end}
	it.coords, it.scaled, it.inner = s.slices(len(g.dims))
	return it
}

// next returns the next run; ok is false at the range's end. The run's
// scaled coordinates are valid until the next call.
func (it *runIter) next() (r run, ok bool) {
	if it.pos >= it.end {
		return run{}, false
	}
	g := it.g
	var within uint64 // a first run may start inside an element
	if !it.started {
		it.started = true
		elem := it.pos / g.esize
		within = it.pos - elem*g.esize
		for i := len(g.dims) - 1; i >= 0; i-- {
			it.coords[i] = elem % g.dims[i]
			elem /= g.dims[i]
			it.scaled[i] = it.coords[i] / g.chunk[i]
			it.inner[i] = it.coords[i] - it.scaled[i]*g.chunk[i]
		}
	} else {
		it.advance()
	}
	var chunkIdx, srcElem uint64
	for i := range it.coords {
		chunkIdx = chunkIdx*g.grid[i] + it.scaled[i]
		srcElem = srcElem*g.chunk[i] + it.inner[i]
	}
	r = run{scaled: it.scaled, chunkIdx: chunkIdx, srcOff: srcElem*g.esize + within}
	r.n = min(it.runElems()*g.esize-within, it.end-it.pos)
	it.pos += r.n
	return r, true
}

// runElems is how many elements the run from the current coordinates
// holds: along the last dimension to the chunk's or the dataset's edge,
// and across whole rows where chunk and dataset rows coincide.
func (it *runIter) runElems() uint64 {
	g := it.g
	n := uint64(1)
	for i := len(g.dims) - 1; i >= 0; i-- {
		avail := min(g.chunk[i]-it.inner[i], g.dims[i]-it.coords[i])
		n *= avail
		if !(it.inner[i] == 0 && avail == g.chunk[i] && g.chunk[i] == g.dims[i]) {
			break
		}
	}
	return n
}

// advance moves the coordinates past the run they start (which ends at a
// chunk's or the dataset's edge along the dimension it stopped at; the
// dimensions after that it covered whole, and they come back to 0).
func (it *runIter) advance() {
	g := it.g
	i := len(g.dims) - 1
	for i > 0 && it.inner[i] == 0 && g.chunk[i] == g.dims[i] && min(g.chunk[i], g.dims[i]-it.coords[i]) == g.chunk[i] {
		i-- // covered whole: stays at 0
	}
	step := min(g.chunk[i]-it.inner[i], g.dims[i]-it.coords[i])
	for {
		it.coords[i] += step
		it.inner[i] += step
		if it.inner[i] == g.chunk[i] {
			it.inner[i] = 0
			it.scaled[i]++
		}
		if it.coords[i] < g.dims[i] || i == 0 {
			return
		}
		// Past the dataset's edge along i: the next row of i-1.
		it.coords[i], it.inner[i], it.scaled[i] = 0, 0, 0
		i--
		step = 1
	}
}

// readChunked copies the requested bytes chunk by chunk. Chunks the range
// needs are fetched in batches, the ones not cached decoded in parallel on
// all cores.
func (d *Dataset) readChunked(dst []byte, off uint64) error {
	_, err := d.readChunks(&runTarget{dst: dst, off: off}, off, off+uint64(len(dst)))
	return err
}

// runTarget is where readChunks puts the runs of a read: copied into dst
// (which holds the dataset bytes from off on), or, with slices set,
// appended to vec as the cached chunks' own memory.
type runTarget struct {
	dst    []byte
	off    uint64
	slices bool
	vec    [][]byte
	pins   *Pins // where slices' chunks are pinned
}

// done lets go of a chunk the target has taken its runs from: a copy no
// longer needs it, slices keep it pinned.
func (t *runTarget) done(hold *chunkBuf) {
	if t.slices {
		t.pins.add(hold)
	} else {
		hold.release()
	}
}

func (t *runTarget) doneBatch(batch []batchChunk) {
	for i := range batch {
		t.done(batch[i].hold)
		batch[i].hold = nil
	}
}

// maxReadSlices bounds the slices of one ReadSlices answer (writev takes
// at most 1024, and many small ones are better copied).
const maxReadSlices = 64

// put takes one run; false when the run cannot be a slice (fill values
// other than zeros, too many runs).
func (t *runTarget) put(data []byte, r run, pos uint64, fill []byte) bool {
	if !t.slices {
		copyRun(t.dst[pos-t.off:pos-t.off+r.n], data, r, pos, fill)
		return true
	}
	if data != nil {
		if len(t.vec) == maxReadSlices {
			return false
		}
		t.vec = append(t.vec, data[r.srcOff:r.srcOff+r.n])
		return true
	}
	if !isZero(fill) {
		return false
	}
	for n := r.n; n > 0; {
		if len(t.vec) == maxReadSlices {
			return false
		}
		z := zeroRun[:min(n, uint64(len(zeroRun)))]
		t.vec = append(t.vec, z)
		n -= uint64(len(z))
	}
	return true
}

// zeroRun is what never-written chunks of zero fill are answered with.
var zeroRun = make([]byte, 256<<10)

// ReadSlices is ReadAt without the copy, for callers that pass bytes on
// (a FUSE reply written with writev): it returns the dataset bytes [off,
// off+n) as slices of the decoded chunks the cache holds, appended to vec,
// which must not be modified and stays valid until pins, where the chunks
// are pinned, are released. It answers only for chunked datasets of
// files open read-only (whose cached chunks never change), shown as
// stored, and whose read takes few slices; ok is false otherwise, and the
// caller reads with ReadAt (the chunks are then cached).
func (d *Dataset) ReadSlices(off int64, n int, vec [][]byte, pins *Pins) (_ [][]byte, ok bool, err error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	size := d.Size()
	if d.f.wr != nil || d.conv != nil || d.layout.Class != format.LayoutChunked || off < 0 || n <= 0 || off >= size {
		return vec, false, nil
	}
	end := uint64(min(size, off+int64(n)))
	if g := d.geometry(); g.chunkMajor(uint64(off), end) {
		return vec, false, nil // runs too short to be slices: ReadAt copies them chunk by chunk
	}
	t := runTarget{slices: true, vec: vec, pins: pins}
	ok, err = d.readChunks(&t, uint64(off), end)
	return t.vec, ok && err == nil, err
}

// readChunks puts the dataset bytes [off, end) into t chunk by chunk;
// false when t refused a run.
func (d *Dataset) readChunks(t *runTarget, off, end uint64) (bool, error) {
	idx, err := d.chunkIndex()
	if err != nil {
		return false, err
	}
	g := d.geometry()
	var runScratch runIterScratch
	runs := g.runs(off, end, &runScratch)
	d.claimRowOfChunks(&g, off, end)
	r, _ := runs.next()
	if !t.slices && g.chunkMajor(off, end) {
		if err := d.readChunkMajor(t.dst[off-t.off:end-t.off], off, end, idx, &g); err != nil {
			return false, err
		}
	} else if r.n == end-off {
		// One chunk holds the whole read (a small or random read): no
		// batch.
		data, hold, err := d.chunkData(idx, &g, r.scaled, chunkKey{dataset: d.cacheID, index: r.chunkIdx})
		if err != nil {
			return false, err
		}
		ok := t.put(data, r, off, d.fillVal)
		t.done(hold)
		if !ok {
			return false, nil
		}
	} else {
		var store [maxBatchStack]batchChunk
		batch := store[:0]
		for pos, more := off, true; more; r, more = runs.next() {
			data, ok := findBatch(batch, r.chunkIdx)
			if !ok {
				// Each batch's chunks are let go as the next comes: a
				// long read holds no more decoded chunks than one batch.
				t.doneBatch(batch)
				if batch, err = d.fetchBatch(idx, &g, pos, end, batch[:0]); err != nil {
					t.doneBatch(batch)
					return false, err
				}
				data, _ = findBatch(batch, r.chunkIdx)
			}
			if !t.put(data, r, pos, d.fillVal) {
				t.doneBatch(batch)
				return false, nil
			}
			pos += r.n
		}
		t.doneBatch(batch)
	}
	if d.sequential(off, end, max(2*g.chunkBytes, 4<<20)) {
		d.readAhead(idx, &g, end)
	}
	return true, nil
}

// claimRowOfChunks has the cache hold a whole row of chunks (every chunk
// sharing the first chunk coordinate) for a read that needs it: one that
// spans dataset rows, each of which crosses the whole row of chunks, or a
// sequential reader, whose next reads go through the same row again. The
// claim counts the next row's first chunks too, which the decode-ahead
// brings in meanwhile. A row of one chunk needs no claim: the cache keeps
// the chunk last used.
func (d *Dataset) claimRowOfChunks(g *chunkGeometry, off, end uint64) {
	chunks, rowBytes := g.rowOfChunks()
	if chunks > 1 && (end-off > rowBytes || d.streak.Load() >= 2) {
		size := uint64(filter.DecodedSize(int(min(g.chunkBytes, 1<<40))))
		d.f.chunks.claimBand(d.cacheID, int64(mulAtMost(chunks+2, size, 1<<62)), chunks)
	}
}

// rowOfChunks is how many chunks share a first chunk coordinate (a row of
// chunks, which every row of the dataset crosses whole), and the bytes of
// one row of the dataset (all dimensions after the first). Both saturate
// far below overflow.
func (g *chunkGeometry) rowOfChunks() (chunks, rowBytes uint64) {
	const most = 1 << 40
	chunks, rowBytes = 1, g.esize
	for i, n := range g.grid[1:] {
		chunks = mulAtMost(chunks, n, most)
		rowBytes = mulAtMost(rowBytes, g.dims[i+1], 1<<62)
	}
	return chunks, rowBytes
}

// mulAtMost is a*b, or most when that is more.
func mulAtMost(a, b, most uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	if hi != 0 || lo > most {
		return most
	}
	return lo
}

// sequential records a read of [off, end) and reports whether the dataset
// is being read sequentially. The kernel's own read-ahead sends several
// requests at once, slightly out of order: a read starting within near of
// where the last one ended counts as sequential. Two such reads in a row
// make a sequential reader: a random reader lands near its previous read
// now and then, and read-ahead for it would only take cores and disk from
// its next read.
func (d *Dataset) sequential(off, end, near uint64) bool {
	last := d.lastEnd.Swap(end)
	if off+near >= last && off <= last+near {
		return d.streak.Add(1) >= 2
	}
	d.streak.Store(0)
	return false
}

// copyRun copies one run out of its decoded chunk (nil: never written, the
// fill value) into out, which starts at dataset offset pos.
func copyRun(out, data []byte, r run, pos uint64, fill []byte) {
	out = out[:r.n]
	if data == nil {
		fillPattern(out, pos, fill)
	} else {
		copy(out, data[r.srcOff:r.srcOff+r.n])
	}
}

// batchChunk is one decoded chunk of a batch (data nil: fill value).
type batchChunk struct {
	index uint64
	data  []byte
	hold  *chunkBuf // data's hold, if it has one
}

// maxBatchStack is the batch size kept on the stack. A batch takes at most
// two chunks per core to decode, but more that are cached: a row of a
// dataset whose chunks are narrower than its rows crosses many chunks, and
// the rows after it the same ones again.
const maxBatchStack = 64

func findBatch(batch []batchChunk, index uint64) ([]byte, bool) {
	for i := range batch {
		if batch[i].index == index {
			return batch[i].data, true
		}
	}
	return nil, false
}

// readAhead keeps chunks decoding in the background ahead of a sequential
// reader, so that decompression runs on every core while the reader
// copies. A C-order read first needs the chunks in their row-major order
// in the chunk grid, whatever the chunk shape: the decoders walk that
// order from the chunk holding end, over a window of at least two chunks
// per core and aheadDecodeBytes, and keep going while the reader moves the
// window on. It never blocks the read that triggered it.
func (d *Dataset) readAhead(idx chunk.Index, g *chunkGeometry, end uint64) {
	size := uint64(d.Size())
	if (len(d.Filters) == 0 && d.f.readConcurrency == 0) || end >= size {
		return // unfiltered local chunks cost a read, not a decode: the kernel reads ahead
	}
	want := uint64(2*runtime.GOMAXPROCS(0) + 1)
	want = max(want, min(aheadDecodeBytes/g.chunkBytes, maxAheadChunks))
	if d.f.readConcurrency > 0 {
		// A reader with latency keeps as many requests going.
		want = max(want, uint64(d.f.readConcurrency+1))
	}
	// What is decoded ahead must not push out what the reader is copying.
	want = min(want, uint64(d.f.chunks.currentLimit()/4)/g.chunkBytes)
	if want == 0 {
		return
	}
	if d.f.readConcurrency == 0 {
		d.hintFrom(idx, g, end, size)
	}
	first := g.chunkAt(end)
	st := d.ahead.Load()
	if st == nil {
		d.ahead.CompareAndSwap(nil, new(aheadState))
		st = d.ahead.Load()
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.next < first || st.next > first+want {
		st.next = first // the reader overtook the decoders, or went back
	}
	st.limit = min(first+want, g.chunkCount())
	for st.next < st.limit && st.workers < cap(d.f.prefetch) {
		select {
		case d.f.prefetch <- struct{}{}:
		default:
			return
		}
		st.workers++
		go d.decodeAhead(st)
	}
}

// aheadDecodeBytes is how much decoded data readAhead keeps in flight or
// ready ahead of a sequential reader (besides two chunks per core): small
// chunks, each a fraction of one of the kernel's requests, need many at
// once to keep the cores busy. Tiny chunks are bounded by count
// (maxAheadChunks): a window of millions of 1-byte chunks is millions of
// index lookups ahead of a reader that may stop.
const (
	aheadDecodeBytes = 8 << 20
	maxAheadChunks   = 4096
)

// aheadState is a dataset's decode-ahead window, in chunk numbers (their
// row-major index in the chunk grid).
type aheadState struct {
	mu      sync.Mutex
	next    uint64 // the next chunk to decode
	limit   uint64 // the window's end
	workers int    // decodeAhead goroutines running
}

// decodeAhead decodes the window's chunks one after another until the
// window is done, then gives its prefetch slot back.
func (d *Dataset) decodeAhead(st *aheadState) {
	defer func() { <-d.f.prefetch }()
	var scratch runIterScratch
	for {
		st.mu.Lock()
		if st.next >= st.limit {
			st.workers--
			st.mu.Unlock()
			return
		}
		i := st.next
		st.next++
		st.mu.Unlock()
		key := chunkKey{dataset: d.cacheID, index: i}
		if d.f.chunks.contains(key) {
			continue
		}
		d.decodeAheadChunk(i, key, &scratch)
	}
}

// decodeAheadChunk decodes chunk i into the cache with the dataset's
// current index and extent: a write in between must not be overtaken, nor
// a chunk decoded by a layout it has since changed.
func (d *Dataset) decodeAheadChunk(i uint64, key chunkKey, scratch *runIterScratch) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	g := d.geometry()
	if i >= g.chunkCount() {
		return
	}
	idx, err := d.chunkIndex()
	if err != nil {
		return // the reader meets the error when it gets there
	}
	_, scaled, _ := scratch.slices(len(g.dims))
	g.unravel(i, scaled)
	_, hold, _ := d.chunkData(idx, &g, scaled, key)
	hold.release()
}

// hintAheadBytes is how far, in the dataset's bytes, past a sequential
// reader the stored chunks are asked of the disk: cold, a decode otherwise
// waits for its chunk's read, with the cores idle.
const hintAheadBytes = 16 << 20

// hintFrom has the stored chunks after end hinted in the background:
// asking the disk allocates the pages it reads into, which is not for the
// reader to wait on. One hinter runs a dataset at a time; it keeps going
// until it has hinted from where the latest reader asked.
func (d *Dataset) hintFrom(idx chunk.Index, g *chunkGeometry, end, size uint64) {
	d.hintWant.Store(end)
	if !d.hinting.CompareAndSwap(false, true) {
		return
	}
	gh := new(chunkGeometry)
	*gh = *g
	go func() {
		defer func() {
			// Only a hint: a damaged index the reader meets for itself.
			if recover() != nil {
				d.hinting.Store(false)
			}
		}()
		done := uint64(0)
		for {
			if want := d.hintWant.Load(); want != done {
				done = want
				d.hintStored(idx, gh, want, size)
				continue
			}
			d.hinting.Store(false)
			// A reader may have asked between the check and the store.
			if d.hintWant.Load() == done || !d.hinting.CompareAndSwap(false, true) {
				return
			}
		}
	}()
}

// hintStored starts the disk reads of the stored chunks the reader will
// want after end, in the order it first needs them (the chunk grid's, as
// for decoding ahead): two chunks' or hintAheadBytes' worth, at most 32
// chunks, not counting chunks already decoded (up to hintScanMax of them:
// a cube's reader holds its current planes' chunks), so that their bytes
// are in the page cache when they decode.
func (d *Dataset) hintStored(idx chunk.Index, g *chunkGeometry, end, size uint64) {
	ring := d.hints.Load()
	if ring == nil {
		d.hints.CompareAndSwap(nil, new(hintRing))
		ring = d.hints.Load()
	}
	want := min(max(hintAheadBytes/g.chunkBytes, 2), uint64(len(ring.chunks)))
	var scratch runIterScratch
	_, scaled, _ := scratch.slices(len(g.dims))
	first := g.chunkAt(end)
	last := min(g.chunkCount(), first+hintScanMax)
	for i, n := first, uint64(0); i < last && n < want; i++ {
		if d.f.chunks.contains(chunkKey{dataset: d.cacheID, index: i}) {
			continue
		}
		n++
		if !ring.mark(i) {
			continue
		}
		g.unravel(i, scaled)
		c, ok, err := idx.Lookup(scaled)
		if err != nil || !ok || c.Addr == format.Undefined {
			continue // the reader meets any error when it gets there
		}
		d.f.r.WillNeed(c.Addr, int(min(c.Size, 1<<30)))
	}
}

// hintScanMax bounds the decoded chunks one hint skips over.
const hintScanMax = 4096

// hintRing holds the chunks whose stored bytes were lately asked of the
// disk ahead of a sequential reader, so that each is asked once.
type hintRing struct {
	mu     sync.Mutex
	chunks [32]uint64 // chunk numbers + 1; 0 is empty
	at     int
}

// mark records a chunk as hinted and reports whether it was not already.
func (h *hintRing) mark(index uint64) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if slices.Contains(h.chunks[:], index+1) {
		return false
	}
	h.chunks[h.at] = index + 1
	h.at = (h.at + 1) % len(h.chunks)
	return true
}

// fetchBatch gathers the chunks the read needs from pos on, up to a batch
// size, into batch: cached ones at once, the others decoded in parallel.
func (d *Dataset) fetchBatch(idx chunk.Index, g *chunkGeometry, pos, end uint64, batch []batchChunk) ([]batchChunk, error) {
	workers := runtime.GOMAXPROCS(0)
	maxMissing := min(2*workers, maxBatchStack)
	if d.f.readConcurrency > 0 {
		// Fetching, not decoding, is the wait: overlap many fetches.
		workers = max(workers, d.f.readConcurrency)
		maxMissing = max(maxMissing, min(d.f.readConcurrency, maxBatchStack))
	}
	type job struct {
		at     int // in batch
		scaled []uint64
	}
	var missing []job
	// A batch never holds more decoded bytes than the cache allows.
	budget := d.f.chunks.currentLimit() / 2
	var runScratch runIterScratch
	runs := g.runs(pos, end, &runScratch)
	for len(batch) < maxBatchStack && len(missing) < maxMissing && (len(batch) == 0 || int64(len(batch)+1)*int64(g.chunkBytes) <= budget) {
		r, ok := runs.next()
		if !ok {
			break
		}
		if _, ok := findBatch(batch, r.chunkIdx); ok {
			continue
		}
		key := chunkKey{dataset: d.cacheID, index: r.chunkIdx}
		if data, hold, ok := d.cachedChunk(key); ok {
			batch = append(batch, batchChunk{index: r.chunkIdx, data: data, hold: hold})
			continue
		}
		batch = append(batch, batchChunk{index: r.chunkIdx})
		// A chunk never written is the fill value: no decoder for it (a
		// sparse dataset of tiny chunks spent its reads starting them).
		// An index error is met by the decoder.
		if c, ok, err := idx.Lookup(r.scaled); err == nil && (!ok || c.Addr == format.Undefined) {
			continue
		}
		missing = append(missing, job{len(batch) - 1, append([]uint64(nil), r.scaled...)})
	}
	if len(missing) == 0 {
		return batch, nil
	}
	if len(missing) == 1 {
		j := missing[0]
		data, hold, err := d.chunkData(idx, g, j.scaled, chunkKey{dataset: d.cacheID, index: batch[j.at].index})
		batch[j.at].data, batch[j.at].hold = data, hold
		return batch, err
	}
	// The decoders write apart from batch, which stays on the caller's
	// stack.
	gh := new(chunkGeometry)
	*gh = *g
	results := make([][]byte, len(missing))
	holds := make([]*chunkBuf, len(missing))
	errs := make([]error, len(missing))
	var wg sync.WaitGroup
	sem := make(chan struct{}, workers)
	for i, j := range missing {
		key := chunkKey{dataset: d.cacheID, index: batch[j.at].index}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			results[i], holds[i], errs[i] = d.chunkData(idx, gh, j.scaled, key)
		}()
	}
	wg.Wait()
	var err error
	for i, j := range missing {
		batch[j.at].data, batch[j.at].hold = results[i], holds[i]
		if err == nil {
			err = errs[i]
		}
	}
	return batch, err
}

// cachedChunk is a chunk's pending (written) or cached decoded bytes, if
// either is at hand, and their hold (see chunkData).
func (d *Dataset) cachedChunk(key chunkKey) ([]byte, *chunkBuf, bool) {
	if d.f.wr != nil {
		if dc := d.f.wr.pending(key); dc != nil {
			return dc.data, nil, true
		}
	}
	b, ok := d.f.chunks.peek(key)
	if !ok {
		return nil, nil, false
	}
	return b.data, b, true
}

// errNoChunk marks a chunk never written; it is not cached as an error.
var errNoChunk = errors.New("chunk not allocated")

// chunkData returns a decoded chunk through the cache, or nil when the
// chunk was never written. Cached bytes come held: the caller releases
// hold (nil for pending chunks, which d.mu keeps) once it no longer uses
// data.
func (d *Dataset) chunkData(idx chunk.Index, g *chunkGeometry, scaled []uint64, key chunkKey) (data []byte, hold *chunkBuf, err error) {
	if d.f.wr != nil {
		if dc := d.f.wr.pending(key); dc != nil {
			return dc.data, nil, nil
		}
	}
	b, err := d.f.chunks.get(key, func() (data, mem []byte, err error) {
		// Chunks decode on goroutines of their own (read-ahead, batches),
		// where a panic would end the process: a bug meeting a damaged
		// chunk fails that chunk's reads instead.
		// A copy goes to the index (and to a panic's message), so that the
		// caller's scratch stays on its stack.
		at := append([]uint64(nil), scaled...)
		defer func() {
			if r := recover(); r != nil {
				data, mem, err = nil, nil, fmt.Errorf("h5: chunk %v of dataset at 0x%x: internal error: %v\n%s: %w", at, d.Addr, r, debug.Stack(), ErrCorrupt)
			}
		}()
		c, ok, err := idx.Lookup(at)
		if err != nil {
			return nil, nil, err
		}
		if !ok || c.Addr == format.Undefined {
			return nil, nil, errNoChunk
		}
		return d.decodeChunk(c, g)
	})
	if err == errNoChunk {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	return b.data, b, nil
}

// decodeChunk reads and decodes a stored chunk. Its bytes lie in mem, a
// decodedBufs buffer, when mem is not nil.
func (d *Dataset) decodeChunk(c chunk.Chunk, g *chunkGeometry) (data, mem []byte, err error) {
	if c.Size > uint64(d.f.r.FileSize()) {
		return nil, nil, format.Corruptf(c.Addr, "chunk", "stored size %d exceeds the file", c.Size)
	}
	filtered := len(d.Filters) > 0
	if filtered && d.layout.NoFilterEdgeChunks() && g.isEdgeChunk(c.Scaled) {
		filtered = false
	}
	if !filtered {
		raw := decodedBufs.Get(int(c.Size))
		if err := d.f.r.ReadInto(raw, c.Addr, "chunk"); err != nil {
			decodedBufs.Put(raw)
			return nil, nil, err
		}
		return d.checkDecoded(raw, raw, nil, c, g)
	}
	// The stored bytes are needed only while they are decoded: their
	// buffer goes back to a pool, unless a filter handed (part of) it back
	// as its output, which then lies in it.
	d.f.decodes.Add(1)
	stored := storedBufs.Get(int(c.Size))
	if err := d.f.r.ReadInto(stored, c.Addr, "chunk"); err != nil {
		storedBufs.Put(stored)
		return nil, nil, err
	}
	raw, mem, err := filter.DecodePipelineInto(d.Filters, c.FilterMask, stored, int(g.chunkBytes), &decodedBufs)
	if err == nil && filter.SharesMemory(raw, stored) {
		mem = stored
	} else {
		storedBufs.Put(stored)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("h5: chunk %v of dataset at 0x%x (stored at 0x%x): %w", c.Scaled, d.Addr, c.Addr, err)
	}
	return d.checkDecoded(raw, mem, d.Filters, c, g)
}

// checkDecoded returns a decoded chunk cut to its size, or, when it is too
// short, padded or an error; mem, the memory it replaces, then goes back.
func (d *Dataset) checkDecoded(raw, mem []byte, pipeline []format.Filter, c chunk.Chunk, g *chunkGeometry) ([]byte, []byte, error) {
	n := uint64(len(raw))
	if n >= g.chunkBytes {
		return raw[:g.chunkBytes], mem, nil
	}
	// Chunks written directly (H5Dwrite_chunk) may hold less than a chunk:
	// Oxford Nanopore's fast5 files keep only the part of a 1-D edge chunk
	// inside the extent. libhdf5 reads any short chunk, the rest of its
	// buffer being whatever memory held; here a chunk that holds every
	// element of the extent it covers reads with the rest as the fill
	// value, and one that does not is damaged. The padding is bounded by
	// what the stored bytes could decode to, not by the chunk's claimed size.
	limit, bounded := filter.MaxDecodedSize(pipeline, c.FilterMask, c.Size)
	if !bounded || limit < g.chunkBytes || n < g.extentBytesIn(c.Scaled) {
		decodedBufs.Put(mem)
		return nil, nil, format.Corruptf(c.Addr, "chunk", "decodes to %d bytes, want %d", n, g.chunkBytes)
	}
	full := decodedBufs.Get(int(g.chunkBytes))
	copy(full, raw)
	fillPattern(full[n:], n, d.fillVal)
	decodedBufs.Put(mem)
	return full, full, nil
}

// extentBytesIn is how far into a chunk, in row-major order, its last
// element inside the dataset's extent ends.
func (g *chunkGeometry) extentBytesIn(scaled []uint64) uint64 {
	last, stride := uint64(0), uint64(1)
	for i := len(g.chunk) - 1; i >= 0; i-- {
		start := scaled[i] * g.chunk[i]
		if start >= g.dims[i] {
			return 0
		}
		inside := min(g.chunk[i], g.dims[i]-start)
		last += (inside - 1) * stride
		stride *= g.chunk[i]
	}
	return (last + 1) * g.esize
}

// storedBufs recycles the buffers chunks are read into before decoding.
var storedBufs filter.BufferPool

// isEdgeChunk reports whether a chunk extends past the dataset's extent.
func (g *chunkGeometry) isEdgeChunk(scaled []uint64) bool {
	for i := range scaled {
		if (scaled[i]+1)*g.chunk[i] > g.dims[i] {
			return true
		}
	}
	return false
}
