package h5

import (
	"sync"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// sohm is the file's shared object header message table, read on first
// use from the superblock extension.
type sohm struct {
	once  sync.Once
	table *format.SOHMTable
	err   error

	mu    sync.Mutex
	heaps map[uint64]*format.FractalHeap
}

func (f *File) sohmTable() (*format.SOHMTable, error) {
	f.shared.once.Do(func() {
		f.shared.table, f.shared.err = f.readSOHMTable()
	})
	return f.shared.table, f.shared.err
}

func (f *File) readSOHMTable() (*format.SOHMTable, error) {
	if f.sb.ExtensionAddr == format.Undefined {
		return nil, format.Corruptf(f.sb.Addr, "superblock", "a shared message heap ID in a file without a superblock extension")
	}
	ext, err := format.ReadObjectHeader(f.r, f.sb.ExtensionAddr)
	if err != nil {
		return nil, err
	}
	m := ext.Find(format.MsgSharedMsgTable)
	if m == nil {
		return nil, format.Corruptf(f.sb.ExtensionAddr, "superblock extension", "a shared message heap ID without a shared message table")
	}
	addr, n, err := format.DecodeSOHMTableMessage(m.Data, m.Addr, f.r.Sizes)
	if err != nil {
		return nil, err
	}
	return format.ReadSOHMTable(f.r, addr, n)
}

// sohmMessage returns the body of a message of type typ kept in the shared
// message heap under heap ID id.
func (f *File) sohmMessage(typ uint16, id []byte, at uint64) ([]byte, uint64, error) {
	t, err := f.sohmTable()
	if err != nil {
		return nil, 0, err
	}
	idx, ok := t.IndexFor(typ)
	if !ok {
		return nil, 0, format.Corruptf(at, "shared message", "no shared message index for message type %d", typ)
	}
	f.shared.mu.Lock()
	if f.shared.heaps == nil {
		f.shared.heaps = map[uint64]*format.FractalHeap{}
	}
	h := f.shared.heaps[idx.HeapAddr]
	f.shared.mu.Unlock()
	if h == nil {
		if h, err = format.ReadFractalHeap(f.r, idx.HeapAddr); err != nil {
			return nil, 0, err
		}
		f.shared.mu.Lock()
		f.shared.heaps[idx.HeapAddr] = h
		f.shared.mu.Unlock()
	}
	body, err := h.Object(id)
	if err != nil {
		return nil, 0, err
	}
	return body, idx.HeapAddr, nil
}
