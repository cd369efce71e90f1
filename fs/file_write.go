package fs

import (
	"context"
	"fmt"
	"os"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

var (
	_ = (gofs.NodeWriter)((*datasetNode)(nil))
	_ = (gofs.NodeSetattrer)((*datasetNode)(nil))
	_ = (gofs.NodeFsyncer)((*datasetNode)(nil))
	_ = (gofs.NodeFlusher)((*datasetNode)(nil))
	_ = (gofs.NodeFsyncer)((*groupNode)(nil))
)

// Write writes the hyperslab the byte range maps to. A write past the end
// of a dataset that cannot grow answers ENOSPC, like a full device.
func (n *datasetNode) Write(ctx context.Context, fh gofs.FileHandle, data []byte, off int64) (uint32, syscall.Errno) {
	if n.fsys.opts.ReadOnly {
		return 0, n.fsys.refuse("write", n.path, syscall.EROFS, "the mount is read-only")
	}
	ds, err := n.dataset()
	if err != nil {
		return 0, n.fsys.errno("write", n.path, err)
	}
	before := ds.Size()
	got, err := ds.WriteAt(data, off)
	if err != nil {
		return 0, n.fsys.errno("write", n.path, err)
	}
	wh, _ := fh.(*writeHandle)
	direct := wh != nil && wh.direct
	if grew := ds.Size() > before; grew && n.readFrom.Load() && before%pageSize != 0 && !isZero(ds.FillValue()) {
		// The kernel read the page holding the old end with zeros past
		// it, as for a hole in an ordinary file; here the rows the write
		// skipped read as the fill value. A direct write holds no page
		// lock; a buffered one holds its own pages' locks until this
		// returns, and the old end's page may be among them, so that
		// page is dropped once the reply is on its way.
		start := before - before%pageSize
		if direct {
			n.dropCachedPages("write", start, pageSize)
		} else {
			go n.dropCachedPages("write", start, pageSize)
		}
	}
	if direct && n.readFrom.Load() {
		// The kernel drops its cached pages of the range before it sends
		// a direct write, but a read racing with the write may have
		// cached the old bytes again since (xfstests generic/209).
		// Kernels with commit b359af8275a9 ("fuse: Invalidate the page
		// cache after FOPEN_DIRECT_IO write", in the 6.6 and 6.12 stable
		// series too) drop them again when the write is done; for the
		// others, this does it, before write(2) returns, so that every
		// later read sees the new bytes. Only pages a read brought in can
		// be stale, so a file nothing has read skips it.
		n.dropCachedPages("write", off, int64(got))
	}
	return uint32(got), 0
}

// Setattr resizes a dataset along a growable first dimension; any other
// dataset's shape is fixed, so a truncate to its own size is a no-op and to
// any other size EINVAL.
func (n *datasetNode) Setattr(ctx context.Context, fh gofs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if errno := n.fsys.writable("setattr", n.path); errno != 0 {
		return errno
	}
	if size, ok := in.GetSize(); ok {
		// A resize changes the bytes a push under way carries.
		n.pushMu.Lock()
		defer n.pushMu.Unlock()
		ds, err := n.dataset()
		if err != nil {
			return n.fsys.errno("truncate", n.path, err)
		}
		if ds.Growable() {
			// A dataset with a growable first dimension resizes along it,
			// in whole rows.
			row := uint64(ds.RowBytes())
			if row == 0 || size%row != 0 {
				return n.fsys.refuse("truncate", n.path, syscall.EINVAL, fmt.Sprintf("%d bytes is not a multiple of the %d-byte row", size, row))
			}
			if err := ds.Resize(size / row); err != nil {
				return n.fsys.errno("truncate", n.path, err)
			}
			return n.Getattr(ctx, fh, out)
		}
		// open(O_TRUNC) reaches us as a truncate to 0 (go-fuse does not
		// negotiate atomic O_TRUNC), indistinguishable from truncate -s 0:
		// both are ignored on a fixed shape, so that cp and dd overwrite
		// and lose nothing.
		if size == 0 {
			return n.Getattr(ctx, fh, out)
		}
		if int64(size) != ds.Size() {
			return n.fsys.refuse("truncate", n.path, syscall.EINVAL, fmt.Sprintf("to %d bytes: the dataset's shape is fixed at %d bytes", size, ds.Size()))
		}
	}
	// Modes, owners and times come from the HDF5 file: accepted, unchanged.
	return n.Getattr(ctx, fh, out)
}

// Flush (each close) writes the dataset's pending chunks through its
// filters, so that an error there reaches the closing program, but does
// not commit: durability is fsync's, sync's and the unmount's (and the
// periodic commit's), as on any file system. A read-only mount has nothing
// to flush, and answers ENOSYS, on which the kernel stops sending FLUSH at
// every close: a third of the requests that must be answered before a
// program can go on, for one that opens, reads and closes many small
// datasets (tar of 100,000).
func (n *datasetNode) Flush(ctx context.Context, fh gofs.FileHandle) syscall.Errno {
	if n.fsys.opts.ReadOnly {
		return syscall.ENOSYS
	}
	ds, err := n.dataset()
	if err != nil {
		return n.fsys.errno("flush", n.path, err)
	}
	return n.fsys.errno("flush", n.path, ds.WriteBack())
}

func (n *datasetNode) Fsync(ctx context.Context, fh gofs.FileHandle, flags uint32) syscall.Errno {
	return n.fsys.sync(n.path)
}

func (g *groupNode) Fsync(ctx context.Context, fh gofs.FileHandle, flags uint32) syscall.Errno {
	return g.fsys.sync(g.path)
}

// sync makes every change durable in the HDF5 file.
func (fsys *filesystem) sync(p string) syscall.Errno {
	if fsys.opts.ReadOnly {
		return 0
	}
	return fsys.errno("fsync", p, fsys.file.Sync())
}

// pageSize is the kernel's page: the unit its cache holds a file's bytes in.
var pageSize = int64(os.Getpagesize())

// dropCachedPages has the kernel forget its cached pages of [off,
// off+size), every page for a size of 0, and its cached attributes.
func (n *datasetNode) dropCachedPages(op string, off, size int64) {
	if errno := n.NotifyContent(off, size); errno != 0 && errno != syscall.ENOENT {
		n.fsys.log.Printf("%s %s: dropping the kernel's cached pages: %v", op, n.path, errno)
	}
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
