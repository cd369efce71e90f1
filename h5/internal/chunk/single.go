package chunk

// singleIndex is the index of a dataset stored as exactly one chunk: the
// layout message holds its address directly.
type singleIndex struct {
	c Chunk
}

func newSingleIndex(p Params) *singleIndex {
	l := p.Layout
	c := Chunk{Scaled: make([]uint64, len(l.ChunkDims)), Addr: l.Addr, Size: p.ChunkBytes()}
	if p.Filtered && l.Flags&0x02 != 0 {
		c.Size = l.SingleFilteredLen
		c.FilterMask = l.SingleFilterMask
	}
	return &singleIndex{c: c}
}

func (s *singleIndex) Lookup(scaled []uint64) (Chunk, bool, error) {
	for _, x := range scaled {
		if x != 0 {
			return Chunk{}, false, nil
		}
	}
	return s.c, true, nil
}

func (s *singleIndex) Walk(visit func(Chunk) error) error { return visit(s.c) }
