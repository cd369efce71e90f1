package format

// Shared object header messages (SOHM): a file whose superblock extension
// holds a shared message table message (type 0x0f) may keep datatypes,
// dataspaces, fill values, filter pipelines and attributes once, in a
// fractal heap per index, and refer to them from object headers by an
// 8-byte heap ID (a version 3 shared message of type 1).

// maxSOHMIndex bounds the indexes of a table (H5O_SHMESG_MAX_NINDEXES is 8).
const maxSOHMIndex = 32

// SOHMIndex is one index of the shared message table.
type SOHMIndex struct {
	Version     uint8
	Type        uint8 // 0 list, 1 v2 B-tree
	TypeFlags   uint16
	MinSize     uint32
	ListMax     uint16
	BTreeMin    uint16
	NumMessages uint16
	IndexAddr   uint64
	HeapAddr    uint64
}

// SOHMTable is the decoded master table ("SMTB").
type SOHMTable struct {
	Addr    uint64
	Indexes []SOHMIndex
}

// SOHMFlagFor maps a header message type to its bit in an index's message
// type flags: libhdf5 sets bit 1<<type (dataspace 0x0002, datatype 0x0008,
// fill value 0x0020, filter pipeline 0x0800, attribute 0x1000). It is 0
// for types that cannot be shared through the table.
func SOHMFlagFor(msgType uint16) uint16 {
	switch msgType {
	case MsgDataspace, MsgDatatype, MsgFillValue, MsgFilterPipeline, MsgAttribute:
		return 1 << msgType
	}
	return 0
}

// DecodeSOHMTableMessage decodes the shared message table message: the
// master table's address and its number of indexes.
func DecodeSOHMTableMessage(buf []byte, addr uint64, sizes Sizes) (tableAddr uint64, nindexes int, err error) {
	d := NewDecoder(buf, addr, "shared message table message", sizes)
	if v := d.U8(); v != 0 && d.Err() == nil {
		return 0, 0, Unsupportedf(addr, "shared message table message", "version %d", v)
	}
	tableAddr = d.Offset()
	nindexes = int(d.U8())
	return tableAddr, nindexes, d.Err()
}

// ReadSOHMTable reads the master table of nindexes indexes at addr.
func ReadSOHMTable(r *Reader, addr uint64, nindexes int) (*SOHMTable, error) {
	const what = "shared message table"
	if nindexes < 1 || nindexes > maxSOHMIndex {
		return nil, Corruptf(addr, what, "%d indexes", nindexes)
	}
	entry := 1 + 1 + 2 + 4 + 2 + 2 + 2 + 2*r.Sizes.Offset
	size := 4 + nindexes*entry + 4
	buf, err := r.Read(addr, size, what)
	if err != nil {
		return nil, err
	}
	if err := VerifyChecksum(buf, addr, what); err != nil {
		return nil, err
	}
	d := NewDecoder(buf, addr, what, r.Sizes)
	d.Signature("SMTB")
	t := &SOHMTable{Addr: addr}
	for i := 0; i < nindexes && d.Err() == nil; i++ {
		x := SOHMIndex{Version: d.U8(), Type: d.U8(), TypeFlags: d.U16(), MinSize: d.U32(),
			ListMax: d.U16(), BTreeMin: d.U16(), NumMessages: d.U16(), IndexAddr: d.Offset(), HeapAddr: d.Offset()}
		if d.Err() == nil && x.Version != 0 {
			return nil, Unsupportedf(addr, what, "index version %d", x.Version)
		}
		t.Indexes = append(t.Indexes, x)
	}
	if err := d.Err(); err != nil {
		return nil, err
	}
	return t, nil
}

// IndexFor returns the index that holds messages of the given header
// message type.
func (t *SOHMTable) IndexFor(msgType uint16) (*SOHMIndex, bool) {
	flag := SOHMFlagFor(msgType)
	if flag == 0 {
		return nil, false
	}
	for i := range t.Indexes {
		if t.Indexes[i].TypeFlags&flag != 0 {
			return &t.Indexes[i], true
		}
	}
	return nil, false
}
