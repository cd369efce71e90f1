package h5

import (
	"io"
	"os"
	"sync"
)

// blockReader answers the small reads of a read-only file from whole
// blocks it keeps: metadata comes in reads of a few hundred bytes (an
// object header is three: its signature, its prefix, its messages), and
// the metadata of neighbouring objects lies together. Listing a file of
// 100,000 datasets made 300,000 preads of the page cache, a fifth of the
// time; read in 32 KiB blocks, the same metadata takes a thousand.
// A writer of the file (writer.go) tells it what it changed (forget).
type blockReader struct {
	r io.ReaderAt

	mu    sync.Mutex
	slots [blockSlots]cachedBlock
	// gen counts forgets: a block read while one happened may hold bytes
	// from before the change, and is not kept.
	gen uint64
}

// cachedBlock is one block of the file: data holds the bytes from
// block*blockSize on, fewer at the end of the file.
type cachedBlock struct {
	block int64 // block number + 1; 0 is an empty slot
	data  []byte
}

const (
	blockSize = 32 << 10
	// blockSlots blocks are kept, 2 MiB, each in the slot its number
	// picks: a listing's metadata moves through the file, and a slot
	// taken by a block far away is simply read again.
	blockSlots = 64
	// smallRead is the largest read served from blocks; larger ones (chunk
	// data) go to the file as they are.
	smallRead = 8 << 10
)

func newBlockReader(r io.ReaderAt) *blockReader { return &blockReader{r: r} }

func (b *blockReader) ReadAt(p []byte, off int64) (int, error) {
	if len(p) > smallRead || off < 0 {
		return b.r.ReadAt(p, off)
	}
	n := 0
	for n < len(p) {
		at := off + int64(n)
		data, err := b.blockAt(at / blockSize)
		if err != nil {
			return n, err
		}
		within := int(at % blockSize)
		if within >= len(data) {
			return n, io.EOF
		}
		n += copy(p[n:], data[within:])
		if len(data) < blockSize && n < len(p) {
			return n, io.EOF
		}
	}
	return n, nil
}

// blockAt returns block number block's bytes, reading them on a miss.
// Blocks are never changed once read, so the bytes can be used after the
// lock is dropped even if another block takes the slot.
func (b *blockReader) blockAt(block int64) ([]byte, error) {
	slot := &b.slots[block%blockSlots]
	b.mu.Lock()
	if slot.block == block+1 {
		data := slot.data
		b.mu.Unlock()
		return data, nil
	}
	gen := b.gen
	b.mu.Unlock()
	buf := make([]byte, blockSize)
	n, err := b.r.ReadAt(buf, block*blockSize)
	if err != nil && err != io.EOF {
		return nil, err
	}
	data := buf[:n]
	b.mu.Lock()
	if b.gen == gen {
		slot.block, slot.data = block+1, data
	}
	b.mu.Unlock()
	return data, nil
}

// forget drops the blocks that hold any of the bytes [off, off+n), which
// the file's writer has just changed, and the blocks that end short of a
// whole block: the file's end, which a write past it moves. A block being
// read meanwhile is not kept.
func (b *blockReader) forget(off, n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.gen++
	for i := range b.slots {
		s := &b.slots[i]
		if s.block == 0 {
			continue
		}
		start := (s.block - 1) * blockSize
		if len(s.data) < blockSize || (start < off+n && off < start+blockSize) {
			*s = cachedBlock{}
		}
	}
}

// WillNeed passes read hints to the file underneath.
func (b *blockReader) WillNeed(off, n int64) {
	switch r := b.r.(type) {
	case *os.File:
		hintedFile{r}.WillNeed(off, n)
	case interface{ WillNeed(off, n int64) }:
		r.WillNeed(off, n)
	}
}
