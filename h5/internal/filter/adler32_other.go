//go:build !amd64

package filter

const hasAVX2 = false

// adler32Vector leaves every byte to the portable loop.
func adler32Vector(s1, s2 uint64, p []byte) (uint64, uint64, []byte) { return s1, s2, p }
