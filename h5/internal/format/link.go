package format

import (
	"bytes"
	"time"
)

// Link types of the link message.
const (
	LinkHard     = 0
	LinkSoft     = 1
	LinkExternal = 64
)

// Link is a decoded link message, or a link built from a symbol table entry.
type Link struct {
	Name             string
	Type             uint8
	HasCreationOrder bool
	CreationOrder    int64
	CharSet          uint8
	Addr             uint64 // hard links
	Target           string // soft links
	ExtFile, ExtPath string // external links
	Raw              []byte
}

// DecodeLink decodes a link message, as found in object headers and in the
// fractal heap of dense groups.
func DecodeLink(buf []byte, addr uint64, sizes Sizes) (*Link, error) {
	d := NewDecoder(buf, addr, "link message", sizes)
	if v := d.U8(); v != 1 {
		return nil, Corruptf(addr, "link message", "version %d", v)
	}
	flags := d.U8()
	l := &Link{}
	if flags&0x08 != 0 {
		l.Type = d.U8()
	}
	if flags&0x04 != 0 {
		l.HasCreationOrder = true
		l.CreationOrder = int64(d.U64())
	}
	if flags&0x10 != 0 {
		l.CharSet = d.U8()
	}
	n := d.Uint(1 << (flags & 3))
	if n == 0 || n > uint64(d.Remaining()) {
		d.Corrupt("link name length %d", n)
		return nil, d.Err()
	}
	l.Name = string(d.Bytes(int(n)))
	switch l.Type {
	case LinkHard:
		l.Addr = d.Offset()
	case LinkSoft:
		l.Target = string(d.Bytes(int(d.U16())))
	case LinkExternal:
		info := d.Bytes(int(d.U16()))
		if d.Err() == nil {
			if len(info) < 1 {
				d.Corrupt("empty external link")
				break
			}
			parts := bytes.SplitN(info[1:], []byte{0}, 3)
			if len(parts) < 2 {
				d.Corrupt("external link without object path")
				break
			}
			l.ExtFile, l.ExtPath = string(parts[0]), string(parts[1])
		}
	default:
		d.Bytes(int(d.U16())) // user-defined: kept in Raw only
	}
	if err := d.Err(); err != nil {
		return nil, err
	}
	l.Raw = append([]byte(nil), buf[:d.Pos()]...)
	return l, nil
}

// LinkInfo is a decoded link info message (dense and compact new-style groups).
type LinkInfo struct {
	Flags            uint8
	MaxCreationIndex uint64
	HeapAddr         uint64
	NameIndexAddr    uint64
	OrderIndexAddr   uint64
}

// TracksOrder reports whether link creation order is tracked.
func (li *LinkInfo) TracksOrder() bool { return li.Flags&1 != 0 }

// DecodeLinkInfo decodes a link info message.
func DecodeLinkInfo(buf []byte, addr uint64, sizes Sizes) (*LinkInfo, error) {
	d := NewDecoder(buf, addr, "link info message", sizes)
	if v := d.U8(); v != 0 {
		return nil, Corruptf(addr, "link info message", "version %d", v)
	}
	li := &LinkInfo{Flags: d.U8(), OrderIndexAddr: Undefined}
	if li.Flags&1 != 0 {
		li.MaxCreationIndex = d.U64()
	}
	li.HeapAddr = d.Offset()
	li.NameIndexAddr = d.Offset()
	if li.Flags&2 != 0 {
		li.OrderIndexAddr = d.Offset()
	}
	return li, d.Err()
}

// AttributeInfo is a decoded attribute info message.
type AttributeInfo struct {
	Flags            uint8
	MaxCreationIndex uint16
	HeapAddr         uint64
	NameIndexAddr    uint64
	OrderIndexAddr   uint64
}

// DecodeAttributeInfo decodes an attribute info message.
func DecodeAttributeInfo(buf []byte, addr uint64, sizes Sizes) (*AttributeInfo, error) {
	d := NewDecoder(buf, addr, "attribute info message", sizes)
	if v := d.U8(); v != 0 {
		return nil, Corruptf(addr, "attribute info message", "version %d", v)
	}
	ai := &AttributeInfo{Flags: d.U8(), OrderIndexAddr: Undefined}
	if ai.Flags&1 != 0 {
		ai.MaxCreationIndex = d.U16()
	}
	ai.HeapAddr = d.Offset()
	ai.NameIndexAddr = d.Offset()
	if ai.Flags&2 != 0 {
		ai.OrderIndexAddr = d.Offset()
	}
	return ai, d.Err()
}

// SymbolTableMessage locates an old-style group's B-tree and local heap.
type SymbolTableMessage struct {
	BTreeAddr uint64
	HeapAddr  uint64
}

// DecodeSymbolTableMessage decodes a symbol table message.
func DecodeSymbolTableMessage(buf []byte, addr uint64, sizes Sizes) (*SymbolTableMessage, error) {
	d := NewDecoder(buf, addr, "symbol table message", sizes)
	m := &SymbolTableMessage{BTreeAddr: d.Offset(), HeapAddr: d.Offset()}
	return m, d.Err()
}

// DecodeModTime decodes the modification time message (0x12) or the old
// ASCII form (0x0e).
func DecodeModTime(m *Message) (time.Time, bool) {
	switch m.Type {
	case MsgModTime:
		if len(m.Data) >= 8 && m.Data[0] == 1 {
			s := uint32(m.Data[4]) | uint32(m.Data[5])<<8 | uint32(m.Data[6])<<16 | uint32(m.Data[7])<<24
			return time.Unix(int64(s), 0), true
		}
	case MsgModTimeOld:
		if len(m.Data) >= 14 {
			t, err := time.Parse("20060102150405", string(m.Data[:14]))
			if err == nil {
				return t, true
			}
		}
	}
	return time.Time{}, false
}

// SharedMessage is the body of a message whose shared flag is set.
type SharedMessage struct {
	Version uint8
	Type    uint8 // version 3: 1 in the shared message heap, 2 in an object header
	Addr    uint64
	HeapID  []byte
}

// DecodeSharedMessage decodes a shared message reference.
func DecodeSharedMessage(buf []byte, addr uint64, sizes Sizes) (*SharedMessage, error) {
	d := NewDecoder(buf, addr, "shared message", sizes)
	s := &SharedMessage{Version: d.U8(), Type: d.U8()}
	switch s.Version {
	case 1:
		// Version 1 stores a whole symbol table entry: a name offset
		// (never used) before the object header address.
		d.Skip(6)
		d.Length()
		s.Addr = d.Offset()
	case 2:
		s.Addr = d.Offset()
	case 3:
		if s.Type == 1 {
			s.HeapID = d.Bytes(8)
		} else {
			s.Addr = d.Offset()
		}
	default:
		d.Corrupt("version %d", s.Version)
	}
	return s, d.Err()
}
