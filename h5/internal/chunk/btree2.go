package chunk

import "github.com/h5mount/h5mount/h5/internal/format"

func openBTree2Index(p Params) (Index, error) {
	return nil, format.Unsupportedf(p.Layout.Addr, "chunk index", "version 2 B-tree index")
}
