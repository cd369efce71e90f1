//go:build amd64

package filter

import "unsafe"

// unshuffle8x16 and unshuffle4x16 unshuffle groups of 16 elements of 8 and
// 4 bytes from the streams into out (SSE2): a shuffled float64 chunk
// unshuffles at about three times the speed of the 64-bit word transposes.
//
//go:noescape
func unshuffle8x16(out *byte, streams *[8]*byte, groups int)

//go:noescape
func unshuffle4x16(out *byte, streams *[4]*byte, groups int)

// unshuffleVector unshuffles the first whole groups of 16 elements of 8 or
// 4 bytes and returns how many elements it did.
func unshuffleVector(out []byte, streams [][]byte, n int) int {
	groups := n / 16
	if groups == 0 {
		return 0
	}
	switch len(streams) {
	case 8:
		var p [8]*byte
		for k := range p {
			p[k] = unsafe.SliceData(streams[k][:groups*16])
		}
		_ = out[groups*16*8-1]
		unshuffle8x16(unsafe.SliceData(out), &p, groups)
	case 4:
		var p [4]*byte
		for k := range p {
			p[k] = unsafe.SliceData(streams[k][:groups*16])
		}
		_ = out[groups*16*4-1]
		unshuffle4x16(unsafe.SliceData(out), &p, groups)
	default:
		return 0
	}
	return groups * 16
}
