package xattr

import (
	"fmt"

	"github.com/h5mount/h5mount/h5"
)

// NeedsText reports whether a dataset reads as text rather than as its
// stored bytes: its elements have no fixed size (variable-length strings and
// sequences) or only mean something resolved (references).
func NeedsText(t *h5.Datatype) bool {
	return t.HasVariableSize() || t.Class == h5.ClassReference
}

// ErrTextTooBig means a dataset's text form exceeds the limit given.
var ErrTextTooBig = fmt.Errorf("xattr: text form too large: %w", h5.ErrUnsupported)

// DatasetText renders a dataset one element per line (row-major): strings
// as their text, other values as attribute values render them (JSON for
// sequences and compounds, paths for object references). The result is
// refused past max bytes, and elements are read a block at a time, so a
// claimed size costs nothing until real data is found.
func DatasetText(d *h5.Dataset, max int) ([]byte, error) {
	var out []byte
	n := d.NumElements()
	const block = 4096
	for i := uint64(0); i < n; i += block {
		var err error
		out, err = AppendElementsText(out, d, i, min(block, n-i), max)
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// AppendElementsText appends the text form of count elements from first on
// (row-major), one per line, to out, and refuses to let out grow past max
// bytes. Elements are read from the dataset a block at a time, so a
// claimed count costs nothing until real data is found.
func AppendElementsText(out []byte, d *h5.Dataset, first, count uint64, max int) ([]byte, error) {
	es := uint64(d.Type.Size)
	const block = 4096
	buf := make([]byte, min(block, count)*es)
	for i := first; i < first+count; i += block {
		k := min(block, first+count-i)
		if _, err := d.ReadAt(buf[:k*es], int64(i*es)); err != nil {
			return nil, err
		}
		for j := uint64(0); j < k; j++ {
			v, err := Value(d.Type, h5.Dataspace{Kind: h5.SpaceScalar}, buf[j*es:(j+1)*es], d.File())
			if err != nil && err != ErrTooBig {
				return nil, fmt.Errorf("element %d: %w", i+j, err)
			}
			out = append(out, v...)
			out = append(out, '\n')
			if len(out) > max {
				return nil, ErrTextTooBig
			}
		}
	}
	return out, nil
}
