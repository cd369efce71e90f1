package h5

import (
	"fmt"
	"os"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// CreateOptions choose the form of a new file.
type CreateOptions struct {
	// Latest makes the newer form (superblock version 2, version 2 object
	// headers, link messages); by default the file takes the most widely
	// readable form, as h5py writes by default (superblock 0, version 1
	// headers, symbol-table groups).
	Latest bool
	Options
}

// Default B-tree K values of new files (H5F_CRT_SYM_LEAF_DEF and
// H5F_CRT_BTREE_RANK_DEF for groups).
const (
	newGroupLeafK     = 4
	newGroupInternalK = 16
)

// bootstrap is the space of a file being made: everything is new, so it
// is written in place, at the end.
type bootstrap struct {
	fh  *os.File
	end uint64
}

func (b *bootstrap) Alloc(n uint64) (uint64, error) {
	addr := b.end
	b.end += n
	return addr, nil
}

func (b *bootstrap) Free(addr, n uint64) {}

func (b *bootstrap) WriteAt(p []byte, addr uint64) error {
	_, err := b.fh.WriteAt(p, int64(addr))
	return err
}

// Create makes a new HDF5 file holding an empty root group and opens it
// for writing. It fails if name exists.
func Create(name string, opt *CreateOptions) (*File, error) {
	if opt == nil {
		opt = &CreateOptions{}
	}
	fh, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
	if err != nil {
		return nil, err
	}
	err = writeNewFile(fh, opt.Latest)
	if err == nil {
		err = fh.Sync()
	}
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
		return nil, fmt.Errorf("h5: creating %s: %w", name, err)
	}
	return OpenFileRW(name, &opt.Options)
}

func writeNewFile(fh *os.File, latest bool) error {
	sizes := format.Sizes{Offset: 8, Length: 8}
	r := &format.Reader{R: fh, Size: 1 << 40, Sizes: sizes}
	sbSize := uint64(96)
	if latest {
		sbSize = 48
	}
	s := &bootstrap{fh: fh, end: sbSize}
	e := &format.Encoder{Sizes: sizes}
	e.Bytes([]byte("\x89HDF\r\n\x1a\n"))
	if latest {
		t := now()
		li := &format.LinkInfo{HeapAddr: format.Undefined, NameIndexAddr: format.Undefined, OrderIndexAddr: format.Undefined}
		root, err := format.CreateObjectHeader(r, s, format.HeaderCreate{Version: 2, Flags: 0x20,
			AccessTime: t, ModTime: t, ChangeTime: t, BirthTime: t, Slack: newGroupLinkSlack}, []format.NewMessage{
			{Type: format.MsgLinkInfo, Data: format.EncodeLinkInfo(li, sizes)},
			{Type: format.MsgGroupInfo, Data: format.EncodeGroupInfo(&format.GroupInfo{})},
		})
		if err != nil {
			return err
		}
		e.U8(2)
		e.U8(uint8(sizes.Offset))
		e.U8(uint8(sizes.Length))
		e.U8(0) // consistency flags
		e.Offset(0)
		e.Offset(format.Undefined) // no superblock extension
		e.Offset(s.end)
		e.Offset(root)
		e.AppendChecksum()
	} else {
		k := format.SymbolTableK{Leaf: newGroupLeafK, Internal: newGroupInternalK}
		st, err := format.CreateSymbolTable(r, s, k, 0)
		if err != nil {
			return err
		}
		root, err := format.CreateObjectHeader(r, s, format.HeaderCreate{Version: 1, Slack: newHeaderSlack},
			[]format.NewMessage{{Type: format.MsgSymbolTable, Data: format.EncodeSymbolTableMessage(st, sizes)}})
		if err != nil {
			return err
		}
		e.Bytes([]byte{0, 0, 0, 0}) // superblock, free space, root entry, reserved
		e.Bytes([]byte{0, uint8(sizes.Offset), uint8(sizes.Length), 0})
		e.U16(newGroupLeafK)
		e.U16(newGroupInternalK)
		e.U32(0)
		e.Offset(0)
		e.Offset(format.Undefined)
		e.Offset(s.end)
		e.Offset(format.Undefined)
		// The root's symbol table entry, its table cached in the scratch pad.
		e.Offset(0)
		e.Offset(root)
		e.U32(1)
		e.U32(0)
		e.Offset(st.BTreeAddr)
		e.Offset(st.HeapAddr)
	}
	if uint64(len(e.Buf)) != sbSize {
		return fmt.Errorf("h5: new superblock of %d bytes, want %d: %w", len(e.Buf), sbSize, ErrCorrupt)
	}
	if err := s.WriteAt(e.Buf, 0); err != nil {
		return err
	}
	return fh.Truncate(int64(s.end))
}
