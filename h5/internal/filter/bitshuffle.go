package filter

import (
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// Bitshuffle (id 32008, kiyo-masui/bitshuffle). cd_values: filter version,
// library version, element size, block size in elements (0: the default),
// compression (2: LZ4, 3: zstd, anything else: none), zstd level.
//
// The elements are cut into blocks of block size elements; a final partial
// block is rounded down to a multiple of 8 elements, and the elements past
// that (fewer than 8) are stored as they are. Within a block of n elements
// of s bytes, the output is 8*s rows of n/8 bytes: row 8*j+k holds bit k of
// byte j of each element, element i at bit i%8 of byte i/8.
//
// Compressed, the chunk starts with a 12-byte header: the unfiltered size
// (8 bytes, big-endian) and the block size in bytes (4 bytes, big-endian),
// which overrides cd_values; then per block a 4-byte big-endian stored size
// and the LZ4 block or zstd frame of the shuffled block; then the leftover
// elements as they are.
type bitshuffleCodec struct{}

func init() { Register(Bitshuffle, bitshuffleCodec{}) }

const (
	bshufLZ4  = 2
	bshufZstd = 3
)

// bshufDefaultBlock is bitshuffle's default block size in elements: about
// 8 KiB, a multiple of 8, at least 128.
func bshufDefaultBlock(elem int) int {
	b := 8192 / elem / 8 * 8
	return max(b, 128)
}

// bshufBlocks pools scratch buffers for decompressed blocks and byte
// planes: a block is decoded per few KiB, so a buffer is taken and given
// back as a pointer (no allocation each time).
var bshufBlocks sync.Pool

// bshufScratch takes a buffer of at least n bytes from bshufBlocks.
func bshufScratch(n int) *[]byte {
	v, _ := bshufBlocks.Get().(*[]byte)
	if v == nil {
		v = new([]byte)
	}
	if cap(*v) < n {
		*v = make([]byte, n)
	}
	return v
}

func (c bitshuffleCodec) Decode(f *format.Filter, in []byte, maxOut int) ([]byte, error) {
	return c.decodeInto(f, in, maxOut, nil)
}

func (bitshuffleCodec) decodeInto(f *format.Filter, in []byte, maxOut int, dst []byte) ([]byte, error) {
	p := f.Params
	if len(p) < 3 {
		return nil, fmt.Errorf("bitshuffle: %d parameters, want at least 3: %w", len(p), format.ErrCorrupt)
	}
	// A chunk holds at least one element.
	if p[2] == 0 || uint64(p[2]) > uint64(max(maxOut, 1)) {
		return nil, fmt.Errorf("bitshuffle: element size %d: %w", p[2], format.ErrCorrupt)
	}
	elem := int(p[2])
	block := 0
	if len(p) > 3 {
		// Blocks longer than any chunk all act alike: one partial block.
		block = int(min(p[3], 1<<30|p[3]%8))
	}
	comp := uint32(0)
	if len(p) > 4 {
		comp = p[4]
	}
	if comp != bshufLZ4 && comp != bshufZstd {
		if len(in) > maxOut {
			return nil, fmt.Errorf("bitshuffle: %d bytes, more than %d: %w", len(in), maxOut, format.ErrCorrupt)
		}
		if len(in)%elem != 0 {
			return nil, fmt.Errorf("bitshuffle: %d bytes is not a whole number of %d-byte elements: %w", len(in), elem, format.ErrCorrupt)
		}
		if block == 0 {
			block = bshufDefaultBlock(elem)
		}
		if block%8 != 0 {
			return nil, fmt.Errorf("bitshuffle: block size %d is not a multiple of 8: %w", block, format.ErrCorrupt)
		}
		out := sized(dst, len(in))
		n := len(in) / elem
		i := 0 // elements done
		for ; n-i >= block; i += block {
			bitUnshuffle(out[i*elem:(i+block)*elem], in[i*elem:(i+block)*elem], elem)
		}
		if last := (n - i) / 8 * 8; last > 0 {
			bitUnshuffle(out[i*elem:(i+last)*elem], in[i*elem:(i+last)*elem], elem)
			i += last
		}
		copy(out[i*elem:], in[i*elem:])
		return out, nil
	}

	if len(in) < 12 {
		return nil, fmt.Errorf("bitshuffle: %d-byte chunk has no header: %w", len(in), format.ErrCorrupt)
	}
	total := binary.BigEndian.Uint64(in)
	if total > uint64(maxOut) {
		return nil, fmt.Errorf("bitshuffle: chunk claims %d bytes, more than %d: %w", total, maxOut, format.ErrCorrupt)
	}
	if total%uint64(elem) != 0 {
		return nil, fmt.Errorf("bitshuffle: %d bytes is not a whole number of %d-byte elements: %w", total, elem, format.ErrCorrupt)
	}
	block = int(binary.BigEndian.Uint32(in[8:]) / uint32(elem))
	if block == 0 {
		block = bshufDefaultBlock(elem)
	}
	if block%8 != 0 {
		return nil, fmt.Errorf("bitshuffle: block size %d is not a multiple of 8: %w", block, format.ErrCorrupt)
	}
	out := sized(dst, int(total))
	n := int(total) / elem
	pos := 12
	i := 0
	var scratch *[]byte
	defer func() {
		if scratch != nil {
			bshufBlocks.Put(scratch)
		}
	}()
	for i < n {
		m := block
		if n-i < block {
			m = (n - i) / 8 * 8
			if m == 0 {
				break
			}
		}
		if len(in)-pos < 4 {
			return nil, fmt.Errorf("bitshuffle: truncated block header at %d: %w", pos, format.ErrCorrupt)
		}
		cs := uint64(binary.BigEndian.Uint32(in[pos:]))
		pos += 4
		if cs > uint64(len(in)-pos) {
			return nil, fmt.Errorf("bitshuffle: block of %d bytes runs past the chunk: %w", cs, format.ErrCorrupt)
		}
		src := in[pos : pos+int(cs)]
		pos += int(cs)
		bytes := m * elem
		if scratch == nil {
			scratch = bshufScratch(bytes)
		} else if cap(*scratch) < bytes {
			*scratch = make([]byte, bytes)
		}
		shuffled := (*scratch)[:bytes]
		var err error
		if comp == bshufLZ4 {
			err = lz4Block(src, shuffled)
		} else {
			err = zstdDecodeExact(src, shuffled)
		}
		if err != nil {
			return nil, fmt.Errorf("bitshuffle: %w", err)
		}
		bitUnshuffle(out[i*elem:(i+m)*elem], shuffled, elem)
		i += m
	}
	rest := out[i*elem:]
	if len(in)-pos < len(rest) {
		return nil, fmt.Errorf("bitshuffle: %d trailing bytes, want %d: %w", len(in)-pos, len(rest), format.ErrCorrupt)
	}
	copy(rest, in[pos:pos+len(rest)])
	return out, nil
}

// bitUnshuffle undoes the bit transpose of one block: src holds 8*elem rows
// of n/8 bytes for the n = len(dst)/elem elements (n a multiple of 8). For
// each byte j of the element and each group of 8 elements, the 8 bytes at
// that column of rows 8j..8j+7 form an 8x8 bit matrix whose transpose is
// byte j of the 8 elements.
//
// It runs by planes: byte j of every element is gathered first (a byte
// plane, as the byte shuffle stores it), reading the rows eight columns at
// a time as words and transposing their bytes, then their bits; unshuffle
// then interleaves the planes into elements. Byte by byte, the gathers and
// the scattered stores took twice as long.
func bitUnshuffle(dst, src []byte, elem int) {
	if elem == 1 {
		bitUnshufflePlane(dst, src)
		return
	}
	n := len(dst) / elem
	scratch := bshufScratch(n * elem)
	planes := (*scratch)[:n*elem]
	row := n / 8
	for j := 0; j < elem; j++ {
		bitUnshufflePlane(planes[j*n:(j+1)*n], src[8*j*row:8*(j+1)*row])
	}
	unshuffle(dst, planes, elem)
	bshufBlocks.Put(scratch)
}

// bitUnshufflePlane turns 8 rows of len(plane)/8 bytes (row k: bit k of
// one byte of every element) into those bytes.
func bitUnshufflePlane(plane, rows []byte) {
	row := len(plane) / 8
	le := binary.LittleEndian
	r0, r1, r2, r3 := rows[:row], rows[row:2*row], rows[2*row:3*row], rows[3*row:4*row]
	r4, r5, r6, r7 := rows[4*row:5*row], rows[5*row:6*row], rows[6*row:7*row], rows[7*row:8*row]
	q := bitUnshuffleVector(plane, &[8][]byte{r0, r1, r2, r3, r4, r5, r6, r7}, row)
	for ; q+8 <= row; q += 8 {
		// Word t of the byte transpose holds column q+t of rows 0-7.
		w0, w1, w2, w3, w4, w5, w6, w7 := transposeBytes8(
			le.Uint64(r0[q:]), le.Uint64(r1[q:]), le.Uint64(r2[q:]), le.Uint64(r3[q:]),
			le.Uint64(r4[q:]), le.Uint64(r5[q:]), le.Uint64(r6[q:]), le.Uint64(r7[q:]))
		o := plane[8*q : 8*q+64]
		le.PutUint64(o, transpose8(w0))
		le.PutUint64(o[8:], transpose8(w1))
		le.PutUint64(o[16:], transpose8(w2))
		le.PutUint64(o[24:], transpose8(w3))
		le.PutUint64(o[32:], transpose8(w4))
		le.PutUint64(o[40:], transpose8(w5))
		le.PutUint64(o[48:], transpose8(w6))
		le.PutUint64(o[56:], transpose8(w7))
	}
	for ; q < row; q++ {
		x := uint64(r0[q]) | uint64(r1[q])<<8 | uint64(r2[q])<<16 | uint64(r3[q])<<24 |
			uint64(r4[q])<<32 | uint64(r5[q])<<40 | uint64(r6[q])<<48 | uint64(r7[q])<<56
		le.PutUint64(plane[8*q:], transpose8(x))
	}
}

// transpose8 transposes the 8x8 bit matrix in x, byte r being row r and bit
// c of it column c: bit 8r+c moves to 8c+r. It swaps the off-diagonal 1x1,
// then 2x2, then 4x4 sub-blocks (three delta swaps).
func transpose8(x uint64) uint64 {
	t := (x ^ x>>7) & 0x00aa00aa00aa00aa
	x ^= t ^ t<<7
	t = (x ^ x>>14) & 0x0000cccc0000cccc
	x ^= t ^ t<<14
	t = (x ^ x>>28) & 0x00000000f0f0f0f0
	x ^= t ^ t<<28
	return x
}
