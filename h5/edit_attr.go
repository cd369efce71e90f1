package h5

import (
	"errors"
	"fmt"
	"math"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// AttributeValue is a value to store as an attribute.
type AttributeValue struct {
	Type *Datatype
	Dims []uint64 // nil for a scalar
	// Data holds the elements of a fixed-size type; Strings one string per
	// element of a variable-length string type.
	Data    []byte
	Strings []string
}

// SetMode says whether an attribute must or must not exist already, as
// setxattr's XATTR_CREATE and XATTR_REPLACE do.
type SetMode int

// Set modes.
const (
	SetAny SetMode = iota
	SetCreate
	SetReplace
)

// maxMessageBody is what one header message can hold.
const maxMessageBody = 0xffff

// SetAttribute creates or replaces the attribute name. Objects with
// version 2 headers move their attributes into dense storage past the
// header's compact limit (8 by default), as libhdf5 does.
func (o *Object) SetAttribute(name string, v AttributeValue, mode SetMode) error {
	return o.f.edit(func() error {
		if name == "" {
			return fmt.Errorf("h5: attribute with an empty name: %w", ErrInvalidName)
		}
		_, err := o.Attribute(name)
		exists := err == nil
		if err != nil && !isNotFound(err) {
			return err
		}
		if exists && mode == SetCreate {
			return fmt.Errorf("h5: attribute %q: %w", name, ErrExists)
		}
		if !exists && mode == SetReplace {
			return fmt.Errorf("h5: attribute %q: %w", name, ErrNotFound)
		}
		body, err := o.encodeAttribute(name, v)
		if err != nil {
			return err
		}
		s := storage{o.f}
		ai, err := o.attributeInfo()
		if err != nil {
			return err
		}
		if ai != nil && ai.HeapAddr != format.Undefined {
			da, err := o.dense(ai)
			if err != nil {
				return err
			}
			if exists {
				err = da.Replace(s, name, body)
			} else {
				var order uint16
				if order, err = o.nextAttributeOrder(ai); err == nil {
					err = da.Insert(s, name, body, order)
				}
				if err == nil {
					err = o.rewriteAttributeInfo(ai)
				}
			}
			if err != nil {
				o.denseAttrs = nil
			}
			return err
		}
		count := len(o.header().FindAll(format.MsgAttribute))
		if !exists {
			count++
		}
		if o.header().Version == 2 && (count > o.maxCompactAttributes() || len(body) > maxMessageBody) {
			return o.attributesToDense(name, body)
		}
		if len(body) > maxMessageBody {
			return fmt.Errorf("h5: attribute %q of %d bytes exceeds what an old-style object header holds: %w", name, len(body), ErrUnsupported)
		}
		e, err := format.EditObjectHeader(o.f.r, o.header())
		if err != nil {
			return err
		}
		msg := format.NewMessage{Type: format.MsgAttribute, Data: body}
		if exists {
			// A new value keeps the attribute's place in creation order,
			// as libhdf5's H5Awrite does.
			if old := o.compactAttribute(name); old != nil {
				msg.CreationOrder = old.CreationOrder
			}
			_, err = e.Replace(s, format.MsgAttribute, attributeNamed(name), msg)
		} else {
			if o.tracksAttributeOrder(ai) {
				// netCDF-4 lists attributes in creation order: a new one
				// comes last, and the next gets the next index.
				if msg.CreationOrder, err = o.nextAttributeOrder(ai); err == nil {
					info := format.NewMessage{Type: format.MsgAttributeInfo, Data: format.EncodeAttributeInfo(ai, o.f.r.Sizes)}
					_, err = e.Replace(s, format.MsgAttributeInfo, func([]byte) bool { return true }, info)
				}
			}
			if err == nil {
				err = e.Add(s, msg)
			}
		}
		if err == nil {
			err = e.Commit(s)
		}
		if err != nil {
			return err
		}
		return o.reload()
	})
}

// DeleteAttribute removes the attribute name.
func (o *Object) DeleteAttribute(name string) error {
	return o.f.edit(func() error {
		if _, err := o.Attribute(name); err != nil {
			return err
		}
		s := storage{o.f}
		ai, err := o.attributeInfo()
		if err != nil {
			return err
		}
		if ai != nil && ai.HeapAddr != format.Undefined {
			da, err := o.dense(ai)
			if err != nil {
				return err
			}
			if _, err := da.Remove(s, name); err != nil {
				o.denseAttrs = nil
				return err
			}
			return nil
		}
		e, err := format.EditObjectHeader(o.f.r, o.header())
		if err != nil {
			return err
		}
		match := attributeNamed(name)
		if e.Remove(func(typ uint16, data []byte) bool { return typ == format.MsgAttribute && match(data) }) == 0 {
			return fmt.Errorf("h5: attribute %q of object 0x%x: %w", name, o.Addr, ErrNotFound)
		}
		if err := e.Commit(s); err != nil {
			return err
		}
		return o.reload()
	})
}

func isNotFound(err error) bool { return err != nil && errors.Is(err, ErrNotFound) }

// attributeNamed matches the attribute message of that name, by its name
// alone.
func attributeNamed(name string) func([]byte) bool {
	return func(data []byte) bool {
		n, err := format.AttributeName(data, 0)
		return err == nil && string(n) == name
	}
}

// dense is the object's handle on its dense attribute storage. The caller
// holds f.wr.meta.
func (o *Object) dense(ai *format.AttributeInfo) (*format.DenseAttributes, error) {
	if o.denseAttrs == nil {
		da, err := format.OpenDenseAttributes(o.f.r, ai)
		if err != nil {
			return nil, err
		}
		o.denseAttrs = da
	}
	return o.denseAttrs, nil
}

func (o *Object) attributeInfo() (*format.AttributeInfo, error) {
	m := o.header().Find(format.MsgAttributeInfo)
	if m == nil {
		return nil, nil
	}
	return format.DecodeAttributeInfo(m.Data, m.Addr, o.f.r.Sizes)
}

// tracksAttributeOrder reports whether the object records its attributes'
// creation order (a version 2 header's flag, with the attribute info
// message that holds the next index).
func (o *Object) tracksAttributeOrder(ai *format.AttributeInfo) bool {
	h := o.header()
	return ai != nil && h.Version == 2 && h.Flags&0x04 != 0 && ai.Flags&0x01 != 0
}

// nextAttributeOrder takes the creation index a new attribute gets. An
// object that tracks creation order refuses more than 65,535 attributes
// over its life, as libhdf5 does: the index would wrap onto taken ones.
func (o *Object) nextAttributeOrder(ai *format.AttributeInfo) (uint16, error) {
	if ai.MaxCreationIndex == math.MaxUint16 && o.tracksAttributeOrder(ai) {
		return 0, fmt.Errorf("h5: object at 0x%x: every attribute creation index is taken: %w", o.Addr, ErrNoSpace)
	}
	n := ai.MaxCreationIndex
	ai.MaxCreationIndex++
	return n, nil
}

// compactAttribute is the header message holding the attribute name, or nil.
func (o *Object) compactAttribute(name string) *format.Message {
	match := attributeNamed(name)
	for _, m := range o.header().FindAll(format.MsgAttribute) {
		if match(m.Data) {
			return m
		}
	}
	return nil
}

// maxCompactAttributes is the header's limit of attribute messages.
func (o *Object) maxCompactAttributes() int {
	h := o.header()
	if h.Flags&0x10 != 0 {
		return int(h.MaxCompact)
	}
	return defaultMaxCompact
}

func (o *Object) rewriteAttributeInfo(ai *format.AttributeInfo) error {
	return o.editAttributeInfo(ai, nil)
}

// editAttributeInfo writes the attribute info message (adding it where the
// header has none), after before changes the header if given.
func (o *Object) editAttributeInfo(ai *format.AttributeInfo, before func(*format.HeaderEdit)) error {
	s := storage{o.f}
	e, err := format.EditObjectHeader(o.f.r, o.header())
	if err != nil {
		return err
	}
	if before != nil {
		before(e)
	}
	msg := format.NewMessage{Type: format.MsgAttributeInfo, Data: format.EncodeAttributeInfo(ai, o.f.r.Sizes)}
	ok, err := e.Replace(s, format.MsgAttributeInfo, func([]byte) bool { return true }, msg)
	if err == nil && !ok {
		err = e.Add(s, msg)
	}
	if err == nil {
		err = e.Commit(s)
	}
	if err != nil {
		return err
	}
	return o.reload()
}

// attributesToDense moves every attribute into new dense storage, with
// name's new value among them.
func (o *Object) attributesToDense(name string, body []byte) error {
	f := o.f
	s := storage{f}
	ai, err := o.attributeInfo()
	if err != nil {
		return err
	}
	if ai == nil {
		ai = &format.AttributeInfo{HeapAddr: format.Undefined, NameIndexAddr: format.Undefined, OrderIndexAddr: format.Undefined}
	}
	if err := format.CreateDenseAttributes(f.r, s, ai); err != nil {
		return err
	}
	o.denseAttrs = nil
	da, err := o.dense(ai)
	if err != nil {
		return err
	}
	// Where creation order is tracked, each attribute keeps its index
	// (the one replaced too); a new one takes the next.
	tracked := o.tracksAttributeOrder(ai)
	var order uint16
	kept := false
	for _, m := range o.header().FindAll(format.MsgAttribute) {
		a, err := format.DecodeAttribute(m.Data, m.Addr, f.r.Sizes)
		if err != nil {
			return err
		}
		if a.Name == name {
			order, kept = m.CreationOrder, tracked
			continue
		}
		own := m.CreationOrder
		if !tracked {
			if own, err = o.nextAttributeOrder(ai); err != nil {
				return err
			}
		}
		if err := da.Insert(s, a.Name, m.Data, own); err != nil {
			o.denseAttrs = nil
			return err
		}
	}
	if !kept {
		if order, err = o.nextAttributeOrder(ai); err != nil {
			return err
		}
	}
	if err := da.Insert(s, name, body, order); err != nil {
		o.denseAttrs = nil
		return err
	}
	return o.editAttributeInfo(ai, func(e *format.HeaderEdit) {
		e.Remove(func(typ uint16, _ []byte) bool { return typ == format.MsgAttribute })
	})
}

// encodeAttribute is the attribute message for name = v, in the version
// the object's header calls for, with variable-length strings put in a
// new global heap collection.
func (o *Object) encodeAttribute(name string, v AttributeValue) ([]byte, error) {
	f := o.f
	if v.Type == nil {
		return nil, fmt.Errorf("h5: attribute %q without a type: %w", name, ErrInvalid)
	}
	space := &format.Dataspace{Version: 1, Kind: format.SpaceScalar}
	if v.Dims != nil {
		space = &format.Dataspace{Version: 1, Kind: format.SpaceSimple, Dims: v.Dims}
	}
	if o.header().Version == 2 {
		space.Version = 2
	}
	n := space.NumElements()
	data := v.Data
	if v.Type.Class == ClassVLen && len(v.Type.Raw) == 0 {
		// An element is a length, a collection address and an index.
		t := *v.Type
		t.Size = uint32(8 + f.r.Sizes.Offset)
		v.Type = &t
	}
	if v.Type.Class == ClassVLen && v.Type.VLenStr {
		if uint64(len(v.Strings)) != n {
			return nil, fmt.Errorf("h5: attribute %q: %d strings for %d elements: %w", name, len(v.Strings), n, ErrInvalid)
		}
		var err error
		if data, err = f.storeVLenStrings(v.Strings); err != nil {
			return nil, err
		}
	} else if uint64(len(data)) != n*uint64(v.Type.Size) {
		return nil, fmt.Errorf("h5: attribute %q: %d bytes for %d elements of %d: %w", name, len(data), n, v.Type.Size, ErrInvalid)
	}
	am := &format.AttributeMessage{Version: 1, Name: name, Type: v.Type, Space: space, Data: data}
	if cs := linkCharSet(name); o.header().Version == 2 || cs != format.CharSetASCII {
		am.Version, am.CharSet = 3, cs
	}
	return format.EncodeAttribute(am, o.f.r.Sizes)
}

// storeVLenStrings puts strings into a new global heap collection and
// returns the variable-length elements that point to them.
func (f *File) storeVLenStrings(strs []string) ([]byte, error) {
	objs := make([][]byte, len(strs))
	for i, s := range strs {
		objs[i] = []byte(s)
	}
	var addr uint64
	if len(strs) > 0 {
		var err error
		if addr, err = format.CreateGlobalHeapCollection(f.r, storage{f}, objs); err != nil {
			return nil, err
		}
	}
	e := &format.Encoder{Sizes: f.r.Sizes}
	for i, s := range strs {
		e.U32(uint32(len(s)))
		e.Offset(addr)
		e.U32(uint32(i + 1))
	}
	return e.Buf, nil
}
