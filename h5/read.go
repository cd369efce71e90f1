package h5

import (
	"errors"
	"fmt"
	"io"
	"runtime"
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

func (d *Dataset) geometry() chunkGeometry {
	g := chunkGeometry{dims: d.dims(), chunk: d.layout.ChunkDims, esize: uint64(d.Type.Size)}
	g.grid = make([]uint64, len(g.dims))
	g.chunkBytes = g.esize
	for i := range g.dims {
		g.grid[i] = (g.dims[i] + g.chunk[i] - 1) / g.chunk[i]
		g.chunkBytes *= g.chunk[i]
	}
	return g
}

// run is one piece of a read: a span of bytes that is contiguous both in
// the dataset and inside one chunk.
type run struct {
	scaled   []uint64
	chunkIdx uint64 // row-major chunk number
	srcOff   uint64 // byte offset inside the decoded chunk
	n        uint64 // bytes
}

// nextRun describes the run starting at dataset byte offset pos, at most
// limit bytes long. coords and scaled are scratch space of the dataset rank.
func (g *chunkGeometry) nextRun(pos, limit uint64, coords, scaled []uint64) run {
	rank := len(g.dims)
	elem := pos / g.esize
	within := pos - elem*g.esize
	for i := rank - 1; i >= 0; i-- {
		coords[i] = elem % g.dims[i]
		elem /= g.dims[i]
	}
	var chunkIdx, srcElem uint64
	for i := 0; i < rank; i++ {
		scaled[i] = coords[i] / g.chunk[i]
		chunkIdx = chunkIdx*g.grid[i] + scaled[i]
		srcElem = srcElem*g.chunk[i] + coords[i]%g.chunk[i]
	}
	// The run extends along the last dimension to the chunk's or the
	// dataset's edge, and across whole rows where chunk and dataset rows
	// coincide.
	runElems := uint64(1)
	for i := rank - 1; i >= 0; i-- {
		in := coords[i] % g.chunk[i]
		avail := min(g.chunk[i]-in, g.dims[i]-coords[i])
		runElems *= avail
		if !(in == 0 && avail == g.chunk[i] && g.chunk[i] == g.dims[i]) {
			break
		}
	}
	n := runElems*g.esize - within
	if n > limit {
		n = limit
	}
	return run{scaled: scaled, chunkIdx: chunkIdx, srcOff: srcElem*g.esize + within, n: n}
}

// readChunked copies the requested bytes chunk by chunk. Chunks the range
// needs are fetched in batches, decoded in parallel on all cores.
func (d *Dataset) readChunked(dst []byte, off uint64) error {
	idx, err := d.chunkIndex()
	if err != nil {
		return err
	}
	g := d.geometry()
	rank := len(g.dims)
	coords := make([]uint64, rank)
	scaled := make([]uint64, rank)
	end := off + uint64(len(dst))
	batch := map[uint64][]byte{} // chunk number -> decoded data (nil: fill)
	pos := off
	for pos < end {
		r := g.nextRun(pos, end-pos, coords, scaled)
		data, ok := batch[r.chunkIdx]
		if !ok {
			clear(batch)
			if err := d.fetchBatch(idx, &g, pos, end, batch); err != nil {
				return err
			}
			data = batch[r.chunkIdx]
		}
		out := dst[pos-off : pos-off+r.n]
		if data == nil {
			fillPattern(out, pos, d.fillVal)
		} else {
			copy(out, data[r.srcOff:r.srcOff+r.n])
		}
		pos += r.n
	}
	// The kernel's own read-ahead sends several requests at once, slightly
	// out of order: a read starting near where the last one ended counts as
	// sequential.
	last := d.lastEnd.Swap(end)
	near := max(2*g.chunkBytes, 4<<20)
	if off+near >= last && off <= last+near {
		d.readAhead(idx, &g, end)
	}
	return nil
}

// readAhead decodes, in the background, the chunks that a sequential reader
// will want after end, so that decompression runs on every core while the
// reader copies. It never blocks the read that triggered it: when every
// worker is busy, it skips.
func (d *Dataset) readAhead(idx chunk.Index, g *chunkGeometry, end uint64) {
	size := uint64(d.Size())
	if (len(d.Filters) == 0 && d.f.readConcurrency == 0) || end >= size {
		return // unfiltered local chunks cost a read, not a decode: the kernel reads ahead
	}
	// The chunk being read plus two per core ahead of it: every core stays
	// busy while the reader copies. A reader with latency keeps as many
	// requests going.
	want := 2*runtime.GOMAXPROCS(0) + 1
	if d.f.readConcurrency > 0 {
		want = max(want, d.f.readConcurrency+1)
	}
	if limit := int(d.f.chunks.budget / 4 / int64(g.chunkBytes)); limit < want {
		want = limit
	}
	rank := len(g.dims)
	coords := make([]uint64, rank)
	scaled := make([]uint64, rank)
	seen := map[uint64]bool{}
	pos := end
	for steps := 0; pos < size && len(seen) < want && steps < 4096; steps++ {
		r := g.nextRun(pos, size-pos, coords, scaled)
		pos += r.n
		if seen[r.chunkIdx] {
			continue
		}
		seen[r.chunkIdx] = true
		key := chunkKey{dataset: d.cacheID, index: r.chunkIdx}
		if d.f.chunks.contains(key) {
			continue
		}
		select {
		case d.f.prefetch <- struct{}{}:
		default:
			return
		}
		sc := append([]uint64(nil), r.scaled...)
		go func() {
			defer func() { <-d.f.prefetch }()
			d.mu.RLock() // a write in between must not be overtaken
			defer d.mu.RUnlock()
			// An error here is reported when the reader gets to the chunk.
			_, _ = d.chunkData(idx, g, sc, key)
		}()
	}
}

// fetchBatch gathers the chunks the read needs from pos on, up to a batch
// size, and decodes the ones not cached in parallel.
func (d *Dataset) fetchBatch(idx chunk.Index, g *chunkGeometry, pos, end uint64, batch map[uint64][]byte) error {
	workers := runtime.GOMAXPROCS(0)
	maxBatch := 2 * workers
	if d.f.readConcurrency > 0 {
		// Fetching, not decoding, is the wait: overlap many fetches.
		workers = max(workers, d.f.readConcurrency)
		maxBatch = max(maxBatch, d.f.readConcurrency)
	}
	rank := len(g.dims)
	coords := make([]uint64, rank)
	scaled := make([]uint64, rank)
	type job struct {
		idx    uint64
		scaled []uint64
	}
	var jobs []job
	seen := map[uint64]bool{}
	// A batch never holds more decoded bytes than the cache budget allows.
	budget := d.f.chunks.budget / 2
	for pos < end && len(jobs) < maxBatch && (len(jobs) == 0 || int64(len(jobs)+1)*int64(g.chunkBytes) <= budget) {
		r := g.nextRun(pos, end-pos, coords, scaled)
		if !seen[r.chunkIdx] {
			seen[r.chunkIdx] = true
			jobs = append(jobs, job{r.chunkIdx, append([]uint64(nil), r.scaled...)})
		}
		pos += r.n
	}
	results := make([][]byte, len(jobs))
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, workers)
	for i, j := range jobs {
		key := chunkKey{dataset: d.cacheID, index: j.idx}
		if len(jobs) == 1 || d.f.chunks.contains(key) {
			results[i], errs[i] = d.chunkData(idx, g, j.scaled, key)
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func(i int, j job) {
			defer wg.Done()
			defer func() { <-sem }()
			results[i], errs[i] = d.chunkData(idx, g, j.scaled, key)
		}(i, j)
	}
	wg.Wait()
	for i, j := range jobs {
		if errs[i] != nil {
			return errs[i]
		}
		batch[j.idx] = results[i]
	}
	return nil
}

// errNoChunk marks a chunk never written; it is not cached as an error.
var errNoChunk = errors.New("chunk not allocated")

// chunkData returns a decoded chunk through the cache, or nil when the
// chunk was never written.
func (d *Dataset) chunkData(idx chunk.Index, g *chunkGeometry, scaled []uint64, key chunkKey) ([]byte, error) {
	if d.f.wr != nil {
		if dc := d.f.wr.pending(key); dc != nil {
			return dc.data, nil
		}
	}
	data, err := d.f.chunks.get(key, func() ([]byte, error) {
		c, ok, err := idx.Lookup(scaled)
		if err != nil {
			return nil, err
		}
		if !ok || c.Addr == format.Undefined {
			return nil, errNoChunk
		}
		return d.decodeChunk(c, g)
	})
	if err == errNoChunk {
		return nil, nil
	}
	return data, err
}

func (d *Dataset) decodeChunk(c chunk.Chunk, g *chunkGeometry) ([]byte, error) {
	if c.Size > uint64(d.f.r.FileSize()) {
		return nil, format.Corruptf(c.Addr, "chunk", "stored size %d exceeds the file", c.Size)
	}
	raw, err := d.f.r.Read(c.Addr, int(c.Size), "chunk")
	if err != nil {
		return nil, err
	}
	filtered := len(d.Filters) > 0
	if filtered && d.layout.NoFilterEdgeChunks() && g.isEdgeChunk(c.Scaled) {
		filtered = false
	}
	if filtered {
		raw, err = filter.DecodePipeline(d.Filters, c.FilterMask, raw, int(g.chunkBytes))
		if err != nil {
			return nil, fmt.Errorf("h5: chunk %v of dataset at 0x%x (stored at 0x%x): %w", c.Scaled, d.Addr, c.Addr, err)
		}
	}
	if uint64(len(raw)) < g.chunkBytes {
		return nil, format.Corruptf(c.Addr, "chunk", "decodes to %d bytes, want %d", len(raw), g.chunkBytes)
	}
	return raw[:g.chunkBytes], nil
}

// isEdgeChunk reports whether a chunk extends past the dataset's extent.
func (g *chunkGeometry) isEdgeChunk(scaled []uint64) bool {
	for i := range scaled {
		if (scaled[i]+1)*g.chunk[i] > g.dims[i] {
			return true
		}
	}
	return false
}
