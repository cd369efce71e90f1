package h5

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"sync"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// Write-side sentinels.
var (
	// ErrReadOnly: the file was opened read-only.
	ErrReadOnly = errors.New("h5: file is read-only")
	// ErrNoSpace: a write past the end of a dataset that cannot grow.
	ErrNoSpace = errors.New("h5: write past the end of the dataset")
	// ErrNotWritable: the object cannot be written (variable-size elements).
	ErrNotWritable = errors.New("h5: object is not writable")
)

// writer is the writable side of a File: space allocation at the end of
// the file, dirty chunks waiting to be encoded, and the superblock's
// end-of-file address.
type writer struct {
	w    io.WriterAt
	file *os.File

	mu         sync.Mutex
	eoa        uint64 // end of allocated space, relative to the base address
	diskEOA    uint64 // what the superblock on disk says
	dirty      map[chunkKey]*dirtyChunk
	dirtyBytes int64
}

// dirtyChunk is a chunk changed in memory and not yet written.
type dirtyChunk struct {
	d      *Dataset
	scaled []uint64
	data   []byte // decoded, full chunk size
}

// OpenFileRW opens the named HDF5 file for reading and writing. Changes are
// written by Flush, Sync and Close.
func OpenFileRW(name string, opt *Options) (*File, error) {
	f, fh, st, err := openNamed(name, os.O_RDWR, opt)
	if err != nil {
		return nil, err
	}
	eoa := f.sb.EOFAddr
	if end := uint64(st.Size()) - f.sb.BaseAddr; uint64(st.Size()) > f.sb.BaseAddr && end > eoa {
		eoa = end // never allocate over bytes that are there
	}
	f.wr = &writer{w: fh, file: fh, eoa: eoa, diskEOA: f.sb.EOFAddr, dirty: map[chunkKey]*dirtyChunk{}}
	return f, nil
}

// Writable reports whether the file was opened for writing.
func (f *File) Writable() bool { return f.wr != nil }

// alloc reserves n bytes at the end of the file.
func (f *File) alloc(n uint64) (uint64, error) {
	if f.wr == nil {
		return 0, ErrReadOnly
	}
	f.wr.mu.Lock()
	defer f.wr.mu.Unlock()
	addr := f.wr.eoa
	if addr+n < addr {
		return 0, fmt.Errorf("h5: allocating %d bytes: %w", n, ErrNoSpace)
	}
	f.wr.eoa += n
	f.r.Grow(int64(f.sb.BaseAddr + f.wr.eoa))
	return addr, nil
}

// writeAt writes p at relative address addr.
func (f *File) writeAt(p []byte, addr uint64) error {
	if f.wr == nil {
		return ErrReadOnly
	}
	if _, err := f.wr.w.WriteAt(p, int64(f.sb.BaseAddr+addr)); err != nil {
		return fmt.Errorf("h5: writing %d bytes at 0x%x: %w", len(p), addr, err)
	}
	return nil
}

// storage adapts the file for the chunk indexes.
type storage struct{ f *File }

func (s storage) WriteAt(p []byte, addr uint64) error { return s.f.writeAt(p, addr) }
func (s storage) Alloc(n uint64) (uint64, error)      { return s.f.alloc(n) }

// rewriteMessage writes a header message's new body (of the same size) in
// place, and the checksum of its header chunk in version 2 headers.
func (f *File) rewriteMessage(o *Object, m *format.Message, body []byte) error {
	if len(body) > len(m.Data) {
		return fmt.Errorf("h5: message of %d bytes cannot become %d in place: %w", len(m.Data), len(body), ErrUnsupported)
	}
	// A message may be padded past its encoding; the padding stays.
	if err := f.writeAt(body, m.Addr); err != nil {
		return err
	}
	copy(m.Data, body)
	for _, c := range o.hdr.Chunks {
		if !c.Checksummed || m.Addr < c.MsgStart || m.Addr >= c.MsgEnd {
			continue
		}
		block, err := f.r.Read(c.Addr, int(c.MsgEnd-c.Addr), "object header")
		if err != nil {
			return err
		}
		e := &format.Encoder{}
		e.U32(format.Lookup3(block, 0))
		return f.writeAt(e.Buf, c.MsgEnd)
	}
	return nil
}

// Flush writes every dirty chunk through its filter pipeline and index,
// then the superblock's end-of-file address: data before the structures
// that point to it.
func (f *File) Flush() error {
	if f.wr == nil {
		return nil
	}
	f.wr.mu.Lock()
	byDataset := map[*Dataset]bool{}
	for _, dc := range f.wr.dirty {
		byDataset[dc.d] = true
	}
	f.wr.mu.Unlock()
	datasets := make([]*Dataset, 0, len(byDataset))
	for d := range byDataset {
		datasets = append(datasets, d)
	}
	sort.Slice(datasets, func(i, j int) bool { return datasets[i].Addr < datasets[j].Addr })
	for _, d := range datasets {
		d.mu.Lock()
		err := d.flushChunks()
		d.mu.Unlock()
		if err != nil {
			return err
		}
	}
	return f.writeSuperblock()
}

// writeSuperblock records the end of allocated space, extending the file
// so that libhdf5 never finds it shorter than the superblock says.
func (f *File) writeSuperblock() error {
	f.wr.mu.Lock()
	defer f.wr.mu.Unlock()
	if f.wr.eoa == f.wr.diskEOA {
		return nil
	}
	end := int64(f.sb.BaseAddr + f.wr.eoa)
	if st, err := f.wr.file.Stat(); err == nil && st.Size() < end {
		if err := f.wr.file.Truncate(end); err != nil {
			return fmt.Errorf("h5: extending the file to %d bytes: %w", end, err)
		}
	}
	if _, err := f.wr.w.WriteAt(f.sb.EncodeWithEOF(f.wr.eoa), int64(f.sb.Addr)); err != nil {
		return fmt.Errorf("h5: writing the superblock: %w", err)
	}
	f.wr.diskEOA = f.wr.eoa
	return nil
}

// Sync flushes and makes everything durable on disk.
func (f *File) Sync() error {
	if f.wr == nil {
		return nil
	}
	if err := f.Flush(); err != nil {
		return err
	}
	return f.wr.file.Sync()
}

// dirtyChunk returns the pending version of a chunk, if any.
func (w *writer) pending(k chunkKey) *dirtyChunk {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.dirty[k]
}
