package fs

import (
	"context"
	"path"
	"strings"
	"syscall"

	"github.com/h5mount/h5mount/h5"
	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// Changing the tree: each operation is one change of the HDF5 file (SPEC
// §6): mkdir makes a group, create a dataset, unlink and rmdir remove a
// link (the object goes with its last one), rename moves a link, link adds
// a hard link and symlink a soft (or, for "FILE::PATH", an external) link.

var (
	_ = (gofs.NodeMkdirer)((*groupNode)(nil))
	_ = (gofs.NodeCreater)((*groupNode)(nil))
	_ = (gofs.NodeMknoder)((*groupNode)(nil))
	_ = (gofs.NodeUnlinker)((*groupNode)(nil))
	_ = (gofs.NodeRmdirer)((*groupNode)(nil))
	_ = (gofs.NodeRenamer)((*groupNode)(nil))
	_ = (gofs.NodeLinker)((*groupNode)(nil))
	_ = (gofs.NodeSymlinker)((*groupNode)(nil))
)

// writable answers EROFS, logged, for a change asked of a read-only mount.
func (fsys *filesystem) writable(op, p string) syscall.Errno {
	if fsys.opts.ReadOnly {
		return fsys.refuse(op, p, syscall.EROFS, "the mount is read-only")
	}
	return 0
}

// refuse logs why a request is answered with e, naming the object, and
// returns e: every error the mount answers leaves one line in the log.
func (fsys *filesystem) refuse(op, p string, e syscall.Errno, why string) syscall.Errno {
	fsys.log.Printf("%s %s: %s (%s)", op, p, why, errnoName(e))
	return e
}

// changed records that links changed, so every group reloads its list.
func (fsys *filesystem) changed() { fsys.generation.Add(1) }

func (g *groupNode) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	if errno := g.fsys.writable("mkdir", childPath(g.path, name)); errno != 0 {
		return nil, errno
	}
	p := childPath(g.path, name)
	grp, err := g.group()
	if err != nil {
		return nil, g.fsys.errno("mkdir", p, err)
	}
	child, err := grp.CreateGroup(name)
	g.fsys.changed()
	if err != nil {
		return nil, g.fsys.errno("mkdir", p, err)
	}
	return g.newChild(ctx, h5.Link{Name: name, Type: h5.LinkHard, Addr: child.Addr}, out)
}

// newChild makes the inode for a link just made.
func (g *groupNode) newChild(ctx context.Context, l h5.Link, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	p := childPath(g.path, l.Name)
	c, err := g.resolve(l)
	if err != nil {
		return nil, g.fsys.errno("lookup", p, err)
	}
	if ga, ok := c.node.(gofs.NodeGetattrer); ok {
		var ao fuse.AttrOut
		if errno := ga.Getattr(ctx, nil, &ao); errno != 0 {
			return nil, errno
		}
		out.Attr = ao.Attr
	}
	out.Ino = c.ino
	return g.NewInode(ctx, c.node, gofs.StableAttr{Mode: c.mode, Ino: c.ino}), 0
}

// newDatasetSpec is what open(O_CREAT) makes (SPEC §5): bytes in one
// dimension that grows, chunked, compressed as the mount says.
func (fsys *filesystem) newDatasetSpec() *h5.DatasetSpec {
	return &h5.DatasetSpec{
		Type:    h5.Uint8Type(),
		Dims:    []uint64{0},
		MaxDims: []uint64{h5.Unlimited},
		Chunks:  []uint64{newDatasetChunk},
		Filters: fsys.opts.Compression,
	}
}

// newDatasetChunk is the chunk of a dataset created as bytes: large enough
// that a big cp makes few chunks, small enough for a small file.
const newDatasetChunk = 256 << 10

func (g *groupNode) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*gofs.Inode, gofs.FileHandle, uint32, syscall.Errno) {
	if errno := g.fsys.writable("create", childPath(g.path, name)); errno != 0 {
		return nil, nil, 0, errno
	}
	p := childPath(g.path, name)
	grp, err := g.group()
	if err != nil {
		return nil, nil, 0, g.fsys.errno("create", p, err)
	}
	ds, err := grp.CreateDataset(name, g.fsys.newDatasetSpec())
	g.fsys.changed()
	if err != nil {
		return nil, nil, 0, g.fsys.errno("create", p, err)
	}
	inode, errno := g.newChild(ctx, h5.Link{Name: name, Type: h5.LinkHard, Addr: ds.Addr}, out)
	if errno != 0 {
		return nil, nil, 0, errno
	}
	// A new dataset's |u1 bytes are stored as shown.
	fh, fl := openHandle(flags, opensForWriting(flags), false)
	if n, ok := inode.Operations().(*datasetNode); ok {
		n.opened(fh)
	}
	return inode, fh, fl, 0
}

func (g *groupNode) Mknod(ctx context.Context, name string, mode uint32, dev uint32, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	if errno := g.fsys.writable("mknod", childPath(g.path, name)); errno != 0 {
		return nil, errno
	}
	if mode&syscall.S_IFMT != syscall.S_IFREG {
		return nil, g.fsys.refuse("mknod", childPath(g.path, name), syscall.EPERM, "only regular files (datasets) can be made")
	}
	inode, _, _, errno := g.Create(ctx, name, 0, mode, out)
	return inode, errno
}

func (g *groupNode) Unlink(ctx context.Context, name string) syscall.Errno {
	return g.remove(ctx, "unlink", name)
}

func (g *groupNode) Rmdir(ctx context.Context, name string) syscall.Errno {
	return g.remove(ctx, "rmdir", name)
}

func (g *groupNode) remove(ctx context.Context, op, name string) syscall.Errno {
	if errno := g.fsys.writable(op, childPath(g.path, name)); errno != 0 {
		return errno
	}
	p := childPath(g.path, name)
	grp, err := g.group()
	if err != nil {
		return g.fsys.errno(op, p, err)
	}
	err = grp.Unlink(name)
	g.fsys.changed()
	return g.fsys.errno(op, p, err)
}

func (g *groupNode) Rename(ctx context.Context, name string, newParent gofs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	if errno := g.fsys.writable("rename", childPath(g.path, name)); errno != 0 {
		return errno
	}
	p := childPath(g.path, name)
	dst, ok := newParent.(*groupNode)
	if !ok {
		return g.fsys.refuse("rename", p, syscall.ENOTDIR, "the new parent is not a group")
	}
	const renameNoReplace, renameExchange = 1, 2
	if flags&renameExchange != 0 {
		return g.fsys.refuse("rename", p, syscall.EINVAL, "RENAME_EXCHANGE is not supported")
	}
	src, err := g.group()
	if err != nil {
		return g.fsys.errno("rename", p, err)
	}
	to, err := dst.group()
	if err != nil {
		return g.fsys.errno("rename", p, err)
	}
	err = src.Move(name, to, newName, flags&renameNoReplace == 0)
	g.fsys.changed()
	return g.fsys.errno("rename", p, err)
}

func (g *groupNode) Link(ctx context.Context, target gofs.InodeEmbedder, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	if errno := g.fsys.writable("link", childPath(g.path, name)); errno != 0 {
		return nil, errno
	}
	p := childPath(g.path, name)
	var obj *h5.Object
	switch t := target.(type) {
	case *datasetNode:
		obj = t.obj
	case *groupNode:
		obj = t.obj
	default:
		return nil, g.fsys.refuse("link", p, syscall.EPERM, "only datasets and groups can have more names")
	}
	grp, err := g.group()
	if err != nil {
		return nil, g.fsys.errno("link", p, err)
	}
	err = grp.AddHardLink(name, obj)
	g.fsys.changed()
	if err != nil {
		return nil, g.fsys.errno("link", p, err)
	}
	return g.newChild(ctx, h5.Link{Name: name, Type: h5.LinkHard, Addr: obj.Addr}, out)
}

func (g *groupNode) Symlink(ctx context.Context, target, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	if errno := g.fsys.writable("symlink", childPath(g.path, name)); errno != 0 {
		return nil, errno
	}
	p := childPath(g.path, name)
	grp, err := g.group()
	if err != nil {
		return nil, g.fsys.errno("symlink", p, err)
	}
	l := h5.Link{Name: name}
	if file, obj, ok := strings.Cut(target, "::"); ok && file != "" && strings.HasPrefix(obj, "/") {
		l.Type, l.ExtFile, l.ExtPath = h5.LinkExternal, file, obj
		err = grp.AddExternalLink(name, file, obj)
	} else {
		l.Type, l.Target = h5.LinkSoft, g.fsys.softLinkPath(g.livePath(), target)
		err = grp.AddSoftLink(name, l.Target)
	}
	g.fsys.changed()
	if err != nil {
		return nil, g.fsys.errno("symlink", p, err)
	}
	return g.newChild(ctx, l, out)
}

// softLinkPath turns a symlink target into the HDF5 path of a soft link:
// an absolute path under the mount point is taken from the mount's root,
// any other absolute path is a path inside the file, and a relative one is
// resolved against the link's group. HDF5 paths know no "..", so the link
// stores the resolved absolute path; it reads back relative (softTarget),
// and it cannot lead out of the mount.
func (fsys *filesystem) softLinkPath(dir, target string) string {
	if mnt := fsys.opts.Mountpoint; mnt != "" && strings.HasPrefix(target, mnt+"/") {
		target = strings.TrimPrefix(target, mnt)
	}
	if !strings.HasPrefix(target, "/") {
		target = path.Join(dir, target)
	}
	return path.Clean(target)
}
