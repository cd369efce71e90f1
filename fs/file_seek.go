package fs

import (
	"context"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
)

var _ = (gofs.NodeLseeker)((*datasetNode)(nil))

const (
	seekData = 3 // SEEK_DATA
	seekHole = 4 // SEEK_HOLE
)

// Lseek answers SEEK_DATA and SEEK_HOLE from the dataset's storage:
// chunks never written are holes, so sparse-aware tools (cp --sparse,
// tar -S, rsync -S) skip them instead of reading terabytes of zeros.
func (n *datasetNode) Lseek(ctx context.Context, fh gofs.FileHandle, off uint64, whence uint32) (uint64, syscall.Errno) {
	ds, err := n.dataset()
	if err != nil {
		return 0, n.fsys.errno("lseek", n.path, err)
	}
	size := uint64(ds.Size())
	switch whence {
	case seekData:
		if off >= size {
			return 0, syscall.ENXIO
		}
		at, err := ds.SeekData(int64(off))
		if err != nil {
			return 0, n.fsys.errno("lseek", n.path, err)
		}
		if uint64(at) >= size {
			return 0, syscall.ENXIO // no data after off
		}
		return uint64(at), 0
	case seekHole:
		if off > size {
			return 0, syscall.ENXIO
		}
		at, err := ds.SeekHole(int64(off))
		if err != nil {
			return 0, n.fsys.errno("lseek", n.path, err)
		}
		return uint64(at), 0
	}
	return 0, n.fsys.refuse("lseek", n.path, syscall.EINVAL, "only SEEK_DATA and SEEK_HOLE reach the file system")
}
