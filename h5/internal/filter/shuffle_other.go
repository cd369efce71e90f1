//go:build !amd64

package filter

// unshuffleVector leaves every element to the portable loops.
func unshuffleVector(out []byte, streams [][]byte, n int) int { return 0 }

// bitUnshuffleVector leaves every column to the portable loop.
func bitUnshuffleVector(plane []byte, rows *[8][]byte, row int) int { return 0 }
