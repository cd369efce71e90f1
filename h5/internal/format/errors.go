// Package format decodes the on-disk structures of an HDF5 file, one
// structure per file, named as the HDF5 File Format Specification names them.
// It knows nothing of datasets as arrays or of the mount above it.
package format

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error this package returns wraps one of them, so
// callers (and the FUSE layer) can map them to an errno with errors.Is.
var (
	// ErrCorrupt means the file contradicts the format specification.
	ErrCorrupt = errors.New("corrupt HDF5 structure")
	// ErrUnsupported means the file is valid but uses a feature not implemented.
	ErrUnsupported = errors.New("unsupported HDF5 feature")
	// ErrNotHDF5 means no HDF5 signature was found where one may stand.
	ErrNotHDF5 = errors.New("not an HDF5 file")
	// ErrNotFound means an editor was asked for a name a structure does not hold.
	ErrNotFound = errors.New("h5: no such link")
	// ErrExists means an editor was asked to add a name a structure already holds.
	ErrExists = errors.New("h5: name exists")
)

// FormatError says what was wrong and at which file address, like
// debug/elf.FormatError. It wraps a sentinel.
type FormatError struct {
	Addr uint64 // file address of the structure being decoded
	What string // structure name, "object header", "v1 B-tree node", ...
	Msg  string
	Err  error // sentinel: ErrCorrupt or ErrUnsupported
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("h5: %s at 0x%x: %s", e.What, e.Addr, e.Msg)
}

func (e *FormatError) Unwrap() error { return e.Err }

// Corruptf returns an ErrCorrupt FormatError.
func Corruptf(addr uint64, what, format string, args ...any) error {
	return &FormatError{Addr: addr, What: what, Msg: fmt.Sprintf(format, args...), Err: ErrCorrupt}
}

// Unsupportedf returns an ErrUnsupported FormatError.
func Unsupportedf(addr uint64, what, format string, args ...any) error {
	return &FormatError{Addr: addr, What: what, Msg: fmt.Sprintf(format, args...), Err: ErrUnsupported}
}
