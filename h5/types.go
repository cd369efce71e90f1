package h5

import "github.com/h5mount/h5mount/h5/internal/format"

// Datatype describes how one element is stored. It is the decoded datatype
// message; see the HDF5 specification for the meaning of each field.
type Datatype = format.Datatype

// Member is one field of a compound datatype.
type Member = format.Member

// Class is a datatype class.
type Class = format.Class

// Datatype classes.
const (
	ClassInteger   = format.ClassFixed
	ClassFloat     = format.ClassFloat
	ClassTime      = format.ClassTime
	ClassString    = format.ClassString
	ClassBitfield  = format.ClassBitfield
	ClassOpaque    = format.ClassOpaque
	ClassCompound  = format.ClassCompound
	ClassReference = format.ClassReference
	ClassEnum      = format.ClassEnum
	ClassVLen      = format.ClassVLen
	ClassArray     = format.ClassArray
	ClassComplex   = format.ClassComplex
)

// String padding and character sets of string types.
const (
	PadNullTerm  = format.PadNullTerm
	PadNullPad   = format.PadNullPad
	PadSpacePad  = format.PadSpacePad
	CharSetASCII = format.CharSetASCII
	CharSetUTF8  = format.CharSetUTF8
)

// Unlimited is a maximum dimension without bound.
const Unlimited = format.Unlimited

// ExternalFile is one slot of a dataset's external raw data storage.
type ExternalFile = format.ExternalFile

// Filter is one stage of a dataset's filter pipeline.
type Filter = format.Filter

// Layout classes.
type Layout int

// Dataset storage layouts.
const (
	LayoutCompact    Layout = format.LayoutCompact
	LayoutContiguous Layout = format.LayoutContiguous
	LayoutChunked    Layout = format.LayoutChunked
	LayoutVirtual    Layout = format.LayoutVirtual
)

func (l Layout) String() string {
	switch l {
	case LayoutCompact:
		return "compact"
	case LayoutContiguous:
		return "contiguous"
	case LayoutChunked:
		return "chunked"
	case LayoutVirtual:
		return "virtual"
	}
	return "unknown"
}

// Uint8Type is an unsigned byte, as NumPy's "|u1".
func Uint8Type() *Datatype {
	return &Datatype{Class: ClassInteger, Version: 1, Size: 1, Precision: 8}
}
