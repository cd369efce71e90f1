package h5

import (
	"encoding/binary"
	"fmt"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// RefKind says what a reference points to.
type RefKind int

// Reference kinds.
const (
	RefToObject    RefKind = iota // a group, dataset or named datatype
	RefToRegion                   // a selection of a dataset's elements
	RefToAttribute                // an attribute of an object
)

// Selection is a decoded dataspace selection (region references and
// virtual dataset mappings). Its String method renders it as h5dump writes
// a region: "{(0,1)-(2,3), (5,5)-(6,6)}", "{(1,2), (3,4)}".
type Selection = format.Selection

// Reference is one decoded reference element.
type Reference struct {
	Kind RefKind
	Null bool   // a reference to nothing
	Addr uint64 // object header address of the referenced object
	// File is the file holding the object, for references to other files
	// (1.12-style external references); empty for this file.
	File      string
	Attribute string     // RefToAttribute: the attribute's name
	Region    *Selection // RefToRegion: the selected elements
}

// Reference decodes one element of a reference datatype: the pre-1.12
// object references (an object header address) and region references (a
// global heap ID of the address and a serialized selection), and the
// 1.12-style object, region and attribute references (a type byte, flags,
// a length and a global heap ID of the encoded reference).
func (f *File) Reference(t *Datatype, elem []byte) (Reference, error) {
	if t.Class != ClassReference {
		return Reference{}, fmt.Errorf("h5: a %v is not a reference: %w", t.Class, ErrCorrupt)
	}
	if uint64(len(elem)) < uint64(t.Size) {
		return Reference{}, fmt.Errorf("h5: reference element of %d bytes, type says %d: %w", len(elem), t.Size, ErrCorrupt)
	}
	so := f.r.Sizes.Offset
	switch t.RefType {
	case format.RefObject:
		if len(elem) < so {
			return Reference{}, fmt.Errorf("h5: object reference of %d bytes: %w", len(elem), ErrCorrupt)
		}
		addr := format.DecodeUint(elem[:so])
		if addr == 0 || addr == uint64(1)<<(8*uint(so))-1 || (so == 8 && addr == format.Undefined) {
			return Reference{Kind: RefToObject, Null: true}, nil
		}
		return Reference{Kind: RefToObject, Addr: addr}, nil
	case format.RefRegion:
		d := format.NewDecoder(elem, 0, "region reference", f.r.Sizes)
		id := format.GlobalHeapID{CollectionAddr: d.Offset(), Index: d.U32()}
		if err := d.Err(); err != nil {
			return Reference{}, err
		}
		if id.CollectionAddr == 0 || id.CollectionAddr == format.Undefined {
			return Reference{Kind: RefToRegion, Null: true}, nil
		}
		obj, err := f.globalHeapObject(id)
		if err != nil {
			return Reference{}, err
		}
		hd := format.NewDecoder(obj, id.CollectionAddr, "region reference", f.r.Sizes)
		ref := Reference{Kind: RefToRegion, Addr: hd.Offset()}
		ref.Region = format.DecodeSelection(hd)
		if err := hd.Err(); err != nil {
			return Reference{}, err
		}
		return ref, nil
	case format.RefObject2, format.RefRegion2, format.RefAttr2:
		return f.reference2(elem)
	}
	return Reference{}, fmt.Errorf("h5: reference type %d: %w", t.RefType, ErrUnsupported)
}

// globalHeapObject returns one object of a global heap collection.
func (f *File) globalHeapObject(id format.GlobalHeapID) ([]byte, error) {
	c, err := f.globalHeap(id.CollectionAddr)
	if err != nil {
		return nil, err
	}
	obj, ok := c.Objects[id.Index]
	if !ok {
		return nil, format.Corruptf(id.CollectionAddr, "global heap collection", "no object %d", id.Index)
	}
	return obj, nil
}

// reference2 decodes a 1.12-style reference as stored in a file. It starts
// with the type and flags bytes of the encoded reference. An object
// reference to this file holds the rest inline: the object token's size
// and the token. Any other keeps a 32-bit length and the global heap ID
// where the rest is (token size and token, an external file's name, then
// the selection or attribute name).
func (f *File) reference2(elem []byte) (Reference, error) {
	const what = "reference"
	d := format.NewDecoder(elem, 0, what, f.r.Sizes)
	typ := d.U8()
	flags := d.U8()
	if typ == format.RefObject2 && flags&1 == 0 {
		tokenSize := int(d.U8())
		token := d.Bytes(tokenSize)
		if err := d.Err(); err != nil {
			return Reference{}, err
		}
		if tokenSize > 16 {
			return Reference{}, fmt.Errorf("h5: reference with an object token of %d bytes: %w", tokenSize, ErrCorrupt)
		}
		var tok [16]byte
		copy(tok[:], token)
		addr := binary.LittleEndian.Uint64(tok[:8])
		return Reference{Kind: RefToObject, Addr: addr, Null: addr == 0}, nil
	}
	size := d.U32()
	id := format.GlobalHeapID{CollectionAddr: d.Offset(), Index: d.U32()}
	if err := d.Err(); err != nil {
		return Reference{}, err
	}
	var ref Reference
	switch typ {
	case 0:
		// An unset reference: all zeros.
		return Reference{Null: true}, nil
	case format.RefObject2:
		ref.Kind = RefToObject
	case format.RefRegion2:
		ref.Kind = RefToRegion
	case format.RefAttr2:
		ref.Kind = RefToAttribute
	default:
		return Reference{}, fmt.Errorf("h5: reference of type %d: %w", typ, ErrUnsupported)
	}
	if id.CollectionAddr == 0 || id.CollectionAddr == format.Undefined {
		ref.Null = true
		return ref, nil
	}
	blob, err := f.globalHeapObject(id)
	if err != nil {
		return Reference{}, err
	}
	if uint64(size) < uint64(len(blob)) {
		blob = blob[:size]
	}
	b := format.NewDecoder(blob, id.CollectionAddr, what, f.r.Sizes)
	tokenSize := int(b.U8())
	token := b.Bytes(tokenSize)
	if err := b.Err(); err != nil {
		return Reference{}, err
	}
	if tokenSize > 16 {
		return Reference{}, format.Corruptf(id.CollectionAddr, what, "object token of %d bytes", tokenSize)
	}
	// The native token is the object header address, little-endian.
	var tok [16]byte
	copy(tok[:], token)
	ref.Addr = binary.LittleEndian.Uint64(tok[:8])
	if flags&1 != 0 { // H5R_IS_EXTERNAL
		ref.File = refString(b)
	}
	switch ref.Kind {
	case RefToRegion:
		n := b.U32()
		b.U32() // rank of the extent
		if err := b.Err(); err != nil {
			return Reference{}, err
		}
		if int64(n) > int64(b.Remaining()) {
			return Reference{}, format.Corruptf(id.CollectionAddr, what, "selection of %d bytes in %d", n, b.Remaining())
		}
		ref.Region = format.DecodeSelection(b)
	case RefToAttribute:
		ref.Attribute = refString(b)
	}
	if err := b.Err(); err != nil {
		return Reference{}, err
	}
	return ref, nil
}

// refString reads a 16-bit length and that many bytes.
func refString(d *format.Decoder) string {
	n := int(d.U16())
	return string(d.Bytes(n))
}
