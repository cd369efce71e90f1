package h5

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// The journal makes a commit atomic. The metadata a commit changes in place
// (and the superblock) is first written to a journal file beside the HDF5
// file and made durable; only then is it written into the file. A crash
// before the journal is complete leaves the file as the previous commit
// left it; a crash after leaves a complete journal, which the next writable
// open (or `h5mount recover`) writes into the file again, and which a
// read-only open lays over the file in memory. New data and new structures
// go to space no committed structure references, so they need no journal.
//
// Layout: "H5MOUNTJ", version u32, the superblock's absolute offset u64 and
// its image before the commit (u32 length + bytes), the record count u32,
// the records (absolute offset u64, length u32, bytes), and a CRC-32C of
// everything before it.

// JournalSuffix names a file's journal: FILE.h5 + JournalSuffix.
const JournalSuffix = ".h5mount-journal"

const (
	journalMagic   = "H5MOUNTJ"
	journalVersion = 1
	// maxJournalBytes bounds what a journal may make us read.
	maxJournalBytes = 1 << 32
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

type journal struct {
	sbOff   int64
	sbImage []byte
	records []record
}

func (j *journal) encode() []byte {
	var b bytes.Buffer
	b.WriteString(journalMagic)
	put := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	put(uint32(journalVersion))
	put(uint64(j.sbOff))
	put(uint32(len(j.sbImage)))
	b.Write(j.sbImage)
	put(uint32(len(j.records)))
	for _, r := range j.records {
		put(uint64(r.off))
		put(uint32(len(r.data)))
		b.Write(r.data)
	}
	put(crc32.Checksum(b.Bytes(), castagnoli))
	return b.Bytes()
}

// errTornJournal: the journal was not completely written, so the commit it
// describes never touched the file.
var errTornJournal = errors.New("h5: journal incomplete")

func decodeJournal(raw []byte) (*journal, error) {
	if len(raw) < len(journalMagic)+4 || string(raw[:len(journalMagic)]) != journalMagic {
		return nil, errTornJournal
	}
	body, sum := raw[:len(raw)-4], binary.LittleEndian.Uint32(raw[len(raw)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return nil, errTornJournal
	}
	d := format.NewDecoder(body[len(journalMagic):], 0, "journal", format.Sizes{Offset: 8, Length: 8})
	if v := d.U32(); v != journalVersion {
		return nil, fmt.Errorf("h5: journal version %d: %w", v, ErrUnsupported)
	}
	j := &journal{sbOff: int64(d.U64())}
	j.sbImage = d.Bytes(int(d.U32()))
	n := d.U32()
	for i := uint32(0); i < n && d.Err() == nil; i++ {
		off := int64(d.U64())
		data := d.Bytes(int(d.U32()))
		j.records = append(j.records, record{off: off, data: data})
	}
	if err := d.Err(); err != nil {
		return nil, err
	}
	return j, nil
}

// writeJournal makes the journal durable, its name included.
func writeJournal(path string, j *journal) error {
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("h5: journal: %w", err)
	}
	_, err = fh.Write(j.encode())
	if err == nil {
		err = fh.Sync()
	}
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncDir(path)
	}
	if err != nil {
		return fmt.Errorf("h5: journal %s: %w", path, err)
	}
	return nil
}

// removeJournal deletes a journal whose commit is complete in the file, and
// makes the deletion durable, so that it is never replayed over later
// changes.
func removeJournal(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("h5: removing journal: %w", err)
	}
	return syncDir(path)
}

func syncDir(path string) error {
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// readJournal returns the journal beside the HDF5 file at path, nil when
// there is none or it was never completed.
func readJournal(path string) (*journal, error) {
	fh, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("h5: journal: %w", err)
	}
	defer fh.Close()
	raw, err := io.ReadAll(io.LimitReader(fh, maxJournalBytes))
	if err != nil {
		return nil, fmt.Errorf("h5: journal %s: %w", path, err)
	}
	j, err := decodeJournal(raw)
	if errors.Is(err, errTornJournal) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("h5: journal %s: %w", path, err)
	}
	return j, nil
}

// belongsTo checks that the journal describes a commit of this file: its
// superblock is either as it was before the commit or as the commit leaves
// it. Anything else means the file changed since, and replaying would
// overwrite someone else's work.
func (j *journal) belongsTo(r io.ReaderAt) error {
	cur := make([]byte, len(j.sbImage))
	if _, err := r.ReadAt(cur, j.sbOff); err != nil {
		return fmt.Errorf("h5: reading the superblock to check the journal: %w", err)
	}
	if bytes.Equal(cur, j.sbImage) {
		return nil
	}
	after := append([]byte(nil), j.sbImage...)
	for _, rec := range j.records {
		lo, hi := max(rec.off, j.sbOff), min(rec.off+int64(len(rec.data)), j.sbOff+int64(len(after)))
		if lo < hi {
			copy(after[lo-j.sbOff:hi-j.sbOff], rec.data[lo-rec.off:hi-rec.off])
		}
	}
	if bytes.Equal(cur, after) {
		return nil
	}
	return fmt.Errorf("h5: the journal beside the file is for another version of it (the file changed since): %w", ErrCorrupt)
}

// apply writes the journal's records into the file.
func (j *journal) apply(w io.WriterAt) error {
	for _, r := range j.records {
		if _, err := w.WriteAt(r.data, r.off); err != nil {
			return fmt.Errorf("h5: writing %d journaled bytes at 0x%x: %w", len(r.data), r.off, err)
		}
	}
	return nil
}

// Recover replays the journal a crashed writer left beside the named file,
// if any, and reports whether there was one to replay.
func Recover(name string) (bool, error) {
	jpath := name + JournalSuffix
	j, err := readJournal(jpath)
	if err != nil || j == nil {
		if err == nil {
			// A torn journal describes a commit that never began.
			err = removeJournal(jpath)
		}
		return false, err
	}
	fh, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		return false, err
	}
	defer fh.Close()
	if err := j.belongsTo(fh); err != nil {
		return false, err
	}
	if err := j.apply(fh); err != nil {
		return false, err
	}
	if err := fh.Sync(); err != nil {
		return false, err
	}
	return true, removeJournal(jpath)
}

// journaledView is the file as it will be once its journal, if any, is
// replayed.
func journaledView(name string, fh *os.File) (io.ReaderAt, error) {
	j, err := readJournal(name + JournalSuffix)
	if err != nil || j == nil {
		return fh, err
	}
	if err := j.belongsTo(fh); err != nil {
		return nil, err
	}
	ov := newOverlay()
	var end int64
	if st, err := fh.Stat(); err == nil {
		end = st.Size()
	}
	for _, r := range j.records {
		ov.write(r.data, r.off)
		end = max(end, r.off+int64(len(r.data)))
	}
	return overlayReader{r: fh, ov: ov, end: func() int64 { return end }}, nil
}

// errCrash stands for the process dying at a chosen point of a commit
// (tests only: writer.crashAt).
var errCrash = errors.New("h5: simulated crash")

// crashTorn leaves half a journal, as a crash while writing it would.
func (w *writer) crashTorn(j *journal) error {
	raw := j.encode()
	if err := os.WriteFile(w.journalPath, raw[:len(raw)/2], 0o600); err != nil {
		return err
	}
	return errCrash
}
