package format

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// Editing dense storage as libhdf5 1.10 does (H5Gdense.c H5G__dense_create /
// _insert / _remove, H5Adense.c H5A_dense_create / _insert / _write /
// _remove, H5Gbtree2.c, H5Abtree2.c): the message goes into the fractal
// heap, a record into the name index (lookup3 hash of the name, ties
// ordered by the names themselves) and, when creation order is indexed,
// one into the creation order index.
//
// OpenDenseLinks and OpenDenseAttributes walk the name index once to learn
// the heap's free space (FractalHeap.FindFreeSpace), which the handle then
// keeps in memory: keep it for a run of edits, and let it be the only
// editor of that storage while it lives (drop it after an error, or when
// the edits it made are discarded). The one-shot functions open a handle
// per call, a walk of the name index each. None of them changes the link
// info or attribute info message, except the Create functions, which fill
// in its addresses: the caller rewrites the message then, and keeps its
// maximum creation index (the next order to hand out) itself.

// H5G_NAME_BT2_*, H5G_CORDER_BT2_*, H5A_NAME_BT2_* and H5A_CORDER_BT2_*
// are all the same.
const (
	denseIndexNodeSize = 512
	denseIndexSplit    = 100
	denseIndexMerge    = 40
)

// denseIndexes are the fractal heap and v2 B-trees of dense storage.
type denseIndexes struct {
	r     *Reader
	heap  *FractalHeap
	name  *BTree2
	order *BTree2 // nil: creation order is not indexed
	idLen int
}

// createDense creates the heap and the indexes of empty dense storage.
func createDense(r *Reader, s Space, hp FractalHeapCreate, nameType, orderType uint8, nameRec, orderRec int, indexed bool) (heap, name, order uint64, err error) {
	heap, err = CreateFractalHeap(r, s, hp)
	if err != nil {
		return 0, 0, 0, err
	}
	h, err := ReadFractalHeap(r, heap)
	if err != nil {
		return 0, 0, 0, err
	}
	idLen := int(h.IDLen)
	nb, err := CreateBTree2(r, s, BTree2Create{Type: nameType, NodeSize: denseIndexNodeSize,
		RecordSize: uint16(nameRec + idLen), SplitPercent: denseIndexSplit, MergePercent: denseIndexMerge})
	if err != nil {
		return 0, 0, 0, err
	}
	order = Undefined
	if indexed {
		ob, err := CreateBTree2(r, s, BTree2Create{Type: orderType, NodeSize: denseIndexNodeSize,
			RecordSize: uint16(orderRec + idLen), SplitPercent: denseIndexSplit, MergePercent: denseIndexMerge})
		if err != nil {
			return 0, 0, 0, err
		}
		order = ob.Addr
	}
	return heap, nb.Addr, order, nil
}

// openDense opens dense storage for editing: records of the name index
// are nameRec bytes plus the heap ID (which starts at idPos), of the order
// index orderRec plus the ID. live picks the heap IDs of this heap out of
// name index records (nil: the record's object lives elsewhere).
func openDense(r *Reader, heapAddr, nameAddr, orderAddr uint64, nameType, orderType uint8, nameRec, orderRec int, live func(rec []byte, idLen int) []byte) (*denseIndexes, error) {
	if heapAddr == Undefined {
		return nil, Corruptf(heapAddr, "fractal heap header", "dense storage without a heap")
	}
	h, err := ReadFractalHeap(r, heapAddr)
	if err != nil {
		return nil, err
	}
	d := &denseIndexes{r: r, heap: h, idLen: int(h.IDLen)}
	check := func(addr uint64, typ uint8, size int) (*BTree2, error) {
		bt, err := openDenseIndex(r, addr, typ, size)
		if err != nil {
			return nil, err
		}
		if int(bt.RecordSize) != size {
			return nil, Unsupportedf(addr, "v2 B-tree header", "records of %d bytes, type %d has %d", bt.RecordSize, typ, size)
		}
		return bt, nil
	}
	if d.name, err = check(nameAddr, nameType, nameRec+d.idLen); err != nil {
		return nil, err
	}
	if orderAddr != Undefined {
		if d.order, err = check(orderAddr, orderType, orderRec+d.idLen); err != nil {
			return nil, err
		}
	}
	var ids [][]byte
	if err := d.name.Walk(func(rec []byte) error {
		if id := live(rec, d.idLen); id != nil {
			ids = append(ids, append([]byte(nil), id...))
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if err := h.FindFreeSpace(ids); err != nil {
		return nil, err
	}
	return d, nil
}

// nameCompare orders name index records for a name (H5G__dense_btree2_name_compare,
// H5A__dense_btree2_name_compare): by hash, then by the name of the stored
// object, which nameOf reads. A name it cannot read sorts before, and the
// error is kept in *errp.
func nameCompare(name string, hashOf func(rec []byte) uint32, nameOf func(rec []byte) (string, error), errp *error) func(rec []byte) int {
	hash := Lookup3([]byte(name), 0)
	return func(rec []byte) int {
		h := hashOf(rec)
		switch {
		case hash < h:
			return -1
		case hash > h:
			return 1
		}
		other, err := nameOf(rec)
		if err != nil {
			if *errp == nil {
				*errp = err
			}
			return -1
		}
		return strings.Compare(name, other)
	}
}

func compareUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// DenseLinks is a group's dense link storage opened for editing.
type DenseLinks struct {
	d *denseIndexes
}

// CreateDenseLinks creates the fractal heap and name index of empty dense
// link storage, and the creation order index when li says order is
// indexed, with the parameters H5G__dense_create uses; it fills in li's
// addresses.
func CreateDenseLinks(r *Reader, s Space, li *LinkInfo) error {
	heap, name, order, err := createDense(r, s, LinkHeapCreate, BTree2LinkName, BTree2LinkOrder, 4, 8, li.Flags&2 != 0)
	if err != nil {
		return err
	}
	li.HeapAddr, li.NameIndexAddr, li.OrderIndexAddr = heap, name, order
	return nil
}

// OpenDenseLinks opens a group's dense link storage for editing.
func OpenDenseLinks(r *Reader, li *LinkInfo) (*DenseLinks, error) {
	d, err := openDense(r, li.HeapAddr, li.NameIndexAddr, li.OrderIndexAddr, BTree2LinkName, BTree2LinkOrder, 4, 8,
		func(rec []byte, idLen int) []byte { return rec[4 : 4+idLen] })
	if err != nil {
		return nil, err
	}
	return &DenseLinks{d: d}, nil
}

// nameCmp compares name index records (hash u32, heap ID) with name.
// Count is how many links the storage holds, as its name index counts them.
func (dl *DenseLinks) Count() uint64 {
	dl.d.name.mu.Lock()
	defer dl.d.name.mu.Unlock()
	return dl.d.name.TotalRecords
}

func (dl *DenseLinks) nameCmp(name string, errp *error) func([]byte) int {
	d := dl.d
	return nameCompare(name, func(rec []byte) uint32 { return binary.LittleEndian.Uint32(rec) },
		func(rec []byte) (string, error) {
			l, err := dl.link(rec[4 : 4+d.idLen])
			if err != nil {
				return "", err
			}
			return l.Name, nil
		}, errp)
}

func (dl *DenseLinks) link(id []byte) (*Link, error) {
	obj, err := dl.d.heap.Object(id)
	if err != nil {
		return nil, err
	}
	return DecodeLink(obj, dl.d.heap.Addr, dl.d.r.Sizes)
}

// orderCmp compares creation order index records (order i64, heap ID),
// as signed numbers (H5G_dense_btree2_corder_compare).
func orderCmp(order int64) func([]byte) int {
	return func(rec []byte) int {
		o := int64(binary.LittleEndian.Uint64(rec))
		switch {
		case order < o:
			return -1
		case order > o:
			return 1
		}
		return 0
	}
}

// find returns the name index record of a link.
func (dl *DenseLinks) find(name string) ([]byte, error) {
	var cerr error
	rec, found, err := dl.d.name.Search(dl.nameCmp(name, &cerr))
	if err != nil {
		return nil, err
	}
	if cerr != nil {
		return nil, cerr
	}
	if !found {
		return nil, nil
	}
	return append([]byte(nil), rec...), nil
}

// Insert adds a link: msg is its encoded link message, which must name it
// and, when creation order is indexed, carry order. ErrExists when the
// group has a link of that name (or, indexed, of that creation order).
func (dl *DenseLinks) Insert(s Space, name string, msg []byte, order int64) error {
	d := dl.d
	l, err := DecodeLink(msg, Undefined, d.r.Sizes)
	if err != nil {
		return err
	}
	if l.Name != name || name == "" {
		return fmt.Errorf("dense links: message names %q, not %q: %w", l.Name, name, ErrUnsupported)
	}
	if d.order != nil && (!l.HasCreationOrder || l.CreationOrder != order) {
		return fmt.Errorf("dense links: link %q without creation order %d in its message: %w", name, order, ErrUnsupported)
	}
	rec, err := dl.find(name)
	if err != nil {
		return err
	}
	if rec != nil {
		return fmt.Errorf("link %q: %w", name, ErrExists)
	}
	if d.order != nil {
		if _, found, err := d.order.Search(orderCmp(order)); err != nil {
			return err
		} else if found {
			return fmt.Errorf("link %q: creation order %d: %w", name, order, ErrExists)
		}
	}
	id, err := d.heap.Insert(s, msg)
	if err != nil {
		return err
	}
	var cerr error
	nameRec := binary.LittleEndian.AppendUint32(nil, Lookup3([]byte(name), 0))
	if _, err := d.name.Update(s, dl.nameCmp(name, &cerr), append(nameRec, id...)); err != nil {
		return err
	}
	if cerr != nil {
		return cerr
	}
	if d.order != nil {
		orderRec := binary.LittleEndian.AppendUint64(nil, uint64(order))
		if _, err := d.order.Update(s, orderCmp(order), append(orderRec, id...)); err != nil {
			return err
		}
	}
	return nil
}

// Remove deletes a link and returns its link message; ErrNotFound when
// the group has no such link. Dropping the link's hold on its object
// (a hard link's reference count) is the caller's.
func (dl *DenseLinks) Remove(s Space, name string) ([]byte, error) {
	d := dl.d
	rec, err := dl.find(name)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, fmt.Errorf("link %q: %w", name, ErrNotFound)
	}
	id := rec[4 : 4+d.idLen]
	msg, err := d.heap.Object(id)
	if err != nil {
		return nil, err
	}
	l, err := DecodeLink(msg, d.heap.Addr, d.r.Sizes)
	if err != nil {
		return nil, err
	}
	if d.order != nil {
		if !l.HasCreationOrder {
			return nil, Corruptf(d.heap.Addr, "link message", "link %q has no creation order in a group that indexes it", name)
		}
		if _, err := d.order.Remove(s, orderCmp(l.CreationOrder)); err != nil {
			return nil, err
		}
	}
	var cerr error
	if _, err := d.name.Remove(s, dl.nameCmp(name, &cerr)); err != nil {
		return nil, err
	}
	if err := d.heap.Remove(s, id); err != nil {
		return nil, err
	}
	return msg, nil
}

// Delete frees the heap and indexes of the storage (H5G__dense_delete,
// without touching the links' objects); the handle is dead afterwards.
func (dl *DenseLinks) Delete(s Space) error {
	return dl.d.delete(s)
}

func (d *denseIndexes) delete(s Space) error {
	if err := d.heap.Delete(s); err != nil {
		return err
	}
	if err := d.name.Delete(s); err != nil {
		return err
	}
	if d.order != nil {
		return d.order.Delete(s)
	}
	return nil
}

// InsertDenseLink opens a group's dense links, adds one and closes them.
func InsertDenseLink(r *Reader, s Space, li *LinkInfo, name string, encodedLinkMsg []byte, order int64) error {
	dl, err := OpenDenseLinks(r, li)
	if err != nil {
		return err
	}
	return dl.Insert(s, name, encodedLinkMsg, order)
}

// RemoveDenseLink opens a group's dense links, removes one and returns its
// link message.
func RemoveDenseLink(r *Reader, s Space, li *LinkInfo, name string) ([]byte, error) {
	dl, err := OpenDenseLinks(r, li)
	if err != nil {
		return nil, err
	}
	return dl.Remove(s, name)
}

// DenseAttributes is an object's dense attribute storage opened for
// editing. Attributes kept in the shared message heap are not edited
// (ErrUnsupported); new ones are always stored unshared.
type DenseAttributes struct {
	d *denseIndexes
}

// Attribute index records (H5A_dense_bt2_name_rec_t, _corder_rec_t): heap
// ID (8 bytes), message flags, creation order u32 and, in the name index,
// the name's hash u32.
const (
	attrRecFlags  = attrHeapIDLen
	attrRecCorder = attrHeapIDLen + 1
	attrRecHash   = attrHeapIDLen + 5
)

// CreateDenseAttributes creates the fractal heap and name index of empty
// dense attribute storage, and the creation order index when ai says
// order is indexed, with the parameters H5A_dense_create uses; it fills in
// ai's addresses.
func CreateDenseAttributes(r *Reader, s Space, ai *AttributeInfo) error {
	heap, name, order, err := createDense(r, s, AttributeHeapCreate, BTree2AttrName, BTree2AttrOrder, 1+4+4, 1+4, ai.Flags&2 != 0)
	if err != nil {
		return err
	}
	ai.HeapAddr, ai.NameIndexAddr, ai.OrderIndexAddr = heap, name, order
	return nil
}

// OpenDenseAttributes opens an object's dense attributes for editing.
func OpenDenseAttributes(r *Reader, ai *AttributeInfo) (*DenseAttributes, error) {
	d, err := openDense(r, ai.HeapAddr, ai.NameIndexAddr, ai.OrderIndexAddr, BTree2AttrName, BTree2AttrOrder, 1+4+4, 1+4,
		func(rec []byte, _ int) []byte {
			if rec[attrRecFlags]&msgFlagShared != 0 {
				return nil
			}
			return rec[:attrHeapIDLen]
		})
	if err != nil {
		return nil, err
	}
	if d.idLen != attrHeapIDLen {
		return nil, Unsupportedf(ai.HeapAddr, "fractal heap header", "%d-byte heap IDs for attributes", d.idLen)
	}
	return &DenseAttributes{d: d}, nil
}

func (da *DenseAttributes) nameCmp(name string, errp *error) func([]byte) int {
	d := da.d
	return nameCompare(name, func(rec []byte) uint32 { return binary.LittleEndian.Uint32(rec[attrRecHash:]) },
		func(rec []byte) (string, error) {
			if rec[attrRecFlags]&msgFlagShared != 0 {
				return "", Unsupportedf(d.name.Addr, "v2 B-tree record", "attribute in the shared message heap")
			}
			obj, err := d.heap.Object(rec[:attrHeapIDLen])
			if err != nil {
				return "", err
			}
			am, err := DecodeAttribute(obj, d.heap.Addr, d.r.Sizes)
			if err != nil {
				return "", err
			}
			return am.Name, nil
		}, errp)
}

func attrOrderCmp(order uint32) func([]byte) int {
	return func(rec []byte) int {
		return compareUint(uint64(order), uint64(binary.LittleEndian.Uint32(rec[attrRecCorder:])))
	}
}

func (da *DenseAttributes) find(name string) ([]byte, error) {
	var cerr error
	rec, found, err := da.d.name.Search(da.nameCmp(name, &cerr))
	if err != nil {
		return nil, err
	}
	if cerr != nil {
		return nil, cerr
	}
	if !found {
		return nil, nil
	}
	return append([]byte(nil), rec...), nil
}

// checkAttr checks that msg is an attribute message named name.
func (da *DenseAttributes) checkAttr(name string, msg []byte) error {
	am, err := DecodeAttribute(msg, Undefined, da.d.r.Sizes)
	if err != nil {
		return err
	}
	if am.Name != name || name == "" {
		return fmt.Errorf("dense attributes: message names %q, not %q: %w", am.Name, name, ErrUnsupported)
	}
	return nil
}

// Insert adds an attribute: msg is its encoded attribute message, order
// its creation order. ErrExists when the object has an attribute of that
// name (or, indexed, of that creation order).
func (da *DenseAttributes) Insert(s Space, name string, msg []byte, order uint16) error {
	d := da.d
	if err := da.checkAttr(name, msg); err != nil {
		return err
	}
	rec, err := da.find(name)
	if err != nil {
		return err
	}
	if rec != nil {
		return fmt.Errorf("attribute %q: %w", name, ErrExists)
	}
	if d.order != nil {
		if _, found, err := d.order.Search(attrOrderCmp(uint32(order))); err != nil {
			return err
		} else if found {
			return fmt.Errorf("attribute %q: creation order %d: %w", name, order, ErrExists)
		}
	}
	id, err := d.heap.Insert(s, msg)
	if err != nil {
		return err
	}
	return da.putRecords(s, name, id, uint32(order), true)
}

// putRecords inserts (or, with insert false, updates) the index records of
// an attribute stored unshared under heap ID id.
func (da *DenseAttributes) putRecords(s Space, name string, id []byte, order uint32, insert bool) error {
	d := da.d
	rec := append(append([]byte(nil), id...), 0)
	rec = binary.LittleEndian.AppendUint32(rec, order)
	var cerr error
	inserted, err := d.name.Update(s, da.nameCmp(name, &cerr), binary.LittleEndian.AppendUint32(rec, Lookup3([]byte(name), 0)))
	if err != nil {
		return err
	}
	if cerr != nil {
		return cerr
	}
	if inserted != insert {
		return Corruptf(d.name.Addr, "v2 B-tree", "attribute %q: name index record inserted %v, expected %v", name, inserted, insert)
	}
	if d.order != nil {
		inserted, err := d.order.Update(s, attrOrderCmp(order), rec)
		if err != nil {
			return err
		}
		if inserted != insert {
			return Corruptf(d.order.Addr, "v2 B-tree", "attribute %q: creation order record inserted %v, expected %v", name, inserted, insert)
		}
	}
	return nil
}

// Remove deletes an attribute and returns its attribute message;
// ErrNotFound when the object has no such attribute. What the attribute
// holds on to (committed datatypes) is the caller's.
func (da *DenseAttributes) Remove(s Space, name string) ([]byte, error) {
	d := da.d
	rec, err := da.find(name)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, fmt.Errorf("attribute %q: %w", name, ErrNotFound)
	}
	if rec[attrRecFlags]&msgFlagShared != 0 {
		return nil, Unsupportedf(d.name.Addr, "v2 B-tree record", "removing attribute %q from the shared message heap", name)
	}
	id := rec[:attrHeapIDLen]
	msg, err := d.heap.Object(id)
	if err != nil {
		return nil, err
	}
	if d.order != nil {
		if _, err := d.order.Remove(s, attrOrderCmp(binary.LittleEndian.Uint32(rec[attrRecCorder:]))); err != nil {
			return nil, err
		}
	}
	var cerr error
	if _, err := d.name.Remove(s, da.nameCmp(name, &cerr)); err != nil {
		return nil, err
	}
	if err := d.heap.Remove(s, id); err != nil {
		return nil, err
	}
	return msg, nil
}

// Replace gives an existing attribute a new message (a new value), keeping
// its creation order: in place when the message keeps its length (as
// H5A_dense_write does), else stored anew and the index records pointed at
// it. ErrNotFound when there is no such attribute.
func (da *DenseAttributes) Replace(s Space, name string, msg []byte) error {
	d := da.d
	if err := da.checkAttr(name, msg); err != nil {
		return err
	}
	rec, err := da.find(name)
	if err != nil {
		return err
	}
	if rec == nil {
		return fmt.Errorf("attribute %q: %w", name, ErrNotFound)
	}
	if rec[attrRecFlags]&msgFlagShared != 0 {
		return Unsupportedf(d.name.Addr, "v2 B-tree record", "rewriting attribute %q in the shared message heap", name)
	}
	id := rec[:attrHeapIDLen]
	old, err := d.heap.Object(id)
	if err != nil {
		return err
	}
	if len(old) == len(msg) && id[0]&heapIDTypeMask != heapIDTiny {
		return d.heap.Write(s, id, msg)
	}
	newID, err := d.heap.Insert(s, msg)
	if err != nil {
		return err
	}
	if err := da.putRecords(s, name, newID, binary.LittleEndian.Uint32(rec[attrRecCorder:]), false); err != nil {
		return err
	}
	return d.heap.Remove(s, id)
}

// Delete frees the heap and indexes of the storage (H5A_dense_delete,
// without touching what the attributes hold on to); the handle is dead
// afterwards. Attributes in the shared message heap answer ErrUnsupported.
func (da *DenseAttributes) Delete(s Space) error {
	d := da.d
	if err := d.name.Walk(func(rec []byte) error {
		if rec[attrRecFlags]&msgFlagShared != 0 {
			return Unsupportedf(d.name.Addr, "v2 B-tree record", "attribute in the shared message heap")
		}
		return nil
	}); err != nil {
		return err
	}
	return d.delete(s)
}

// InsertDenseAttribute opens an object's dense attributes and adds one.
func InsertDenseAttribute(r *Reader, s Space, ai *AttributeInfo, name string, encodedAttrMsg []byte, order uint16) error {
	da, err := OpenDenseAttributes(r, ai)
	if err != nil {
		return err
	}
	return da.Insert(s, name, encodedAttrMsg, order)
}

// RemoveDenseAttribute opens an object's dense attributes, removes one and
// returns its attribute message.
func RemoveDenseAttribute(r *Reader, s Space, ai *AttributeInfo, name string) ([]byte, error) {
	da, err := OpenDenseAttributes(r, ai)
	if err != nil {
		return nil, err
	}
	return da.Remove(s, name)
}

// ReplaceDenseAttribute opens an object's dense attributes and gives one a
// new message.
func ReplaceDenseAttribute(r *Reader, s Space, ai *AttributeInfo, name string, encodedAttrMsg []byte) error {
	da, err := OpenDenseAttributes(r, ai)
	if err != nil {
		return err
	}
	return da.Replace(s, name, encodedAttrMsg)
}
