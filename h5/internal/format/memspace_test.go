package format

import (
	"io"
	"sync"
)

// memSpace is a growable in-memory file for editor tests: a Reader reads
// it, editors allocate, free and write in it. Freed extents are recorded so
// tests can check what an edit released.
type memSpace struct {
	mu    sync.Mutex
	buf   []byte
	freed [][2]uint64
}

func newMemSpace(reserved int) (*memSpace, *Reader) {
	m := &memSpace{buf: make([]byte, reserved)}
	return m, &Reader{R: m, Size: 1 << 40, Sizes: Sizes{Offset: 8, Length: 8}}
}

func (m *memSpace) ReadAt(p []byte, off int64) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if off >= int64(len(m.buf)) {
		return 0, io.EOF
	}
	n := copy(p, m.buf[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (m *memSpace) WriteAt(p []byte, addr uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if end := int(addr) + len(p); end > len(m.buf) {
		m.buf = append(m.buf, make([]byte, end-len(m.buf))...)
	}
	copy(m.buf[addr:], p)
	return nil
}

func (m *memSpace) Alloc(n uint64) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	addr := uint64(len(m.buf))
	m.buf = append(m.buf, make([]byte, n)...)
	return addr, nil
}

func (m *memSpace) Free(addr, n uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.freed = append(m.freed, [2]uint64{addr, n})
}

var _ Space = (*memSpace)(nil)
