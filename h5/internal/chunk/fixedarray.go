package chunk

import "github.com/h5mount/h5mount/h5/internal/format"

func openFixedArray(p Params) (Index, error) {
	return nil, format.Unsupportedf(p.Layout.Addr, "chunk index", "fixed array index")
}
