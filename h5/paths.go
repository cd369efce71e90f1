package h5

import "sort"

// maxIndexedObjects bounds the address-to-path index of PathOf.
const maxIndexedObjects = 1 << 20

// PathOf returns a path at which the object with header address addr can be
// reached (the first in name order, breadth first), for showing object
// references. The index is built on first use.
func (f *File) PathOf(addr uint64) (string, bool) {
	f.pathsMu.Lock()
	defer f.pathsMu.Unlock()
	if f.paths == nil {
		f.indexPaths()
	}
	p, ok := f.paths[addr]
	return p, ok
}

// forgetPaths drops the index after links changed.
func (f *File) forgetPaths() {
	f.pathsMu.Lock()
	f.paths = nil
	f.pathsMu.Unlock()
}

func (f *File) indexPaths() {
	f.paths = map[uint64]string{}
	root, err := f.Root()
	if err != nil {
		return
	}
	f.paths[root.Addr] = "/"
	queue := []*Group{root}
	for len(queue) > 0 && len(f.paths) < maxIndexedObjects {
		g := queue[0]
		queue = queue[1:]
		links, err := g.Links()
		if err != nil {
			continue
		}
		sort.Slice(links, func(i, j int) bool { return links[i].Name < links[j].Name })
		base := f.paths[g.Addr]
		if base == "/" {
			base = ""
		}
		for _, l := range links {
			if l.Type != LinkHard {
				continue
			}
			if _, seen := f.paths[l.Addr]; seen {
				continue
			}
			f.paths[l.Addr] = base + "/" + l.Name
			if o, err := f.Object(l.Addr); err == nil && o.Kind() == KindGroup {
				if sg, err := o.AsGroup(); err == nil {
					queue = append(queue, sg)
				}
			}
		}
	}
}
