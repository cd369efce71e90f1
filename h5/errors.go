// Package h5 reads HDF5 files: groups, datasets and attributes, over any
// io.ReaderAt. It is a library of its own; the FUSE mount is one user of it.
//
// A dataset is read as the bytes of its elements in row-major order, each in
// its stored representation, by byte offset (Dataset.ReadAt) or by hyperslab
// (Dataset.ReadHyperslab). Reads touch only the chunks they overlap.
package h5

import (
	"errors"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// Sentinel errors; every error from this package wraps one of them (or an
// I/O error from the underlying reader).
var (
	// ErrCorrupt: the file contradicts the HDF5 format.
	ErrCorrupt = format.ErrCorrupt
	// ErrUnsupported: valid HDF5 that this engine cannot decode (a filter
	// such as SZ, say).
	ErrUnsupported = format.ErrUnsupported
	// ErrNotHDF5: no HDF5 superblock signature.
	ErrNotHDF5 = format.ErrNotHDF5
	// ErrNotFound: no link of that name.
	ErrNotFound = format.ErrNotFound
	// ErrExists: a link or attribute of that name is already there.
	ErrExists = format.ErrExists
	// ErrOutOfRange: an access outside the dataset's extent.
	ErrOutOfRange = errors.New("h5: out of range")
)

// FormatError is the error type that carries a file address.
type FormatError = format.FormatError
