package fs

import (
	"context"
	"fmt"
	"strings"
	"syscall"

	"github.com/h5mount/h5mount/h5"
	"github.com/h5mount/h5mount/xattr"
	gofs "github.com/hanwen/go-fuse/v2/fs"
)

var (
	_ = (gofs.NodeGetxattrer)((*groupNode)(nil))
	_ = (gofs.NodeListxattrer)((*groupNode)(nil))
	_ = (gofs.NodeGetxattrer)((*datasetNode)(nil))
	_ = (gofs.NodeListxattrer)((*datasetNode)(nil))
)

// xattrValue answers getxattr of the xattr attr of the object at p: dest
// empty asks for the size only.
func (fsys *filesystem) xattrValue(p, attr, value string, dest []byte) (uint32, syscall.Errno) {
	if len(value) > xattr.MaxValueSize {
		return 0, fsys.refuse("getxattr "+attr, p, syscall.E2BIG, fmt.Sprintf("its text is %d bytes, over the %d bytes an xattr can carry", len(value), xattr.MaxValueSize))
	}
	if len(dest) == 0 {
		return uint32(len(value)), 0
	}
	if len(dest) < len(value) {
		return uint32(len(value)), syscall.ERANGE
	}
	return uint32(copy(dest, value)), 0
}

// xattrList answers listxattr with NUL-terminated names.
func xattrList(names []string, dest []byte) (uint32, syscall.Errno) {
	n := 0
	for _, s := range names {
		n += len(s) + 1
	}
	if len(dest) == 0 {
		return uint32(n), 0
	}
	if len(dest) < n {
		return uint32(n), syscall.ERANGE
	}
	off := 0
	for _, s := range names {
		off += copy(dest[off:], s)
		dest[off] = 0
		off++
	}
	return uint32(n), 0
}

func attributeNames(o *h5.Object) ([]string, error) {
	attrs, err := o.Attributes()
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(attrs))
	for _, a := range attrs {
		names = append(names, xattr.Prefix+a.Name)
	}
	return names, nil
}

// attributeValue renders the attribute behind a user.NAME xattr. Names of
// other namespaces (security.selinux, system.posix_acl_access) answer
// EOPNOTSUPP, unlogged: HDF5 files have no such thing, and ls -l, which
// asks for both of every file it lists, stops asking for a file system
// that says so (it asked 600,000 times, at a request each, to list 300,000
// datasets when the answer was ENODATA).
func (fsys *filesystem) attributeValue(o *h5.Object, p, name string, dest []byte) (uint32, syscall.Errno) {
	if !strings.HasPrefix(name, xattr.Prefix) {
		return 0, syscall.EOPNOTSUPP
	}
	a, err := o.Attribute(strings.TrimPrefix(name, xattr.Prefix))
	if err != nil {
		if errno := fsys.errno("getxattr "+name, p, err); errno != syscall.ENOENT {
			return 0, errno
		}
		return 0, syscall.ENODATA
	}
	v, err := xattr.Attribute(a)
	if err != nil {
		return 0, fsys.errno("getxattr "+name, p, err)
	}
	return fsys.xattrValue(p, name, v, dest)
}

func (g *groupNode) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	return g.fsys.attributeValue(g.obj, g.path, attr, dest)
}

func (g *groupNode) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	names, err := attributeNames(g.obj)
	if err != nil {
		return 0, g.fsys.errno("listxattr", g.path, err)
	}
	return xattrList(names, dest)
}

func (n *datasetNode) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	if strings.HasPrefix(attr, xattr.PropertyPrefix) {
		ds, err := n.dataset()
		if err != nil {
			return 0, n.fsys.errno("getxattr "+attr, n.path, err)
		}
		v, ok, err := xattr.DatasetProperty(ds, attr)
		if err != nil {
			return 0, n.fsys.errno("getxattr "+attr, n.path, err)
		}
		if ok {
			return n.fsys.xattrValue(n.path, attr, v, dest)
		}
	}
	return n.fsys.attributeValue(n.obj, n.path, attr, dest)
}

func (n *datasetNode) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	names, err := attributeNames(n.obj)
	if err != nil {
		return 0, n.fsys.errno("listxattr", n.path, err)
	}
	// An HDF5 attribute named like a property is shadowed by it.
	out := append([]string(nil), xattr.PropertyNames...)
	for _, s := range names {
		if !strings.HasPrefix(s, xattr.PropertyPrefix) {
			out = append(out, s)
		}
	}
	return xattrList(out, dest)
}
