package format

// Node types of the version 1 B-tree.
const (
	BTree1Group   = 0
	BTree1Chunk   = 1
	maxBTreeDepth = 64
)

// BTree1Node is one node of a version 1 B-tree. Keys has Entries+1 raw keys;
// Children has Entries addresses.
type BTree1Node struct {
	Addr     uint64
	Type     uint8
	Level    uint8
	Left     uint64
	Right    uint64
	Keys     [][]byte
	Children []uint64
}

// ReadBTree1Node reads the node at addr whose keys are keySize bytes.
func ReadBTree1Node(r *Reader, addr uint64, keySize int) (*BTree1Node, error) {
	hdrSize := 8 + 2*r.Sizes.Offset
	d, err := r.Decoder(addr, hdrSize, "v1 B-tree node")
	if err != nil {
		return nil, err
	}
	d.Signature("TREE")
	n := &BTree1Node{Addr: addr, Type: d.U8(), Level: d.U8()}
	entries := int(d.U16())
	n.Left, n.Right = d.Offset(), d.Offset()
	if err := d.Err(); err != nil {
		return nil, err
	}
	body := entries*(keySize+r.Sizes.Offset) + keySize
	d, err = r.Decoder(addr+uint64(hdrSize), body, "v1 B-tree node")
	if err != nil {
		return nil, err
	}
	n.Keys = make([][]byte, entries+1)
	n.Children = make([]uint64, entries)
	for i := 0; i < entries; i++ {
		n.Keys[i] = d.Bytes(keySize)
		n.Children[i] = d.Offset()
	}
	n.Keys[entries] = d.Bytes(keySize)
	return n, d.Err()
}

// ChunkKey is the key of a chunk B-tree node.
type ChunkKey struct {
	Size       uint32
	FilterMask uint32
	Offsets    []uint64 // element offsets of the chunk, one per dimension
	// Extra is the offset in the element-size dimension: 0 in every key but
	// a node's closing one, where libhdf5 puts the element size so that the
	// key sorts just after the node's last chunk.
	Extra uint64
}

// DecodeChunkKey decodes a chunk key of a dataset of the given rank (the
// stored key has one more, always zero, offset for the element size).
func DecodeChunkKey(raw []byte, rank int) ChunkKey {
	return DecodeChunkKeyInto(raw, make([]uint64, rank))
}

// DecodeChunkKeyInto decodes a chunk key whose offsets go into offsets (of
// the dataset's rank): a node's keys can share one allocation.
func DecodeChunkKeyInto(raw []byte, offsets []uint64) ChunkKey {
	d := NewDecoder(raw, 0, "chunk key", Sizes{8, 8})
	k := ChunkKey{Size: d.U32(), FilterMask: d.U32(), Offsets: offsets}
	for i := range k.Offsets {
		k.Offsets[i] = d.U64()
	}
	k.Extra = d.U64()
	return k
}

// ChunkKeySize is the size of a chunk key for a dataset of the given rank.
func ChunkKeySize(rank int) int { return 8 + 8*(rank+1) }
