package filter

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"sync"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// LZF on the write side. h5py's filter stores one raw LZF stream and
// fails (returns 0) when the stream would not fit in a buffer as long as
// the chunk; h5py registers the filter as optional, so libhdf5 then stores
// the chunk unfiltered with the filter's bit set in the chunk's mask.
// Encode does the same by returning errNoGain, on which EncodePipeline
// masks an optional filter (and fails a mandatory one, as libhdf5 would).
// cd_values (filter revision, LZF version, chunk size) only matter to
// readers.
//
// The stream format is in lzf.go. The compressor keeps a hash table of the
// positions of 3-byte sequences and greedily takes the candidate it finds
// when the bytes agree: back-references reach at most 8192 bytes back and
// are 3 to 264 bytes long; other bytes go in literal runs of at most 32.
type lzfEncoder struct{}

func init() { RegisterEncoder(LZF, lzfEncoder{}) }

// errNoGain: a filter that gives up when compressing does not shrink the
// chunk (the chunk is then stored as it is, when the filter is optional).
var errNoGain = errors.New("compression does not shrink the chunk")

// errLZFNoGain is made once: incompressible chunks may be many.
var errLZFNoGain = fmt.Errorf("lzf: %w", errNoGain)

const (
	lzfMaxLit     = 32
	lzfMaxOff     = 8192
	lzfMaxMatch   = 264
	lzfMaxHashLog = 13
)

// lzfTable maps a hash of 3 bytes to 1 + the last position they were seen.
type lzfTable [1 << lzfMaxHashLog]int32

var lzfTables = sync.Pool{New: func() any { return new(lzfTable) }}

func (lzfEncoder) Encode(_ *format.Filter, in []byte) ([]byte, error) {
	if len(in) < 2 {
		return nil, errLZFNoGain
	}
	out := make([]byte, len(in)-1) // the stream must be shorter than the chunk
	t := lzfTables.Get().(*lzfTable)
	n := lzfCompress(out, in, t)
	lzfTables.Put(t)
	if n == 0 {
		return nil, errLZFNoGain
	}
	return out[:n:n], nil
}

// lzLimits bound the streams of the LZF family: LZF's own, and BloscLZ's,
// whose decoder takes a distance of 8192 and a length byte of 255 as
// escapes to longer forms and stops before a match that ends the stream.
type lzLimits struct {
	maxOff, maxMatch int
	endWithLiteral   bool
}

var (
	lzfLimits     = lzLimits{maxOff: lzfMaxOff, maxMatch: lzfMaxMatch}
	bloscLZLimits = lzLimits{maxOff: lzfMaxOff - 1, maxMatch: lzfMaxMatch - 1, endWithLiteral: true}
)

// lzfCompress writes the LZF stream of src into dst and returns its
// length, or 0 when it does not fit (or src is empty).
func lzfCompress(dst, src []byte, t *lzfTable) int {
	return lzCompress(dst, src, t, lzfLimits)
}

func lzCompress(dst, src []byte, t *lzfTable, lim lzLimits) int {
	n := len(src)
	if n == 0 {
		return 0
	}
	// A table about the size of the input: small chunks clear little.
	hlog := min(max(bits.Len(uint(n)), 8), lzfMaxHashLog)
	tab := t[:1<<hlog]
	clear(tab)
	shift := 32 - hlog

	op, lit := 0, 0 // output length; start of the pending literals
	i := 0
	skip := 32 // after 32 misses in a row, look at every other position, and so on
	rep := 0   // the last match's distance
	for i+4 <= n {
		v := binary.LittleEndian.Uint32(src[i:]) & 0xffffff
		h := (v * 0x9e3779b1) >> shift
		c := int(tab[h]) - 1
		tab[h] = int32(i + 1)
		if c < 0 || i-c > lim.maxOff || lzfLoad3(src, c) != v {
			// The last distance again: a run or a repeating pattern goes
			// on past the longest match, and the positions inside that
			// match were never hashed.
			if c = i - rep; rep == 0 || lzfLoad3(src, c) != v {
				i += skip >> 5
				skip++
				continue
			}
		}
		// Extend the match, eight bytes at a time while they last.
		m := 3
		limit := min(lim.maxMatch, n-i)
		if lim.endWithLiteral {
			limit-- // (i+4 <= n: still at least 3)
		}
		for m+8 <= limit {
			if x := binary.LittleEndian.Uint64(src[c+m:]) ^ binary.LittleEndian.Uint64(src[i+m:]); x != 0 {
				m += bits.TrailingZeros64(x) >> 3
				goto extended
			}
			m += 8
		}
		for m < limit && src[c+m] == src[i+m] {
			m++
		}
	extended:
		if op = lzfLiterals(dst, op, src[lit:i]); op < 0 {
			return 0
		}
		d := i - c - 1
		l := m - 2
		if l < 7 {
			if op+2 > len(dst) {
				return 0
			}
			dst[op] = byte(l<<5 | d>>8)
			dst[op+1] = byte(d)
			op += 2
		} else {
			if op+3 > len(dst) {
				return 0
			}
			dst[op] = byte(7<<5 | d>>8)
			dst[op+1] = byte(l - 7)
			dst[op+2] = byte(d)
			op += 3
		}
		rep = i - c
		i += m
		lit = i
		skip = 32
		// Remember the positions just before the next one: a run that
		// goes on past the longest match continues from them.
		for p := i - 2; p < i && p+4 <= n; p++ {
			w := binary.LittleEndian.Uint32(src[p:]) & 0xffffff
			tab[(w*0x9e3779b1)>>shift] = int32(p + 1)
		}
	}
	if op = lzfLiterals(dst, op, src[lit:]); op < 0 {
		return 0
	}
	return op
}

func lzfLoad3(b []byte, i int) uint32 {
	return uint32(b[i]) | uint32(b[i+1])<<8 | uint32(b[i+2])<<16
}

// lzfLiterals appends lits as runs of at most 32 bytes, each after its
// control byte (length - 1), and returns the new output length or -1.
func lzfLiterals(dst []byte, op int, lits []byte) int {
	for len(lits) > 0 {
		k := min(len(lits), lzfMaxLit)
		if op+1+k > len(dst) {
			return -1
		}
		dst[op] = byte(k - 1)
		copy(dst[op+1:], lits[:k])
		op += 1 + k
		lits = lits[k:]
	}
	return op
}
