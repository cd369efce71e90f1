package fs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"

	"github.com/h5mount/h5mount/h5"
	"github.com/h5mount/h5mount/xattr"
	gofs "github.com/hanwen/go-fuse/v2/fs"
)

// Setting attributes (SPEC §5): user.NAME is the HDF5 attribute NAME,
// typed by its existing type or, when new, by its text; user.h5.* define a
// dataset (the creation protocol).

var (
	_ = (gofs.NodeSetxattrer)((*groupNode)(nil))
	_ = (gofs.NodeRemovexattrer)((*groupNode)(nil))
	_ = (gofs.NodeSetxattrer)((*datasetNode)(nil))
	_ = (gofs.NodeRemovexattrer)((*datasetNode)(nil))
)

// setxattr flags.
const (
	xattrCreate  = 1
	xattrReplace = 2
)

func (g *groupNode) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	return g.fsys.setAttribute(g.obj, g.path, attr, data, flags)
}

func (g *groupNode) Removexattr(ctx context.Context, attr string) syscall.Errno {
	return g.fsys.removeAttribute(g.obj, g.path, attr)
}

func (n *datasetNode) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	if strings.HasPrefix(attr, xattr.PropertyPrefix) {
		if errno := n.fsys.writable("setxattr "+attr, n.path); errno != 0 {
			return errno
		}
		// A push under way carries the bytes of the definition before.
		n.pushMu.Lock()
		defer n.pushMu.Unlock()
		ds, err := n.dataset()
		if err != nil {
			return n.fsys.errno("setxattr "+attr, n.path, err)
		}
		if errno := n.fsys.errno("setxattr "+attr, n.path, setProperty(ds, attr, string(data))); errno != 0 {
			return errno
		}
		// The definition changed: the size, and the bytes of a dataset
		// defined anew (a new fill value, type or shape), are no longer
		// what the kernel may have cached.
		n.dropCachedPages("setxattr "+attr, 0, 0)
		return 0
	}
	return n.fsys.setAttribute(n.obj, n.path, attr, data, flags)
}

func (n *datasetNode) Removexattr(ctx context.Context, attr string) syscall.Errno {
	if strings.HasPrefix(attr, xattr.PropertyPrefix) {
		if errno := n.fsys.writable("removexattr "+attr, n.path); errno != 0 {
			return errno
		}
		return n.fsys.refuse("removexattr "+attr, n.path, syscall.EPERM, "dataset properties cannot be removed")
	}
	return n.fsys.removeAttribute(n.obj, n.path, attr)
}

func (fsys *filesystem) setAttribute(o *h5.Object, p, attr string, data []byte, flags uint32) syscall.Errno {
	if errno := fsys.writable("setxattr "+attr, p); errno != 0 {
		return errno
	}
	op := "setxattr " + attr
	name, ok := strings.CutPrefix(attr, xattr.Prefix)
	if !ok || name == "" {
		return fsys.refuse(op, p, syscall.EOPNOTSUPP, "only user.* attributes are stored")
	}
	mode := h5.SetAny
	switch {
	case flags&xattrCreate != 0:
		mode = h5.SetCreate
	case flags&xattrReplace != 0:
		mode = h5.SetReplace
	}
	text := string(data)
	var v h5.AttributeValue
	a, err := o.Attribute(name)
	switch {
	case err == nil && a.Err == nil:
		// An existing attribute keeps its type and shape.
		parsed, err := xattr.ParseValue(a.Type, dimsOf(a.Space), text)
		if err != nil {
			return fsys.errno(op, p, err)
		}
		v = h5.AttributeValue{Type: a.Type, Dims: dimsOf(a.Space), Data: parsed.Bytes, Strings: parsed.Strings}
	case err == nil || errors.Is(err, h5.ErrNotFound):
		t, dims, parsed, err := xattr.InferValue(text)
		if err != nil {
			return fsys.errno(op, p, err)
		}
		v = h5.AttributeValue{Type: t, Dims: dims, Data: parsed.Bytes, Strings: parsed.Strings}
	default:
		return fsys.errno(op, p, err)
	}
	err = o.SetAttribute(name, v, mode)
	if errors.Is(err, h5.ErrNotFound) {
		return syscall.ENODATA // XATTR_REPLACE of an attribute that is not there
	}
	return fsys.errno(op, p, err)
}

// dimsOf is the dimensions to store a value of this dataspace with: nil
// for a scalar.
func dimsOf(s h5.Dataspace) []uint64 {
	if s.Kind != h5.SpaceSimple {
		return nil
	}
	return s.Dims
}

func (fsys *filesystem) removeAttribute(o *h5.Object, p, attr string) syscall.Errno {
	if errno := fsys.writable("removexattr "+attr, p); errno != 0 {
		return errno
	}
	name, ok := strings.CutPrefix(attr, xattr.Prefix)
	if !ok {
		return syscall.ENODATA
	}
	err := o.DeleteAttribute(name)
	if errors.Is(err, h5.ErrNotFound) {
		return syscall.ENODATA
	}
	return fsys.errno("removexattr "+attr, p, err)
}

// setProperty changes a dataset's definition through one of its user.h5.*
// properties. While the dataset holds nothing, every property may change
// (a shape allocates nothing); once it holds data, the type may be
// reinterpreted and the shape changed to one with as many elements, or
// along a growable first dimension. Setting a property to its current
// value is accepted and changes nothing, so that a copy of a dataset's
// extended attributes onto an identical one succeeds.
func setProperty(ds *h5.Dataset, attr, text string) error {
	if cur, ok, err := xattr.DatasetProperty(ds, attr); err == nil && ok && cur == text {
		return nil
	}
	stored, err := ds.Stored()
	if err != nil {
		return err
	}
	spec := ds.Spec()
	rechunk := true
	switch attr {
	case "user.h5.dtype":
		t, err := xattr.ParseDType(text)
		if err != nil {
			return err
		}
		if stored {
			return ds.Reinterpret(t)
		}
		spec.Type = t
		spec.Fill = nil
	case "user.h5.shape":
		dims, err := xattr.ParseShape(text)
		if err != nil {
			return err
		}
		if stored {
			return ds.Reshape(dims)
		}
		spec.MaxDims = keepGrowth(spec.MaxDims, dims)
		spec.Dims = dims
	case "user.h5.maxshape":
		maxDims, err := xattr.ParseMaxShape(text, spec.Dims)
		if err != nil {
			return err
		}
		if stored {
			return ds.Rebuild(func(s *h5.DatasetSpec) { s.MaxDims = maxDims })
		}
		spec.MaxDims = maxDims
	case "user.h5.chunks":
		chunks, err := xattr.ParseShape(text)
		if err != nil {
			return err
		}
		if stored {
			return ds.Rebuild(func(s *h5.DatasetSpec) { s.Chunks = chunks })
		}
		spec.Chunks, rechunk = chunks, false
	case "user.h5.compression":
		filters, err := xattr.ParseCompression(text)
		if err != nil {
			return err
		}
		if stored {
			return ds.Rebuild(func(s *h5.DatasetSpec) { s.Filters = filters })
		}
		spec.Filters, rechunk = filters, false
	case "user.h5.fillvalue":
		parsed, err := xattr.ParseValue(ds.Type, nil, text)
		if err != nil {
			return err
		}
		if stored {
			return ds.Rebuild(func(s *h5.DatasetSpec) { s.Fill = parsed.Bytes })
		}
		spec.Fill, rechunk = parsed.Bytes, false
	default:
		return xattrReadOnly(attr)
	}
	if rechunk && spec.Chunks != nil {
		spec.Chunks = h5.GuessChunks(spec.Dims, spec.MaxDims, spec.Type.Size)
	}
	return ds.Redefine(spec)
}

// keepGrowth carries a growable first dimension over to a new shape; other
// dimensions become fixed at their new size.
func keepGrowth(maxDims, dims []uint64) []uint64 {
	if len(dims) == 0 {
		return nil
	}
	out := append([]uint64(nil), dims...)
	if len(maxDims) > 0 && maxDims[0] == h5.Unlimited {
		out[0] = h5.Unlimited
	}
	return out
}

func xattrReadOnly(attr string) error {
	return fmt.Errorf("the property %s cannot be set: %w", attr, h5.ErrInvalid)
}
