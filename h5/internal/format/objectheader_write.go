package format

import (
	"encoding/binary"
	"fmt"
)

// Editing object headers. A header is a list of chunks, each exactly
// covered by messages (null messages mark free space; a version 2 chunk may
// end in a gap smaller than a message header). An edit turns removed
// messages into null space, puts added messages into free space where they
// fit, and otherwise opens a new continuation chunk, as libhdf5's H5O_alloc
// does. Only chunks that changed are written. Message addresses are not
// referenced from outside the header, so messages may move freely.

// NewMessage is a message to add to a header.
type NewMessage struct {
	Type          uint16
	Flags         uint8
	CreationOrder uint16
	Data          []byte
}

// minContinuationChunk is the smallest continuation chunk an edit opens,
// so that a series of small additions does not open one chunk each.
const minContinuationChunk = 256

type slot struct {
	typ   uint16
	flags uint8
	order uint16
	data  []byte // body, len = the size the header records
}

type editChunk struct {
	addr     uint64 // v1: first message; v2: chunk start (OHDR/OCHK)
	msgStart uint64
	capacity uint64 // bytes of [msgStart, msgEnd)
	slots    []slot
	gap      uint64 // v2: unused bytes at the end, fewer than a message header
	dirty    bool
	fresh    bool // allocated by this edit
}

// HeaderEdit is a pending change of one object header.
type HeaderEdit struct {
	r        *Reader
	h        *ObjectHeader
	chunks   []*editChunk
	refCount uint32
	prefix   bool // the v1 prefix (message count, reference count) changed
}

// EditObjectHeader starts an edit of h, which must be freshly read.
func EditObjectHeader(r *Reader, h *ObjectHeader) (*HeaderEdit, error) {
	e := &HeaderEdit{r: r, h: h, refCount: h.RefCount}
	mi := 0
	for _, c := range h.Chunks {
		ec := &editChunk{addr: c.Addr, msgStart: c.MsgStart, capacity: c.MsgEnd - c.MsgStart}
		pos := c.MsgStart
		for mi < len(h.Messages) && h.Messages[mi].Addr >= c.MsgStart && h.Messages[mi].Addr <= c.MsgEnd {
			m := h.Messages[mi]
			if m.Addr-uint64(e.msgHeaderSize()) != pos {
				return nil, Corruptf(h.Addr, "object header", "message at 0x%x does not follow the previous one", m.Addr)
			}
			ec.slots = append(ec.slots, slot{typ: m.Type, flags: m.Flags, order: m.CreationOrder, data: m.Data})
			pos = m.Addr + uint64(len(m.Data))
			mi++
		}
		if pos > c.MsgEnd {
			return nil, Corruptf(h.Addr, "object header", "messages overrun their chunk")
		}
		ec.gap = c.MsgEnd - pos
		e.chunks = append(e.chunks, ec)
	}
	if mi != len(h.Messages) {
		return nil, Corruptf(h.Addr, "object header", "messages outside every chunk")
	}
	return e, nil
}

func (e *HeaderEdit) msgHeaderSize() int {
	if e.h.Version == 1 {
		return 8
	}
	if e.h.Flags&0x04 != 0 {
		return 6
	}
	return 4
}

// bodySize is the size a message body takes: version 1 aligns to 8.
func (e *HeaderEdit) bodySize(n int) int {
	if e.h.Version == 1 {
		return (n + 7) &^ 7
	}
	return n
}

// Remove turns every message for which match is true into free space and
// reports how many there were.
func (e *HeaderEdit) Remove(match func(typ uint16, data []byte) bool) int {
	n := 0
	for _, c := range e.chunks {
		for i := range c.slots {
			s := &c.slots[i]
			if s.typ == MsgNil || s.typ == MsgContinuation || !match(s.typ, s.data) {
				continue
			}
			*s = slot{typ: MsgNil, data: make([]byte, len(s.data))}
			c.dirty = true
			n++
		}
		c.mergeNulls(e.msgHeaderSize())
	}
	return n
}

// Replace changes the body of the first message of type typ for which
// match is true: in place when the new body fits its space, else by
// removing it and adding the new one.
func (e *HeaderEdit) Replace(s Space, typ uint16, match func(data []byte) bool, m NewMessage) (bool, error) {
	for _, c := range e.chunks {
		for i := range c.slots {
			sl := &c.slots[i]
			if sl.typ != typ || !match(sl.data) {
				continue
			}
			if e.bodySize(len(m.Data)) == len(sl.data) {
				sl.data = make([]byte, len(sl.data))
				copy(sl.data, m.Data)
				sl.flags = m.Flags
				c.dirty = true
				return true, nil
			}
			*sl = slot{typ: MsgNil, data: make([]byte, len(sl.data))}
			c.dirty = true
			c.mergeNulls(e.msgHeaderSize())
			return true, e.Add(s, m)
		}
	}
	return false, nil
}

// mergeNulls joins adjacent null messages into one.
func (c *editChunk) mergeNulls(hdr int) {
	out := c.slots[:0]
	for _, s := range c.slots {
		if n := len(out); n > 0 && s.typ == MsgNil && out[n-1].typ == MsgNil {
			out[n-1].data = make([]byte, len(out[n-1].data)+hdr+len(s.data))
			continue
		}
		out = append(out, s)
	}
	c.slots = out
}

// tidyGap leaves a version 2 chunk as libhdf5 2.0 reads it
// (H5O__chunk_deserialize): a gap at the end only in a chunk without null
// messages, and never one that could hold a message header. A null message
// takes the gap in, the messages after it moving up, as libhdf5's
// H5O__eliminate_gap does; libhdf5 2.0 refused the headers that an edit
// had left with both ("gap in chunk with no null messages").
func (c *editChunk) tidyGap(hdr int) {
	if c.gap >= uint64(hdr) {
		c.slots = append(c.slots, slot{typ: MsgNil, data: make([]byte, c.gap-uint64(hdr))})
		c.gap = 0
	}
	for i := range c.slots {
		if c.gap == 0 {
			return
		}
		if s := &c.slots[i]; s.typ == MsgNil && len(s.data)+int(c.gap) <= 0xffff {
			s.data = make([]byte, len(s.data)+int(c.gap))
			c.gap = 0
		}
	}
}

// place puts a body of size need (with its header) into a null slot of c,
// and returns the slot, or nil when no null slot fits.
func (e *HeaderEdit) place(c *editChunk, need int) *slot {
	hdr := e.msgHeaderSize()
	for i := range c.slots {
		s := c.slots[i]
		if s.typ != MsgNil {
			continue
		}
		room := hdr + len(s.data)
		last := i == len(c.slots)-1
		rest := room - hdr - need
		switch {
		case rest == 0:
			c.slots[i] = slot{data: make([]byte, need)}
		case rest >= hdr:
			c.slots[i] = slot{data: make([]byte, need)}
			c.slots = append(c.slots[:i+1], append([]slot{{typ: MsgNil, data: make([]byte, rest-hdr)}}, c.slots[i+1:]...)...)
		case rest > 0 && last && e.h.Version == 2:
			// Less than a message header left at the end: a gap.
			c.slots[i] = slot{data: make([]byte, need)}
			c.gap += uint64(rest)
		default:
			continue
		}
		c.dirty = true
		return &c.slots[i]
	}
	return nil
}

// Add puts a new message into the header, opening a continuation chunk
// (allocated from s) when no free space holds it.
func (e *HeaderEdit) Add(s Space, m NewMessage) error {
	need := e.bodySize(len(m.Data))
	if need > 0xffff {
		return Unsupportedf(e.h.Addr, "object header", "a message of %d bytes", need)
	}
	fill := func(sl *slot) {
		copy(sl.data, m.Data)
		sl.typ, sl.flags, sl.order = m.Type, m.Flags, m.CreationOrder
	}
	for _, c := range e.chunks {
		if sl := e.place(c, need); sl != nil {
			fill(sl)
			return nil
		}
	}
	// A new chunk, and room for the continuation message pointing at it:
	// free space, or the space of a message moved into the new chunk.
	hdr := e.msgHeaderSize()
	contBody := e.bodySize(e.r.Sizes.Offset + e.r.Sizes.Length)
	var moved []slot
	var contSlot *slot
	for _, c := range e.chunks {
		if contSlot = e.place(c, contBody); contSlot != nil {
			break
		}
	}
	// Move messages out, smallest first (never a continuation, whose chunk
	// order must stay), until the freed space holds the continuation.
	for contSlot == nil {
		var best *editChunk
		bi := -1
		for _, c := range e.chunks {
			for i, sl := range c.slots {
				if sl.typ == MsgContinuation || sl.typ == MsgNil {
					continue
				}
				if bi < 0 || len(sl.data) < len(best.slots[bi].data) {
					best, bi = c, i
				}
			}
		}
		if bi < 0 {
			return Unsupportedf(e.h.Addr, "object header", "no message can make room for a continuation")
		}
		moved = append(moved, best.slots[bi])
		best.slots[bi] = slot{typ: MsgNil, data: make([]byte, len(best.slots[bi].data))}
		best.dirty = true
		best.mergeNulls(hdr)
		contSlot = e.place(best, contBody)
	}
	size := uint64(hdr + need)
	for _, mv := range moved {
		size += uint64(hdr + len(mv.data))
	}
	overhead := uint64(0)
	if e.h.Version == 2 {
		overhead = 8 // OCHK and the checksum
	}
	capacity := max(size, minContinuationChunk)
	if e.h.Version == 1 {
		capacity = (capacity + 7) &^ 7
	}
	addr, err := s.Alloc(capacity + overhead)
	if err != nil {
		return err
	}
	nc := &editChunk{addr: addr, msgStart: addr, capacity: capacity, dirty: true, fresh: true}
	if e.h.Version == 2 {
		nc.msgStart = addr + 4
	}
	nc.slots = append(nc.slots, moved...)
	nc.slots = append(nc.slots, slot{typ: m.Type, flags: m.Flags, order: m.CreationOrder, data: append(append([]byte(nil), m.Data...), make([]byte, need-len(m.Data))...)})
	if rest := capacity - size; rest >= uint64(hdr) {
		nc.slots = append(nc.slots, slot{typ: MsgNil, data: make([]byte, rest-uint64(hdr))})
	} else {
		nc.gap = rest
	}
	cont := &Encoder{Sizes: e.r.Sizes}
	cont.Offset(addr)
	cont.Length(capacity + overhead)
	contSlot.typ, contSlot.flags = MsgContinuation, 0
	copy(contSlot.data, cont.Buf)
	e.chunks = append(e.chunks, nc)
	e.prefix = true
	return nil
}

// SetRefCount sets the number of hard links to the object. Version 2
// headers keep it in a reference count message, present only above 1.
func (e *HeaderEdit) SetRefCount(s Space, n uint32) error {
	if n == e.refCount {
		return nil
	}
	e.refCount = n
	if e.h.Version == 1 {
		e.prefix = true
		return nil
	}
	e.Remove(func(typ uint16, _ []byte) bool { return typ == MsgRefCount })
	if n <= 1 {
		return nil
	}
	body := []byte{0, 0, 0, 0, 0}
	binary.LittleEndian.PutUint32(body[1:], n)
	return e.Add(s, NewMessage{Type: MsgRefCount, Data: body})
}

// Commit writes every chunk the edit changed.
func (e *HeaderEdit) Commit(s Space) error {
	if e.h.Version == 1 && (e.prefix || e.chunks[0].dirty) {
		if err := s.WriteAt(e.v1Prefix(), e.h.Addr); err != nil {
			return err
		}
	}
	for i, c := range e.chunks {
		if !c.dirty {
			continue
		}
		img, at, err := e.encodeChunk(i, c)
		if err != nil {
			return err
		}
		if err := s.WriteAt(img, at); err != nil {
			return err
		}
		c.dirty = false
	}
	e.prefix = false
	return nil
}

func (e *HeaderEdit) v1Prefix() []byte {
	n := 0
	for _, c := range e.chunks {
		n += len(c.slots)
	}
	enc := &Encoder{}
	enc.U8(1)
	enc.U8(0)
	enc.U16(uint16(n))
	enc.U32(e.refCount)
	enc.U32(uint32(e.chunks[0].capacity))
	enc.U32(0)
	return enc.Buf
}

// encodeChunk is a chunk's image and where it goes: for version 2 from its
// signature through its checksum (the first chunk with the header prefix as
// read), for version 1 its messages.
func (e *HeaderEdit) encodeChunk(i int, c *editChunk) ([]byte, uint64, error) {
	enc := &Encoder{Sizes: e.r.Sizes}
	at := c.msgStart
	if e.h.Version == 2 {
		at = c.addr
		if i == 0 {
			pfx, err := e.r.Read(c.addr, int(c.msgStart-c.addr), "object header")
			if err != nil {
				return nil, 0, err
			}
			enc.Bytes(pfx)
		} else {
			enc.Bytes([]byte("OCHK"))
		}
	}
	if e.h.Version == 2 {
		c.tidyGap(e.msgHeaderSize())
	}
	for _, s := range c.slots {
		if e.h.Version == 1 {
			enc.U16(s.typ)
			enc.U16(uint16(len(s.data)))
			enc.U8(s.flags)
			enc.Zeros(3)
		} else {
			enc.U8(uint8(s.typ))
			enc.U16(uint16(len(s.data)))
			enc.U8(s.flags)
			if e.h.Flags&0x04 != 0 {
				enc.U16(s.order)
			}
		}
		enc.Bytes(s.data)
	}
	enc.Zeros(int(c.gap))
	if got := uint64(len(enc.Buf)) - (c.msgStart - at); got != c.capacity {
		return nil, 0, fmt.Errorf("h5: object header at 0x%x: chunk of %d bytes laid out as %d: %w", e.h.Addr, c.capacity, got, ErrCorrupt)
	}
	if e.h.Version == 2 {
		enc.AppendChecksum()
	}
	return enc.Buf, at, nil
}

// Messages lists the header's messages as the edit leaves them, without
// null and continuation messages.
func (e *HeaderEdit) Messages() []NewMessage {
	var out []NewMessage
	for _, c := range e.chunks {
		for _, s := range c.slots {
			if s.typ != MsgNil && s.typ != MsgContinuation {
				out = append(out, NewMessage{Type: s.typ, Flags: s.flags, CreationOrder: s.order, Data: s.data})
			}
		}
	}
	return out
}

// HeaderCreate describes a new object header.
type HeaderCreate struct {
	Version uint8 // 1 or 2
	// Version 2 only: header flags (bit 2: creation order of attributes
	// tracked; bit 4: attribute phase change values stored; bit 5: times
	// stored) and the values they ask for.
	Flags                           uint8
	AccessTime, ModTime, ChangeTime uint32
	BirthTime                       uint32
	MaxCompact, MinDense            uint16
	// Room beyond the messages for later additions.
	Slack uint64
}

// CreateObjectHeader writes a new object header holding msgs, with a
// reference count of one, and returns its address.
func CreateObjectHeader(r *Reader, s Space, hc HeaderCreate, msgs []NewMessage) (uint64, error) {
	h := &ObjectHeader{Version: hc.Version, Flags: hc.Flags, RefCount: 1}
	e := &HeaderEdit{r: r, h: h, refCount: 1}
	hdr := e.msgHeaderSize()
	size := hc.Slack
	for _, m := range msgs {
		size += uint64(hdr + e.bodySize(len(m.Data)))
	}
	switch hc.Version {
	case 1:
		size = max((size+7)&^7, 24)
		addr, err := s.Alloc(16 + size)
		if err != nil {
			return 0, err
		}
		h.Addr = addr
		c := &editChunk{addr: addr + 16, msgStart: addr + 16, capacity: size, dirty: true, fresh: true}
		c.slots = []slot{{typ: MsgNil, data: make([]byte, size-uint64(hdr))}}
		e.chunks = []*editChunk{c}
		e.prefix = true
	case 2:
		size = max(size, uint64(hdr))
		pfx := &Encoder{}
		pfx.Bytes([]byte("OHDR"))
		pfx.U8(2)
		width := 0
		switch {
		case size <= 0xff:
		case size <= 0xffff:
			width = 1
		case size <= 0xffffffff:
			width = 2
		default:
			width = 3
		}
		flags := hc.Flags&^3 | uint8(width)
		h.Flags = flags
		pfx.U8(flags)
		if flags&0x20 != 0 {
			pfx.U32(hc.AccessTime)
			pfx.U32(hc.ModTime)
			pfx.U32(hc.ChangeTime)
			pfx.U32(hc.BirthTime)
		}
		if flags&0x10 != 0 {
			pfx.U16(hc.MaxCompact)
			pfx.U16(hc.MinDense)
		}
		pfx.Uint(size, 1<<width)
		addr, err := s.Alloc(uint64(len(pfx.Buf)) + size + 4)
		if err != nil {
			return 0, err
		}
		h.Addr = addr
		// The prefix goes first so that encodeChunk can read it back.
		if err := s.WriteAt(pfx.Buf, addr); err != nil {
			return 0, err
		}
		c := &editChunk{addr: addr, msgStart: addr + uint64(len(pfx.Buf)), capacity: size, dirty: true, fresh: true}
		c.slots = []slot{{typ: MsgNil, data: make([]byte, size-uint64(hdr))}}
		e.chunks = []*editChunk{c}
	default:
		return 0, Unsupportedf(Undefined, "object header", "version %d", hc.Version)
	}
	for _, m := range msgs {
		if err := e.Add(s, m); err != nil {
			return 0, err
		}
	}
	if err := e.Commit(s); err != nil {
		return 0, err
	}
	return h.Addr, nil
}

// ReleaseObjectHeader frees every chunk of a header whose object is gone.
func ReleaseObjectHeader(s Space, h *ObjectHeader) {
	for i, c := range h.Chunks {
		switch {
		case h.Version == 1 && i == 0:
			s.Free(h.Addr, 16+c.Size)
		case h.Version == 2 && i == 0:
			s.Free(h.Addr, c.MsgEnd+4-h.Addr)
		default:
			s.Free(c.Addr, c.Size)
		}
	}
}
