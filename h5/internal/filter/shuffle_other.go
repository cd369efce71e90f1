//go:build !amd64

package filter

// unshuffleVector leaves every element to the portable loops.
func unshuffleVector(out []byte, streams [][]byte, n int) int { return 0 }
