//go:build amd64

package filter

import (
	"bytes"
	stdadler32 "hash/adler32"
	"math/rand/v2"
	"testing"
)

// TestAdler32BothPaths: the vector and the portable sums agree with the
// standard library's on every length around the vector blocks and calls,
// on random bytes and on all 0xff (the largest sums), started from any
// earlier sum and at any alignment.
func TestAdler32BothPaths(t *testing.T) {
	if !hasAVX2 {
		t.Log("no AVX2 on this core: the portable path only")
	}
	saved := hasAVX2
	defer func() { hasAVX2 = saved }()
	rng := rand.New(rand.NewPCG(5, 6))
	random := make([]byte, 3*adler32VectorMax+200)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	ff := bytes.Repeat([]byte{0xff}, 1<<20+100)
	lengths := []int{0, 1, 31, 32, 33, 63, 64, 65, 5552, adler32VectorMax - 32, adler32VectorMax, adler32VectorMax + 1, adler32VectorMax + 32, 2*adler32VectorMax + 77, 3 * adler32VectorMax}
	for _, src := range [][]byte{random, ff} {
		for _, n := range lengths {
			for _, skew := range []int{0, 1, 7} {
				p := src[skew : skew+n]
				prefix := src[:skew]
				want := stdadler32.Checksum(src[:skew+n])
				for _, vector := range []bool{false, saved} {
					hasAVX2 = vector
					if got := adler32Update(adler32(prefix), p); got != want {
						t.Errorf("vector %v, %d bytes after %d: %08x, want %08x", vector, n, skew, got, want)
					}
				}
			}
		}
	}
	hasAVX2 = saved
	if got, want := adler32(ff), stdadler32.Checksum(ff); got != want {
		t.Errorf("1 MiB of 0xff: %08x, want %08x", got, want)
	}
}
