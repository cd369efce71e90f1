package format

import (
	"encoding/binary"
	"io"
	"sync/atomic"
)

// Undefined is the "undefined address" of the specification: all bits set.
const Undefined = ^uint64(0)

// Sizes are the superblock's "size of offsets" and "size of lengths".
type Sizes struct {
	Offset int
	Length int
}

// Decoder reads little-endian fields from one in-memory structure. Its error
// is sticky: after the first out-of-bounds read every accessor returns zero
// and Err reports where decoding ran off the end, so decoders can read a whole
// structure and check once, without ever panicking on a short buffer.
type Decoder struct {
	buf   []byte
	pos   int
	addr  uint64 // file address of buf[0], for error messages
	what  string
	sizes Sizes
	err   error
}

// NewDecoder decodes buf, which was read from file address addr.
func NewDecoder(buf []byte, addr uint64, what string, sizes Sizes) *Decoder {
	return &Decoder{buf: buf, addr: addr, what: what, sizes: sizes}
}

func (d *Decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.buf)-d.pos {
		d.err = Corruptf(d.addr, d.what, "truncated: need %d bytes at offset %d of %d", n, d.pos, len(d.buf))
		return nil
	}
	b := d.buf[d.pos : d.pos+n]
	d.pos += n
	return b
}

// Err returns the first decoding error.
func (d *Decoder) Err() error { return d.err }

// Fail records err unless an earlier error is already recorded.
func (d *Decoder) Fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

// Corrupt records a corruption error at this decoder's structure.
func (d *Decoder) Corrupt(format string, args ...any) {
	d.Fail(Corruptf(d.addr, d.what, format, args...))
}

// Pos is the offset of the next byte within the buffer.
func (d *Decoder) Pos() int { return d.pos }

// Addr is the file address of the next byte.
func (d *Decoder) Addr() uint64 { return d.addr + uint64(d.pos) }

// Remaining is how many bytes are left.
func (d *Decoder) Remaining() int { return len(d.buf) - d.pos }

// Sizes returns the offset and length sizes in force.
func (d *Decoder) Sizes() Sizes { return d.sizes }

// Seek moves to offset pos within the buffer.
func (d *Decoder) Seek(pos int) {
	if pos < 0 || pos > len(d.buf) {
		d.Corrupt("seek to %d outside %d bytes", pos, len(d.buf))
		return
	}
	d.pos = pos
}

// Skip skips n bytes.
func (d *Decoder) Skip(n int) { d.take(n) }

// Bytes returns the next n bytes (aliasing the buffer).
func (d *Decoder) Bytes(n int) []byte { return d.take(n) }

// U8 reads one byte.
func (d *Decoder) U8() uint8 {
	b := d.take(1)
	if b == nil {
		return 0
	}
	return b[0]
}

// U16 reads a little-endian uint16.
func (d *Decoder) U16() uint16 {
	b := d.take(2)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint16(b)
}

// U32 reads a little-endian uint32.
func (d *Decoder) U32() uint32 {
	b := d.take(4)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(b)
}

// U64 reads a little-endian uint64.
func (d *Decoder) U64() uint64 {
	b := d.take(8)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(b)
}

// Uint reads an n-byte little-endian unsigned integer (n <= 8).
func (d *Decoder) Uint(n int) uint64 {
	if n > 8 {
		d.Corrupt("integer field of %d bytes", n)
		return 0
	}
	b := d.take(n)
	return DecodeUint(b)
}

// DecodeUint decodes a little-endian unsigned integer of up to 8 bytes.
func DecodeUint(b []byte) uint64 {
	var v uint64
	for i := len(b) - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

// Offset reads a file address; all-ones becomes Undefined.
func (d *Decoder) Offset() uint64 {
	n := d.sizes.Offset
	v := d.Uint(n)
	if n < 8 && v == (uint64(1)<<(8*uint(n)))-1 {
		return Undefined
	}
	return v
}

// Length reads a length field.
func (d *Decoder) Length() uint64 { return d.Uint(d.sizes.Length) }

// Signature checks a 4-byte signature.
func (d *Decoder) Signature(sig string) {
	b := d.take(len(sig))
	if b != nil && string(b) != sig {
		d.Corrupt("bad signature %q, want %q", b, sig)
	}
}

// Reader reads structures from the file by address. Addresses in the file are
// relative to the superblock's base address; Reader adds it. Every read is
// checked against the end of the file, so a claimed size can never make us
// allocate more than the file holds.
type Reader struct {
	R     io.ReaderAt
	Size  int64 // bytes in the underlying file when it was opened
	Base  uint64
	Sizes Sizes

	grown atomic.Int64 // the size since, when a writer has extended the file
}

// FileSize is the size of the underlying file: every read is checked
// against it.
func (r *Reader) FileSize() int64 {
	if g := r.grown.Load(); g > r.Size {
		return g
	}
	return r.Size
}

// Grow records that a writer extended the file to n bytes.
func (r *Reader) Grow(n int64) {
	for {
		cur := r.grown.Load()
		if n <= cur || r.grown.CompareAndSwap(cur, n) {
			return
		}
	}
}

// Read returns n bytes at relative address addr.
func (r *Reader) Read(addr uint64, n int, what string) ([]byte, error) {
	if addr == Undefined {
		return nil, Corruptf(addr, what, "undefined address")
	}
	abs := addr + r.Base
	if n < 0 || abs < addr || abs > uint64(r.FileSize()) || uint64(n) > uint64(r.FileSize())-abs {
		return nil, Corruptf(addr, what, "%d bytes at 0x%x run past the end of the file (%d bytes)", n, abs, r.FileSize())
	}
	buf := make([]byte, n)
	if _, err := r.R.ReadAt(buf, int64(abs)); err != nil && err != io.EOF {
		return nil, &FormatError{Addr: addr, What: what, Msg: "read: " + err.Error(), Err: err}
	}
	return buf, nil
}

// ReadInto fills buf from relative address addr.
func (r *Reader) ReadInto(buf []byte, addr uint64, what string) error {
	abs := addr + r.Base
	if addr == Undefined || abs < addr || abs > uint64(r.FileSize()) || uint64(len(buf)) > uint64(r.FileSize())-abs {
		return Corruptf(addr, what, "%d bytes run past the end of the file (%d bytes)", len(buf), r.FileSize())
	}
	if _, err := r.R.ReadAt(buf, int64(abs)); err != nil && err != io.EOF {
		return &FormatError{Addr: addr, What: what, Msg: "read: " + err.Error(), Err: err}
	}
	return nil
}

// WillNeeder is a reader that can start fetching a range it will be asked
// for soon.
type WillNeeder interface {
	WillNeed(off, n int64)
}

// WillNeed hints that n bytes at addr will be read soon: chunks a
// sequential reader will want next are fetched from the disk while the
// ones before them decode, instead of each decode waiting for its read.
func (r *Reader) WillNeed(addr uint64, n int) {
	abs := addr + r.Base
	if addr == Undefined || abs < addr || n <= 0 || abs >= uint64(r.FileSize()) {
		return
	}
	if h, ok := r.R.(WillNeeder); ok {
		h.WillNeed(int64(abs), int64(n))
	}
}

// Decoder reads n bytes at addr and returns a decoder over them.
func (r *Reader) Decoder(addr uint64, n int, what string) (*Decoder, error) {
	buf, err := r.Read(addr, n, what)
	if err != nil {
		return nil, err
	}
	return NewDecoder(buf, addr, what, r.Sizes), nil
}

// Clamp returns n, or what is left of the file after addr if that is less.
// Decoders of variable-size structures use it to read "up to" a limit.
func (r *Reader) Clamp(addr uint64, n int) int {
	abs := addr + r.Base
	if abs >= uint64(r.FileSize()) {
		return 0
	}
	if left := uint64(r.FileSize()) - abs; uint64(n) > left {
		return int(left)
	}
	return n
}

// ReadBlock reads a version-0, checksummed structure of n bytes at addr:
// it checks the signature, the version byte and the lookup3 checksum in
// the last four bytes, and returns a decoder positioned after the version.
func (r *Reader) ReadBlock(addr uint64, n int, sig, what string) (*Decoder, error) {
	buf, err := r.Read(addr, n, what)
	if err != nil {
		return nil, err
	}
	d := NewDecoder(buf, addr, what, r.Sizes)
	d.Signature(sig)
	if err := d.Err(); err != nil {
		return nil, err
	}
	if v := d.U8(); v != 0 {
		return nil, Unsupportedf(addr, what, "version %d", v)
	}
	if err := VerifyChecksum(buf, addr, what); err != nil {
		return nil, err
	}
	return d, nil
}
