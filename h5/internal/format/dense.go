package format

import (
	"cmp"
	"encoding/binary"
	"slices"
	"strings"
)

// Dense storage keeps a new-style group's links, or an object's attributes,
// as objects of a fractal heap indexed by a v2 B-tree on the hash of their
// names and, when creation order is indexed, by a second v2 B-tree on it.

const (
	attrHeapIDLen   = 8 // H5O_FHEAP_ID_LEN
	attrNameRecSize = attrHeapIDLen + 1 + 4 + 4
	attrOrdRecSize  = attrHeapIDLen + 1 + 4
)

// openDenseIndex opens a dense storage index and checks its record type and
// that its records are at least minSize bytes long.
func openDenseIndex(r *Reader, addr uint64, typ uint8, minSize int) (*BTree2, error) {
	if addr == Undefined {
		return nil, Corruptf(addr, "v2 B-tree header", "dense storage without an index")
	}
	bt, err := ReadBTree2(r, addr)
	if err != nil {
		return nil, err
	}
	if bt.Type != typ {
		return nil, Corruptf(addr, "v2 B-tree header", "record type %d, expected %d", bt.Type, typ)
	}
	if int(bt.RecordSize) < minSize {
		return nil, Corruptf(addr, "v2 B-tree header", "records of %d bytes, type %d needs %d", bt.RecordSize, typ, minSize)
	}
	return bt, nil
}

// denseLinks holds what reading a dense group needs.
type denseLinks struct {
	r    *Reader
	heap *FractalHeap
}

func openDenseLinks(r *Reader, li *LinkInfo) (*denseLinks, error) {
	if li.HeapAddr == Undefined {
		return nil, Corruptf(li.HeapAddr, "link info message", "no fractal heap for dense links")
	}
	heap, err := ReadFractalHeap(r, li.HeapAddr)
	if err != nil {
		return nil, err
	}
	return &denseLinks{r: r, heap: heap}, nil
}

// link decodes the link a heap ID names.
func (dl *denseLinks) link(id []byte) (*Link, error) {
	obj, err := dl.heap.Object(id)
	if err != nil {
		return nil, err
	}
	return DecodeLink(obj, dl.heap.Addr, dl.r.Sizes)
}

// walk visits the links of one index in its own order: name hash for the
// name index (type 5: hash u32, heap ID), creation order for the order index
// (type 6: creation order u64, heap ID).
func (dl *denseLinks) walk(addr uint64, typ uint8, visit func(*Link) error) error {
	keyLen := 4
	if typ == BTree2LinkOrder {
		keyLen = 8
	}
	idLen := int(dl.heap.IDLen)
	bt, err := openDenseIndex(dl.r, addr, typ, keyLen+idLen)
	if err != nil {
		return err
	}
	recs, err := gatherRecords(bt, keyLen+idLen)
	if err != nil {
		return err
	}
	links := make([]*Link, recs.n())
	err = dl.heap.InHeapOrder(len(links), func(i int) []byte { return recs.at(i)[keyLen:] }, func(i int) error {
		rec := recs.at(i)
		l, err := dl.link(rec[keyLen:])
		if err != nil {
			return err
		}
		if typ == BTree2LinkName && binary.LittleEndian.Uint32(rec) != Lookup3([]byte(l.Name), 0) {
			return Corruptf(addr, "v2 B-tree record", "hash of link %q does not match its record", l.Name)
		}
		links[i] = l
		return nil
	})
	if err != nil {
		return err
	}
	for _, l := range links {
		if err := visit(l); err != nil {
			return err
		}
	}
	return nil
}

// records holds the records of a v2 B-tree, each size bytes, end to end.
type records struct {
	flat []byte
	size int
}

func (r records) n() int          { return len(r.flat) / r.size }
func (r records) at(i int) []byte { return r.flat[i*r.size : (i+1)*r.size] }

// gatherRecords reads the first size bytes of every record of bt, in its
// order, so that the heap objects they name can be read in the heap's.
func gatherRecords(bt *BTree2, size int) (records, error) {
	recs := records{size: size}
	err := bt.Walk(func(rec []byte) error {
		recs.flat = append(recs.flat, rec[:size]...)
		return nil
	})
	return recs, err
}

// WalkDenseLinks visits every link of a group with dense link storage: in
// increasing name order (byte-wise), or in increasing creation order when
// byCreationOrder is set. Creation order comes from the creation order
// index when the group has one; otherwise the links are sorted by the
// creation order each carries. Links are gathered before the first visit.
func WalkDenseLinks(r *Reader, li *LinkInfo, byCreationOrder bool, visit func(*Link) error) error {
	dl, err := openDenseLinks(r, li)
	if err != nil {
		return err
	}
	if byCreationOrder && li.OrderIndexAddr != Undefined {
		return dl.walk(li.OrderIndexAddr, BTree2LinkOrder, visit)
	}
	var links []*Link
	if err := dl.walk(li.NameIndexAddr, BTree2LinkName, func(l *Link) error {
		links = append(links, l)
		return nil
	}); err != nil {
		return err
	}
	if byCreationOrder {
		slices.SortFunc(links, func(a, b *Link) int {
			return cmp.Or(cmp.Compare(a.CreationOrder, b.CreationOrder), strings.Compare(a.Name, b.Name))
		})
	} else {
		// Names are unique but in a damaged file: no need of a stable
		// sort's O(n log² n).
		slices.SortFunc(links, func(a, b *Link) int { return strings.Compare(a.Name, b.Name) })
	}
	for _, l := range links {
		if err := visit(l); err != nil {
			return err
		}
	}
	return nil
}

// LookupDenseLink finds one link of a dense group through the name index
// (H5G__dense_btree2_name_compare).
func LookupDenseLink(r *Reader, li *LinkInfo, name string) (*Link, bool, error) {
	dl, err := openDenseLinks(r, li)
	if err != nil {
		return nil, false, err
	}
	idLen := int(dl.heap.IDLen)
	bt, err := openDenseIndex(r, li.NameIndexAddr, BTree2LinkName, 4+idLen)
	if err != nil {
		return nil, false, err
	}
	return searchNameIndex(bt, name, func(rec []byte) uint32 { return binary.LittleEndian.Uint32(rec) },
		func(rec []byte) (*Link, string, error) {
			l, err := dl.link(rec[4 : 4+idLen])
			if err != nil {
				return nil, "", err
			}
			return l, l.Name, nil
		})
}

// searchNameIndex finds name in a dense storage name index: its records are
// ordered by the lookup3 hash of the name (hashOf reads a record's), and
// those whose names share a hash by their names, which decode reads from
// the heap with the object the record names.
func searchNameIndex[T any](bt *BTree2, name string, hashOf func(rec []byte) uint32, decode func(rec []byte) (T, string, error)) (T, bool, error) {
	hash := Lookup3([]byte(name), 0)
	var found, zero T
	ok := false
	var lerr error
	_, _, err := bt.Search(func(rec []byte) int {
		if lerr != nil {
			return 0
		}
		if c := cmp.Compare(hash, hashOf(rec)); c != 0 {
			return c
		}
		v, n, err := decode(rec)
		if err != nil {
			lerr = err
			return 0
		}
		c := strings.Compare(name, n)
		if c == 0 {
			found, ok = v, true
		}
		return c
	})
	if err = cmp.Or(lerr, err); err != nil || !ok {
		return zero, false, err
	}
	return found, true, nil
}

// denseAttr is one record of a dense attribute index.
type denseAttr struct {
	id     []byte
	flags  uint8
	corder uint32
}

// decode reads the attribute the record names from the heap (or, through
// resolve, from the shared message heap).
func (rec denseAttr) decode(r *Reader, heap *FractalHeap, resolve SharedResolver) (*AttributeMessage, error) {
	if rec.flags&msgFlagShared != 0 && resolve == nil {
		return nil, Unsupportedf(heap.Addr, "dense attribute", "attribute in the shared object header message heap")
	}
	obj, err := heap.Object(rec.id)
	if err != nil {
		return nil, err
	}
	at := heap.Addr
	if rec.flags&msgFlagShared != 0 {
		if obj, at, err = resolve(MsgAttribute, obj, heap.Addr); err != nil {
			return nil, err
		}
	}
	am, err := DecodeAttribute(obj, at, r.Sizes)
	if err != nil {
		return nil, err
	}
	am.CreationOrder = uint16(rec.corder)
	return am, nil
}

// LookupDenseAttribute finds one attribute of an object with dense
// attribute storage through the name index: records are ordered by the
// lookup3 hash of the name, and attributes whose names share a hash by
// their names (H5A__dense_btree2_name_compare). resolve is as for
// WalkDenseAttributesShared.
func LookupDenseAttribute(r *Reader, ai *AttributeInfo, name string, resolve SharedResolver) (*AttributeMessage, bool, error) {
	if ai.HeapAddr == Undefined {
		return nil, false, Corruptf(ai.HeapAddr, "attribute info message", "no fractal heap for dense attributes")
	}
	heap, err := ReadFractalHeap(r, ai.HeapAddr)
	if err != nil {
		return nil, false, err
	}
	bt, err := openDenseIndex(r, ai.NameIndexAddr, BTree2AttrName, attrNameRecSize)
	if err != nil {
		return nil, false, err
	}
	return searchNameIndex(bt, name, func(b []byte) uint32 { return binary.LittleEndian.Uint32(b[13:]) },
		func(b []byte) (*AttributeMessage, string, error) {
			am, err := denseAttr{id: b[:8], flags: b[8], corder: binary.LittleEndian.Uint32(b[9:])}.decode(r, heap, resolve)
			if err != nil {
				return nil, "", err
			}
			return am, am.Name, nil
		})
}

// WalkDenseAttributes visits every attribute of an object with dense
// attribute storage: in increasing name order, or in increasing creation
// order when byCreationOrder is set (through the creation order index when
// there is one). Name index records (type 8) are heap ID (8 bytes), message
// flags, creation order u32 and name hash u32; creation order records (type
// 9) lack the hash. An attribute kept in the shared message heap answers
// ErrUnsupported (WalkDenseAttributesShared resolves it). Each attribute's CreationOrder is the one its record holds.
func WalkDenseAttributes(r *Reader, ai *AttributeInfo, byCreationOrder bool, visit func(*AttributeMessage) error) error {
	return WalkDenseAttributesShared(r, ai, byCreationOrder, nil, visit)
}

// SharedResolver returns the body of a shared message of type typ, given
// the shared message reference stored in its place (at file address at).
type SharedResolver func(typ uint16, ref []byte, at uint64) (body []byte, addr uint64, err error)

// WalkDenseAttributesShared is WalkDenseAttributes for files whose dense
// attributes may be kept in the shared object header message heap: resolve
// turns such a record's shared message reference into the attribute
// message (nil: ErrUnsupported).
func WalkDenseAttributesShared(r *Reader, ai *AttributeInfo, byCreationOrder bool, resolve SharedResolver, visit func(*AttributeMessage) error) error {
	if ai.HeapAddr == Undefined {
		return Corruptf(ai.HeapAddr, "attribute info message", "no fractal heap for dense attributes")
	}
	heap, err := ReadFractalHeap(r, ai.HeapAddr)
	if err != nil {
		return err
	}
	decode := func(rec denseAttr, checkHash bool, hash uint32) (*AttributeMessage, error) {
		am, err := rec.decode(r, heap, resolve)
		if err != nil {
			return nil, err
		}
		if checkHash && Lookup3([]byte(am.Name), 0) != hash {
			return nil, Corruptf(ai.NameIndexAddr, "v2 B-tree record", "hash of attribute %q does not match its record", am.Name)
		}
		return am, nil
	}
	// Both indexes' records start with the heap ID, flags and creation
	// order; the name index's end with the name's hash.
	index, typ, size, byName := ai.NameIndexAddr, uint8(BTree2AttrName), attrNameRecSize, true
	if byCreationOrder && ai.OrderIndexAddr != Undefined {
		index, typ, size, byName = ai.OrderIndexAddr, BTree2AttrOrder, attrOrdRecSize, false
	}
	bt, err := openDenseIndex(r, index, typ, size)
	if err != nil {
		return err
	}
	recs, err := gatherRecords(bt, size)
	if err != nil {
		return err
	}
	attrs := make([]*AttributeMessage, recs.n())
	err = heap.InHeapOrder(len(attrs), func(i int) []byte { return recs.at(i)[:attrHeapIDLen] }, func(i int) error {
		b := recs.at(i)
		var hash uint32
		if byName {
			hash = binary.LittleEndian.Uint32(b[13:])
		}
		am, err := decode(denseAttr{id: b[:8], flags: b[8], corder: binary.LittleEndian.Uint32(b[9:])}, byName, hash)
		attrs[i] = am
		return err
	})
	if err != nil {
		return err
	}
	if !byName {
		// In the creation order index's order.
		for _, am := range attrs {
			if err := visit(am); err != nil {
				return err
			}
		}
		return nil
	}
	if byCreationOrder {
		slices.SortStableFunc(attrs, func(a, b *AttributeMessage) int { return cmp.Compare(a.CreationOrder, b.CreationOrder) })
	} else {
		slices.SortStableFunc(attrs, func(a, b *AttributeMessage) int { return strings.Compare(a.Name, b.Name) })
	}
	for _, am := range attrs {
		if err := visit(am); err != nil {
			return err
		}
	}
	return nil
}
