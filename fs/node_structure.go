package fs

import (
	"context"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// Changing the tree or the attributes is not supported yet. Each operation
// answers explicitly — EROFS on a read-only mount, EOPNOTSUPP otherwise —
// so that no tool mistakes silence for success.

var (
	_ = (gofs.NodeMkdirer)((*groupNode)(nil))
	_ = (gofs.NodeCreater)((*groupNode)(nil))
	_ = (gofs.NodeMknoder)((*groupNode)(nil))
	_ = (gofs.NodeUnlinker)((*groupNode)(nil))
	_ = (gofs.NodeRmdirer)((*groupNode)(nil))
	_ = (gofs.NodeRenamer)((*groupNode)(nil))
	_ = (gofs.NodeLinker)((*groupNode)(nil))
	_ = (gofs.NodeSymlinker)((*groupNode)(nil))
	_ = (gofs.NodeSetxattrer)((*groupNode)(nil))
	_ = (gofs.NodeRemovexattrer)((*groupNode)(nil))
	_ = (gofs.NodeSetxattrer)((*datasetNode)(nil))
	_ = (gofs.NodeRemovexattrer)((*datasetNode)(nil))
)

// notYet answers a change this version does not make.
func (fsys *filesystem) notYet(op, p string) syscall.Errno {
	if fsys.opts.ReadOnly {
		return syscall.EROFS
	}
	fsys.log.Printf("%s %s: changing structure or attributes is not supported yet (EOPNOTSUPP)", op, p)
	return syscall.EOPNOTSUPP
}

func (g *groupNode) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, g.fsys.notYet("mkdir", childPath(g.path, name))
}

func (g *groupNode) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*gofs.Inode, gofs.FileHandle, uint32, syscall.Errno) {
	return nil, nil, 0, g.fsys.notYet("create", childPath(g.path, name))
}

func (g *groupNode) Mknod(ctx context.Context, name string, mode uint32, dev uint32, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, g.fsys.notYet("mknod", childPath(g.path, name))
}

func (g *groupNode) Unlink(ctx context.Context, name string) syscall.Errno {
	return g.fsys.notYet("unlink", childPath(g.path, name))
}

func (g *groupNode) Rmdir(ctx context.Context, name string) syscall.Errno {
	return g.fsys.notYet("rmdir", childPath(g.path, name))
}

func (g *groupNode) Rename(ctx context.Context, name string, newParent gofs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	return g.fsys.notYet("rename", childPath(g.path, name))
}

func (g *groupNode) Link(ctx context.Context, target gofs.InodeEmbedder, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, g.fsys.notYet("link", childPath(g.path, name))
}

func (g *groupNode) Symlink(ctx context.Context, target, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, g.fsys.notYet("symlink", childPath(g.path, name))
}

func (g *groupNode) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	return g.fsys.notYet("setxattr "+attr, g.path)
}

func (g *groupNode) Removexattr(ctx context.Context, attr string) syscall.Errno {
	return g.fsys.notYet("removexattr "+attr, g.path)
}

func (n *datasetNode) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	return n.fsys.notYet("setxattr "+attr, n.path)
}

func (n *datasetNode) Removexattr(ctx context.Context, attr string) syscall.Errno {
	return n.fsys.notYet("removexattr "+attr, n.path)
}
