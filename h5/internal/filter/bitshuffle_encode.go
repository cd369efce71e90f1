package filter

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// Bitshuffle on the write side, the layout bitshuffle's HDF5 filter writes
// (see bitshuffle.go). cd_values: filter and library version, element size,
// block size in elements (0 or absent: bshufDefaultBlock, the size the
// filter computes and, compressed, records in the header), compression (2:
// LZ4, 3: zstd, anything else none), zstd level (absent: zstd's default).
// Whole blocks, then the last partial block rounded down to a multiple of 8
// elements, are bit-transposed (and compressed, each on its own); the
// fewer than 8 elements left follow as they are.
//
// Compressed blocks are always LZ4 blocks or zstd frames, never stored
// raw: the filter's reader has no other form.
type bitshuffleEncoder struct{}

func init() { RegisterEncoder(Bitshuffle, bitshuffleEncoder{}) }

func (bitshuffleEncoder) Encode(f *format.Filter, in []byte) ([]byte, error) {
	p := f.Params
	if len(p) < 3 || p[2] == 0 {
		return nil, fmt.Errorf("bitshuffle: parameters %v name no element size", p)
	}
	elem := int(p[2])
	if len(in)%elem != 0 {
		return nil, fmt.Errorf("bitshuffle: %d bytes is not a whole number of %d-byte elements", len(in), elem)
	}
	block := 0
	if len(p) > 3 {
		block = int(p[3])
	}
	if block == 0 {
		block = bshufDefaultBlock(elem)
	}
	if block%8 != 0 {
		return nil, fmt.Errorf("bitshuffle: block size %d is not a multiple of 8", block)
	}
	comp := uint32(0)
	if len(p) > 4 {
		comp = p[4]
	}
	n := len(in) / elem
	if comp != bshufLZ4 && comp != bshufZstd {
		out := make([]byte, len(in))
		i := 0
		for ; n-i >= block; i += block {
			bitShuffle(out[i*elem:(i+block)*elem], in[i*elem:(i+block)*elem], elem)
		}
		if last := (n - i) / 8 * 8; last > 0 {
			bitShuffle(out[i*elem:(i+last)*elem], in[i*elem:(i+last)*elem], elem)
			i += last
		}
		copy(out[i*elem:], in[i*elem:])
		return out, nil
	}

	if uint64(block)*uint64(elem) > math.MaxUint32 {
		return nil, fmt.Errorf("bitshuffle: %d-element blocks of %d bytes do not fit the header", block, elem)
	}
	level := zstdDefaultLevel
	if len(p) > 5 {
		level = int(int32(p[5]))
	}
	// Room for every block at its worst and the leftovers.
	full, last := n/block, (n%block)/8*8
	var size int
	if comp == bshufLZ4 {
		size = full * (4 + lz4Bound(block*elem))
		if last > 0 {
			size += 4 + lz4Bound(last*elem)
		}
	} else {
		size = full * (4 + zstdBound(block*elem))
		if last > 0 {
			size += 4 + zstdBound(last*elem)
		}
	}
	out := make([]byte, 12, 12+size+n%8*elem)
	binary.BigEndian.PutUint64(out, uint64(len(in)))
	binary.BigEndian.PutUint32(out[8:], uint32(block*elem))

	scratch, _ := bshufBlocks.Get().(*[]byte)
	if scratch == nil {
		scratch = new([]byte)
	}
	defer bshufBlocks.Put(scratch)
	var t *lz4Table
	if comp == bshufLZ4 {
		t = lz4Tables.Get().(*lz4Table)
		defer lz4Tables.Put(t)
	}
	i := 0
	for i < n {
		m := block
		if n-i < block {
			if m = (n - i) / 8 * 8; m == 0 {
				break
			}
		}
		bytes := m * elem
		if cap(*scratch) < bytes {
			*scratch = make([]byte, bytes)
		}
		shuffled := (*scratch)[:bytes]
		bitShuffle(shuffled, in[i*elem:(i+m)*elem], elem)
		pos := len(out)
		if comp == bshufLZ4 {
			out = out[:pos+4+lz4Bound(bytes)]
			k := lz4CompressBlock(out[pos+4:], shuffled, t)
			if k == 0 {
				return nil, fmt.Errorf("bitshuffle: LZ4 block of %d bytes past its bound", bytes)
			}
			out = out[:pos+4+k]
		} else {
			out = zstdCompress(out[:pos+4], shuffled, level)
		}
		binary.BigEndian.PutUint32(out[pos:], uint32(len(out)-pos-4))
		i += m
	}
	return append(out, in[i*elem:]...), nil
}

// bitShuffle is the bit transpose of one block, the inverse of
// bitUnshuffle: of the n = len(src)/elem elements (n a multiple of 8), row
// 8j+k of dst (n/8 bytes) holds bit k of byte j of each element. Byte j of
// 8 elements makes an 8x8 bit matrix whose transpose is the bytes at one
// column of rows 8j..8j+7.
func bitShuffle(dst, src []byte, elem int) {
	n := len(src) / elem
	row := n / 8
	if elem == 1 {
		for q := 0; q < row; q++ {
			x := transpose8(binary.LittleEndian.Uint64(src[8*q:]))
			for k := 0; k < 8; k++ {
				dst[k*row+q] = byte(x >> (8 * k))
			}
		}
		return
	}
	for j := 0; j < elem; j++ {
		rows := dst[8*j*row : 8*(j+1)*row]
		r0, r1, r2, r3 := rows[:row], rows[row:2*row], rows[2*row:3*row], rows[3*row:4*row]
		r4, r5, r6, r7 := rows[4*row:5*row], rows[5*row:6*row], rows[6*row:7*row], rows[7*row:]
		o := j
		for q := 0; q < row; q++ {
			s := src[o : o+7*elem+1]
			x := uint64(s[0]) | uint64(s[elem])<<8 | uint64(s[2*elem])<<16 | uint64(s[3*elem])<<24 |
				uint64(s[4*elem])<<32 | uint64(s[5*elem])<<40 | uint64(s[6*elem])<<48 | uint64(s[7*elem])<<56
			x = transpose8(x)
			r0[q], r1[q], r2[q], r3[q] = byte(x), byte(x>>8), byte(x>>16), byte(x>>24)
			r4[q], r5[q], r6[q], r7[q] = byte(x>>32), byte(x>>40), byte(x>>48), byte(x>>56)
			o += 8 * elem
		}
	}
}
