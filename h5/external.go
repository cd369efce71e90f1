package h5

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// External raw data storage: a contiguous dataset whose header holds an
// external data files message keeps its bytes, in order, in a list of
// (file, offset, size) slots outside the HDF5 file. Relative names are
// resolved against the directory of the HDF5 file.

// maxOpenExternal bounds the external files a File keeps open; reads of
// files beyond open and close them each time.
const maxOpenExternal = 64

// externalFiles caches the open external raw data files of one File.
type externalFiles struct {
	mu    sync.Mutex
	files map[string]*os.File
}

// open returns an open file and whether the caller must close it. A
// writable HDF5 file opens its external files for writing too (creating a
// missing one, as libhdf5 does on write).
func (e *externalFiles) open(path string, writable bool) (*os.File, bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if fh := e.files[path]; fh != nil {
		return fh, false, nil
	}
	fh, err := openRegular(path, writable)
	if err != nil {
		return nil, false, err
	}
	if len(e.files) >= maxOpenExternal {
		return fh, true, nil
	}
	if e.files == nil {
		e.files = map[string]*os.File{}
	}
	e.files[path] = fh
	return fh, false, nil
}

func (e *externalFiles) closeLocked() {
	for _, fh := range e.files {
		fh.Close()
	}
	e.files = nil
}

func (e *externalFiles) close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closeLocked()
}

// openRegular opens a file a dataset names (external raw data, a virtual
// dataset's source) only if it is a regular file: a name in a hostile file
// must not make a read block on a FIFO or a device.
func openRegular(path string, writable bool) (*os.File, error) {
	st, err := os.Stat(path)
	if err != nil && !(writable && errors.Is(err, os.ErrNotExist)) {
		return nil, err
	}
	if err == nil && !st.Mode().IsRegular() {
		return nil, fmt.Errorf("h5: %s is not a regular file: %w", path, ErrUnsupported)
	}
	if writable {
		return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	}
	return os.Open(path)
}

// externalSlots decodes the dataset's external data files message once.
func (d *Dataset) externalSlots() ([]format.ExternalFile, error) {
	d.eflOnce.Do(func() {
		m := d.header().Find(format.MsgExternalFiles)
		if m == nil {
			return
		}
		d.efl, d.eflErr = format.DecodeExternalFiles(d.f.r, m.Data, m.Addr)
		if d.eflErr != nil {
			d.eflErr = fmt.Errorf("dataset at 0x%x: %w", d.Addr, d.eflErr)
		}
	})
	return d.efl, d.eflErr
}

// hasExternal reports whether the dataset's bytes live in external files.
func (d *Dataset) hasExternal() bool {
	return d.layout.Class == format.LayoutContiguous && d.header().Find(format.MsgExternalFiles) != nil
}

// ExternalFiles lists the external raw data files of a contiguous dataset
// stored outside the HDF5 file (nil for any other dataset).
func (d *Dataset) ExternalFiles() ([]format.ExternalFile, error) {
	if !d.hasExternal() {
		return nil, nil
	}
	return d.externalSlots()
}

// externalPath resolves a slot's file name against the HDF5 file's
// directory. A name that leaves that directory (absolute, or climbing with
// "..") is refused: a file someone else wrote must not make the mount read
// arbitrary files of the user who mounted it.
func (d *Dataset) externalPath(name string) (string, error) {
	if d.f.selfContained {
		return "", fmt.Errorf("h5: dataset at 0x%x: external raw data file %q: other files are not read on behalf of this one: %w", d.Addr, name, ErrUnsupported)
	}
	if d.f.path == "" {
		return "", fmt.Errorf("h5: dataset at 0x%x: external raw data file %q relative to a file opened without a name: %w", d.Addr, name, ErrUnsupported)
	}
	if filepath.IsAbs(name) || !filepath.IsLocal(name) {
		return "", fmt.Errorf("h5: dataset at 0x%x: external raw data file %q lies outside the HDF5 file's directory: %w", d.Addr, name, ErrUnsupported)
	}
	return filepath.Join(filepath.Dir(d.f.path), name), nil
}

// readExternal fills dst with the dataset bytes at [off, off+len(dst)).
// Bytes a slot claims but its file does not hold read as zeros, as libhdf5
// reads them.
func (d *Dataset) readExternal(dst []byte, off uint64) error {
	return d.externalSpans(off, uint64(len(dst)), ErrCorrupt, func(s format.ExternalFile, within, from, to uint64) error {
		return d.readExternalSlot(s, within, dst[from:to])
	})
}

// externalSpans splits the dataset bytes [off, off+n) across the external
// files' slots, calling fn with each slot, the offset inside it and the
// part [from, to) of the request it holds. Bytes past the last slot are an
// error wrapping beyond.
func (d *Dataset) externalSpans(off, n uint64, beyond error, fn func(s format.ExternalFile, within, from, to uint64) error) error {
	slots, err := d.externalSlots()
	if err != nil {
		return err
	}
	done := uint64(0)
	var start uint64 // stream offset of the current slot
	for _, s := range slots {
		if done == n {
			return nil
		}
		end := start + s.Size
		if s.Size == format.Unlimited || end < start {
			end = ^uint64(0)
		}
		if pos := off + done; pos < end {
			k := min(n-done, end-pos)
			if err := fn(s, pos-start, done, done+k); err != nil {
				return err
			}
			done += k
		}
		start = end
		if end == ^uint64(0) {
			break
		}
	}
	if done < n {
		return fmt.Errorf("h5: dataset at 0x%x: external raw data files hold %d bytes, the access needs %d: %w", d.Addr, start, off+n, beyond)
	}
	return nil
}

func (d *Dataset) readExternalSlot(s format.ExternalFile, within uint64, dst []byte) error {
	path, err := d.externalPath(s.Name)
	if err != nil {
		return err
	}
	at := s.Offset + within
	if at < s.Offset || at > 1<<62 {
		return fmt.Errorf("h5: dataset at 0x%x: external file %q offset %d out of range: %w", d.Addr, s.Name, at, ErrCorrupt)
	}
	fh, own, err := d.f.external.open(path, d.f.wr != nil)
	if err != nil {
		return fmt.Errorf("h5: dataset at 0x%x: external raw data file: %w", d.Addr, err)
	}
	if own {
		defer fh.Close()
	}
	n, err := fh.ReadAt(dst, int64(at))
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("h5: dataset at 0x%x: external raw data file %q: %w", d.Addr, s.Name, err)
	}
	clear(dst[n:])
	return nil
}

// writeExternal writes src at dataset byte offset off into the external
// files' slots, the mirror of readExternal.
func (d *Dataset) writeExternal(src []byte, off uint64) error {
	return d.externalSpans(off, uint64(len(src)), ErrNoSpace, func(s format.ExternalFile, within, from, to uint64) error {
		return d.writeExternalSlot(s, within, src[from:to])
	})
}

func (d *Dataset) writeExternalSlot(s format.ExternalFile, within uint64, src []byte) error {
	path, err := d.externalPath(s.Name)
	if err != nil {
		return err
	}
	at := s.Offset + within
	if at < s.Offset || at > 1<<62 {
		return fmt.Errorf("h5: dataset at 0x%x: external file %q offset %d out of range: %w", d.Addr, s.Name, at, ErrCorrupt)
	}
	fh, own, err := d.f.external.open(path, true)
	if err != nil {
		return fmt.Errorf("h5: dataset at 0x%x: external raw data file: %w", d.Addr, err)
	}
	if own {
		defer fh.Close()
	}
	if _, err := fh.WriteAt(src, int64(at)); err != nil {
		return fmt.Errorf("h5: dataset at 0x%x: external raw data file %q: %w", d.Addr, s.Name, err)
	}
	return nil
}

// externalBytes is the storage the external files hold for the dataset.
func (d *Dataset) externalBytes() (int64, error) {
	slots, err := d.externalSlots()
	if err != nil {
		return 0, err
	}
	var total uint64
	for _, s := range slots {
		if s.Size == format.Unlimited {
			return d.Size(), nil
		}
		total += s.Size
		if total > 1<<62 {
			return 0, fmt.Errorf("h5: dataset at 0x%x: external files claim more than 2^62 bytes: %w", d.Addr, ErrCorrupt)
		}
	}
	// libhdf5 counts what the dataset uses of its slots, not slack after it.
	return min(int64(total), d.Size()), nil
}
