package h5

import (
	"fmt"
	"strings"
	"time"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// Changing a group's links. A group keeps its links in one of three forms,
// and an edit keeps the form the file uses: an old-style symbol table
// (local heap + v1 B-tree), link messages in the group's header (compact),
// or a fractal heap with v2 B-tree indexes (dense). Compact storage turns
// dense above the group info message's maximum, and back below its
// minimum, as libhdf5 does.

// Default link storage thresholds (H5G_CRT_GINFO_MAX_COMPACT and
// H5G_CRT_GINFO_MIN_DENSE).
const (
	defaultMaxCompact = 8
	defaultMinDense   = 6
)

// checkLinkName refuses names HDF5 cannot hold or a path cannot reach.
func checkLinkName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return fmt.Errorf("h5: link name %q: %w", name, ErrInvalidName)
	}
	return nil
}

// symbolTableK is the file's B-tree K values for group nodes.
func (f *File) symbolTableK() format.SymbolTableK {
	return format.SymbolTableK{Leaf: int(f.sb.GroupLeafK), Internal: int(f.sb.GroupInternalK)}
}

// insertLink adds l to the group. The caller holds f.wr.meta and has
// checked that the name is free.
func (g *Group) insertLink(l *format.Link) error {
	f := g.f
	s := storage{f}
	st, err := g.symbolTable()
	if err != nil {
		return err
	}
	if st != nil {
		t, err := g.symtab(st)
		if err != nil {
			return err
		}
		switch l.Type {
		case format.LinkHard:
			err = t.Insert(s, l.Name, format.SymbolTableEntry{HeaderAddr: l.Addr})
		case format.LinkSoft:
			err = t.InsertSoft(s, l.Name, l.Target)
		default:
			return fmt.Errorf("h5: an old-style group holds only hard and soft links: %w", ErrUnsupported)
		}
		if err != nil {
			g.Object.symtab = nil
		}
		return err
	}
	li, err := g.linkInfo()
	if err != nil {
		return err
	}
	if li == nil {
		return fmt.Errorf("h5: group at 0x%x has no link storage to add to: %w", g.Addr, ErrUnsupported)
	}
	if li.TracksOrder() {
		l.HasCreationOrder, l.CreationOrder = true, int64(li.MaxCreationIndex)
		li.MaxCreationIndex++
	}
	msg := format.EncodeLink(l, g.f.r.Sizes)
	if li.HeapAddr == format.Undefined && len(g.header().FindAll(format.MsgLink))+1 > g.maxCompact() {
		if err := g.compactToDense(li); err != nil {
			return err
		}
	}
	if li.HeapAddr != format.Undefined {
		dl, err := g.dense(li)
		if err != nil {
			return err
		}
		if err := dl.Insert(s, l.Name, msg, l.CreationOrder); err != nil {
			g.Object.denseLinks = nil
			return err
		}
		if li.TracksOrder() {
			return g.rewriteLinkInfo(li)
		}
		return nil
	}
	e, err := format.EditObjectHeader(f.r, g.header())
	if err != nil {
		return err
	}
	if err := e.Add(s, format.NewMessage{Type: format.MsgLink, Data: msg}); err != nil {
		return err
	}
	if li.TracksOrder() {
		if _, err := e.Replace(s, format.MsgLinkInfo, func([]byte) bool { return true },
			format.NewMessage{Type: format.MsgLinkInfo, Data: format.EncodeLinkInfo(li, g.f.r.Sizes)}); err != nil {
			return err
		}
	}
	if err := e.Commit(s); err != nil {
		return err
	}
	return g.reload()
}

// removeLink takes the link called name out of the group and returns it.
// The caller holds f.wr.meta.
func (g *Group) removeLink(name string) (Link, error) {
	f := g.f
	s := storage{f}
	old, err := g.Link(name)
	if err != nil {
		return Link{}, err
	}
	st, err := g.symbolTable()
	if err != nil {
		return Link{}, err
	}
	if st != nil {
		t, err := g.symtab(st)
		if err != nil {
			return Link{}, err
		}
		if _, err := t.Remove(s, name); err != nil {
			g.Object.symtab = nil
			return Link{}, err
		}
		return old, nil
	}
	li, err := g.linkInfo()
	if err != nil || li == nil {
		return Link{}, fmt.Errorf("h5: group at 0x%x has no link storage: %w", g.Addr, ErrCorrupt)
	}
	if li.HeapAddr != format.Undefined {
		dl, err := g.dense(li)
		if err != nil {
			return Link{}, err
		}
		if _, err := dl.Remove(s, name); err != nil {
			g.Object.denseLinks = nil
			return Link{}, err
		}
		return old, g.denseToCompactIfSmall(li)
	}
	e, err := format.EditObjectHeader(f.r, g.header())
	if err != nil {
		return Link{}, err
	}
	n := e.Remove(func(typ uint16, data []byte) bool {
		if typ != format.MsgLink {
			return false
		}
		l, err := format.DecodeLink(data, 0, f.r.Sizes)
		return err == nil && l.Name == name
	})
	if n != 1 {
		return Link{}, fmt.Errorf("h5: %q in group at 0x%x: %d link messages: %w", name, g.Addr, n, ErrCorrupt)
	}
	if err := e.Commit(s); err != nil {
		return Link{}, err
	}
	return old, g.reload()
}

// symtab is the group's handle on its symbol table. The caller holds
// f.wr.meta.
func (g *Group) symtab(st *format.SymbolTableMessage) (*format.SymbolTable, error) {
	if g.Object.symtab == nil {
		t, err := format.OpenSymbolTable(g.f.r, st, g.f.symbolTableK())
		if err != nil {
			return nil, err
		}
		g.Object.symtab = t
	}
	return g.Object.symtab, nil
}

// dense is the group's handle on its dense link storage. The caller holds
// f.wr.meta.
func (g *Group) dense(li *format.LinkInfo) (*format.DenseLinks, error) {
	if g.Object.denseLinks == nil {
		dl, err := format.OpenDenseLinks(g.f.r, li)
		if err != nil {
			return nil, err
		}
		g.Object.denseLinks = dl
	}
	return g.Object.denseLinks, nil
}

// groupInfo is the group's link storage thresholds.
func (g *Group) groupInfo() *format.GroupInfo {
	if m := g.header().Find(format.MsgGroupInfo); m != nil {
		if gi, err := format.DecodeGroupInfo(m.Data, m.Addr); err == nil {
			return gi
		}
	}
	return &format.GroupInfo{MaxCompact: defaultMaxCompact, MinDense: defaultMinDense}
}

func (g *Group) maxCompact() int {
	gi := g.groupInfo()
	if gi.MaxCompact == 0 && gi.MinDense == 0 {
		return defaultMaxCompact
	}
	return int(gi.MaxCompact)
}

// rewriteLinkInfo records the link info message's new addresses and
// creation index.
func (g *Group) rewriteLinkInfo(li *format.LinkInfo) error {
	s := storage{g.f}
	e, err := format.EditObjectHeader(g.f.r, g.header())
	if err != nil {
		return err
	}
	ok, err := e.Replace(s, format.MsgLinkInfo, func([]byte) bool { return true },
		format.NewMessage{Type: format.MsgLinkInfo, Data: format.EncodeLinkInfo(li, g.f.r.Sizes)})
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("h5: group at 0x%x lost its link info message: %w", g.Addr, ErrCorrupt)
	}
	if err := e.Commit(s); err != nil {
		return err
	}
	return g.reload()
}

// compactToDense moves the group's link messages into new dense storage.
func (g *Group) compactToDense(li *format.LinkInfo) error {
	f := g.f
	s := storage{f}
	if err := format.CreateDenseLinks(f.r, s, li); err != nil {
		return err
	}
	g.Object.denseLinks = nil
	dl, err := g.dense(li)
	if err != nil {
		return err
	}
	e, err := format.EditObjectHeader(f.r, g.header())
	if err != nil {
		return err
	}
	for _, m := range g.header().FindAll(format.MsgLink) {
		l, err := format.DecodeLink(m.Data, m.Addr, f.r.Sizes)
		if err != nil {
			return err
		}
		if err := dl.Insert(s, l.Name, l.Raw, l.CreationOrder); err != nil {
			g.Object.denseLinks = nil
			return err
		}
	}
	e.Remove(func(typ uint16, _ []byte) bool { return typ == format.MsgLink })
	if _, err := e.Replace(s, format.MsgLinkInfo, func([]byte) bool { return true },
		format.NewMessage{Type: format.MsgLinkInfo, Data: format.EncodeLinkInfo(li, g.f.r.Sizes)}); err != nil {
		return err
	}
	if err := e.Commit(s); err != nil {
		return err
	}
	return g.reload()
}

// denseToCompactIfSmall moves the links back into the header once fewer
// than the group info message's minimum remain, as libhdf5 does.
func (g *Group) denseToCompactIfSmall(li *format.LinkInfo) error {
	f := g.f
	gi := g.groupInfo()
	min := int(gi.MinDense)
	if gi.MaxCompact == 0 && gi.MinDense == 0 {
		min = defaultMinDense
	}
	// The name index counts the links: walking them all after every
	// removal made rm -r of a group of 20,000 links take 194 s.
	dl, err := g.dense(li)
	if err != nil || dl.Count() >= uint64(min) {
		return err
	}
	s := storage{f}
	var raws [][]byte
	err = format.WalkDenseLinks(f.r, li, li.TracksOrder(), func(l *format.Link) error {
		raws = append(raws, l.Raw)
		return nil
	})
	if err != nil {
		return err
	}
	e, err := format.EditObjectHeader(f.r, g.header())
	if err != nil {
		return err
	}
	for _, raw := range raws {
		if err := e.Add(s, format.NewMessage{Type: format.MsgLink, Data: raw}); err != nil {
			return err
		}
	}
	if dl, err := g.dense(li); err == nil {
		if err := dl.Delete(s); err != nil {
			return err
		}
	}
	g.Object.denseLinks = nil
	li.HeapAddr, li.NameIndexAddr, li.OrderIndexAddr = format.Undefined, format.Undefined, format.Undefined
	if _, err := e.Replace(s, format.MsgLinkInfo, func([]byte) bool { return true },
		format.NewMessage{Type: format.MsgLinkInfo, Data: format.EncodeLinkInfo(li, g.f.r.Sizes)}); err != nil {
		return err
	}
	if err := e.Commit(s); err != nil {
		return err
	}
	return g.reload()
}

// now is the time recorded in new objects' headers.
func now() uint32 { return uint32(time.Now().Unix()) }
