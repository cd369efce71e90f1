package filter

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"sync"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// A DEFLATE decoder (RFC 1951) for whole chunks. A chunk's stream and its
// output are both in memory, so unlike a streaming decoder it needs no
// window of its own: matches copy from the output itself, bits are read 56
// at a time straight from the input, and one table lookup decodes a
// literal. Noisy floats, the bulk of scientific data, compress to almost
// nothing but literals under zlib's dynamic codes; this loop decodes them
// about twice as fast as a streaming decoder, and it is what sequential
// and random reads of gzip datasets wait for.

var (
	errInflateOverflow  = fmt.Errorf("deflate: stream decodes to more than the chunk holds: %w", format.ErrCorrupt)
	errInflateTruncated = fmt.Errorf("deflate: stream ends early: %w", format.ErrCorrupt)
)

func inflateCorrupt(what string) error {
	return fmt.Errorf("deflate: %s: %w", what, format.ErrCorrupt)
}

// Table entries: the low bits say how many bits the entry consumes, the
// flags what it is, the top 16 bits its value (a literal byte, a length or
// distance base, or where a subtable starts).
const (
	// Six bits, though codes have at most 15: a shift by e&63 is one
	// instruction on amd64, and the shift is on every literal's path.
	entryBitsMask  = 63      // codeword bits consumed at this level
	entryExtraPos  = 8       // extra bits after the codeword; a subtable's index bits
	entryExtraMask = 15      //
	entryLiteral   = 1 << 12 // value is a literal byte
	entryEnd       = 1 << 13 // end of block
	entrySub       = 1 << 14 // value is a subtable's start
	entryInvalid   = 1 << 15 // no code, or a code the format forbids
	entryValuePos  = 16      //
	entryUnset     = entryInvalid
	litTableBits   = 10 // covers most literal codes of real data in one lookup
	distTableBits  = 8  //
	preTableBits   = 7  // the code-length code's longest code
	// Room for every code: each symbol longer than the root bits can
	// start at most one subtable, of at most 2^(15-root) entries.
	litTableSize  = 1<<litTableBits + 288<<(maxCodeBits-litTableBits)
	distTableSize = 1<<distTableBits + 32<<(maxCodeBits-distTableBits)
	maxCodeBits   = 15
)

// Per-symbol entries before the codeword length is added.
var (
	litTemplate  [288]uint32
	distTemplate [32]uint32
	preTemplate  [19]uint32
	preOrder     = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
)

var (
	fixedOnce           sync.Once
	fixedLit            [litTableSize]uint32
	fixedDist           [distTableSize]uint32
	errFixedTablesBuilt error
)

func init() {
	lengthBase := [29]uint32{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lengthExtra := [29]uint32{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase := [30]uint32{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra := [30]uint32{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
	for s := range 256 {
		litTemplate[s] = uint32(s)<<entryValuePos | entryLiteral
	}
	litTemplate[256] = entryEnd
	for i := range lengthBase {
		litTemplate[257+i] = lengthBase[i]<<entryValuePos | lengthExtra[i]<<entryExtraPos
	}
	litTemplate[286], litTemplate[287] = entryInvalid, entryInvalid
	for i := range distBase {
		distTemplate[i] = distBase[i]<<entryValuePos | distExtra[i]<<entryExtraPos
	}
	distTemplate[30], distTemplate[31] = entryInvalid, entryInvalid
	for s := range preTemplate {
		preTemplate[s] = uint32(s) << entryValuePos
	}
}

// buildFixed makes the tables of RFC 1951's fixed codes, once.
func buildFixed() error {
	fixedOnce.Do(func() {
		var lens [288]uint8
		for s := range lens {
			switch {
			case s < 144:
				lens[s] = 8
			case s < 256:
				lens[s] = 9
			case s < 280:
				lens[s] = 7
			default:
				lens[s] = 8
			}
		}
		var dl [32]uint8
		for s := range dl {
			dl[s] = 5
		}
		var sc tableScratch
		if err := sc.build(fixedLit[:], lens[:], litTemplate[:], litTableBits, false); err != nil {
			errFixedTablesBuilt = err
			return
		}
		errFixedTablesBuilt = sc.build(fixedDist[:], dl[:], distTemplate[:], distTableBits, false)
	})
	return errFixedTablesBuilt
}

// tableScratch is what building a table needs besides the table.
type tableScratch struct {
	sorted [288]uint16
	codes  [288]uint16 // bit-reversed, in sorted order
}

// build fills table with the canonical Huffman code the lengths define,
// root bits indexed directly and longer codes through subtables. Like
// zlib, it refuses over-subscribed codes and incomplete ones, except (when
// not strict, as for the code-length code) a single code of one bit and no
// code at all, which fail only when a block uses them.
func (sc *tableScratch) build(table []uint32, lens []uint8, template []uint32, root uint, strict bool) error {
	var count [maxCodeBits + 1]int
	for _, l := range lens {
		count[l]++
	}
	count[0] = 0
	maxLen := 0
	left := 1
	for l := 1; l <= maxCodeBits; l++ {
		left = left<<1 - count[l]
		if left < 0 {
			return inflateCorrupt("over-subscribed code")
		}
		if count[l] > 0 {
			maxLen = l
		}
	}
	primary := 1 << root
	if left > 0 {
		if strict || maxLen > 1 {
			return inflateCorrupt("incomplete code")
		}
		// A complete code covers every entry; these leave some to
		// fail when a block uses them.
		for i := range primary {
			table[i] = entryInvalid
		}
		if maxLen == 0 {
			return nil
		}
	}
	// Symbols sorted by code length, then value: canonical code order.
	var offs [maxCodeBits + 2]int
	for l := 1; l <= maxCodeBits; l++ {
		offs[l+1] = offs[l] + count[l]
	}
	n := offs[maxCodeBits+1]
	for s, l := range lens {
		if l != 0 {
			sc.sorted[offs[l]] = uint16(s)
			offs[l]++
		}
	}
	code, prevLen := 0, 0
	for i := range n {
		l := int(lens[sc.sorted[i]])
		code <<= uint(l - prevLen)
		prevLen = l
		sc.codes[i] = uint16(bits.Reverse16(uint16(code)) >> (16 - l))
		code++
	}
	rootMask := uint16(primary - 1)
	next := primary // where the next subtable goes
	for i := 0; i < n; {
		s := sc.sorted[i]
		l := uint(lens[s])
		rev := int(sc.codes[i])
		if l <= root {
			e := template[s] | uint32(l)
			for j := rev; j < primary; j += 1 << l {
				table[j] = e
			}
			i++
			continue
		}
		// Codes sharing their first root bits are adjacent in canonical
		// order, the longest last: one subtable holds them all.
		prefix := sc.codes[i] & rootMask
		end := i
		for end < n && uint(lens[sc.sorted[end]]) > root && sc.codes[end]&rootMask == prefix {
			end++
		}
		subBits := uint(lens[sc.sorted[end-1]]) - root
		size := 1 << subBits
		if next+size > len(table) {
			return inflateCorrupt("code table too large")
		}
		table[prefix] = uint32(next)<<entryValuePos | uint32(subBits)<<entryExtraPos | entrySub | uint32(root)
		for ; i < end; i++ {
			s := sc.sorted[i]
			l := uint(lens[s])
			e := template[s] | uint32(l-root)
			for j := int(sc.codes[i]) >> root; j < size; j += 1 << (l - root) {
				table[next+j] = e
			}
		}
		next += size
	}
	return nil
}

// inflater holds one decoder's tables; pooled, as they are 10 KiB.
type inflater struct {
	lit  [litTableSize]uint32
	dist [distTableSize]uint32
	pre  [1 << preTableBits]uint32
	lens [286 + 32]uint8
	sc   tableScratch
}

var inflaters = sync.Pool{New: func() any { return new(inflater) }}

// inflate decodes the raw DEFLATE stream at the start of in into out and
// returns how many bytes it wrote, how many of in the stream took, and the
// Adler-32 of what it wrote (summed block by block, while each block's
// output is still in the core's cache: summed after the whole chunk, the
// output came back from memory).
func inflate(out, in []byte) (n, used int, sum uint32, err error) {
	if err := buildFixed(); err != nil {
		return 0, 0, 0, err
	}
	d := inflaters.Get().(*inflater)
	defer inflaters.Put(d)
	return d.inflate(out, in)
}

// bitReader is the decoder's position in its input: bits loaded but not
// consumed, lowest first. It is passed by value so that its fields stay in
// registers in the decoding loops.
//
// Only bc's low six bits count: decoding subtracts whole table entries,
// whose low six bits are the bits they consume, which saves isolating them
// on every literal.
type bitReader struct {
	bb uint64 // bits not yet consumed, next one lowest
	bc uint   // how many of bb's bits are valid, in its low six bits
	ip int    // next byte of the input to load; may run a little past its end
}

func (br bitReader) valid() uint { return br.bc & 63 }

// refill makes at least 56 bits valid. Past the input's end it loads
// zeros, which no complete stream consumes: the end checks the bits used
// against the input, and a stream that keeps reading zeros stops here.
func (br bitReader) refill(in []byte) (bitReader, bool) {
	if br.ip+8 <= len(in) {
		br.bb |= binary.LittleEndian.Uint64(in[br.ip:]) << (br.bc & 63)
		br.ip += int(63-br.bc&63) >> 3
		br.bc |= 56
		return br, true
	}
	for br.valid() < 56 {
		if br.ip < len(in) {
			br.bb |= uint64(in[br.ip]) << (br.bc & 63)
		}
		br.ip++
		br.bc += 8
	}
	return br, br.ip <= len(in)+16
}

func (br *bitReader) consume(n uint) {
	br.bb >>= n & 63
	br.bc -= n
}

// pos is the next unconsumed byte, whole bytes loaded ahead given back.
func (br bitReader) pos() int { return br.ip - int(br.valid()>>3) }

func (d *inflater) inflate(out, in []byte) (int, int, uint32, error) {
	var br bitReader
	op := 0
	sum := uint32(1)
	for final := false; !final; {
		var ok bool
		if br, ok = br.refill(in); !ok {
			return 0, 0, 0, errInflateTruncated
		}
		start := op
		final = br.bb&1 != 0
		kind := (br.bb >> 1) & 3
		br.consume(3)
		var lit *[litTableSize]uint32
		var dist *[distTableSize]uint32
		switch kind {
		case 0:
			// Stored: skip to a byte boundary, give back whole bytes
			// loaded ahead, and copy.
			ip := br.pos()
			br = bitReader{}
			if ip+4 > len(in) {
				return 0, 0, 0, errInflateTruncated
			}
			size := int(binary.LittleEndian.Uint16(in[ip:]))
			if uint16(size) != ^binary.LittleEndian.Uint16(in[ip+2:]) {
				return 0, 0, 0, inflateCorrupt("stored block length check")
			}
			ip += 4
			if size > len(in)-ip {
				return 0, 0, 0, errInflateTruncated
			}
			if size > len(out)-op {
				return 0, 0, 0, errInflateOverflow
			}
			op += copy(out[op:], in[ip:ip+size])
			br.ip = ip + size
			sum = adler32Update(sum, out[start:op])
			continue
		case 1:
			lit, dist = &fixedLit, &fixedDist
		case 2:
			var err error
			if br, err = d.readCodes(in, br); err != nil {
				return 0, 0, 0, err
			}
			lit, dist = &d.lit, &d.dist
		default:
			return 0, 0, 0, inflateCorrupt("block type 3")
		}
		var err error
		if op, br, err = decodeBlock(out, op, in, br, lit, dist); err != nil {
			return 0, 0, 0, err
		}
		sum = adler32Update(sum, out[start:op])
	}
	used := br.pos()
	if used > len(in) {
		return 0, 0, 0, errInflateTruncated
	}
	return op, used, sum, nil
}

// readCodes reads a dynamic block's header into d.lit and d.dist.
func (d *inflater) readCodes(in []byte, br bitReader) (bitReader, error) {
	// The counts' 14 bits fit what the block header's refill left.
	nlit := int(br.bb&31) + 257
	ndist := int(br.bb>>5&31) + 1
	npre := int(br.bb>>10&15) + 4
	br.consume(14)
	if nlit > 286 || ndist > 30 {
		return br, inflateCorrupt("too many length or distance codes")
	}
	var ok bool
	var preLens [19]uint8
	for i := range npre {
		if br.valid() < 3 {
			if br, ok = br.refill(in); !ok {
				return br, errInflateTruncated
			}
		}
		preLens[preOrder[i]] = uint8(br.bb & 7)
		br.consume(3)
	}
	if err := d.sc.build(d.pre[:], preLens[:], preTemplate[:], preTableBits, true); err != nil {
		return br, err
	}
	lens := d.lens[:nlit+ndist]
	for i := 0; i < len(lens); {
		if br.valid() < 14 { // a 7-bit code and 7 extra bits
			if br, ok = br.refill(in); !ok {
				return br, errInflateTruncated
			}
		}
		e := d.pre[br.bb&(1<<preTableBits-1)]
		if e&entryInvalid != 0 {
			return br, inflateCorrupt("invalid code-length code")
		}
		br.consume(uint(e & entryBitsMask))
		sym := e >> entryValuePos
		var rep int
		var val uint8
		switch sym {
		case 16:
			if i == 0 {
				return br, inflateCorrupt("repeat with no previous length")
			}
			val, rep = lens[i-1], 3+int(br.bb&3)
			br.consume(2)
		case 17:
			rep = 3 + int(br.bb&7)
			br.consume(3)
		case 18:
			rep = 11 + int(br.bb&127)
			br.consume(7)
		default:
			lens[i] = uint8(sym)
			i++
			continue
		}
		if i+rep > len(lens) {
			return br, inflateCorrupt("code lengths overflow")
		}
		for ; rep > 0; rep-- {
			lens[i] = val
			i++
		}
	}
	if lens[256] == 0 {
		return br, inflateCorrupt("no end-of-block code")
	}
	if err := d.sc.build(d.lit[:], lens[:nlit], litTemplate[:], litTableBits, false); err != nil {
		return br, err
	}
	return br, d.sc.build(d.dist[:], lens[nlit:], distTemplate[:], distTableBits, false)
}

// decodeBlock decodes one Huffman-coded block into out from op on and
// returns where it ended. The bit buffer lives in locals: the loop's speed
// is the chain from one table lookup through the shift to the next.
func decodeBlock(out []byte, op int, in []byte, br bitReader, lit *[litTableSize]uint32, dist *[distTableSize]uint32) (int, bitReader, error) {
	bb, bc, ip := br.bb, br.bc, br.ip
	save := func() bitReader { return bitReader{bb, bc, ip} }
	for {
		// At least 56 valid bits: three literals of at most 15 bits, or
		// a length's code and extra bits. The refill and the three
		// literals are written out rather than called or looped: as a
		// call or a loop the compiler kept the bit buffer in memory, and
		// the decode took about a tenth longer.
		if ip+8 <= len(in) {
			bb |= binary.LittleEndian.Uint64(in[ip:]) << (bc & 63)
			ip += int(63-bc&63) >> 3
			bc |= 56
		} else {
			r, ok := save().refill(in)
			if !ok {
				return op, r, errInflateTruncated
			}
			bb, bc, ip = r.bb, r.bc, r.ip
		}
		e := lit[bb&(1<<litTableBits-1)]
		if e&entryLiteral != 0 {
			bb >>= e & entryBitsMask
			bc -= uint(e)
			if uint(op) >= uint(len(out)) {
				return op, save(), errInflateOverflow
			}
			out[op] = byte(e >> entryValuePos)
			op++
			e = lit[bb&(1<<litTableBits-1)]
			if e&entryLiteral != 0 {
				bb >>= e & entryBitsMask
				bc -= uint(e)
				if uint(op) >= uint(len(out)) {
					return op, save(), errInflateOverflow
				}
				out[op] = byte(e >> entryValuePos)
				op++
				e = lit[bb&(1<<litTableBits-1)]
				if e&entryLiteral != 0 {
					bb >>= e & entryBitsMask
					bc -= uint(e)
					if uint(op) >= uint(len(out)) {
						return op, save(), errInflateOverflow
					}
					out[op] = byte(e >> entryValuePos)
					op++
					continue
				}
			}
			// A length may follow with too few bits left for it and its
			// distance: topping up keeps the low bits, so e stays valid.
			if ip+8 <= len(in) {
				bb |= binary.LittleEndian.Uint64(in[ip:]) << (bc & 63)
				ip += int(63-bc&63) >> 3
				bc |= 56
			} else {
				r, ok := save().refill(in)
				if !ok {
					return op, r, errInflateTruncated
				}
				bb, bc, ip = r.bb, r.bc, r.ip
			}
		}
		if e&entrySub != 0 {
			bb >>= litTableBits
			bc -= litTableBits
			e = lit[(e>>entryValuePos)+uint32(bb&(1<<(e>>entryExtraPos&entryExtraMask)-1))]
			if e&entryLiteral != 0 {
				bb >>= e & entryBitsMask
				bc -= uint(e)
				if uint(op) >= uint(len(out)) {
					return op, save(), errInflateOverflow
				}
				out[op] = byte(e >> entryValuePos)
				op++
				continue
			}
		}
		if e&(entryEnd|entryInvalid) != 0 {
			if e&entryInvalid != 0 {
				return op, save(), inflateCorrupt("invalid literal/length code")
			}
			bb >>= e & entryBitsMask
			bc -= uint(e)
			return op, save(), nil
		}
		bb >>= e & entryBitsMask
		bc -= uint(e)
		extra := e >> entryExtraPos & entryExtraMask
		length := int(e>>entryValuePos) + int(bb&(1<<extra-1))
		bb >>= extra
		bc -= uint(extra)

		e = dist[bb&(1<<distTableBits-1)]
		if e&entrySub != 0 {
			bb >>= distTableBits
			bc -= distTableBits
			e = dist[(e>>entryValuePos)+uint32(bb&(1<<(e>>entryExtraPos&entryExtraMask)-1))]
		}
		if e&entryInvalid != 0 {
			return op, save(), inflateCorrupt("invalid distance code")
		}
		bb >>= e & entryBitsMask
		bc -= uint(e)
		extra = e >> entryExtraPos & entryExtraMask
		distance := int(e>>entryValuePos) + int(bb&(1<<extra-1))
		bb >>= extra
		bc -= uint(extra)

		if distance > op {
			return op, save(), inflateCorrupt("distance before the start")
		}
		if length > len(out)-op {
			return op, save(), errInflateOverflow
		}
		src := op - distance
		switch {
		case distance >= 8 && length <= len(out)-op-8:
			// Eight bytes at a time, overlapping is fine eight apart;
			// the last word may write past the match, into bytes the
			// stream will write next.
			for i := 0; i < length; i += 8 {
				binary.LittleEndian.PutUint64(out[op+i:], binary.LittleEndian.Uint64(out[src+i:]))
			}
			op += length
		case distance >= length:
			op += copy(out[op:op+length], out[src:op])
		default:
			// A short repeating pattern: each copy doubles it.
			end := op + length
			for op < end {
				op += copy(out[op:end], out[src:op])
			}
		}
	}
}

// inflateZlib decodes a zlib stream (RFC 1950) into out, checking its
// Adler-32.
func inflateZlib(out, in []byte) (int, error) {
	if len(in) < 2 {
		return 0, errInflateTruncated
	}
	cmf, flg := in[0], in[1]
	if cmf&15 != 8 || cmf>>4 > 7 || (uint(cmf)<<8|uint(flg))%31 != 0 {
		return 0, inflateCorrupt("zlib header")
	}
	if flg&0x20 != 0 {
		return 0, inflateCorrupt("zlib stream needs a preset dictionary")
	}
	n, used, sum, err := inflate(out, in[2:])
	if err != nil {
		return 0, err
	}
	trailer := in[2+used:]
	if len(trailer) < 4 {
		return 0, errInflateTruncated
	}
	if binary.BigEndian.Uint32(trailer) != sum {
		return 0, inflateCorrupt("Adler-32 mismatch")
	}
	return n, nil
}

// adler32 is RFC 1950's checksum of p.
func adler32(p []byte) uint32 { return adler32Update(1, p) }

// adler32Mod is Adler-32's modulus, the largest prime below 2^16.
const adler32Mod = 65521

// adler32Update continues the Adler-32 sum of earlier bytes over p: whole
// 32-byte blocks with vector instructions where the core has them
// (adler32Vector), the rest sixteen bytes a step: a chunk's Adler-32 took
// a tenth of its decoding with the byte-at-a-time loop. Each step sums its
// bytes, and their weights in s2, in 16-bit lanes of a multiply (no lane
// can carry into the next). The sums fit 64 bits for 2^24 bytes, so the
// modulo runs once per 16 MiB, not per 5552 bytes.
func adler32Update(sum uint32, p []byte) uint32 {
	const (
		lanes  = 0x00ff00ff00ff00ff
		ones   = 0x0001000100010001
		evenW1 = 0x0010000e000c000a // weights 16, 14, 12, 10 of bytes 0, 2, 4, 6
		oddW1  = 0x000f000d000b0009 // 15, 13, 11, 9 of bytes 1, 3, 5, 7
		evenW2 = 0x0008000600040002 // 8, 6, 4, 2 of bytes 8, 10, 12, 14
		oddW2  = 0x0007000500030001 // 7, 5, 3, 1 of bytes 9, 11, 13, 15
	)
	s1, s2 := uint64(sum&0xffff), uint64(sum>>16)
	s1, s2, p = adler32Vector(s1, s2, p)
	for len(p) > 0 {
		block := p[:min(len(p), 1<<24)]
		p = p[len(block):]
		for ; len(block) >= 16; block = block[16:] {
			x1 := binary.LittleEndian.Uint64(block)
			x2 := binary.LittleEndian.Uint64(block[8:])
			e1, o1 := x1&lanes, x1>>8&lanes
			e2, o2 := x2&lanes, x2>>8&lanes
			s2 += 16*s1 + (e1*evenW1+o1*oddW1+e2*evenW2+o2*oddW2)>>48
			s1 += ((e1 + o1 + e2 + o2) * ones) >> 48
		}
		for _, b := range block {
			s1 += uint64(b)
			s2 += s1
		}
		s1 %= adler32Mod
		s2 %= adler32Mod
	}
	return uint32(s2<<16 | s1)
}
