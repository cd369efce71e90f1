package fs

import (
	"context"
	"path"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// symlinkNode is a soft or external link, or a link back up a cycle.
type symlinkNode struct {
	gofs.Inode
	fsys   *filesystem
	target string // the symlink's text where it was looked up
	soft   string // a soft link's HDF5 path, "" for other links
}

var (
	_ = (gofs.NodeReadlinker)((*symlinkNode)(nil))
	_ = (gofs.NodeGetattrer)((*symlinkNode)(nil))
	_ = (gofs.NodeSetattrer)((*symlinkNode)(nil))
)

func (s *symlinkNode) Readlink(ctx context.Context) ([]byte, syscall.Errno) {
	return []byte(s.text()), 0
}

// text is the symlink's target. A soft link's is relative to where the link
// is now: a rename of it, or of a group above it, moves it.
func (s *symlinkNode) text() string {
	if s.soft != "" {
		if p := s.Path(nil); p != "" {
			return softTarget(path.Dir("/"+p), s.soft)
		}
	}
	return s.target
}

func (s *symlinkNode) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	out.Mode = syscall.S_IFLNK | 0o777
	out.Size = uint64(len(s.text()))
	out.Nlink = 1
	s.fsys.fillTimes(nil, &out.Attr)
	return 0
}

// Setattr accepts what tar and cp -a set on a link (times, owner) and keeps
// what the HDF5 file says, as for groups and datasets.
func (s *symlinkNode) Setattr(ctx context.Context, fh gofs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if errno := s.fsys.writable("setattr", "/"+s.Path(nil)); errno != 0 {
		return errno
	}
	return s.Getattr(ctx, fh, out)
}
