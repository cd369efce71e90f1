package h5

import (
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// Write-side sentinels.
var (
	// ErrReadOnly: the file was opened read-only.
	ErrReadOnly = errors.New("h5: file is read-only")
	// ErrSWMRWriter refuses to open for writing a file libhdf5 marks open
	// by a SWMR writer (see File.MarkedBySWMRWriter), as libhdf5 does.
	ErrSWMRWriter = errors.New("h5: libhdf5 marks the file open by a SWMR writer")
	// ErrNoSpace: a write past the end of a dataset that cannot grow.
	ErrNoSpace = errors.New("h5: write past the end of the dataset")
	// ErrNotWritable: the object cannot be written (variable-size elements).
	ErrNotWritable = errors.New("h5: object is not writable")
)

// writer is the writable side of a File.
//
// Crash safety rests on three rules. New data and new structures go to
// space no committed structure references (fresh space: past the end the
// superblock records, or space freed by an earlier commit), and are written
// straight into the file. Changes to structures the file already references
// wait in the overlay, where readers see them, until a commit writes them
// through the journal (journal.go). Space a committed structure references
// is freed only for reuse after the commit that drops the reference. So at
// every moment the file on disk is the last commit plus bytes nothing
// references, and a crash loses only what no commit (fsync) acknowledged.
// Contiguous datasets are the exception the format imposes: their elements
// are rewritten in place, as a block device's are.
type writer struct {
	file        *os.File
	journalPath string
	ov          *overlay
	// blocks keeps blocks of the file for small reads (metadata); every
	// write of the file tells it what changed.
	blocks *blockReader

	// commitMu makes commits one at a time.
	commitMu sync.Mutex
	// meta is held across every change of metadata, so that a commit never
	// takes in half of one (a B-tree split, say).
	meta sync.Mutex

	// unsynced counts the data bytes written since writeback was last
	// started; startingWriteback is set while a start is under way.
	unsynced          atomic.Int64
	startingWriteback atomic.Bool
	// dataWritten is set by the first write of data into the file, which
	// changes it even when no metadata does.
	dataWritten atomic.Bool
	// dataUnsynced is set by every write of data into the file and cleared
	// as a commit syncs the file: data rewritten in place (contiguous
	// storage, raw chunks) changes no metadata, and must still be durable
	// when a commit returns. syncs counts the file's syncs (tests).
	dataUnsynced atomic.Bool
	syncs        atomic.Int64

	mu         sync.Mutex // guards what follows
	sp         space
	diskEOF    uint64 // the end of allocated space the superblock on disk records
	dirty      map[chunkKey]*dirtyChunk
	dirtyBytes int64

	// fileSpaceSettled is the end of allocated space the superblock
	// extension's file space info message was last settled against
	// (settleFileSpace), so that a commit reads it again only when the
	// end moved.
	fileSpaceSettled uint64

	crashAt string // tests: where a commit pretends the process died
}

// dirtyChunk is a chunk changed in memory and not yet written.
type dirtyChunk struct {
	d      *Dataset
	scaled []uint64
	data   []byte // decoded, full chunk size
	// written counts the bytes written into data since it was made: a
	// chunk written in full is done with (for a writer going through the
	// dataset in order) and is the first to go when dirty chunks must.
	written uint64
}

// OpenFileRW opens the named HDF5 file for reading and writing. A journal
// left by a crashed writer is replayed first. Changes reach the file at
// Flush, Sync and Close.
func OpenFileRW(name string, opt *Options) (*File, error) {
	if _, err := Recover(name); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	f, fh, st, err := openNamed(name, os.O_RDWR, opt)
	if err != nil {
		return nil, err
	}
	if f.MarkedBySWMRWriter() {
		fh.Close()
		return nil, fmt.Errorf("%s: %w", name, ErrSWMRWriter)
	}
	disk, _ := f.sb.EndOfAllocation()
	eoa := disk
	if end := uint64(st.Size()) - f.sb.BaseAddr; uint64(st.Size()) > f.sb.BaseAddr && end > eoa {
		eoa = end // never allocate over bytes that are there
	}
	adviseSequential(fh)
	ov := newOverlay()
	blocks := newBlockReader(fh)
	f.r.R = overlayReader{r: blocks, ov: ov, end: f.r.FileSize}
	f.wr = &writer{file: fh, journalPath: name + JournalSuffix, ov: ov, blocks: blocks,
		sp: space{eoa: eoa, committedEOA: eoa}, diskEOF: disk, dirty: map[chunkKey]*dirtyChunk{}}
	if err := f.checkFileSpace(); err != nil {
		fh.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return f, nil
}

// Writable reports whether the file was opened for writing.
func (f *File) Writable() bool { return f.wr != nil }

// alloc reserves n bytes.
func (f *File) alloc(n uint64) (uint64, error) {
	if f.wr == nil {
		return 0, ErrReadOnly
	}
	w := f.wr
	w.mu.Lock()
	addr, ok := w.sp.alloc(n)
	eoa := w.sp.eoa
	w.mu.Unlock()
	if !ok {
		return 0, fmt.Errorf("h5: allocating %d bytes: %w", n, ErrNoSpace)
	}
	f.r.Grow(int64(f.sb.BaseAddr + eoa))
	return addr, nil
}

// free releases n bytes at addr that nothing references any more.
func (f *File) free(addr, n uint64) {
	if f.wr == nil || addr == format.Undefined || n == 0 {
		return
	}
	w := f.wr
	w.mu.Lock()
	now := w.sp.release(addr, n)
	w.mu.Unlock()
	if now {
		// Nothing on disk references it: pending bytes for it must not
		// reach the file over whatever reuses the space.
		w.ov.forget(int64(f.sb.BaseAddr+addr), n)
	}
}

// fresh reports whether [addr, addr+n) is referenced by nothing committed,
// so that it may be overwritten in place.
func (f *File) fresh(addr, n uint64) bool {
	w := f.wr
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.sp.fresh(addr, n)
}

// writeData writes dataset elements at relative address addr: fresh space,
// or contiguous storage (rewritten in place, as a device's blocks are).
func (f *File) writeData(p []byte, addr uint64) error {
	if f.wr == nil {
		return ErrReadOnly
	}
	abs := int64(f.sb.BaseAddr + addr)
	_, err := f.wr.file.WriteAt(p, abs)
	f.wr.blocks.forget(abs, int64(len(p)))
	if err != nil {
		return fmt.Errorf("h5: writing %d bytes at 0x%x: %w", len(p), addr, err)
	}
	f.wr.ov.forget(abs, uint64(len(p)))
	f.wr.wrote(len(p))
	f.wr.dataWritten.Store(true)
	f.wr.dataUnsynced.Store(true)
	return nil
}

// extendFile makes the file reach end (relative), when it is shorter: the
// bytes of storage just allocated that nothing writes before the commit
// then read as zeros from the file itself, as they do through the
// overlay. A caller handed the range to read from the file (FileExtent:
// the mount splices it into a reply) met the file's end instead, and the
// reader a dataset cut short.
func (f *File) extendFile(end uint64) error {
	abs := int64(f.sb.BaseAddr + end)
	st, err := f.wr.file.Stat()
	if err != nil {
		return fmt.Errorf("h5: extending the file: %w", err)
	}
	if st.Size() < abs {
		err := f.wr.file.Truncate(abs)
		f.wr.blocks.forget(st.Size(), abs-st.Size())
		if err != nil {
			return fmt.Errorf("h5: extending the file to %d bytes: %w", abs, err)
		}
	}
	return nil
}

// reserve asks the file system for the disk blocks of [addr, addr+n),
// where data is about to be written (Dataset.reserveAhead).
func (f *File) reserve(addr, n uint64) {
	reserveBlocks(f.wr.file, int64(f.sb.BaseAddr+addr), int64(n))
}

// writebackEvery is how many bytes of data may wait in the page cache
// before their writeback to disk is started.
const writebackEvery = 8 << 20

// wrote starts the writeback of the data written so far once enough is
// waiting, without waiting for it, so that the disk writes while more
// arrives and the commit's fsync finds little left to do: left to the
// kernel, a large write is all still dirty at the fsync, which then takes
// as long again as the write. The start runs on a goroutine of its own
// (one at a time): submitting the I/O takes a while, which the write
// request need not wait for. It never changes what is durable: data is
// written before the metadata that points at it either way.
func (w *writer) wrote(n int) {
	if w.unsynced.Add(int64(n)) < writebackEvery || !w.startingWriteback.CompareAndSwap(false, true) {
		return
	}
	w.unsynced.Store(0)
	go func() {
		defer w.startingWriteback.Store(false)
		startWriteback(w.file)
	}()
}

// writeMeta changes metadata at relative address addr; the change reaches
// the file at the next commit. The caller holds f.wr.meta.
func (f *File) writeMeta(p []byte, addr uint64) error {
	if f.wr == nil {
		return ErrReadOnly
	}
	f.wr.ov.write(p, int64(f.sb.BaseAddr+addr))
	return nil
}

// storage adapts the file for the chunk indexes and structure editors.
type storage struct{ f *File }

func (s storage) WriteAt(p []byte, addr uint64) error { return s.f.writeMeta(p, addr) }
func (s storage) Alloc(n uint64) (uint64, error)      { return s.f.alloc(n) }
func (s storage) Free(addr, n uint64)                 { s.f.free(addr, n) }

var _ format.Space = storage{}

// rewriteMessage writes a header message's new body (of the same size) in
// place, and the checksum of its header chunk in version 2 headers. The
// caller holds f.wr.meta.
func (f *File) rewriteMessage(o *Object, m *format.Message, body []byte) error {
	if len(body) > len(m.Data) {
		return fmt.Errorf("h5: message of %d bytes cannot become %d in place: %w", len(m.Data), len(body), ErrUnsupported)
	}
	// A message may be padded past its encoding; the padding stays.
	if err := f.writeMeta(body, m.Addr); err != nil {
		return err
	}
	for _, c := range o.header().Chunks {
		if !c.Checksummed || m.Addr < c.MsgStart || m.Addr >= c.MsgEnd {
			continue
		}
		block, err := f.r.Read(c.Addr, int(c.MsgEnd-c.Addr), "object header")
		if err != nil {
			return err
		}
		e := &format.Encoder{}
		e.U32(format.Lookup3(block, 0))
		if err := f.writeMeta(e.Buf, c.MsgEnd); err != nil {
			return err
		}
		break
	}
	// Only the message's body changed, so the header in memory takes it
	// rather than being read and parsed again (an append of a row to a
	// growable dataset, which rewrites its dataspace, spent a tenth of its
	// time re-reading the header).
	old := o.header()
	h := *old
	h.Messages = slices.Clone(old.Messages)
	for i := range h.Messages {
		if h.Messages[i].Addr == m.Addr {
			data := slices.Clone(h.Messages[i].Data)
			copy(data, body)
			h.Messages[i].Data = data
			o.hdr.Store(&h)
			return nil
		}
	}
	return o.reload()
}

// Flush writes every dirty chunk through its filter pipeline and index,
// then commits: when it returns, the file on disk holds every change made
// before the call, durably.
func (f *File) Flush() error {
	if f.wr == nil {
		return nil
	}
	w := f.wr
	w.commitMu.Lock()
	defer w.commitMu.Unlock()
	w.mu.Lock()
	byDataset := map[*Dataset]bool{}
	for _, dc := range w.dirty {
		byDataset[dc.d] = true
	}
	w.mu.Unlock()
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
	w.meta.Lock()
	defer w.meta.Unlock()
	return f.commit()
}

// commit makes the overlay and the end of allocated space durable in the
// file: data first, then the journal, then the changes in place, then the
// journal's removal. The caller holds f.wr.meta.
func (f *File) commit() error {
	w := f.wr
	w.mu.Lock()
	eoa, before := w.sp.eoa, w.diskEOF
	w.mu.Unlock()
	deadWriter := f.sb.ConsistencyFlags&format.WriterFlags(f.sb.Version) != 0
	if eoa == before && w.ov.empty() && !(deadWriter && w.dataWritten.Load()) {
		if w.dataUnsynced.Load() {
			return w.sync()
		}
		return nil
	}
	// libhdf5 refuses a file shorter than its superblock's end of file.
	end := int64(f.sb.BaseAddr + eoa)
	st, err := w.file.Stat()
	if err != nil {
		return fmt.Errorf("h5: commit: %w", err)
	}
	if st.Size() < end {
		err := w.file.Truncate(end)
		w.blocks.forget(st.Size(), end-st.Size())
		if err != nil {
			return fmt.Errorf("h5: extending the file to %d bytes: %w", end, err)
		}
	}
	// What the new metadata will point at must be on disk before it.
	if err := w.sync(); err != nil {
		return err
	}
	if err := f.settleFileSpace(eoa); err != nil {
		return err
	}
	sbOff := int64(f.sb.Addr)
	sbImage := f.sb.EncodeWithEOF(before)
	// libhdf5 sets the write-access flags of a version 3 superblock while
	// a writer has the file open and clears them when it closes it; a
	// writer that died left them set, and libhdf5 refuses the file until
	// h5clear. Committing a change here is a writer closing cleanly (the
	// exclusive lock kept any live one out), so the flags go as libhdf5's
	// close would take them.
	next := *f.sb
	next.ConsistencyFlags &^= format.WriterFlags(next.Version)
	if eoa != before || next.ConsistencyFlags != f.sb.ConsistencyFlags {
		w.ov.write(next.EncodeWithEOF(eoa), sbOff)
	}
	j := &journal{sbOff: sbOff, sbImage: sbImage, records: w.ov.records()}
	// A change of the superblock alone is one sector's write, which the
	// disk makes whole or not at all: no journal needed.
	alone := len(j.records) == 1 && j.records[0].off == sbOff && sbOff%512 == 0 && len(j.records[0].data) <= 512
	if !alone {
		if w.crashAt == "torn" {
			return w.crashTorn(j)
		}
		if err := writeJournal(w.journalPath, j); err != nil {
			return err
		}
	}
	switch w.crashAt {
	case "journal":
		return errCrash
	case "apply":
		j.records = j.records[:len(j.records)/2]
		err := j.apply(w.file)
		w.blocks.forget(0, math.MaxInt64)
		if err != nil {
			return err
		}
		return errCrash
	}
	// The overlay still lies over the blocks read before: forgotten now,
	// they are read again before it is emptied.
	err = j.apply(w.file)
	w.blocks.forget(0, math.MaxInt64)
	if err != nil {
		return err
	}
	if err := w.file.Sync(); err != nil {
		return fmt.Errorf("h5: commit: %w", err)
	}
	if !alone {
		if err := removeJournal(w.journalPath); err != nil {
			return err
		}
	}
	w.ov.reset()
	f.sb.ConsistencyFlags = next.ConsistencyFlags
	w.mu.Lock()
	w.diskEOF = eoa
	w.sp.committed()
	w.mu.Unlock()
	return nil
}

// fileSpaceInfo returns the superblock extension's header and its file
// space info message, nil where the file has none.
func (f *File) fileSpaceInfo() (*format.ObjectHeader, *format.Message, error) {
	h, err := f.superblockExtension()
	if err != nil || h == nil {
		return nil, nil, err
	}
	return h, h.Find(format.MsgFileSpaceInfo), nil
}

// checkFileSpace refuses, when the file is opened for writing, a file space
// info message that settleFileSpace could not settle, rather than every
// commit later.
func (f *File) checkFileSpace() error {
	_, m, err := f.fileSpaceInfo()
	if err == nil && m != nil {
		_, _, err = format.SettleFileSpaceInfo(m.Data, m.Addr, f.r.Sizes, f.wr.sp.eoa)
	}
	if err != nil {
		return fmt.Errorf("h5: superblock extension at 0x%x: %w", f.sb.ExtensionAddr, err)
	}
	return nil
}

// settleFileSpace drops the free space libhdf5 persisted in the file, if it
// did, as every commit of a change must (format.SettleFileSpaceInfo says
// why). The caller holds f.wr.meta; the edit rewrites the message in place
// and allocates nothing.
func (f *File) settleFileSpace(eoa uint64) error {
	w := f.wr
	if w.fileSpaceSettled == eoa {
		return nil
	}
	h, m, err := f.fileSpaceInfo()
	if err != nil || m == nil {
		w.fileSpaceSettled = eoa
		return err
	}
	body, changed, err := format.SettleFileSpaceInfo(m.Data, m.Addr, f.r.Sizes, eoa)
	if err == nil && changed {
		var e *format.HeaderEdit
		if e, err = format.EditObjectHeader(f.r, h); err == nil {
			s := storage{f}
			var replaced bool
			replaced, err = e.Replace(s, format.MsgFileSpaceInfo, func([]byte) bool { return true },
				format.NewMessage{Type: m.Type, Flags: m.Flags, CreationOrder: m.CreationOrder, Data: body})
			if err == nil && replaced {
				err = e.Commit(s)
			}
		}
	}
	if err != nil {
		return fmt.Errorf("h5: superblock extension at 0x%x: settling the file space info: %w", f.sb.ExtensionAddr, err)
	}
	w.fileSpaceSettled = eoa
	return nil
}

// sync makes the file's data durable. A write that lands while it runs
// sets dataUnsynced again, for the next commit.
func (w *writer) sync() error {
	w.dataUnsynced.Store(false)
	w.syncs.Add(1)
	if err := w.file.Sync(); err != nil {
		w.dataUnsynced.Store(true)
		return fmt.Errorf("h5: commit: %w", err)
	}
	return nil
}

// Sync flushes and makes everything durable on disk.
func (f *File) Sync() error {
	if f.wr == nil {
		return nil
	}
	return f.Flush()
}

// dirtyChunk returns the pending version of a chunk, if any.
func (w *writer) pending(k chunkKey) *dirtyChunk {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.dirty[k]
}
