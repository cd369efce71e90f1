package h5

import (
	"runtime"
	"sync"

	"github.com/h5mount/h5mount/h5/internal/chunk"
)

// A read of a dataset whose chunks are narrower than its rows, taken in
// the dataset's order, is a run per chunk per row: a (2048, 2048) float32
// dataset in (2048, 1) chunks is 4-byte runs, and a 1 MiB read crossed all
// 2048 chunks 128 times, looking each up again for every row (cat: 0.9 s
// for 16 MiB, h5py 0.05 s). Such reads go chunk by chunk instead, as
// libhdf5 reads a selection: each chunk the read touches is fetched once
// and its rows copied to where they go in the reader's bytes.

// chunkMajorRunBytes is the run length below which a read goes chunk by
// chunk, when it spans more runs than a zero-copy reply would take
// (maxReadSlices).
const chunkMajorRunBytes = 4096

// runBytes is the length of the longest run a chunk holds of the dataset's
// bytes: the trailing dimensions the chunk spans whole, and the first it
// does not.
func (g *chunkGeometry) runBytes() uint64 {
	n := g.esize
	for i := len(g.dims) - 1; i >= 0; i-- {
		n = mulAtMost(n, min(g.chunk[i], g.dims[i]), 1<<62)
		if g.chunk[i] < g.dims[i] {
			break
		}
	}
	return n
}

// chunkMajor reports whether a copy of the dataset bytes [off, end) is
// better made chunk by chunk.
func (g *chunkGeometry) chunkMajor(off, end uint64) bool {
	rb := g.runBytes()
	return len(g.dims) >= 2 && rb < chunkMajorRunBytes && end-off > maxReadSlices*rb
}

// readChunkMajor copies the dataset bytes [off, end) into dst chunk by
// chunk: the chunks of the rows the range touches, in batches that the
// cache can hold, each batch's missing chunks decoded in parallel.
func (d *Dataset) readChunkMajor(dst []byte, off, end uint64, idx chunk.Index, g *chunkGeometry) error {
	rank := len(g.dims)
	var scratch [4 * stackRank]uint64
	stride, lo, hi, scaled := scratch[:rank], scratch[stackRank:stackRank+rank], scratch[2*stackRank:2*stackRank+rank], scratch[3*stackRank:3*stackRank+rank]
	if rank > stackRank {
		stride, lo, hi, scaled = make([]uint64, rank), make([]uint64, rank), make([]uint64, rank), make([]uint64, rank)
	}
	s := uint64(1)
	for i := rank - 1; i >= 0; i-- {
		stride[i] = s
		s *= g.dims[i]
	}
	// The chunks that may hold bytes of the range: along the dimensions
	// where its first and last elements agree, the one chunk holding
	// that coordinate; along the first where they differ, the chunks
	// between; along the rest, every chunk (those the range misses are
	// skipped below). A read inside one row of a dataset whose rows
	// cross millions of chunks then looks only at the row's chunks it
	// spans.
	first, last := off/g.esize, (end-1)/g.esize
	differ := false
	for i := range rank {
		a, b := first/stride[i]%g.dims[i], last/stride[i]%g.dims[i]
		switch {
		case differ:
			lo[i], hi[i] = 0, g.grid[i]-1
		default:
			lo[i], hi[i] = a/g.chunk[i], b/g.chunk[i]
			differ = a != b
		}
	}
	copy(scaled, lo)
	limit := uint64(d.f.chunks.currentLimit() / 2)
	var batch []chunkJob
	var batchBytes uint64
	for {
		if overlaps(g, stride, scaled, off, end) {
			if len(batch) > 0 && (len(batch) == maxBatchStack || batchBytes+g.chunkBytes > limit) {
				if err := d.copyChunkBatch(dst, off, end, idx, g, stride, batch); err != nil {
					return err
				}
				batch, batchBytes = batch[:0], 0
			}
			batch = append(batch, chunkJob{scaled: append([]uint64(nil), scaled...), key: chunkKey{dataset: d.cacheID, index: ravel(scaled, g.grid)}})
			batchBytes += g.chunkBytes
		}
		// Next chunk of the box lo..hi, row-major.
		i := rank - 1
		for ; i >= 0; i-- {
			if scaled[i] < hi[i] {
				scaled[i]++
				break
			}
			scaled[i] = lo[i]
		}
		if i < 0 {
			break
		}
	}
	if len(batch) == 0 {
		return nil
	}
	return d.copyChunkBatch(dst, off, end, idx, g, stride, batch)
}

// chunkJob is one chunk of a chunk-major batch.
type chunkJob struct {
	scaled []uint64
	key    chunkKey
	data   []byte
	hold   *chunkBuf
	err    error
}

// overlaps reports whether the chunk at scaled holds any dataset byte of
// [off, end): its first and last elements bound the elements it holds.
func overlaps(g *chunkGeometry, stride, scaled []uint64, off, end uint64) bool {
	var first, last uint64
	for i := range g.dims {
		o := scaled[i] * g.chunk[i]
		first += o * stride[i]
		last += (min(o+g.chunk[i], g.dims[i]) - 1) * stride[i]
	}
	return first*g.esize < end && (last+1)*g.esize > off
}

// copyChunkBatch fetches a batch's chunks (the missing ones decoded in
// parallel) and copies their parts of [off, end) into dst.
func (d *Dataset) copyChunkBatch(dst []byte, off, end uint64, idx chunk.Index, g *chunkGeometry, stride []uint64, batch []chunkJob) error {
	defer func() {
		for i := range batch {
			batch[i].hold.release()
			batch[i].hold = nil
		}
	}()
	if len(batch) == 1 {
		j := &batch[0]
		j.data, j.hold, j.err = d.chunkData(idx, g, j.scaled, j.key)
	} else {
		var wg sync.WaitGroup
		sem := make(chan struct{}, runtime.GOMAXPROCS(0))
		for i := range batch {
			j := &batch[i]
			if data, hold, ok := d.cachedChunk(j.key); ok {
				j.data, j.hold = data, hold
				continue
			}
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				j.data, j.hold, j.err = d.chunkData(idx, g, j.scaled, j.key)
			}()
		}
		wg.Wait()
	}
	for i := range batch {
		if batch[i].err != nil {
			return batch[i].err
		}
		copyChunkRows(dst, off, end, g, stride, batch[i].scaled, batch[i].data, d.fillVal)
	}
	return nil
}

// copyChunkRows copies the rows of a chunk (its runs along the last
// dimension) that fall in the dataset bytes [off, end) to dst, which holds
// those bytes; data nil is a chunk never written: the fill value. Only the
// chunk's rows along the first dimension that the range reaches are
// visited: a read of a few dataset rows takes a few rows of each chunk.
func copyChunkRows(dst []byte, off, end uint64, g *chunkGeometry, stride, scaled []uint64, data []byte, fill []byte) {
	rank := len(g.dims)
	last := rank - 1
	var scratch [3 * stackRank]uint64
	local, ext, cstride := scratch[:rank], scratch[stackRank:stackRank+rank], scratch[2*stackRank:2*stackRank+rank]
	if rank > stackRank {
		local, ext, cstride = make([]uint64, rank), make([]uint64, rank), make([]uint64, rank)
	}
	cs := uint64(1)
	for i := last; i >= 0; i-- {
		cstride[i] = cs
		cs *= g.chunk[i]
		ext[i] = min(g.chunk[i], g.dims[i]-scaled[i]*g.chunk[i])
		local[i] = 0
	}
	// The chunk's rows along the first dimension that the range reaches.
	o0 := scaled[0] * g.chunk[0]
	first := max(off/g.esize/stride[0], o0) - o0
	stop := min((end-1)/g.esize/stride[0]+1, o0+ext[0]) - o0
	if first >= stop {
		return
	}
	local[0] = first
	var elem, src uint64
	for i := range rank {
		elem += (scaled[i]*g.chunk[i] + local[i]) * stride[i]
		src += local[i] * cstride[i]
	}
	rowBytes := ext[last] * g.esize
	for {
		a, b := elem*g.esize, elem*g.esize+rowBytes
		if a < end && b > off {
			from, to := max(a, off), min(b, end)
			out := dst[from-off : to-off]
			if data == nil {
				fillPattern(out, from, fill)
			} else {
				s := src*g.esize + from - a
				copy(out, data[s:s+(to-from)])
			}
		}
		// Next row: count along the dimensions before the last.
		i := last - 1
		for ; i >= 0; i-- {
			limit := ext[i]
			if i == 0 {
				limit = stop
			}
			if local[i]+1 < limit {
				local[i]++
				elem += stride[i]
				src += cstride[i]
				break
			}
			if i == 0 {
				return
			}
			elem -= local[i] * stride[i]
			src -= local[i] * cstride[i]
			local[i] = 0
		}
		if i < 0 {
			return
		}
	}
}
