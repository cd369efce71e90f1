package h5

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// LinkType says what a link points to.
type LinkType int

// Link types.
const (
	LinkHard LinkType = iota
	LinkSoft
	LinkExternal
	LinkUserDefined
)

// Link is one named entry of a group.
type Link struct {
	Name             string
	Type             LinkType
	Addr             uint64 // hard links: the object header address
	Target           string // soft links: the path, as stored
	ExtFile, ExtPath string // external links
	HasCreationOrder bool
	CreationOrder    int64
}

// Group is a group object.
type Group struct {
	*Object
}

func linkFromFormat(l *format.Link) Link {
	out := Link{Name: l.Name, Addr: l.Addr, Target: l.Target, ExtFile: l.ExtFile, ExtPath: l.ExtPath,
		HasCreationOrder: l.HasCreationOrder, CreationOrder: l.CreationOrder}
	switch l.Type {
	case format.LinkHard:
		out.Type = LinkHard
	case format.LinkSoft:
		out.Type = LinkSoft
	case format.LinkExternal:
		out.Type = LinkExternal
	default:
		out.Type = LinkUserDefined
	}
	return out
}

// symbolTable returns the old-style storage of the group, if it has one.
func (g *Group) symbolTable() (*format.SymbolTableMessage, error) {
	if m := g.header().Find(format.MsgSymbolTable); m != nil {
		return format.DecodeSymbolTableMessage(m.Data, m.Addr, g.f.r.Sizes)
	}
	return g.scratch, nil
}

func (g *Group) linkInfo() (*format.LinkInfo, error) {
	m := g.header().Find(format.MsgLinkInfo)
	if m == nil {
		return nil, nil
	}
	return format.DecodeLinkInfo(m.Data, m.Addr, g.f.r.Sizes)
}

// NumLinks is how many links the group holds, when that is known without
// decoding them: the link messages of compact storage, the name index's
// count of dense storage. ok is false for a symbol table, whose links must
// be walked to be counted.
func (g *Group) NumLinks() (n uint64, ok bool, err error) {
	if st, err := g.symbolTable(); err != nil || st != nil {
		return 0, false, err
	}
	li, err := g.linkInfo()
	if err != nil {
		return 0, false, err
	}
	if li != nil && li.HeapAddr != format.Undefined {
		bt, err := format.ReadBTree2(g.f.r, li.NameIndexAddr)
		if err != nil {
			return 0, false, fmt.Errorf("group at 0x%x: %w", g.Addr, err)
		}
		return bt.TotalRecords, true, nil
	}
	return uint64(len(g.header().FindAll(format.MsgLink))), true, nil
}

// Links lists the group's links: in creation order where the file tracks
// it, otherwise in name order (as h5py and h5ls list them).
func (g *Group) Links() ([]Link, error) {
	var links []Link
	st, err := g.symbolTable()
	if err != nil {
		return nil, err
	}
	if st != nil {
		heap, err := format.ReadLocalHeap(g.f.r, st.HeapAddr)
		if err != nil {
			return nil, err
		}
		err = format.WalkSymbolTable(g.f.r, st.BTreeAddr, heap, func(name string, e format.SymbolTableEntry) error {
			l := Link{Name: name, Type: LinkHard, Addr: e.HeaderAddr}
			if e.CacheType == 2 {
				target, err := heap.String(uint64(e.LinkOffset))
				if err != nil {
					return err
				}
				l = Link{Name: name, Type: LinkSoft, Target: target}
			}
			links = append(links, l)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("group at 0x%x: %w", g.Addr, err)
		}
		return links, nil
	}
	li, err := g.linkInfo()
	if err != nil {
		return nil, err
	}
	byOrder := li != nil && li.TracksOrder()
	if li != nil && li.HeapAddr != format.Undefined {
		links, err = walkDenseLinks(g.f, li, byOrder)
		if err != nil {
			return nil, fmt.Errorf("group at 0x%x: %w", g.Addr, err)
		}
		return links, nil
	}
	for _, m := range g.header().FindAll(format.MsgLink) {
		l, err := format.DecodeLink(m.Data, m.Addr, g.f.r.Sizes)
		if err != nil {
			return nil, err
		}
		links = append(links, linkFromFormat(l))
	}
	if byOrder {
		slices.SortStableFunc(links, func(a, b Link) int { return cmp.Compare(a.CreationOrder, b.CreationOrder) })
	} else {
		slices.SortFunc(links, func(a, b Link) int { return strings.Compare(a.Name, b.Name) })
	}
	return links, nil
}

// Link finds one link by name.
func (g *Group) Link(name string) (Link, error) {
	li, err := g.linkInfo()
	if err != nil {
		return Link{}, err
	}
	if li != nil && li.HeapAddr != format.Undefined {
		return lookupDenseLink(g.f, li, name)
	}
	st, err := g.symbolTable()
	if err != nil {
		return Link{}, err
	}
	if st != nil {
		e, ok, err := format.LookupSymbol(g.f.r, st, name)
		if err != nil {
			return Link{}, err
		}
		if !ok {
			return Link{}, fmt.Errorf("h5: %q in group at 0x%x: %w", name, g.Addr, ErrNotFound)
		}
		return g.symbolLink(st, name, e)
	}
	// Compact storage is small enough to scan.
	links, err := g.Links()
	if err != nil {
		return Link{}, err
	}
	for _, l := range links {
		if l.Name == name {
			return l, nil
		}
	}
	return Link{}, fmt.Errorf("h5: %q in group at 0x%x: %w", name, g.Addr, ErrNotFound)
}

// symbolLink is the link a symbol table entry describes.
func (g *Group) symbolLink(st *format.SymbolTableMessage, name string, e format.SymbolTableEntry) (Link, error) {
	if e.CacheType != 2 {
		return Link{Name: name, Type: LinkHard, Addr: e.HeaderAddr}, nil
	}
	target, err := format.LocalHeapString(g.f.r, st.HeapAddr, uint64(e.LinkOffset))
	if err != nil {
		return Link{}, err
	}
	return Link{Name: name, Type: LinkSoft, Target: target}, nil
}
