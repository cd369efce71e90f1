package chunk

import (
	"sync"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// btree1Index is the version 1 B-tree chunk index (node type 1), which every
// file before libhdf5 1.10's new indexes uses. Keys are chunk element
// offsets; a child covers keys from its left key up to its right key.
type btree1Index struct {
	p       Params
	rank    int
	keySize int

	mu    sync.Mutex
	nodes map[uint64]*btree1Node // decoded nodes: lookups revisit the same few
}

type btree1Node struct {
	level       uint8
	left, right uint64 // siblings at the same level
	keys        []format.ChunkKey
	children    []uint64
}

const maxCachedNodes = 4096

func newBTree1Index(p Params) *btree1Index {
	rank := len(p.Layout.ChunkDims)
	return &btree1Index{p: p, rank: rank, keySize: format.ChunkKeySize(rank), nodes: map[uint64]*btree1Node{}}
}

func (b *btree1Index) node(addr uint64) (*btree1Node, error) {
	b.mu.Lock()
	n := b.nodes[addr]
	b.mu.Unlock()
	if n != nil {
		return n, nil
	}
	raw, err := format.ReadBTree1Node(b.p.R, addr, b.keySize)
	if err != nil {
		return nil, err
	}
	if raw.Type != format.BTree1Chunk {
		return nil, format.Corruptf(addr, "v1 B-tree node", "node type %d in a chunk index", raw.Type)
	}
	n = &btree1Node{level: raw.Level, left: raw.Left, right: raw.Right, children: raw.Children, keys: make([]format.ChunkKey, len(raw.Keys))}
	// One array holds every key's offsets: a node has up to 2K+1 keys,
	// and a fresh lookup reads a node per level.
	offsets := make([]uint64, len(raw.Keys)*b.rank)
	for i, k := range raw.Keys {
		n.keys[i] = format.DecodeChunkKeyInto(k, offsets[i*b.rank:(i+1)*b.rank:(i+1)*b.rank])
	}
	b.mu.Lock()
	if len(b.nodes) >= maxCachedNodes {
		b.nodes = map[uint64]*btree1Node{}
	}
	b.nodes[addr] = n
	b.mu.Unlock()
	return n, nil
}

// compareOffsets orders element offsets row-major.
func compareOffsets(a, b []uint64) int {
	for i := range a {
		if a[i] < b[i] {
			return -1
		}
		if a[i] > b[i] {
			return 1
		}
	}
	return 0
}

func (b *btree1Index) Lookup(scaled []uint64) (Chunk, bool, error) {
	if err := checkScaled(scaled, b.rank); err != nil {
		return Chunk{}, false, err
	}
	want := make([]uint64, b.rank)
	for i := range want {
		want[i] = scaled[i] * b.p.Layout.ChunkDims[i]
	}
	addr := b.p.Layout.Addr
	for depth := 0; ; depth++ {
		if depth > 64 {
			return Chunk{}, false, format.Corruptf(addr, "v1 B-tree node", "chunk B-tree deeper than 64 levels")
		}
		n, err := b.node(addr)
		if err != nil {
			return Chunk{}, false, err
		}
		if len(n.children) == 0 {
			return Chunk{}, false, nil
		}
		// The child to descend into is the last whose left key <= want.
		lo, hi := 0, len(n.children)
		for lo < hi {
			mid := (lo + hi) / 2
			if compareOffsets(n.keys[mid].Offsets, want) <= 0 {
				lo = mid + 1
			} else {
				hi = mid
			}
		}
		i := lo - 1
		if i < 0 {
			return Chunk{}, false, nil
		}
		if n.level == 0 {
			k := n.keys[i]
			if compareOffsets(k.Offsets, want) != 0 {
				return Chunk{}, false, nil
			}
			return Chunk{Scaled: scaled, Addr: n.children[i], Size: uint64(k.Size), FilterMask: k.FilterMask}, true, nil
		}
		addr = n.children[i]
	}
}

func (b *btree1Index) Walk(visit func(Chunk) error) error {
	seen := map[uint64]bool{}
	var walk func(addr uint64, depth int) error
	walk = func(addr uint64, depth int) error {
		if depth > 64 || seen[addr] {
			return format.Corruptf(addr, "v1 B-tree node", "chunk B-tree loops")
		}
		seen[addr] = true
		n, err := b.node(addr)
		if err != nil {
			return err
		}
		for i, child := range n.children {
			if n.level > 0 {
				if err := walk(child, depth+1); err != nil {
					return err
				}
				continue
			}
			k := n.keys[i]
			scaled := make([]uint64, b.rank)
			for d := range scaled {
				if c := b.p.Layout.ChunkDims[d]; c > 0 {
					scaled[d] = k.Offsets[d] / c
				}
			}
			if err := visit(Chunk{Scaled: scaled, Addr: child, Size: uint64(k.Size), FilterMask: k.FilterMask}); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(b.p.Layout.Addr, 0)
}
