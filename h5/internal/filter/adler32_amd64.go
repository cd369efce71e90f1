//go:build amd64

package filter

import "golang.org/x/sys/cpu"

// With AVX2 a core sums 32 bytes an instruction sequence: the checksum of a
// gzip chunk, a tenth of its decoding with shuffled data (whose matches
// decode fast), becomes a fiftieth.
var hasAVX2 = cpu.X86.HasAVX2

// adler32AVX2 sums the 32-byte blocks of p (len(p) a multiple of 32, at
// most adler32VectorMax): the bytes, the bytes weighted by 32 down to 1
// within their block, and, over the blocks, the sums of the bytes before
// each block.
//
//go:noescape
func adler32AVX2(p []byte) (bytes, weighted, before uint32)

// adler32VectorMax bounds one adler32AVX2 call so that no sum passes 32
// bits: the sums before each block grow with the square of the blocks.
const adler32VectorMax = 16 << 10

// adler32Vector continues the sums s1, s2 over p's whole 32-byte blocks
// and returns them reduced, with the bytes it left.
func adler32Vector(s1, s2 uint64, p []byte) (uint64, uint64, []byte) {
	if !hasAVX2 {
		return s1, s2, p
	}
	for len(p) >= 32 {
		n := min(len(p), adler32VectorMax) &^ 31
		bytes, weighted, before := adler32AVX2(p[:n])
		// Each block adds 32 times the s1 it starts with to s2.
		s2 = (s2 + 32*uint64(n/32)*s1 + 32*uint64(before) + uint64(weighted)) % adler32Mod
		s1 = (s1 + uint64(bytes)) % adler32Mod
		p = p[n:]
	}
	return s1, s2, p
}
