package filter

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/adler32"
	"math/bits"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// A zlib stream (RFC 1950 around RFC 1951) decoded from one buffer into
// another. A chunk's stored bytes are all in memory and its decoded size is
// known, so the decoder needs no reader interface and no sliding window: it
// takes 64 bits of input at a time and copies matches within the output.
// The streaming decoder it replaces read a byte per call and ran at half
// zlib's speed on the literal-heavy streams noisy floats make.
//
// It accepts what zlib accepts (an incomplete code only when it is a single
// one-bit code, the stream's Adler-32 checked) and never writes past maxOut.

var errInflateOverflow = errors.New("decompressed data exceeds the chunk")

func inflateCorrupt(msg string, args ...any) error {
	return fmt.Errorf("zlib: "+msg+": %w", append(args, format.ErrCorrupt)...)
}

// Table entries: bits 0-7 the code length to consume (0: no such code),
// bit 8 a pointer to a subtable for codes longer than the primary lookup,
// bits 16-31 the symbol or the subtable's start.
const (
	litBits   = 10 // primary lookup bits of the literal/length table
	distBits  = 8
	clBits    = 7
	subtableF = 1 << 8
	maxCodeL  = 15
)

type huffTable struct {
	t       []uint32
	bits    uint // primary lookup bits
	subBits uint // lookup bits of every subtable
	store   []uint32
}

// build makes the decoding table of a canonical Huffman code, given each
// symbol's code length (0: unused). An incomplete code is an error unless
// it is a lone one-bit code (or none at all), as in zlib.
func (h *huffTable) build(lengths []uint8, primary uint) error {
	var count [maxCodeL + 1]int
	maxL := 0
	for _, l := range lengths {
		count[l]++
		if int(l) > maxL {
			maxL = int(l)
		}
	}
	count[0] = 0
	left := 1
	for l := 1; l <= maxCodeL; l++ {
		left <<= 1
		left -= count[l]
		if left < 0 {
			return inflateCorrupt("over-subscribed Huffman code")
		}
	}
	if left > 0 && maxL != 1 && maxL != 0 {
		return inflateCorrupt("incomplete Huffman code")
	}
	h.bits = primary
	h.subBits = 0
	if uint(maxL) > primary {
		h.subBits = uint(maxL) - primary
	}
	size := 1 << primary
	// Canonical codes: consecutive values within a length, the shortest
	// first.
	var next [maxCodeL + 1]uint32
	code := uint32(0)
	for l := 1; l <= maxCodeL; l++ {
		code = (code + uint32(count[l-1])) << 1
		next[l] = code
	}
	if cap(h.store) < size {
		h.store = make([]uint32, size, size+64<<h.subBits)
	}
	t := h.store[:size]
	clear(t)
	for sym, l := range lengths {
		if l == 0 {
			continue
		}
		c := next[l]
		next[l]++
		rev := bits.Reverse32(c) >> (32 - uint(l))
		if uint(l) <= primary {
			e := uint32(sym)<<16 | uint32(l)
			for i := rev; i < uint32(size); i += 1 << l {
				t[i] = e
			}
			continue
		}
		// A long code: its low primary bits pick a subtable, the rest
		// (up to subBits) index it.
		slot := rev & uint32(size-1)
		if t[slot]&subtableF == 0 {
			start := len(t)
			t = append(t, make([]uint32, 1<<h.subBits)...)
			t[slot] = uint32(start)<<16 | subtableF | uint32(primary)
		}
		start := t[slot] >> 16
		e := uint32(sym)<<16 | uint32(l)
		for i := rev >> primary; i < 1<<h.subBits; i += 1 << (uint(l) - primary) {
			t[start+i] = e
		}
	}
	h.t = t
	h.store = t[:0]
	return nil
}

// inflater is the decoder's state.
type inflater struct {
	in     []byte
	pos    int    // next input byte to load into bitbuf
	bitbuf uint64 // bits not yet consumed, least significant first
	nbits  uint
	over   int // zero bytes loaded past the end of the input

	out []byte
	op  int

	lit, dist, cl huffTable
	lens          [288 + 32]uint8
}

// refill loads input so that at least 56 bits are buffered; past the end
// it loads zeros, counted, so that a truncated stream is caught when its
// missing bits are consumed.
func (f *inflater) refill() {
	if f.pos+8 <= len(f.in) {
		f.bitbuf |= binary.LittleEndian.Uint64(f.in[f.pos:]) << f.nbits
		f.pos += int(63-f.nbits) >> 3
		f.nbits |= 56
		return
	}
	for f.nbits <= 56 {
		if f.pos < len(f.in) {
			f.bitbuf |= uint64(f.in[f.pos]) << f.nbits
		} else {
			f.over++
		}
		f.pos++ // past the end too, so that consumed stays right
		f.nbits += 8
	}
}

// take consumes n (at most 32) bits; the caller has refilled.
func (f *inflater) take(n uint) uint32 {
	v := uint32(f.bitbuf & (1<<n - 1))
	f.bitbuf >>= n
	f.nbits -= n
	return v
}

func (f *inflater) bitsNeeded(n uint) uint32 {
	if f.nbits < n {
		f.refill()
	}
	return f.take(n)
}

// sym decodes one symbol through h; the caller has at least 15 bits buffered.
func (f *inflater) sym(h *huffTable) (uint32, error) {
	e := h.t[f.bitbuf&(1<<h.bits-1)]
	if e&subtableF != 0 {
		e = h.t[e>>16+uint32(f.bitbuf>>h.bits)&(1<<h.subBits-1)]
	}
	n := uint(e & 0xff)
	if n == 0 {
		return 0, inflateCorrupt("invalid Huffman code")
	}
	f.bitbuf >>= n
	f.nbits -= n
	return e >> 16, nil
}

// consumed is how many input bytes the decoder has used up to the current
// bit, rounded up to whole bytes.
func (f *inflater) consumed() int { return f.pos - int(f.nbits/8) }

var (
	lengthBase  = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lengthExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase    = [30]uint32{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra   = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
	clOrder     = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
)

// inflateZlib decodes a zlib stream into a new buffer of at most maxOut
// bytes.
func inflateZlib(f *inflater, in []byte, maxOut int) ([]byte, error) {
	if len(in) < 2 {
		return nil, inflateCorrupt("%d-byte stream has no header", len(in))
	}
	cmf, flg := in[0], in[1]
	if cmf&0x0f != 8 || cmf>>4 > 7 || (uint(cmf)<<8|uint(flg))%31 != 0 {
		return nil, inflateCorrupt("bad header %02x %02x", cmf, flg)
	}
	if flg&0x20 != 0 {
		return nil, inflateCorrupt("preset dictionary")
	}
	*f = inflater{in: in, pos: 2, out: make([]byte, maxOut), lit: f.lit, dist: f.dist, cl: f.cl}
	for {
		f.refill()
		final := f.take(1)
		switch f.take(2) {
		case 0:
			if err := f.stored(); err != nil {
				return nil, err
			}
		case 1:
			if err := f.fixedTables(); err != nil {
				return nil, err
			}
			if err := f.codes(); err != nil {
				return nil, err
			}
		case 2:
			if err := f.dynamicTables(); err != nil {
				return nil, err
			}
			if err := f.codes(); err != nil {
				return nil, err
			}
		default:
			return nil, inflateCorrupt("block type 3")
		}
		if f.over > 0 && f.over*8 > int(f.nbits) {
			return nil, inflateCorrupt("stream ends early")
		}
		if final == 1 {
			break
		}
	}
	// The Adler-32 follows, big-endian, at the next byte boundary.
	at := f.consumed()
	if at+4 > len(f.in) {
		return nil, inflateCorrupt("stream ends before its checksum")
	}
	out := f.out[:f.op]
	if binary.BigEndian.Uint32(f.in[at:]) != adler32.Checksum(out) {
		return nil, inflateCorrupt("checksum mismatch")
	}
	return out, nil
}

func (f *inflater) stored() error {
	// Drop the bits up to the byte boundary; the length fields follow.
	f.take(f.nbits % 8)
	at := f.consumed()
	f.bitbuf, f.nbits = 0, 0
	if at+4 > len(f.in) {
		return inflateCorrupt("stored block header past the end")
	}
	n := int(binary.LittleEndian.Uint16(f.in[at:]))
	if ^uint16(n) != binary.LittleEndian.Uint16(f.in[at+2:]) {
		return inflateCorrupt("stored block length check")
	}
	at += 4
	if n > len(f.in)-at {
		return inflateCorrupt("stored block past the end")
	}
	if n > len(f.out)-f.op {
		return fmt.Errorf("zlib: %w: %w", errInflateOverflow, format.ErrCorrupt)
	}
	copy(f.out[f.op:], f.in[at:at+n])
	f.op += n
	f.pos = at + n
	return nil
}

func (f *inflater) fixedTables() error {
	l := f.lens[:288]
	for i := range l {
		switch {
		case i < 144:
			l[i] = 8
		case i < 256:
			l[i] = 9
		case i < 280:
			l[i] = 7
		default:
			l[i] = 8
		}
	}
	if err := f.lit.build(l, litBits); err != nil {
		return err
	}
	d := f.lens[288:320]
	for i := range d {
		d[i] = 5
	}
	return f.dist.build(d, distBits)
}

func (f *inflater) dynamicTables() error {
	f.refill()
	nlit := int(f.take(5)) + 257
	ndist := int(f.take(5)) + 1
	ncl := int(f.take(4)) + 4
	if nlit > 286 || ndist > 30 {
		return inflateCorrupt("%d literal/length and %d distance codes", nlit, ndist)
	}
	var cl [19]uint8
	for i := 0; i < ncl; i++ {
		cl[clOrder[i]] = uint8(f.bitsNeeded(3))
	}
	if err := f.cl.build(cl[:], clBits); err != nil {
		return err
	}
	lens := f.lens[:nlit+ndist]
	for i := 0; i < len(lens); {
		if f.nbits < 32 {
			f.refill()
		}
		s, err := f.sym(&f.cl)
		if err != nil {
			return err
		}
		var rep int
		var val uint8
		switch {
		case s < 16:
			lens[i] = uint8(s)
			i++
			continue
		case s == 16:
			if i == 0 {
				return inflateCorrupt("repeat with no previous length")
			}
			val, rep = lens[i-1], 3+int(f.take(2))
		case s == 17:
			rep = 3 + int(f.take(3))
		default:
			rep = 11 + int(f.take(7))
		}
		if i+rep > len(lens) {
			return inflateCorrupt("code lengths overrun")
		}
		for ; rep > 0; rep-- {
			lens[i] = val
			i++
		}
	}
	if lens[256] == 0 {
		return inflateCorrupt("no end-of-block code")
	}
	if err := f.lit.build(lens[:nlit], litBits); err != nil {
		return err
	}
	return f.dist.build(lens[nlit:], distBits)
}

// codes decodes a block's literals and matches up to its end-of-block code.
// It is the decoder's inner loop: the bit buffer lives in locals, and after
// a literal enough bits remain for a second symbol without a refill.
func (f *inflater) codes() error {
	out, op := f.out, f.op
	in := f.in
	pos, bb, nb := f.pos, f.bitbuf, f.nbits
	lt, lbits, lsub := f.lit.t, f.lit.bits, uint64(1)<<f.lit.subBits-1
	dt, dbits, dsub := f.dist.t, f.dist.bits, uint64(1)<<f.dist.subBits-1
	lmask, dmask := uint64(1)<<lbits-1, uint64(1)<<dbits-1
	save := func() { f.pos, f.bitbuf, f.nbits, f.op = pos, bb, nb, op }
	for {
		if nb < 48 {
			if pos+8 <= len(in) {
				bb |= binary.LittleEndian.Uint64(in[pos:]) << nb
				pos += int(63-nb) >> 3
				nb |= 56
			} else {
				save()
				f.refill()
				pos, bb, nb = f.pos, f.bitbuf, f.nbits
				if f.over > 8 {
					// Far past the end: a stream that never ends its block.
					return inflateCorrupt("stream ends early")
				}
			}
		}
		e := lt[bb&lmask]
		if e&subtableF != 0 {
			e = lt[e>>16+uint32(bb>>lbits&lsub)]
		}
		n := uint(e & 0xff)
		if n == 0 {
			return inflateCorrupt("invalid Huffman code")
		}
		bb >>= n
		nb -= n
		s := e >> 16
		if s < 256 {
			if op >= len(out) {
				return fmt.Errorf("zlib: %w: %w", errInflateOverflow, format.ErrCorrupt)
			}
			out[op] = byte(s)
			op++
			// At least 33 bits are left: room for another literal.
			e = lt[bb&lmask]
			if e&subtableF != 0 || e>>16 >= 256 || e&0xff == 0 {
				continue
			}
			if op >= len(out) {
				return fmt.Errorf("zlib: %w: %w", errInflateOverflow, format.ErrCorrupt)
			}
			n = uint(e & 0xff)
			bb >>= n
			nb -= n
			out[op] = byte(e >> 16)
			op++
			continue
		}
		if s == 256 {
			save()
			return nil
		}
		s -= 257
		if s >= 29 {
			return inflateCorrupt("length code %d", s+257)
		}
		eb := uint(lengthExtra[s])
		length := int(lengthBase[s]) + int(bb&(1<<eb-1))
		bb >>= eb
		nb -= eb
		e = dt[bb&dmask]
		if e&subtableF != 0 {
			e = dt[e>>16+uint32(bb>>dbits&dsub)]
		}
		n = uint(e & 0xff)
		if n == 0 {
			return inflateCorrupt("invalid Huffman code")
		}
		bb >>= n
		nb -= n
		ds := e >> 16
		if ds >= 30 {
			return inflateCorrupt("distance code %d", ds)
		}
		if nb < 13 {
			save()
			f.refill()
			pos, bb, nb = f.pos, f.bitbuf, f.nbits
		}
		eb = uint(distExtra[ds])
		dist := int(distBase[ds]) + int(bb&(1<<eb-1))
		bb >>= eb
		nb -= eb
		if dist > op {
			return inflateCorrupt("distance %d before the start", dist)
		}
		if length > len(out)-op {
			return fmt.Errorf("zlib: %w: %w", errInflateOverflow, format.ErrCorrupt)
		}
		src, end := op-dist, op+length
		if dist >= length {
			copy(out[op:end], out[src:])
			op = end
			continue
		}
		// Overlapping: the match repeats the dist bytes before it, which
		// each copy doubles.
		for op < end {
			op += copy(out[op:end], out[src:op])
		}
	}
}
