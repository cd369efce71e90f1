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

// bshufBlocks pools scratch buffers for decompressed blocks.
var bshufBlocks sync.Pool

func (bitshuffleCodec) Decode(f *format.Filter, in []byte, maxOut int) ([]byte, error) {
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
		out := make([]byte, len(in))
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
	out := make([]byte, total)
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
			if v, ok := bshufBlocks.Get().(*[]byte); ok {
				scratch = v
			} else {
				scratch = new([]byte)
			}
		}
		if cap(*scratch) < bytes {
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
func bitUnshuffle(dst, src []byte, elem int) {
	n := len(dst) / elem
	row := n / 8
	for j := 0; j < elem; j++ {
		rows := src[8*j*row : 8*(j+1)*row]
		for q := 0; q < row; q++ {
			x := uint64(rows[q]) | uint64(rows[row+q])<<8 | uint64(rows[2*row+q])<<16 |
				uint64(rows[3*row+q])<<24 | uint64(rows[4*row+q])<<32 | uint64(rows[5*row+q])<<40 |
				uint64(rows[6*row+q])<<48 | uint64(rows[7*row+q])<<56
			x = transpose8(x)
			o := 8*q*elem + j
			for m := 0; m < 8; m++ {
				dst[o] = byte(x)
				x >>= 8
				o += elem
			}
		}
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
