package chunk

import "github.com/h5mount/h5mount/h5/internal/format"

func openExtensibleArrayWriter(p Params) (Writer, error) {
	return nil, format.Unsupportedf(p.Layout.Addr, "chunk index", "writing through the extensible array index")
}
