package h5

import "github.com/h5mount/h5mount/h5/internal/format"

// Every test of the package reads chunks whose memory is overwritten when
// it is recycled: a chunk reused while still held shows as wrong bytes.
func init() { poisonRecycled = true }

// RecycledChunks is how many decoded chunks' memory has been reused.
func RecycledChunks() uint64 { return recycled.Load() }

// CrashCommitAt makes the next commit of f stop at stage ("journal": after
// the journal is durable, before the file changes; "apply": after half of
// the journaled changes reached the file; "torn": with half of the journal
// written) and abandon the file as a killed process would.
func CrashCommitAt(f *File, stage string) { f.wr.crashAt = stage }

// FileSyncs is how many times f's writer has synced its file.
func FileSyncs(f *File) int64 { return f.wr.syncs.Load() }

// Abandon drops f without committing, as a killed process does.
func Abandon(f *File) { f.wr.file.Close() }

// ErrCrash is the error a simulated crash returns.
var ErrCrash = errCrash

// ChunkDecodes is how many chunks f has decoded through their filters.
func ChunkDecodes(f *File) uint64 { return f.decodes.Load() }

// ChunkEncodes is how many chunks f has run through their filters to store.
func ChunkEncodes(f *File) uint64 { return f.encodes.Load() }

// HintStored has the stored chunks a sequential reader of d at byte end
// will want next asked of d's file, at once.
func HintStored(d *Dataset, end uint64) error {
	idx, err := d.chunkIndex()
	if err != nil {
		return err
	}
	g := d.geometry()
	d.hintStored(idx, &g, end, uint64(d.Size()))
	return nil
}

// ChunkAddr is the file address of d's chunk at grid coordinates scaled.
func ChunkAddr(d *Dataset, scaled []uint64) (uint64, error) {
	idx, err := d.chunkIndex()
	if err != nil {
		return 0, err
	}
	c, _, err := idx.Lookup(scaled)
	return c.Addr, err
}

// IndexName is the kind of d's chunk index ("v1 B-tree", "single chunk",
// or indexName's names).
func IndexName(d *Dataset) string {
	switch {
	case d.layout.Version < 4 || d.layout.IndexType == format.IndexBTree1:
		return "v1 B-tree"
	case d.layout.IndexType == format.IndexSingle:
		return "single chunk"
	}
	return indexName(d.layout.IndexType)
}

// UsedSpace is the file space f's writer counts as used: allocated and not
// free (freed space counts once a commit has made it free).
func UsedSpace(f *File) uint64 {
	w := f.wr
	w.mu.Lock()
	defer w.mu.Unlock()
	used := w.sp.eoa
	for _, e := range w.sp.free {
		used -= e.end - e.start
	}
	return used
}

// CacheMemory is what f's chunk cache counts against its budget, and the
// memory its chunks' buffers hold.
func CacheMemory(f *File) (counted, held int64) {
	c := f.chunks
	c.mu.Lock()
	defer c.mu.Unlock()
	for e := c.lru.Front(); e != nil; e = e.Next() {
		b := e.Value.(*cacheEntry).buf
		if b.mem != nil {
			held += int64(cap(b.mem))
		} else {
			held += int64(cap(b.data))
		}
	}
	return c.used, held
}

// LimitLoadedDatasets sets how many decoded datasets read-only f keeps.
func LimitLoadedDatasets(f *File, n int) { f.loaded.limit = n }

// DatasetDecoded reports whether o holds its decoded dataset.
func DatasetDecoded(o *Object) bool {
	o.dsMu.Lock()
	defer o.dsMu.Unlock()
	return o.ds != nil
}

// DenseLinks reports whether g keeps its links in dense storage.
func DenseLinks(g *Group) bool {
	li, err := g.linkInfo()
	return err == nil && li != nil && li.HeapAddr != format.Undefined
}
