package format

import (
	"io"
)

// SymbolTableEntry is the symbol table entry of the specification, used by
// superblocks 0/1 for the root group and by symbol table nodes.
type SymbolTableEntry struct {
	NameOffset uint64
	HeaderAddr uint64
	CacheType  uint32
	BTreeAddr  uint64 // scratch pad, cache type 1
	HeapAddr   uint64 // scratch pad, cache type 1
	LinkOffset uint32 // scratch pad, cache type 2 (soft link)
}

// DecodeSymbolTableEntry reads one entry.
func DecodeSymbolTableEntry(d *Decoder) SymbolTableEntry {
	e := SymbolTableEntry{NameOffset: d.Offset(), HeaderAddr: d.Offset(), CacheType: d.U32()}
	d.Skip(4)
	scratch := d.Bytes(16)
	if scratch != nil {
		sd := NewDecoder(scratch, 0, "symbol table entry", d.sizes)
		switch e.CacheType {
		case 1:
			e.BTreeAddr, e.HeapAddr = sd.Offset(), sd.Offset()
		case 2:
			e.LinkOffset = sd.U32()
		}
	}
	return e
}

// Superblock is a decoded superblock of any version.
type Superblock struct {
	Addr             uint64 // absolute position of the signature (the userblock size)
	Version          uint8
	Sizes            Sizes
	GroupLeafK       uint16
	GroupInternalK   uint16
	IndexedStorageK  uint16
	ConsistencyFlags uint32
	BaseAddr         uint64 // in effect: where the superblock is
	StoredBaseAddr   uint64 // as the field says
	FreeSpaceAddr    uint64
	ExtensionAddr    uint64
	EOFAddr          uint64
	DriverInfoAddr   uint64
	RootEntry        SymbolTableEntry // versions 0 and 1
	RootAddr         uint64           // root group object header, every version
	Raw              []byte
}

const signature = "\x89HDF\r\n\x1a\n"

// The end-of-file field holds the end of allocated space plus the base
// address as its own field has it, which libhdf5 takes back off when it
// opens the file (H5F__super_read). For most files that base is where the
// superblock is, and the field is the file's size, user block included.
// A writer that put the superblock behind a user block and still stored a
// base of 0 (NeXus files from PSI's SLS, with 32 KiB of XMP in front) has
// the field count from the superblock: writing the file's size there made
// libhdf5 refuse the file as truncated by the user block's length.

// storedEOF is the end-of-file field for an end of allocated space at eoa.
func (sb *Superblock) storedEOF(eoa uint64) uint64 { return eoa + sb.StoredBaseAddr }

// consistencyFlagsOffset is where versions 2 and 3 keep their flags byte.
const consistencyFlagsOffset = 11

// WriterFlags are the consistency flags libhdf5 keeps set while a writer
// has a file of this superblock version open: write access (bit 0) and
// SWMR write access (bit 2), in version 3 only (libhdf5 ignores them in
// older versions).
func WriterFlags(version uint8) uint32 {
	if version >= 3 {
		return 1<<0 | SWMRWriterFlag
	}
	return 0
}

// SWMRWriterFlag is the consistency flag of a version 3 superblock that a
// SWMR writer sets.
const SWMRWriterFlag = 1 << 2

// EndOfAllocation is the end of allocated space the end-of-file field
// records, counted from the base address in effect; ok is false when the
// field is undefined or below the stored base address (which libhdf5
// reads as an end past any file).
func (sb *Superblock) EndOfAllocation() (eoa uint64, ok bool) {
	if sb.EOFAddr == Undefined || sb.EOFAddr < sb.StoredBaseAddr {
		return 0, false
	}
	return sb.EOFAddr - sb.StoredBaseAddr, true
}

// FindSuperblock searches for the signature at 0, 512, 1024, 2048, ... and
// decodes the superblock found there.
func FindSuperblock(r io.ReaderAt, size int64) (*Superblock, error) {
	var sig [8]byte
	for pos := int64(0); pos+8 <= size; pos = nextSignaturePos(pos) {
		if _, err := r.ReadAt(sig[:], pos); err != nil && err != io.EOF {
			return nil, err
		}
		if string(sig[:]) == signature {
			return decodeSuperblock(r, size, pos)
		}
	}
	return nil, ErrNotHDF5
}

func nextSignaturePos(pos int64) int64 {
	if pos == 0 {
		return 512
	}
	return pos * 2
}

func decodeSuperblock(r io.ReaderAt, size int64, pos int64) (*Superblock, error) {
	n := int64(256)
	if size-pos < n {
		n = size - pos
	}
	buf := make([]byte, n)
	if _, err := r.ReadAt(buf, pos); err != nil && err != io.EOF {
		return nil, err
	}
	addr := uint64(pos)
	d := NewDecoder(buf, addr, "superblock", Sizes{Offset: 8, Length: 8})
	d.Skip(8)
	sb := &Superblock{Addr: addr, Version: d.U8()}
	switch sb.Version {
	case 0, 1:
		d.Skip(4) // free-space, root symtab, reserved, shared header versions
		sb.Sizes = Sizes{Offset: int(d.U8()), Length: int(d.U8())}
		d.Skip(1)
		sb.GroupLeafK, sb.GroupInternalK = d.U16(), d.U16()
		sb.ConsistencyFlags = d.U32()
		if sb.Version == 1 {
			sb.IndexedStorageK = d.U16()
			d.Skip(2)
		}
	case 2, 3:
		sb.Sizes = Sizes{Offset: int(d.U8()), Length: int(d.U8())}
		sb.ConsistencyFlags = uint32(d.U8())
	default:
		return nil, Unsupportedf(addr, "superblock", "version %d", sb.Version)
	}
	if err := d.Err(); err != nil {
		return nil, err
	}
	for _, s := range []int{sb.Sizes.Offset, sb.Sizes.Length} {
		if s != 2 && s != 4 && s != 8 && s != 16 {
			return nil, Corruptf(addr, "superblock", "size of offsets/lengths %d", s)
		}
	}
	if sb.Sizes.Offset > 8 || sb.Sizes.Length > 8 {
		return nil, Unsupportedf(addr, "superblock", "16-byte offsets or lengths")
	}
	d.sizes = sb.Sizes
	sb.BaseAddr = d.Offset()
	if sb.Version < 2 {
		sb.FreeSpaceAddr = d.Offset()
		sb.EOFAddr = d.Offset()
		sb.DriverInfoAddr = d.Offset()
		sb.RootEntry = DecodeSymbolTableEntry(d)
		sb.RootAddr = sb.RootEntry.HeaderAddr
		sb.ExtensionAddr = Undefined
	} else {
		sb.ExtensionAddr = d.Offset()
		sb.EOFAddr = d.Offset()
		sb.RootAddr = d.Offset()
		d.U32()
		if d.Err() == nil {
			if err := VerifyChecksum(buf[:d.Pos()], addr, "superblock"); err != nil {
				return nil, err
			}
		}
	}
	if err := d.Err(); err != nil {
		return nil, err
	}
	sb.Raw = append([]byte(nil), buf[:d.Pos()]...)
	// Like libhdf5, take the superblock's own position as the base address
	// whatever the field says: files copied behind a userblock keep working.
	sb.StoredBaseAddr = sb.BaseAddr
	sb.BaseAddr = addr
	return sb, nil
}
