package h5

import (
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/h5mount/h5mount/h5/internal/chunk"
	"github.com/h5mount/h5mount/h5/internal/format"
)

// Structure-editing sentinels.
var (
	// ErrInvalidName: a link name HDF5 cannot hold ("", ".", "..", or with
	// "/" or NUL).
	ErrInvalidName = errors.New("h5: invalid name")
	// ErrNotEmpty: removing a group that still has links.
	ErrNotEmpty = errors.New("h5: group not empty")
	// ErrInvalid: a definition or value that does not fit.
	ErrInvalid = errors.New("h5: invalid value")
)

// edit runs one structure change with the file's metadata lock held, so
// that no commit takes in half of it.
func (f *File) edit(change func() error) error {
	if f.wr == nil {
		return ErrReadOnly
	}
	f.wr.meta.Lock()
	defer f.wr.meta.Unlock()
	f.changes.Add(1)
	err := change()
	f.forgetPaths()
	f.changes.Add(1)
	return err
}

// linkCharSet is the character set a new link's name is recorded in.
func linkCharSet(name string) uint8 {
	for i := 0; i < len(name); i++ {
		if name[i] >= 0x80 {
			if utf8.ValidString(name) {
				return format.CharSetUTF8
			}
			break
		}
	}
	return format.CharSetASCII
}

// free checks that name can be added to g.
func (g *Group) nameFree(name string) error {
	if err := checkLinkName(name); err != nil {
		return err
	}
	_, err := g.Link(name)
	switch {
	case err == nil:
		return fmt.Errorf("h5: %q in group at 0x%x: %w", name, g.Addr, ErrExists)
	case errors.Is(err, ErrNotFound):
		return nil
	}
	return err
}

// newStyle reports whether objects made beside this group's links use the
// newer format (version 2 headers, link messages), as the group itself does.
func (g *Group) newStyle() bool {
	st, _ := g.symbolTable()
	return st == nil
}

// CreateGroup makes an empty group and links it into g as name. It takes
// the form of g: an old-style group gets an old-style child.
func (g *Group) CreateGroup(name string) (*Group, error) {
	var child *Group
	err := g.f.edit(func() error {
		if err := g.nameFree(name); err != nil {
			return err
		}
		addr, err := g.newGroupHeader()
		if err != nil {
			return err
		}
		o, err := g.linkNew(name, addr)
		if err != nil {
			return err
		}
		child, err = o.AsGroup()
		return err
	})
	return child, err
}

// linkNew links the object just made at addr into g as name and returns
// it. The caller holds f.wr.meta.
func (g *Group) linkNew(name string, addr uint64) (*Object, error) {
	if err := g.insertLink(&format.Link{Type: format.LinkHard, Name: name, Addr: addr, CharSet: linkCharSet(name)}); err != nil {
		return nil, err
	}
	return g.f.Object(addr)
}

func (g *Group) newGroupHeader() (uint64, error) {
	f := g.f
	s := storage{f}
	if !g.newStyle() {
		st, err := format.CreateSymbolTable(f.r, s, f.symbolTableK(), 0)
		if err != nil {
			return 0, err
		}
		return format.CreateObjectHeader(f.r, s, format.HeaderCreate{Version: 1, Slack: newHeaderSlack},
			[]format.NewMessage{{Type: format.MsgSymbolTable, Data: format.EncodeSymbolTableMessage(st, g.f.r.Sizes)}})
	}
	li := &format.LinkInfo{HeapAddr: format.Undefined, NameIndexAddr: format.Undefined, OrderIndexAddr: format.Undefined}
	if pli, err := g.linkInfo(); err == nil && pli != nil {
		li.Flags = pli.Flags // tracking creation order, as the parent does
	}
	msgs := []format.NewMessage{
		{Type: format.MsgLinkInfo, Data: format.EncodeLinkInfo(li, g.f.r.Sizes)},
		{Type: format.MsgGroupInfo, Data: format.EncodeGroupInfo(&format.GroupInfo{})},
	}
	hc := g.headerCreate()
	hc.Slack = newGroupLinkSlack
	return format.CreateObjectHeader(f.r, s, hc, msgs)
}

// Room left in new headers for what is added later: attributes, and in a
// new-style group its first links (8 fit before it turns dense).
const (
	newHeaderSlack    = 64
	newGroupLinkSlack = 256
)

// headerCreate is how objects created beside g's links are headed: in the
// version g's own header has, with times where that version keeps them.
func (g *Group) headerCreate() format.HeaderCreate {
	h := g.header()
	if h.Version == 1 {
		return format.HeaderCreate{Version: 1}
	}
	t := now()
	return format.HeaderCreate{Version: 2, Flags: 0x20, AccessTime: t, ModTime: t, ChangeTime: t, BirthTime: t}
}

// AddHardLink links the object at addr into g as name, counting the new
// link in the object's header.
func (g *Group) AddHardLink(name string, target *Object) error {
	return g.f.edit(func() error {
		if err := g.nameFree(name); err != nil {
			return err
		}
		if err := target.setRefCount(target.RefCount() + 1); err != nil {
			return err
		}
		return g.insertLink(&format.Link{Type: format.LinkHard, Name: name, Addr: target.Addr, CharSet: linkCharSet(name)})
	})
}

// AddSoftLink makes name a soft link to the HDF5 path target.
func (g *Group) AddSoftLink(name, target string) error {
	return g.f.edit(func() error {
		if err := g.nameFree(name); err != nil {
			return err
		}
		if target == "" {
			return fmt.Errorf("h5: soft link %q with an empty target: %w", name, ErrInvalid)
		}
		return g.insertLink(&format.Link{Type: format.LinkSoft, Name: name, Target: target, CharSet: linkCharSet(name)})
	})
}

// Unlink removes the link called name. An object whose last hard link
// goes is deleted and its storage released. A group must be empty
// (ErrNotEmpty) unless other hard links keep it.
func (g *Group) Unlink(name string) error {
	return g.f.edit(func() error {
		l, err := g.Link(name)
		if err != nil {
			return err
		}
		return g.unlinkLocked(name, l)
	})
}

// Move renames the link src/name to dst/newName; dst may be src. When
// newName exists and replace is set, its link is removed first, as
// rename(2) does: a group must then be replaced by a group, and only an
// empty one (ErrNotEmpty). Both links naming the same object is a no-op.
func (g *Group) Move(name string, dst *Group, newName string, replace bool) error {
	return g.f.edit(func() error {
		if err := checkLinkName(newName); err != nil {
			return err
		}
		l, err := g.Link(name)
		if err != nil {
			return err
		}
		if g.Addr == dst.Addr && name == newName {
			return nil
		}
		if old, err := dst.Link(newName); err == nil {
			if !replace {
				return fmt.Errorf("h5: %q: %w", newName, ErrExists)
			}
			if old.Type == LinkHard && l.Type == LinkHard && old.Addr == l.Addr {
				return nil
			}
			if err := dst.unlinkLocked(newName, l); err != nil {
				return err
			}
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		if _, err := g.removeLink(name); err != nil {
			return err
		}
		fl, err := formatLink(l, newName)
		if err != nil {
			return err
		}
		if err := dst.insertLink(fl); err != nil {
			// Put it back where it was: a failed move leaves the source.
			back, _ := formatLink(l, name)
			if perr := g.insertLink(back); perr != nil {
				return fmt.Errorf("%w (and restoring %q failed: %v)", err, name, perr)
			}
			return err
		}
		return nil
	})
}

// formatLink is l, named name, as the format stores it.
func formatLink(l Link, name string) (*format.Link, error) {
	fl := &format.Link{Name: name, CharSet: linkCharSet(name), Addr: l.Addr, Target: l.Target,
		ExtFile: l.ExtFile, ExtPath: l.ExtPath}
	switch l.Type {
	case LinkHard:
		fl.Type = format.LinkHard
	case LinkSoft:
		fl.Type = format.LinkSoft
	case LinkExternal:
		fl.Type = format.LinkExternal
	default:
		return nil, fmt.Errorf("h5: moving a user-defined link: %w", ErrUnsupported)
	}
	return fl, nil
}

// unlinkLocked removes the link name that a move replaces with incoming.
// The caller holds f.wr.meta.
func (g *Group) unlinkLocked(name string, incoming Link) error {
	l, err := g.Link(name)
	if err != nil {
		return err
	}
	var target *Object
	if l.Type == LinkHard {
		if target, err = g.f.Object(l.Addr); err != nil {
			return err
		}
		isGroup := target.Kind() == KindGroup
		incomingGroup := false
		if incoming.Type == LinkHard {
			if o, err := g.f.Object(incoming.Addr); err == nil {
				incomingGroup = o.Kind() == KindGroup
			}
		}
		if isGroup != incomingGroup {
			return fmt.Errorf("h5: %q: a group and a non-group cannot replace each other: %w", name, ErrInvalid)
		}
		if isGroup && target.RefCount() <= 1 {
			tg, err := target.AsGroup()
			if err != nil {
				return err
			}
			links, err := tg.Links()
			if err != nil {
				return err
			}
			if len(links) > 0 {
				return fmt.Errorf("h5: group %q has %d links: %w", name, len(links), ErrNotEmpty)
			}
		}
	}
	if _, err := g.removeLink(name); err != nil {
		return err
	}
	if target == nil {
		return nil
	}
	return target.dropLink()
}

// AddExternalLink makes name an external link to path in the HDF5 file
// file. Old-style groups cannot hold one (ErrUnsupported).
func (g *Group) AddExternalLink(name, file, path string) error {
	return g.f.edit(func() error {
		if err := g.nameFree(name); err != nil {
			return err
		}
		return g.insertLink(&format.Link{Type: format.LinkExternal, Name: name, ExtFile: file, ExtPath: path, CharSet: linkCharSet(name)})
	})
}

// setRefCount records n hard links in the object's header. The caller
// holds f.wr.meta.
func (o *Object) setRefCount(n uint32) error {
	s := storage{o.f}
	e, err := format.EditObjectHeader(o.f.r, o.header())
	if err != nil {
		return err
	}
	if err := e.SetRefCount(s, n); err != nil {
		return err
	}
	if err := e.Commit(s); err != nil {
		return err
	}
	return o.reload()
}

// dropLink counts one hard link fewer; the last one deletes the object.
// The caller holds f.wr.meta.
func (o *Object) dropLink() error {
	if n := o.RefCount(); n > 1 {
		return o.setRefCount(n - 1)
	}
	return o.release()
}

// release frees the storage of an object nothing links to any more: its
// dataset storage. Its header stays allocated: its address is the object's
// identity (and a mount's inode number), which a new object must not take
// while anything may still hold the old one. Groups must be empty by now.
func (o *Object) release() error {
	f := o.f
	if o.Kind() == KindDataset {
		if d, err := o.AsDataset(); err == nil {
			d.releaseStorage()
		}
	}
	f.mu.Lock()
	delete(f.objects, o.Addr)
	f.mu.Unlock()
	return nil
}

// releaseStorage frees a deleted dataset's chunks or contiguous storage
// and forgets its pending chunks. Index structures themselves are small
// and left allocated.
func (d *Dataset) releaseStorage() {
	d.lockToChange()
	defer d.doneChanging()
	f := d.f
	w := f.wr
	w.mu.Lock()
	for k, dc := range w.dirty {
		if dc.d == d {
			delete(w.dirty, k)
			w.dirtyBytes -= int64(len(dc.data))
		}
	}
	w.mu.Unlock()
	switch d.layout.Class {
	case format.LayoutContiguous:
		if !d.hasExternal() {
			f.free(d.layout.Addr, d.layout.Size)
		}
	case format.LayoutChunked:
		if d.layout.Version >= 4 && d.layout.IndexType == format.IndexImplicit {
			return // one block whose extent the index does not record
		}
		if idx, err := d.chunkIndex(); err == nil {
			_ = idx.Walk(func(c chunk.Chunk) error {
				f.free(c.Addr, c.Size)
				return nil
			})
		}
	}
}

// modTimeMessage is the modification time message old-style objects carry.
func modTimeMessage() format.NewMessage {
	return format.NewMessage{Type: format.MsgModTime, Data: format.EncodeModTime(time.Now())}
}
