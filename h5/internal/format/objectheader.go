package format

import "encoding/binary"

// Header message types.
const (
	MsgNil             = 0x00
	MsgDataspace       = 0x01
	MsgLinkInfo        = 0x02
	MsgDatatype        = 0x03
	MsgFillValueOld    = 0x04
	MsgFillValue       = 0x05
	MsgLink            = 0x06
	MsgExternalFiles   = 0x07
	MsgLayout          = 0x08
	MsgBogus           = 0x09
	MsgGroupInfo       = 0x0a
	MsgFilterPipeline  = 0x0b
	MsgAttribute       = 0x0c
	MsgComment         = 0x0d
	MsgModTimeOld      = 0x0e
	MsgSharedMsgTable  = 0x0f
	MsgContinuation    = 0x10
	MsgSymbolTable     = 0x11
	MsgModTime         = 0x12
	MsgBTreeK          = 0x13
	MsgDriverInfo      = 0x14
	MsgAttributeInfo   = 0x15
	MsgRefCount        = 0x16
	MsgFileSpaceInfo   = 0x17
	msgFlagShared      = 0x02
	maxHeaderChunks    = 4096
	maxHeaderMessages  = 65536
	objectHeaderV1Size = 16
)

// Message is one header message, undecoded.
type Message struct {
	Type          uint16
	Flags         uint8
	CreationOrder uint16
	Addr          uint64 // file address of Data
	Data          []byte
}

// Shared reports whether the message body is a shared-message reference.
func (m *Message) Shared() bool { return m.Flags&msgFlagShared != 0 }

// HeaderChunk is one contiguous block of header messages.
type HeaderChunk struct {
	Addr uint64 // address of the chunk (of its signature, for v2 continuation chunks)
	Size uint64
	// Messages occupy [MsgStart, MsgEnd). In version 2 headers a checksum
	// of [Addr, MsgEnd) is stored at MsgEnd.
	MsgStart, MsgEnd uint64
	Checksummed      bool
}

// ObjectHeader is a decoded object header with all its messages gathered
// from every continuation chunk.
type ObjectHeader struct {
	Addr       uint64
	Version    uint8
	Flags      uint8 // version 2 flags
	RefCount   uint32
	AccessTime uint32
	ModTime    uint32
	ChangeTime uint32
	BirthTime  uint32
	MaxCompact uint16
	MinDense   uint16
	Messages   []Message
	Chunks     []HeaderChunk
}

// ReadObjectHeader reads the object header at addr with its continuations.
func ReadObjectHeader(r *Reader, addr uint64) (*ObjectHeader, error) {
	sig, err := r.Read(addr, 4, "object header")
	if err != nil {
		return nil, err
	}
	h := &ObjectHeader{Addr: addr, RefCount: 1}
	type pending struct{ addr, size uint64 }
	var queue []pending
	if string(sig) == "OHDR" {
		h.Version = 2
		first, err := h.readV2Prefix(r, addr)
		if err != nil {
			return nil, err
		}
		queue = append(queue, pending{first.addr, first.size})
	} else {
		d, err := r.Decoder(addr, objectHeaderV1Size, "object header")
		if err != nil {
			return nil, err
		}
		h.Version = d.U8()
		if h.Version != 1 {
			return nil, Corruptf(addr, "object header", "version %d (no OHDR signature)", h.Version)
		}
		d.Skip(1)
		d.U16() // message count: we trust the chunks instead
		h.RefCount = d.U32()
		size := d.U32()
		queue = append(queue, pending{addr + objectHeaderV1Size, uint64(size)})
	}
	seen := map[uint64]bool{}
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		if seen[c.addr] || len(h.Chunks) >= maxHeaderChunks {
			return nil, Corruptf(addr, "object header", "continuation chain loops or exceeds %d chunks", maxHeaderChunks)
		}
		seen[c.addr] = true
		conts, err := h.readChunk(r, c.addr, c.size, len(h.Chunks) == 0)
		if err != nil {
			return nil, err
		}
		for _, ct := range conts {
			queue = append(queue, pending{ct.Addr, ct.Size})
		}
	}
	for _, m := range h.Messages {
		if m.Type == MsgRefCount && len(m.Data) >= 5 {
			h.RefCount = binary.LittleEndian.Uint32(m.Data[1:])
		}
	}
	return h, nil
}

type chunkSpan struct{ addr, size uint64 }

// readV2Prefix decodes the fixed part of a version 2 header and returns where
// its first chunk's messages are.
func (h *ObjectHeader) readV2Prefix(r *Reader, addr uint64) (chunkSpan, error) {
	n := r.Clamp(addr, 4+1+1+16+4+8)
	d, err := r.Decoder(addr, n, "object header")
	if err != nil {
		return chunkSpan{}, err
	}
	d.Signature("OHDR")
	if v := d.U8(); v != 2 {
		return chunkSpan{}, Corruptf(addr, "object header", "version %d after OHDR", v)
	}
	h.Flags = d.U8()
	if h.Flags&0x20 != 0 {
		h.AccessTime, h.ModTime, h.ChangeTime, h.BirthTime = d.U32(), d.U32(), d.U32(), d.U32()
	}
	if h.Flags&0x10 != 0 {
		h.MaxCompact, h.MinDense = d.U16(), d.U16()
	}
	size := d.Uint(1 << (h.Flags & 3))
	if err := d.Err(); err != nil {
		return chunkSpan{}, err
	}
	return chunkSpan{addr + uint64(d.Pos()), size}, nil
}

// readChunk decodes the messages of one chunk and returns the continuation
// messages found in it. For version 2 the first chunk starts after the
// prefix; later chunks start with "OCHK". The checksum covers the chunk from
// its signature ("OHDR" or "OCHK") up to the checksum.
func (h *ObjectHeader) readChunk(r *Reader, addr, size uint64, first bool) ([]HeaderChunk, error) {
	if size > uint64(r.FileSize()) {
		return nil, Corruptf(addr, "object header", "chunk of %d bytes in a %d-byte file", size, r.FileSize())
	}
	msgStart := addr
	chunkAddr := addr
	var block []byte
	var err error
	switch {
	case h.Version == 1:
		block, err = r.Read(addr, int(size), "object header chunk")
	case first:
		chunkAddr = h.Addr
		block, err = r.Read(h.Addr, int(addr-h.Addr+size+4), "object header")
		if err == nil {
			err = VerifyChecksum(block, h.Addr, "object header")
			block = block[addr-h.Addr : len(block)-4]
		}
	default:
		block, err = r.Read(addr, int(size), "object header continuation")
		if err == nil {
			err = VerifyChecksum(block, addr, "object header continuation")
		}
		if err == nil {
			if size < 8 || string(block[:4]) != "OCHK" {
				return nil, Corruptf(addr, "object header continuation", "missing OCHK signature")
			}
			block = block[4 : len(block)-4]
			msgStart = addr + 4
		}
	}
	if err != nil {
		return nil, err
	}
	h.Chunks = append(h.Chunks, HeaderChunk{Addr: chunkAddr, Size: size, MsgStart: msgStart,
		MsgEnd: msgStart + uint64(len(block)), Checksummed: h.Version == 2})
	d := NewDecoder(block, msgStart, "object header message", r.Sizes)
	var conts []HeaderChunk
	for d.Err() == nil {
		var m Message
		if h.Version == 1 {
			if d.Remaining() < 8 {
				break
			}
			m.Type = d.U16()
			n := int(d.U16())
			m.Flags = d.U8()
			d.Skip(3)
			m.Addr = d.Addr()
			m.Data = d.Bytes(n)
		} else {
			hdr := 4
			if h.Flags&0x04 != 0 {
				hdr = 6
			}
			if d.Remaining() < hdr {
				break // gap at the end of the chunk
			}
			m.Type = uint16(d.U8())
			n := int(d.U16())
			m.Flags = d.U8()
			if h.Flags&0x04 != 0 {
				m.CreationOrder = d.U16()
			}
			m.Addr = d.Addr()
			m.Data = d.Bytes(n)
		}
		if d.Err() != nil {
			return nil, d.Err()
		}
		if len(h.Messages) >= maxHeaderMessages {
			return nil, Corruptf(h.Addr, "object header", "more than %d messages", maxHeaderMessages)
		}
		if m.Type == MsgContinuation {
			cd := NewDecoder(m.Data, m.Addr, "continuation message", r.Sizes)
			c := HeaderChunk{Addr: cd.Offset(), Size: cd.Length()}
			if err := cd.Err(); err != nil {
				return nil, err
			}
			conts = append(conts, c)
		}
		h.Messages = append(h.Messages, m)
	}
	return conts, d.Err()
}

// Find returns the first message of type t, or nil.
func (h *ObjectHeader) Find(t uint16) *Message {
	for i := range h.Messages {
		if h.Messages[i].Type == t {
			return &h.Messages[i]
		}
	}
	return nil
}

// FindAll returns every message of type t.
func (h *ObjectHeader) FindAll(t uint16) []*Message {
	var out []*Message
	for i := range h.Messages {
		if h.Messages[i].Type == t {
			out = append(out, &h.Messages[i])
		}
	}
	return out
}
