package fs

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/h5mount/h5mount/h5"
	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// groupNode is a directory: one HDF5 group reached by one path.
type groupNode struct {
	gofs.Inode
	fsys *filesystem
	obj  *h5.Object
	path string // path in the file, "/" for the root
	// ancestors are the object addresses of this group and the groups above
	// it on the path it was looked up by: a link back to one of them is a
	// cycle. A rename moves the node: liveAncestors has them as they are.
	ancestors []uint64

	// mu has one goroutine at a time decode the group's links, which go
	// to the filesystem's listing cache; count is how many there were in
	// generation countAt (once counted), for a stat after the cache let go
	// of them.
	mu      sync.Mutex
	counted bool
	count   int
	countAt uint64
}

// linkSet is a group's links as one generation of the tree has them.
type linkSet struct {
	gen    uint64
	links  []h5.Link
	once   sync.Once
	byName map[string]int // index into links, made on the first lookup
}

// linkSetSize is about what a link list holds in memory, its index by name
// included.
func linkSetSize(links []h5.Link) int64 {
	const perLink = 160 // a Link, and a map entry
	n := int64(len(links)) * perLink
	for _, l := range links {
		n += int64(len(l.Name) + len(l.Target) + len(l.ExtFile) + len(l.ExtPath))
	}
	return n
}

var (
	_ = (gofs.NodeLookuper)((*groupNode)(nil))
	_ = (gofs.NodeReaddirer)((*groupNode)(nil))
	_ = (gofs.NodeGetattrer)((*groupNode)(nil))
	_ = (gofs.NodeSetattrer)((*groupNode)(nil))
)

func (g *groupNode) group() (*h5.Group, error) { return g.obj.AsGroup() }

// livePath is the group's path as the tree now has it: a rename moves a
// directory without telling the node.
func (g *groupNode) livePath() string {
	if g.path == "/" {
		return g.path
	}
	if p := g.Path(nil); p != "" {
		return "/" + p
	}
	return g.path
}

// liveAncestors are the object addresses of the groups on the group's path
// as the tree now has it (the root's own, then each group below it down to
// this one): after a rename, ancestors are those of the old path, and a
// group that was below this one and is now above it is no cycle.
func (g *groupNode) liveAncestors() []uint64 {
	var up []uint64
	n := g
	for {
		_, parent := n.Parent()
		if parent == nil { // the root, or a node the tree dropped
			break
		}
		pg, ok := parent.Operations().(*groupNode)
		if !ok {
			return g.ancestors
		}
		up = append(up, n.obj.Addr)
		n = pg
	}
	out := append([]uint64(nil), n.ancestors...)
	for i := len(up) - 1; i >= 0; i-- {
		out = append(out, up[i])
	}
	return out
}

// currentLinks is the group's link list from the listing cache, when it is
// there and current.
func (g *groupNode) currentLinks() (*linkSet, bool) {
	s, ok := g.fsys.listings.get(g)
	if !ok || s.gen != g.fsys.generation.Load() {
		return nil, false
	}
	return s, true
}

// linkList returns the group's links: from the listing cache, which keeps
// those of the groups listed last up to its size (kept per node, the lists
// of every group a find visited stayed in memory for as long as the
// kernel kept the inodes), or decoded anew.
func (g *groupNode) linkList() ([]h5.Link, error) {
	if s, ok := g.currentLinks(); ok {
		return s.links, nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if s, ok := g.currentLinks(); ok {
		return s.links, nil
	}
	gen := g.fsys.generation.Load()
	grp, err := g.group()
	if err != nil {
		return nil, err
	}
	links, err := grp.Links()
	if err != nil {
		return nil, err
	}
	if links == nil {
		links = []h5.Link{}
	}
	g.fsys.listings.put(g, &linkSet{gen: gen, links: links}, linkSetSize(links))
	g.counted, g.count, g.countAt = true, len(links), gen
	return links, nil
}

// linkCount is how many links the group has (its st_size), without
// decoding them where the group's storage counts them, or again when the
// listing cache let go of a current list: ls -l of a directory of large
// groups decoded every link of each.
func (g *groupNode) linkCount() (uint64, error) {
	if s, ok := g.currentLinks(); ok {
		return uint64(len(s.links)), nil
	}
	g.mu.Lock()
	counted, n, at := g.counted, g.count, g.countAt
	g.mu.Unlock()
	if counted && at == g.fsys.generation.Load() {
		return uint64(n), nil
	}
	if grp, err := g.group(); err == nil {
		if n, ok, err := grp.NumLinks(); err == nil && ok {
			return n, nil
		}
	}
	links, err := g.linkList()
	return uint64(len(links)), err
}

// cachedLink finds a link in the link list a listing loaded, when that list
// is current: a walk (find, ls -R) then looks each name up in memory
// instead of descending the group's B-tree and heap in the file once per
// name. ok is false when no current list is cached.
func (g *groupNode) cachedLink(name string) (l h5.Link, found, ok bool) {
	s, ok := g.currentLinks()
	if !ok {
		return h5.Link{}, false, false
	}
	s.once.Do(func() {
		s.byName = make(map[string]int, len(s.links))
		for i, l := range s.links {
			if _, dup := s.byName[l.Name]; !dup { // a damaged file can repeat a name
				s.byName[l.Name] = i
			}
		}
	})
	i, found := s.byName[name]
	if !found {
		return h5.Link{}, false, true
	}
	return s.links[i], true, true
}

// Setattr accepts the modes, owners and times that tar, cp -a and mkdir -m
// set on a directory, and keeps what the HDF5 file says, as a dataset does:
// refusing them made every tar extraction into a mount report errors.
func (g *groupNode) Setattr(ctx context.Context, fh gofs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if errno := g.fsys.writable("setattr", g.path); errno != 0 {
		return errno
	}
	return g.Getattr(ctx, fh, out)
}

func (g *groupNode) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	out.Mode = syscall.S_IFDIR | g.fsys.perm(true)
	out.Nlink = 2
	g.fsys.fillTimes(g.obj, &out.Attr)
	if n, err := g.linkCount(); err == nil {
		out.Size = n
	}
	return 0
}

// child describes what a link leads to, without creating an inode.
type child struct {
	mode uint32
	ino  uint64
	node gofs.InodeEmbedder
}

// resolve builds the node a link leads to.
func (g *groupNode) resolve(l h5.Link) (child, error) {
	dir := g.livePath()
	p := childPath(dir, l.Name)
	switch l.Type {
	case h5.LinkSoft:
		return child{mode: syscall.S_IFLNK, ino: pathIno(p, "soft:"+l.Target), node: &symlinkNode{fsys: g.fsys, target: softTarget(dir, l.Target), soft: l.Target}}, nil
	case h5.LinkExternal:
		target := l.ExtFile + "::" + l.ExtPath
		return child{mode: syscall.S_IFLNK, ino: pathIno(p, "external:"+target), node: &symlinkNode{fsys: g.fsys, target: target}}, nil
	case h5.LinkUserDefined:
		return child{}, h5.ErrNotFound
	}
	obj, err := g.fsys.file.Object(l.Addr)
	if err != nil {
		return child{}, err
	}
	switch obj.Kind() {
	case h5.KindGroup:
		ancestors := g.liveAncestors()
		for i, a := range ancestors {
			if a == l.Addr {
				// A link back up the path: show it as a symlink to the
				// ancestor so that find, ls -R and du terminate.
				up := len(ancestors) - 1 - i
				target := "."
				if up > 0 {
					target = strings.TrimSuffix(strings.Repeat("../", up), "/")
				}
				return child{mode: syscall.S_IFLNK, ino: pathIno(p, "up:"+target), node: &symlinkNode{fsys: g.fsys, target: target}}, nil
			}
		}
		ino := l.Addr
		if obj.RefCount() > 1 {
			// The kernel allows a directory one parent: each path to a
			// multiply-linked group is a directory of its own.
			ino = pathIno(p, "group:"+strconv.FormatUint(l.Addr, 10))
		}
		anc := append(ancestors, l.Addr)
		return child{mode: syscall.S_IFDIR, ino: ino, node: &groupNode{fsys: g.fsys, obj: obj, path: p, ancestors: anc}}, nil
	case h5.KindDataset:
		return child{mode: syscall.S_IFREG, ino: l.Addr, node: &datasetNode{fsys: g.fsys, obj: obj, path: p}}, nil
	}
	// Named datatypes and unknown objects are not listed.
	return child{}, h5.ErrNotFound
}

// softTarget turns an HDF5 soft link into a symlink target that works from
// the directory holding the link: absolute paths become relative, climbing
// only out of the groups the link's directory does not share with the
// target (a link in /t/c to /t/a/x reads ../a/x, as ln -s wrote it).
func softTarget(dir, target string) string {
	// The symlink must never lead out of the mount: a relative target is
	// kept as stored, an absolute one climbs at most to the mount's root,
	// and a ".." that would climb above the root (which HDF5 reads as a
	// link named "..") shows percent-encoded.
	var up []string
	for _, c := range strings.Split(dir, "/") {
		if c != "" {
			up = append(up, c)
		}
	}
	var names []string
	for _, c := range strings.Split(target, "/") {
		if c != "" && c != "." {
			names = append(names, c)
		}
	}
	var parts []string
	level := len(up)
	if strings.HasPrefix(target, "/") {
		shared := 0
		for shared < len(up) && shared < len(names) && names[shared] == up[shared] {
			shared++
		}
		for range len(up) - shared {
			parts = append(parts, "..")
		}
		names, level = names[shared:], shared
	}
	for _, c := range names {
		switch {
		case c == ".." && level > 0:
			parts = append(parts, c)
			level--
		case c == "..":
			parts = append(parts, "%2E%2E")
		default:
			parts = append(parts, c)
			level++
		}
	}
	if len(parts) == 0 {
		return "."
	}
	return strings.Join(parts, "/")
}

func (g *groupNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	grp, err := g.group()
	if err != nil {
		return nil, g.fsys.errno("lookup", g.path, err)
	}
	if !listable(name) {
		// What a listing leaves out cannot be reached by name either.
		return nil, syscall.ENOENT
	}
	l, found, cached := g.cachedLink(name)
	switch {
	case cached && !found:
		return nil, syscall.ENOENT
	case !cached:
		if l, err = grp.Link(name); err != nil {
			return nil, g.fsys.errno("lookup", childPath(g.path, name), err)
		}
	}
	c, err := g.resolve(l)
	if err != nil {
		return nil, g.fsys.errno("lookup", childPath(g.path, name), err)
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

func (g *groupNode) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	links, err := g.linkList()
	if err != nil {
		return nil, g.fsys.errno("readdir", g.path, err)
	}
	entries := make([]fuse.DirEntry, 0, len(links))
	for _, l := range links {
		if !listable(l.Name) {
			// A damaged file can name a link "", "." or "a/b": no path can
			// reach it, and a listing must not offer it.
			g.fsys.log.Printf("readdir %s: a link named %q cannot be shown (skipped)", g.path, l.Name)
			continue
		}
		c, err := g.resolve(l)
		if err != nil {
			if err == h5.ErrNotFound {
				continue
			}
			// A broken member must not break the listing: it shows, and
			// touching it reports the error.
			g.fsys.errno("readdir", childPath(g.path, l.Name), err)
			entries = append(entries, fuse.DirEntry{Name: l.Name, Mode: syscall.S_IFREG, Ino: l.Addr})
			continue
		}
		entries = append(entries, fuse.DirEntry{Name: l.Name, Mode: c.mode, Ino: c.ino})
	}
	return gofs.NewListDirStream(entries), 0
}

// listable reports whether a link name can be a directory entry.
func listable(name string) bool {
	// The kernel's FUSE client refuses a name over 1024 bytes, and one such
	// entry would fail the whole listing.
	const nameMax = 1024
	return name != "" && name != "." && name != ".." && len(name) <= nameMax && !strings.ContainsAny(name, "/\x00")
}
