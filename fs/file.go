package fs

import (
	"context"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/h5mount/h5mount/h5"
	"github.com/h5mount/h5mount/xattr"
	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/hanwen/go-fuse/v2/splice"
	"golang.org/x/sys/unix"
)

// datasetNode is a regular file holding a dataset's element bytes.
type datasetNode struct {
	gofs.Inode
	fsys *filesystem
	obj  *h5.Object
	path string

	// Datasets whose elements have no fixed size read as text (text.go),
	// located on first use (again once links changed, for references).
	textMu   sync.Mutex
	textDone bool
	textAt   uint64 // the links' generation text was rendered in
	text     *textForm
	textErr  error

	// readFrom is set once the kernel has asked for any of the bytes, and
	// so may hold some in its page cache (see Write).
	readFrom atomic.Bool

	// On a writable mount, pushes of decoded chunks into the kernel's
	// page cache (pushChunk) hold pushMu for reading while writers is 0;
	// opening for writing and changing the dataset's definition take it
	// to wait for them, so that no push lands after a change with the
	// bytes from before (see pushChunk).
	pushMu  sync.RWMutex
	writers atomic.Int32 // open handles that can write
}

var (
	_ = (gofs.NodeGetattrer)((*datasetNode)(nil))
	_ = (gofs.NodeOpener)((*datasetNode)(nil))
	_ = (gofs.NodeReader)((*datasetNode)(nil))
)

// dataset is the object as a dataset, asked each time: a change of its
// definition (user.h5.*) replaces it.
func (n *datasetNode) dataset() (*h5.Dataset, error) { return n.obj.AsDataset() }

func (n *datasetNode) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	out.Mode = syscall.S_IFREG | n.fsys.perm(false)
	out.Nlink = n.obj.RefCount()
	if out.Nlink == 0 {
		out.Nlink = 1
	}
	n.fsys.fillTimes(n.obj, &out.Attr)
	ds, err := n.dataset()
	if err != nil {
		// Stat of a dataset we cannot decode still answers, so listings
		// work; reading it reports the error.
		n.fsys.errno("getattr", n.path, err)
		return 0
	}
	out.Size = uint64(ds.Size())
	if text, err := n.textForm(ds); err != nil {
		n.fsys.errno("getattr", n.path, err)
	} else if text != nil {
		out.Size = uint64(text.size())
	}
	alloc, err := ds.AllocatedBytes()
	if err != nil {
		n.fsys.errno("getattr", n.path, err)
	}
	out.Blocks = (uint64(alloc) + 511) / 512
	out.Blksize = 4096
	return 0
}

func (n *datasetNode) Open(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	writing := opensForWriting(flags)
	if writing && n.fsys.opts.ReadOnly {
		return nil, 0, n.fsys.refuse("open for writing", n.path, syscall.EROFS, "the mount is read-only")
	}
	ds, err := n.dataset()
	if err != nil {
		return nil, 0, n.fsys.errno("open", n.path, err)
	}
	if writing && (xattr.NeedsText(ds.Type) || ds.Layout() == h5.LayoutVirtual) {
		// Elements of no fixed size (shown as text) and virtual
		// datasets are read-only.
		return nil, 0, n.fsys.refuse("open for writing", n.path, syscall.EPERM, "elements of no fixed size and virtual datasets are read-only")
	}
	// O_TRUNC is ignored: a dataset's shape is fixed, so "cp same-size.bin"
	// and a dd without conv=notrunc overwrite it and lose nothing.
	// The kernel keeps its page cache across opens: nothing changes a
	// read-only mount's data, and a writable mount's writes keep it
	// current (Write), except for virtual datasets'.
	fh, fl := openHandle(flags, writing, writing && ds.ReadsConverted())
	n.opened(fh)
	if !n.fsys.opts.ReadOnly && xattr.NeedsText(ds.Type) && ds.Type.HasReference() {
		// References read as their objects' paths, which a rename
		// anywhere changes, length too: reads come to the text cache
		// each time (rendered again once links change), past a size the
		// kernel may have cached.
		return fh, fl | fuse.FOPEN_DIRECT_IO, 0
	}
	if ds.Layout() == h5.LayoutVirtual && !n.fsys.opts.ReadOnly {
		// Its bytes are other datasets' (in this file too), which writes
		// through their own nodes change: each open reads them afresh,
		// as NFS gives close-to-open consistency.
		return fh, fl, 0
	}
	return fh, fl | fuse.FOPEN_KEEP_CACHE, 0
}

// writeHandle marks a handle that can write (see Release); direct says
// its writes bypass the kernel's page cache.
type writeHandle struct{ direct bool }

// openHandle chooses how the kernel passes a handle's writes. A handle
// that cannot read gets direct I/O: each write(2) reaches Write with the
// caller's own pages, instead of being copied into page cache pages the
// writer never reads (with bs=1M that copy costs as much as the HDF5
// file's own write). It stays synchronous, so every error (ENOSPC past a
// fixed shape, EPERM, EIO) is still write(2)'s own. So does a writable
// handle of a dataset shown converted (N-bit integers, padded strings):
// the kernel would keep the bytes written in its cache, not the elements
// they became (100 written into a 5-bit integer reads 31, as in h5py).
// Other handles that can read keep the page cache, and with it mmap.
func openHandle(flags uint32, writing, converted bool) (gofs.FileHandle, uint32) {
	switch {
	case flags&syscall.O_ACCMODE == syscall.O_WRONLY || converted:
		return &writeHandle{direct: true}, fuse.FOPEN_DIRECT_IO
	case writing:
		return &writeHandle{}, 0
	}
	return nil, 0
}

// opensForWriting reports whether open(2) flags ask to change the file.
func opensForWriting(flags uint32) bool {
	return flags&(syscall.O_WRONLY|syscall.O_RDWR|syscall.O_TRUNC|syscall.O_APPEND) != 0
}

// opened counts a handle that can write, once pushes under way are done.
func (n *datasetNode) opened(fh gofs.FileHandle) {
	if _, ok := fh.(*writeHandle); ok {
		n.pushMu.Lock()
		n.writers.Add(1)
		n.pushMu.Unlock()
	}
}

var _ = (gofs.NodeReleaser)((*datasetNode)(nil))

func (n *datasetNode) Release(ctx context.Context, fh gofs.FileHandle) syscall.Errno {
	if _, ok := fh.(*writeHandle); ok {
		n.writers.Add(-1)
	}
	return 0
}

func (n *datasetNode) Read(ctx context.Context, fh gofs.FileHandle, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	if !n.readFrom.Load() {
		n.readFrom.Store(true)
	}
	ds, err := n.dataset()
	if err != nil {
		return nil, n.fsys.errno("read", n.path, err)
	}
	if text, err := n.textForm(ds); err != nil {
		return nil, n.fsys.errno("read", n.path, err)
	} else if text != nil {
		got, err := n.readText(ds, text, dest, off)
		if err != nil {
			return nil, n.fsys.errno("read", n.path, err)
		}
		return fuse.ReadResultVector([][]byte{got}), 0
	}
	if fh, ok := n.fsys.file.OSFile(); ok {
		// Bytes the HDF5 file holds verbatim (contiguous data, chunks
		// stored unfiltered or as incompressible LZ4) are spliced from it
		// straight into the reply, without passing through this process's
		// memory.
		size := min(int64(len(dest)), ds.Size()-off)
		if size <= 0 {
			return fuse.ReadResultData(nil), 0
		}
		// A reply too big for a pipe cannot be spliced (a kernel with a
		// small pipe-max-size): it is read below instead.
		if int(size)+spliceSlack <= splice.MaxPipeSize() {
			// On a writable mount the answer holds the dataset until the
			// reply is written (the result's Done): a change would rewrite
			// or free the ranges while they are being moved.
			// (On the stack: a read answered otherwise allocates nothing.)
			var pins h5.Pins
			var store [4]h5.FileRange
			ranges, ok, err := ds.StoredRanges(off, size, store[:0], &pins)
			if err != nil {
				return nil, n.fsys.errno("read", n.path, err)
			}
			// go-fuse splices a reply through a pipe of its size (plus a
			// page, rounded to a power of two pages): a range that starts
			// inside a page takes one more than its bytes fill, and a
			// reply that does not fit arrives cut short, as if the file
			// ended there (a 60000-byte dataset at offset 2048 read as
			// 59392 bytes).
			if ok && len(ranges) == 1 && pipeFits(ranges, int(size)) {
				return &heldFd{fd: fh.Fd(), off: ranges[0].Off, size: int(size), pins: pins}, 0
			}
			if ok && len(ranges) > 1 && pipeFits(ranges, int(size)) {
				if pipe, ok := spliceRanges(fh.Fd(), ranges, int(size)); ok {
					return &heldPipe{pipe: pipe, size: int(size), pins: pins}, 0
				}
			}
			pins.Release()
		}
	}
	if len(dest) <= pushMaxRequest && n.writers.Load() == 0 {
		defer n.pushChunk(ds, off)
	}
	// Decoded chunks go to the kernel from the cache's memory on a
	// read-only mount: a copy into dest would be one more pass over every
	// byte read.
	if n.fsys.opts.ReadOnly {
		res := new(pinnedSlices)
		vec, ok, err := ds.ReadSlices(off, len(dest), res.store[:0], &res.pins)
		if err != nil {
			res.pins.Release()
			return nil, n.fsys.errno("read", n.path, err)
		}
		if ok {
			res.vec = vec
			return res, 0
		}
		res.pins.Release()
	}
	got, err := ds.ReadAt(dest, off)
	if err != nil && got == 0 && off < ds.Size() {
		return nil, n.fsys.errno("read", n.path, err)
	}
	// A vector goes to the kernel with writev at once; go-fuse would first
	// try (and fail) to splice a plain data result.
	return fuse.ReadResultVector([][]byte{dest[:got]}), 0
}

// heldFd and heldPipe are replies spliced from the HDF5 file: a range of
// it, or ranges already loaded into a pipe. They hold their dataset (pins)
// until go-fuse has written them to the kernel and calls Done: on a
// writable mount the dataset's changes wait, and the ranges keep its bytes
// meanwhile. go-fuse splices a result that has Seekable or Stateful (and
// its debug log shows it as "fd data"); Bytes is its way when a splice
// fails.
type heldFd struct {
	fd   uintptr
	off  int64
	size int
	pins h5.Pins
}

func (r *heldFd) Seekable() (fd uintptr, off int64, sz int) { return r.fd, r.off, r.size }
func (r *heldFd) Size() int                                 { return r.size }
func (r *heldFd) Done()                                     { r.pins.Release() }

func (r *heldFd) Bytes(buf []byte) ([]byte, fuse.Status) {
	buf = buf[:min(len(buf), r.size)]
	got := 0
	for got < len(buf) {
		n, err := syscall.Pread(int(r.fd), buf[got:], r.off+int64(got))
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, fuse.ToStatus(err)
		}
		if n == 0 {
			break
		}
		got += n
	}
	return buf[:got], fuse.OK
}

type heldPipe struct {
	pipe *splice.Pair
	size int
	pins h5.Pins
}

func (r *heldPipe) Stateful() (fd uintptr, sz int) { return r.pipe.ReadFd(), r.size }
func (r *heldPipe) Size() int                      { return r.size }

func (r *heldPipe) Bytes(buf []byte) ([]byte, fuse.Status) {
	n, err := r.pipe.Read(buf[:min(len(buf), r.size)])
	if n < 0 {
		n = 0
	}
	return buf[:n], fuse.ToStatus(err)
}

func (r *heldPipe) Done() {
	splice.Done(r.pipe)
	r.pins.Release()
}

// go-fuse splices results with these methods.
var (
	_ interface {
		Seekable() (uintptr, int64, int)
	} = (*heldFd)(nil)
	_ interface{ Stateful() (uintptr, int) } = (*heldPipe)(nil)
)

// pinnedSlices is a reply made of decoded chunks' memory (ReadSlices),
// which they keep pinned until go-fuse has written it to the kernel and
// calls Done. go-fuse writes a result with Slices (its withSlice) by
// writev, as it does ReadResultVector's.
type pinnedSlices struct {
	vec   [][]byte
	store [2][]byte // vec's memory for replies of one or two chunks
	pins  h5.Pins
}

func (r *pinnedSlices) Size() int {
	n := 0
	for _, v := range r.vec {
		n += len(v)
	}
	return n
}

func (r *pinnedSlices) Bytes(buf []byte) ([]byte, fuse.Status) {
	buf = buf[:0]
	for _, v := range r.vec {
		buf = append(buf, v...)
	}
	return buf, fuse.OK
}

func (r *pinnedSlices) Slices() ([][]byte, fuse.Status) { return r.vec, fuse.OK }

// go-fuse writes a result that has Slices with writev, without a copy.
var _ interface {
	Slices() ([][]byte, fuse.Status)
} = (*pinnedSlices)(nil)

func (r *pinnedSlices) Done() { r.pins.Release() }

// pipeFits reports whether a reply of size bytes from ranges of the file
// fits the pipe go-fuse splices it through. Pipes count buffers, not
// bytes: each page a range touches takes one (a range that starts or ends
// inside a page takes that page whole), the reply header another, and
// go-fuse asks for a pipe of the reply's size plus a page, which the
// kernel rounds up to a power of two pages. A reply that did not fit would
// reach the reader cut short, as if the file ended there.
func pipeFits(ranges []h5.FileRange, size int) bool {
	const page = 4096
	capacity, ok := pipeCapacity(replyHeaderBytes + size + page)
	if !ok {
		return false
	}
	buffers := 1
	for _, r := range ranges {
		buffers += int((r.Off+r.N-1)/page - r.Off/page + 1)
	}
	return buffers*page <= capacity
}

// replyHeaderBytes is the size of a FUSE reply's header.
const replyHeaderBytes = 16

// pipeCapacity is the capacity the kernel gives a pipe asked to hold n
// bytes: n in whole pages, rounded up to a power of two. ok is false when
// the running kernel was found to round otherwise (checked once, on a pipe
// of its own), and then no reply is made of several ranges.
func pipeCapacity(n int) (int, bool) {
	roundingOnce.Do(checkPipeRounding)
	if !roundingAsExpected {
		return 0, false
	}
	return roundedPipeSize(n), true
}

func roundedPipeSize(n int) int {
	const page = 4096
	pages := (n + page - 1) / page
	p := 1
	for p < pages {
		p *= 2
	}
	return p * page
}

var (
	roundingOnce       sync.Once
	roundingAsExpected bool
)

func checkPipeRounding() {
	var fds [2]int
	if syscall.Pipe2(fds[:], syscall.O_CLOEXEC) != nil {
		return
	}
	defer syscall.Close(fds[0])
	defer syscall.Close(fds[1])
	ask := replyHeaderBytes + maxIO() + os.Getpagesize()
	got, err := unix.FcntlInt(uintptr(fds[0]), unix.F_SETPIPE_SZ, ask)
	roundingAsExpected = err == nil && os.Getpagesize() == 4096 && got == roundedPipeSize(ask)
}

// spliceRanges loads the file's ranges, size bytes in all, into a pipe
// for a reply (a read across chunks stored apart); false when the pipe
// cannot take them, and the read goes the ordinary way.
func spliceRanges(fd uintptr, ranges []h5.FileRange, size int) (*splice.Pair, bool) {
	pipe, err := splice.Get()
	if err != nil {
		return nil, false
	}
	if pipe.Grow(size+os.Getpagesize()) != nil {
		splice.Done(pipe)
		return nil, false
	}
	for _, r := range ranges {
		if n, err := pipe.LoadFromAt(fd, int(r.N), r.Off); err != nil || n != int(r.N) {
			splice.Done(pipe)
			return nil, false
		}
	}
	return pipe, true
}

// pushMaxRequest is the largest read after which the rest of its chunk is
// pushed: bigger requests come from the kernel's read-ahead, which fills
// the page cache itself.
const pushMaxRequest = 64 << 10

// pushChunk hands the kernel, after a small read, the rest of the decoded
// chunk it came from: a random reader's next reads near it are answered
// from the page cache, without a request or a decode here, and the kernel
// keeps far more chunks there than the chunk cache holds (and gives the
// memory back when it needs it). It runs after the reply, as the kernel
// holds the pages of a read in flight locked; when two pushes are under way
// it skips.
//
// On a writable mount a push must not land after a change to its bytes:
// the kernel would then keep the bytes from before. It happens only while
// no handle can write (a write(2) holds its pages locked while its request
// is answered, so a push that waited for it to end would wait for the
// pages the write holds), and opening for writing, truncating and
// redefining the dataset wait (pushMu) for the pushes under way.
func (n *datasetNode) pushChunk(ds *h5.Dataset, off int64) {
	select {
	case n.fsys.pushes <- struct{}{}:
	default:
		return
	}
	go func() {
		defer func() { <-n.fsys.pushes }()
		n.pushMu.RLock()
		defer n.pushMu.RUnlock()
		if n.writers.Load() > 0 {
			return
		}
		var pins h5.Pins
		defer pins.Release()
		start, data, ok := ds.DecodedSpan(off, &pins)
		if !ok {
			return
		}
		// Whole pages only (the kernel leaves a partly filled page out of
		// its cache), but up to the dataset's last byte.
		const page = 4096
		lo := (start + page - 1) &^ (page - 1)
		hi := start + int64(len(data))
		if hi < ds.Size() {
			hi &^= page - 1
		}
		if hi <= lo {
			return
		}
		if errno := n.WriteCache(lo, data[lo-start:hi-start]); errno != 0 && n.fsys.opts.Debug {
			n.fsys.log.Printf("push %s [%d, %d): %v", n.path, lo, hi, errno)
		}
	}()
}
