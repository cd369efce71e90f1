package format

// minGlobalHeapCollection is the smallest collection libhdf5 makes
// (H5HG_MINSIZE).
const minGlobalHeapCollection = 4096

// CreateGlobalHeapCollection writes a new global heap collection holding
// objs (index i+1 for objs[i], reference count 0 as libhdf5 writes for
// variable-length data) and returns the collection's address. The rest of
// the collection is the free-space object, whose size counts its header.
func CreateGlobalHeapCollection(r *Reader, s Space, objs [][]byte) (uint64, error) {
	hdr := uint64(8+r.Sizes.Length+7) &^ 7
	if len(objs) > 0xffff-1 {
		return Undefined, Unsupportedf(Undefined, "global heap collection", "%d objects in one collection", len(objs))
	}
	size := max(usedGlobalHeap(hdr, objs), minGlobalHeapCollection)
	// Room for a free-space object, or none at all: a remainder smaller
	// than an object header cannot be described.
	if rest := size - usedGlobalHeap(hdr, objs); rest != 0 && rest < hdr {
		size += hdr
	}
	e := &Encoder{Sizes: r.Sizes}
	e.Bytes([]byte("GCOL"))
	e.U8(1)
	e.Zeros(3)
	e.Length(size)
	e.Zeros(int(hdr) - len(e.Buf))
	objHeader := func(idx uint16, n uint64) {
		start := len(e.Buf)
		e.U16(idx)
		e.U16(0)
		e.U32(0)
		e.Length(n)
		e.Zeros(int(hdr) - (len(e.Buf) - start))
	}
	for i, o := range objs {
		objHeader(uint16(i+1), uint64(len(o)))
		e.Bytes(o)
		e.Zeros(int((uint64(len(o))+7)&^7) - len(o))
	}
	if rest := size - uint64(len(e.Buf)); rest > 0 {
		objHeader(0, rest)
		e.Zeros(int(size) - len(e.Buf))
	}
	addr, err := s.Alloc(size)
	if err != nil {
		return Undefined, err
	}
	if err := s.WriteAt(e.Buf, addr); err != nil {
		return Undefined, err
	}
	return addr, nil
}

func usedGlobalHeap(hdr uint64, objs [][]byte) uint64 {
	used := hdr
	for _, o := range objs {
		used += hdr + (uint64(len(o))+7)&^7
	}
	return used
}
