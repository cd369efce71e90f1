package filter

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"sync"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// LZ4 on the write side, framed as the HDF Group's plugin writes it (see
// lz4.go): the chunk size and the block size, then each block as a 4-byte
// size and an LZ4 block, or the block's bytes as they are when compressing
// does not make it smaller (the size then equals the block's, which is how
// readers tell). cd_values[0] is the block size in bytes, 0 or absent
// meaning the plugin's default of 1 GiB; either way no larger than the
// chunk, and the header records the size used. cd_values[1] picks LZ4HC
// levels in the plugin; this encoder always makes fast-mode blocks, which
// every reader takes alike.
type lz4Encoder struct{}

func init() { RegisterEncoder(LZ4, lz4Encoder{}) }

const lz4DefaultBlock = 1 << 30

func (lz4Encoder) Encode(f *format.Filter, in []byte) ([]byte, error) {
	n := len(in)
	if n > math.MaxInt32 {
		return nil, fmt.Errorf("lz4: %d-byte chunk, more than the plugin takes", n)
	}
	block := lz4DefaultBlock
	if len(f.Params) > 0 && f.Params[0] > 0 {
		block = int(min(f.Params[0], lz4DefaultBlock))
	}
	block = min(block, n)
	nblocks := 0
	if n > 0 {
		nblocks = (n-1)/block + 1
	}
	// The most the chunk can take: every block stored as it is.
	out := make([]byte, 12+4*nblocks+n)
	binary.BigEndian.PutUint64(out, uint64(n))
	binary.BigEndian.PutUint32(out[8:], uint32(block))
	pos := 12
	t := lz4Tables.Get().(*lz4Table)
	defer lz4Tables.Put(t)
	for done := 0; done < n; {
		bs := min(block, n-done)
		src := in[done : done+bs]
		// Room for one byte less than the block: a block that does not
		// shrink is stored as it is.
		k := lz4CompressBlock(out[pos+4:pos+4+bs-1], src, t)
		if k == 0 {
			k = copy(out[pos+4:], src)
		}
		binary.BigEndian.PutUint32(out[pos:], uint32(k))
		pos += 4 + k
		done += bs
	}
	return out[:pos:pos], nil
}

const (
	lz4MinMatch    = 4
	lz4LastLits    = 5  // a block ends with at least 5 literals
	lz4MFLimit     = 12 // and its last match starts at least 12 bytes before its end
	lz4MaxDist     = 65535
	lz4MaxHashLog  = 12
	lz4HashMul     = 0x9e3779b97f4a7c15 // 2^64 / golden ratio: Fibonacci hashing
	lz4SkipTrigger = 6                  // each 64 misses in a row lengthen the step by one
)

// lz4Table maps a hash of 5 bytes to 1 + the last position they were seen.
type lz4Table [1 << lz4MaxHashLog]int32

var lz4Tables = sync.Pool{New: func() any { return new(lz4Table) }}

// lz4Bound is the longest block lz4CompressBlock can write for n bytes.
func lz4Bound(n int) int { return n + n/255 + 16 }

// lz4CompressBlock writes src as one LZ4 block into dst and returns its
// length, or 0 when it does not fit (it always fits lz4Bound bytes).
// Matches of 4 bytes or more are found greedily through a hash table of
// 5-byte sequences, then extended forwards and back; the block keeps the
// format's end rules (the last 5 bytes are literals, the last match starts
// at least 12 bytes before the end), which liblz4's safe decoder enforces.
func lz4CompressBlock(dst, src []byte, t *lz4Table) int {
	n := len(src)
	op, anchor := 0, 0
	if n > lz4MFLimit {
		hlog := min(max(bits.Len(uint(n)), 8), lz4MaxHashLog)
		tab := t[:1<<hlog]
		clear(tab)
		shift := 64 - hlog
		matchLimit := n - lz4LastLits
		last := n - lz4MFLimit // no match starts after this
		i := 0
		skip := 1 << lz4SkipTrigger
		for i <= last {
			x := binary.LittleEndian.Uint64(src[i:])
			h := lz4Hash(x, shift)
			c := int(tab[h]) - 1
			tab[h] = int32(i + 1)
			if c < 0 || i-c > lz4MaxDist || binary.LittleEndian.Uint32(src[c:]) != uint32(x) {
				i += skip >> lz4SkipTrigger
				skip++
				continue
			}
			m := lz4MinMatch
			for i+m+8 <= matchLimit {
				if x := binary.LittleEndian.Uint64(src[c+m:]) ^ binary.LittleEndian.Uint64(src[i+m:]); x != 0 {
					m += bits.TrailingZeros64(x) >> 3
					goto extended
				}
				m += 8
			}
			for i+m < matchLimit && src[c+m] == src[i+m] {
				m++
			}
		extended:
			for i > anchor && c > 0 && src[i-1] == src[c-1] {
				i, c, m = i-1, c-1, m+1
			}
			if op = lz4Sequence(dst, op, src[anchor:i], i-c, m); op < 0 {
				return 0
			}
			i += m
			anchor = i
			skip = 1 << lz4SkipTrigger
			if p := i - 2; p <= last {
				tab[lz4Hash(binary.LittleEndian.Uint64(src[p:]), shift)] = int32(p + 1)
			}
		}
	}
	if op = lz4Sequence(dst, op, src[anchor:], 0, 0); op < 0 {
		return 0
	}
	return op
}

// lz4Hash hashes the low 5 bytes of x: a candidate found through it
// usually matches for 5 bytes or more, not just the 4 that are checked.
func lz4Hash(x uint64, shift int) uint32 {
	return uint32((x << 24 * lz4HashMul) >> shift)
}

// lz4Sequence appends one sequence: the literals, then (unless m is 0, the
// block's last sequence) a match of m bytes at distance dist. It returns
// the new output length, or -1 when dst is too short.
func lz4Sequence(dst []byte, op int, lits []byte, dist, m int) int {
	l := len(lits)
	need := 1 + l + (l+255-15)/255
	if m > 0 {
		need += 2 + (m-lz4MinMatch+255-15)/255
	}
	if op+need > len(dst) {
		return -1
	}
	tok := byte(min(l, 15)) << 4
	if m > 0 {
		tok |= byte(min(m-lz4MinMatch, 15))
	}
	dst[op] = tok
	op++
	if l >= 15 {
		op = lz4PutLen(dst, op, l-15)
	}
	op += copy(dst[op:], lits)
	if m > 0 {
		dst[op] = byte(dist)
		dst[op+1] = byte(dist >> 8)
		op += 2
		if m-lz4MinMatch >= 15 {
			op = lz4PutLen(dst, op, m-lz4MinMatch-15)
		}
	}
	return op
}

// lz4PutLen writes the extension bytes of a length: 255s, then the rest.
func lz4PutLen(dst []byte, op, n int) int {
	for n >= 255 {
		dst[op] = 255
		op++
		n -= 255
	}
	dst[op] = byte(n)
	return op + 1
}
