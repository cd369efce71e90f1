// Package xattr turns HDF5 attribute values and dataset properties into the
// text that extended attributes carry, as SPEC section 5 describes. It knows
// HDF5 types (from package h5) and nothing of FUSE.
package xattr

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/h5mount/h5mount/h5"
)

// Prefix is the namespace every attribute appears in.
const Prefix = "user."

// PropertyPrefix marks the read-only dataset properties.
const PropertyPrefix = "user.h5."

// MaxValueSize is Linux's limit for one extended attribute value.
const MaxValueSize = 64 << 10

// ErrTooBig means a value exceeds MaxValueSize (E2BIG for the caller).
var ErrTooBig = errors.New("xattr: value exceeds 64 KiB")

// VLenReader resolves a stored variable-length element to its bytes.
type VLenReader interface {
	ReadVLen(elem []byte) ([]byte, uint32, error)
}

// Attribute renders an attribute's value as text.
func Attribute(a *h5.Attribute) (string, error) {
	if a.Err != nil {
		return "", a.Err
	}
	return Value(a.Type, a.Space, a.Data, a.File())
}

// Value renders data, shaped by space, as text: a scalar as a bare value,
// anything with dimensions as (nested) JSON arrays.
func Value(t *h5.Datatype, space h5.Dataspace, data []byte, vl VLenReader) (string, error) {
	var b strings.Builder
	f := formatter{vl: vl, b: &b}
	switch space.Kind {
	case h5.SpaceNull:
		return "", nil
	case h5.SpaceScalar:
		if err := f.element(t, data, true); err != nil {
			return "", err
		}
	default:
		if err := f.array(t, space.Dims, data); err != nil {
			return "", err
		}
	}
	if b.Len() > MaxValueSize {
		return "", ErrTooBig
	}
	return b.String(), nil
}

type formatter struct {
	vl VLenReader
	b  *strings.Builder
}

func (f *formatter) array(t *h5.Datatype, dims []uint64, data []byte) error {
	if len(dims) == 0 {
		return f.element(t, data, false)
	}
	stride := uint64(t.Size)
	for _, d := range dims[1:] {
		stride *= d
	}
	if dims[0]*stride > uint64(len(data)) {
		return fmt.Errorf("xattr: value of %d bytes too short for its shape: %w", len(data), h5.ErrCorrupt)
	}
	f.b.WriteByte('[')
	for i := uint64(0); i < dims[0]; i++ {
		if i > 0 {
			f.b.WriteString(", ")
		}
		if err := f.array(t, dims[1:], data[i*stride:(i+1)*stride]); err != nil {
			return err
		}
		if f.b.Len() > MaxValueSize {
			return ErrTooBig
		}
	}
	f.b.WriteByte(']')
	return nil
}

// element writes one element; top says it stands alone (strings are then
// bare text, inside JSON they are quoted).
func (f *formatter) element(t *h5.Datatype, data []byte, top bool) error {
	if uint64(len(data)) < uint64(t.Size) {
		return fmt.Errorf("xattr: element of %d bytes, type needs %d: %w", len(data), t.Size, h5.ErrCorrupt)
	}
	data = data[:t.Size]
	switch t.Class {
	case h5.ClassInteger, h5.ClassBitfield, h5.ClassTime:
		f.b.WriteString(formatInteger(t, data))
	case h5.ClassFloat:
		s, err := formatFloat(t, data)
		if err != nil {
			return err
		}
		f.b.WriteString(s)
	case h5.ClassString:
		f.text(trimFixedString(data, t.StrPad), top)
	case h5.ClassEnum:
		for i, v := range t.Values {
			if string(v) == string(data) {
				f.text(t.Names[i], top)
				return nil
			}
		}
		f.b.WriteString(formatInteger(t.Base, data))
	case h5.ClassVLen:
		if f.vl == nil {
			return fmt.Errorf("xattr: variable-length value without a file: %w", h5.ErrUnsupported)
		}
		raw, count, err := f.vl.ReadVLen(data)
		if err != nil {
			return err
		}
		if t.VLenStr {
			if uint64(count) > uint64(len(raw)) {
				return fmt.Errorf("xattr: string of %d bytes in a %d-byte heap object: %w", count, len(raw), h5.ErrCorrupt)
			}
			f.text(trimFixedString(raw[:count], h5.PadNullTerm), top)
			return nil
		}
		n := uint64(count)
		if n*uint64(t.Base.Size) > uint64(len(raw)) {
			return fmt.Errorf("xattr: sequence of %d elements in a %d-byte heap object: %w", n, len(raw), h5.ErrCorrupt)
		}
		return f.array(t.Base, []uint64{n}, raw)
	case h5.ClassArray:
		dims := make([]uint64, len(t.Dims))
		for i, d := range t.Dims {
			dims[i] = uint64(d)
		}
		return f.array(t.Base, dims, data)
	case h5.ClassCompound:
		if _, ok := complexDType(t); ok {
			// h5py's complex numbers (a compound of floats "r" and "i")
			// read as a JSON pair, like HDF5 2.0 complex values.
			ft := t.Members[0].Type
			f.b.WriteByte('[')
			if err := f.element(ft, data[:ft.Size], false); err != nil {
				return err
			}
			f.b.WriteString(", ")
			if err := f.element(ft, data[ft.Size:2*ft.Size], false); err != nil {
				return err
			}
			f.b.WriteByte(']')
			return nil
		}
		f.b.WriteByte('{')
		for i, m := range t.Members {
			if i > 0 {
				f.b.WriteString(", ")
			}
			f.b.WriteString(strconv.Quote(m.Name))
			f.b.WriteString(": ")
			end := uint64(m.Offset) + uint64(m.Type.Size)
			if end > uint64(len(data)) {
				return fmt.Errorf("xattr: compound member %q beyond the element: %w", m.Name, h5.ErrCorrupt)
			}
			if err := f.element(m.Type, data[m.Offset:end], false); err != nil {
				return err
			}
		}
		f.b.WriteByte('}')
	case h5.ClassReference:
		f.text(f.reference(t, data), top)
	case h5.ClassComplex:
		// HDF5 2.0 complex numbers: the real and imaginary parts, each of
		// the base float type, as a JSON pair (as h5py's JSON form of a
		// NumPy complex).
		b := t.Base
		if b == nil || b.Class != h5.ClassFloat || 2*uint64(b.Size) > uint64(len(data)) {
			return fmt.Errorf("xattr: complex type without a float base: %w", h5.ErrCorrupt)
		}
		f.b.WriteByte('[')
		if err := f.element(b, data[:b.Size], false); err != nil {
			return err
		}
		f.b.WriteString(", ")
		if err := f.element(b, data[b.Size:2*b.Size], false); err != nil {
			return err
		}
		f.b.WriteByte(']')
	case h5.ClassOpaque:
		f.text(fmt.Sprintf("%x", data), top)
	default:
		return fmt.Errorf("xattr: %v values: %w", t.Class, h5.ErrUnsupported)
	}
	return nil
}

// refResolver is what a file offers to show references by path.
type refResolver interface {
	Reference(t *h5.Datatype, elem []byte) (h5.Reference, error)
	PathOf(addr uint64) (string, bool)
}

// reference renders a reference element: an object reference as the path
// of the object it points to (as h5py dereferences it), a region reference
// as that path and the selected region as h5dump writes it
// ("/data {(0,1)-(2,3)}"), an attribute reference as the path, "@" and the
// attribute's name, a null reference as the empty string. A reference to
// another file shows that file's name and "::" before the object's address;
// one that leads nowhere shows its stored bytes in hex.
func (f *formatter) reference(t *h5.Datatype, data []byte) string {
	hex := fmt.Sprintf("%x", data)
	r, ok := f.vl.(refResolver)
	if !ok {
		return hex
	}
	ref, err := r.Reference(t, data)
	if err != nil {
		return hex
	}
	if ref.Null {
		return ""
	}
	var p string
	if ref.File != "" {
		p = fmt.Sprintf("%s::0x%x", ref.File, ref.Addr)
	} else if p, ok = r.PathOf(ref.Addr); !ok {
		return hex
	}
	switch ref.Kind {
	case h5.RefToRegion:
		if ref.Region != nil {
			if sel := ref.Region.String(); sel != "" {
				p += " " + sel
			}
		}
	case h5.RefToAttribute:
		p += "@" + ref.Attribute
	}
	return p
}

func (f *formatter) text(s string, top bool) {
	if top {
		f.b.WriteString(s)
		return
	}
	f.b.WriteString(jsonQuote(s))
}

// jsonQuote quotes a string as JSON does (strconv.Quote escapes differently
// for non-ASCII and control characters).
func jsonQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 {
				fmt.Fprintf(&b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

func trimFixedString(b []byte, pad uint8) string {
	switch pad {
	case h5.PadNullTerm:
		for i, c := range b {
			if c == 0 {
				return string(b[:i])
			}
		}
	case h5.PadNullPad:
		return strings.TrimRight(string(b), "\x00")
	case h5.PadSpacePad:
		// libhdf5 drops the spaces when h5py reads the string; h5py then
		// strips trailing NULs.
		return strings.TrimRight(strings.TrimRight(string(b), " "), "\x00")
	}
	return string(b)
}
