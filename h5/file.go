package h5

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// DefaultCacheBytes is the chunk cache size when Options leave it zero.
const DefaultCacheBytes = 64 << 20

// Options tune an opened file.
type Options struct {
	// CacheBytes bounds the memory of decoded chunks kept for reuse.
	CacheBytes int64
	// ReadConcurrency is how many chunks one read fetches at once, and how
	// many a sequential reader's read-ahead prepares, unfiltered ones too.
	// Zero means one per core, right for local files; a reader with
	// latency (remote storage) wants many more.
	ReadConcurrency int
	// SelfContained forbids reading any file but this one: external raw
	// data files and virtual dataset sources in other files fail with
	// ErrUnsupported. A remote file must not make the mount read local
	// files that happen to bear the names it stores.
	SelfContained bool
}

// File is an open HDF5 file.
type File struct {
	r      *format.Reader
	sb     *format.Superblock
	closer io.Closer
	path   string // for resolving external storage; empty for readers
	chunks *chunkCache
	// prefetch bounds background chunk decoding to one worker per core.
	prefetch chan struct{}
	// readConcurrency is Options.ReadConcurrency; zero for one per core.
	readConcurrency int
	selfContained   bool
	// decodes counts chunks read from the file through their filters, for
	// the tests that hold a sequential pass to one decode a chunk.
	decodes atomic.Uint64
	// encodes counts chunks run through their filters to be stored, for
	// the tests that hold a sequential write to one compression a chunk.
	encodes atomic.Uint64

	mu      sync.Mutex
	objects map[uint64]*Object
	gheaps  map[uint64]*format.GlobalHeapCollection

	pathsMu sync.Mutex
	paths   map[uint64]string

	wr *writer // nil when read-only

	// loaded bounds the datasets a read-only file keeps decoded.
	loaded loadedDatasets
	// changes counts the edits of a writable file, before and after each:
	// a virtual dataset decoded before one may draw on sources that have
	// changed shape or place since, and is decoded again.
	changes atomic.Uint64

	shared   sohm          // shared object header message table
	external externalFiles // open external raw data files
	sources  sourceFiles   // files virtual datasets draw on
	vdsLevel int           // how many virtual datasets led to this file
}

const (
	maxCachedObjects = 1 << 16
	maxCachedGHeaps  = 64
)

// Open reads the superblock of the HDF5 file held by r, which is size bytes.
func Open(r io.ReaderAt, size int64, opt *Options) (*File, error) {
	if fh, ok := r.(*os.File); ok {
		r = hintedFile{fh}
	}
	sb, err := format.FindSuperblock(r, size)
	if err != nil {
		return nil, err
	}
	f := &File{
		r:       &format.Reader{R: r, Size: size, Base: sb.BaseAddr, Sizes: sb.Sizes},
		sb:      sb,
		objects: map[uint64]*Object{},
		gheaps:  map[uint64]*format.GlobalHeapCollection{},
		loaded:  loadedDatasets{limit: maxLoadedDatasets},
	}
	cache := int64(DefaultCacheBytes)
	if opt != nil && opt.CacheBytes > 0 {
		cache = opt.CacheBytes
	}
	f.chunks = newChunkCache(cache)
	workers := runtime.GOMAXPROCS(0)
	if opt != nil {
		f.readConcurrency = max(0, opt.ReadConcurrency)
		f.selfContained = opt.SelfContained
		workers = max(workers, f.readConcurrency)
	}
	f.prefetch = make(chan struct{}, workers)
	if sb.RootAddr == format.Undefined {
		return nil, format.Corruptf(sb.Addr, "superblock", "no root group")
	}
	if err := f.checkStandalone(size); err != nil {
		return nil, err
	}
	f.readBTreeK()
	// Like libhdf5, read the root group's header now: a file whose root
	// cannot be read does not open.
	if _, err := f.Object(sb.RootAddr); err != nil {
		return nil, err
	}
	return f, nil
}

// readBTreeK sets the B-tree K values of a version 2 or 3 superblock,
// which keeps them in its extension when they are not libhdf5's defaults
// (left 0 otherwise, which the B-tree writers take as the defaults; a v1
// B-tree node is allocated for 2K entries whatever it holds, so a
// node the writer makes must be as large as libhdf5 will read and write
// it). An extension that cannot be read leaves the defaults: reading needs
// no K, and a read-write open refuses such a file (checkFileSpace).
func (f *File) readBTreeK() {
	ext, err := f.superblockExtension()
	if err != nil || ext == nil {
		return
	}
	m := ext.Find(format.MsgBTreeK)
	if m == nil || len(m.Data) < 7 || m.Data[0] != 0 {
		return
	}
	d := format.NewDecoder(m.Data, m.Addr, "v1 B-tree K values message", f.r.Sizes)
	d.U8()
	chunkK, internalK, leafK := d.U16(), d.U16(), d.U16()
	sb := f.sb
	if chunkK > 0 {
		sb.IndexedStorageK = chunkK
	}
	if internalK > 0 {
		sb.GroupInternalK = internalK
	}
	if leafK > 0 {
		sb.GroupLeafK = leafK
	}
}

// superblockExtension reads the header of a version 2 or 3 superblock's
// extension, nil where the file has none.
func (f *File) superblockExtension() (*format.ObjectHeader, error) {
	if f.sb.Version < 2 || f.sb.ExtensionAddr == format.Undefined {
		return nil, nil
	}
	h, err := format.ReadObjectHeader(f.r, f.sb.ExtensionAddr)
	if err != nil {
		return nil, fmt.Errorf("h5: superblock extension: %w", err)
	}
	return h, nil
}

// checkStandalone refuses what libhdf5 refuses to open with its default
// driver: a file shorter than the end-of-file address its superblock
// records (a family member, a truncated copy) and the superblock file of a
// multi or split driver set, whose objects live in other files.
func (f *File) checkStandalone(size int64) error {
	sb := f.sb
	// libhdf5 compares the file's size with the end the superblock
	// records, counted from the file's first byte.
	if eoa, ok := sb.EndOfAllocation(); ok && uint64(size) < sb.BaseAddr+eoa {
		return format.Corruptf(sb.Addr, "superblock", "truncated file: %d bytes, the superblock says %d (a member of a family of files?)", size, sb.BaseAddr+eoa)
	}
	if sb.Version < 2 && sb.DriverInfoAddr != format.Undefined {
		b, err := f.r.Read(sb.DriverInfoAddr, 16, "driver information block")
		if err != nil {
			return err
		}
		if id := string(b[8:16]); id == "NCSAmult" {
			return format.Corruptf(sb.DriverInfoAddr, "driver information block", "the superblock of a multi/split driver file set: its data is in other files")
		}
	}
	return nil
}

// OpenFile opens the named HDF5 file read-only.
func OpenFile(name string, opt *Options) (*File, error) {
	f, _, _, err := openNamed(name, os.O_RDONLY, opt)
	return f, err
}

// openNamed opens a file by name with the given flags and reads its
// superblock; the File owns the descriptor.
func openNamed(name string, flag int, opt *Options) (*File, *os.File, os.FileInfo, error) {
	fh, err := os.OpenFile(name, flag, 0)
	if err != nil {
		return nil, nil, nil, err
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, nil, nil, err
	}
	var r io.ReaderAt = fh
	if flag == os.O_RDONLY {
		// A read-only open must not change the file: a journal a crashed
		// writer left is laid over it in memory instead of replayed.
		if r, err = journaledView(name, fh); err != nil {
			fh.Close()
			return nil, nil, nil, fmt.Errorf("%s: %w", name, err)
		}
		r = newBlockReader(r)
		adviseSequential(fh)
	}
	f, err := Open(r, st.Size(), opt)
	if err != nil {
		fh.Close()
		return nil, nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	f.closer = fh
	if abs, err := filepath.Abs(name); err == nil {
		f.path = abs
	}
	return f, fh, st, nil
}

// OSFile is the open file underneath, when the file was opened by name.
func (f *File) OSFile() (*os.File, bool) {
	fh, ok := f.closer.(*os.File)
	return fh, ok
}

// Close releases the file.
func (f *File) Close() error {
	var flushErr error
	if f.wr != nil {
		flushErr = f.Sync()
	}
	f.external.close()
	f.sources.close()
	if f.closer != nil {
		if err := f.closer.Close(); err != nil && flushErr == nil {
			flushErr = err
		}
	}
	return flushErr
}

// SuperblockVersion is the version of the file's superblock.
func (f *File) SuperblockVersion() int { return int(f.sb.Version) }

// MarkedBySWMRWriter reports whether the superblock says a SWMR writer has
// the file open (or had, and died). Such a writer lets go of the file lock
// once the file is open, so that readers may come: a second writer cannot
// tell a live one from a dead one, and libhdf5 refuses to open the file
// for writing either way.
func (f *File) MarkedBySWMRWriter() bool {
	return f.sb.Version >= 3 && f.sb.ConsistencyFlags&format.SWMRWriterFlag != 0
}

// Path is the file's absolute path, when it was opened by name.
func (f *File) Path() string { return f.path }

// Root returns the root group.
func (f *File) Root() (*Group, error) {
	o, err := f.Object(f.sb.RootAddr)
	if err != nil {
		return nil, err
	}
	if f.sb.Version < 2 && f.sb.RootEntry.CacheType == 1 && o.header().Find(format.MsgSymbolTable) == nil &&
		o.header().Find(format.MsgLinkInfo) == nil {
		// Very old files may keep the root's symbol table only in the
		// superblock's scratch pad.
		o.scratch = &format.SymbolTableMessage{BTreeAddr: f.sb.RootEntry.BTreeAddr, HeapAddr: f.sb.RootEntry.HeapAddr}
	}
	return o.AsGroup()
}

// Object returns the object whose header is at addr.
func (f *File) Object(addr uint64) (*Object, error) {
	f.mu.Lock()
	o := f.objects[addr]
	f.mu.Unlock()
	if o != nil {
		return o, nil
	}
	hdr, err := format.ReadObjectHeader(f.r, addr)
	if err != nil {
		return nil, err
	}
	o = &Object{f: f, Addr: addr}
	o.hdr.Store(hdr)
	f.mu.Lock()
	if len(f.objects) >= maxCachedObjects && f.wr == nil {
		// A writable file keeps every object: each holds the one Dataset
		// whose state (layout, index, lock) its writes go through.
		f.objects = map[uint64]*Object{}
	}
	if prev := f.objects[addr]; prev != nil {
		o = prev
	} else {
		f.objects[addr] = o
	}
	f.mu.Unlock()
	return o, nil
}

// globalHeap returns a (cached) global heap collection.
func (f *File) globalHeap(addr uint64) (*format.GlobalHeapCollection, error) {
	f.mu.Lock()
	c := f.gheaps[addr]
	f.mu.Unlock()
	if c != nil {
		return c, nil
	}
	c, err := format.ReadGlobalHeapCollection(f.r, addr)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	if len(f.gheaps) >= maxCachedGHeaps {
		f.gheaps = map[uint64]*format.GlobalHeapCollection{}
	}
	f.gheaps[addr] = c
	f.mu.Unlock()
	return c, nil
}

// OffsetSize is the file's "size of offsets": the bytes of an address, and
// of an object reference.
func (f *File) OffsetSize() int { return f.r.Sizes.Offset }

// VLenSize is the stored size of one variable-length element: a 4-byte
// length and a global heap ID.
func (f *File) VLenSize() int { return 4 + f.r.Sizes.Offset + 4 }

// ReadVLen returns the data of one stored variable-length element (a
// sequence's elements or a string's bytes). count is the stored length: the
// number of base elements (bytes for strings).
func (f *File) ReadVLen(elem []byte) (data []byte, count uint32, err error) {
	d := format.NewDecoder(elem, 0, "variable-length element", f.r.Sizes)
	count = d.U32()
	id := format.GlobalHeapID{CollectionAddr: d.Offset(), Index: d.U32()}
	if err := d.Err(); err != nil {
		return nil, 0, err
	}
	if count == 0 || id.CollectionAddr == 0 || id.CollectionAddr == format.Undefined {
		return nil, 0, nil
	}
	c, err := f.globalHeap(id.CollectionAddr)
	if err != nil {
		return nil, 0, err
	}
	obj, ok := c.Objects[id.Index]
	if !ok {
		return nil, 0, format.Corruptf(id.CollectionAddr, "global heap collection", "no object %d", id.Index)
	}
	return obj, count, nil
}
