package filter

import (
	"math/bits"
	"sync"
	"unsafe"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// A BufferPool recycles the buffers a chunk's bytes pass through on their
// way to being decoded: the stored bytes and what the filters before the
// last make of them. Without them a sequential read of compressed data made
// as much garbage again as it decoded, and a read of small chunks spent a
// sixth of its time allocating.
//
// Buffers are kept by size class (a power of two up to their capacity),
// so that a request takes one at most twice its size: from one pool of all
// sizes, a chunk of 8 bytes took whatever buffer came first, a 1 MiB one,
// and the chunk cache held it for those 8 bytes.
type BufferPool struct {
	classes [maxPooledClass + 1]sync.Pool // of *[]byte, by sizeClass
}

// maxPooledClass is the class of maxPooled.
const maxPooledClass = 26

// sizeClass is the least k with 1<<k >= n.
func sizeClass(n int) int { return bits.Len(uint(max(n, 1) - 1)) }

// Get returns a buffer of n bytes, of undefined content.
func (p *BufferPool) Get(n int) []byte {
	if k := sizeClass(pooledCap(n)); k <= maxPooledClass {
		if b, ok := p.classes[k].Get().(*[]byte); ok {
			if cap(*b) >= n {
				return (*b)[:n]
			}
			p.classes[k].Put(b)
		}
	}
	return make([]byte, n, pooledCap(n))
}

// pooledCap rounds a buffer's size up, so that chunks of slightly
// different sizes share buffers: from 64 KiB on to 4 KiB steps, and below
// that to a power of two, which wastes at most half (a 4-byte chunk in a
// 64 KiB buffer held 16,000 times its size). Steps of 64 KiB gave a chunk
// of 256 KiB, decoded into its size plus a little slack, a buffer of
// 320 KiB: a cache sized for a row of such chunks held four fifths of it.
func pooledCap(n int) int {
	const step, small = 4 << 10, 64 << 10
	if n >= small {
		return (n + step - 1) &^ (step - 1)
	}
	c := 64
	for c < n {
		c *= 2
	}
	return c
}

// DecodedSize is the memory a decoded chunk of chunkSize bytes takes in
// pooled buffers: what a cache holding such chunks counts for each.
func DecodedSize(chunkSize int) int { return pooledCap(chunkSize + decodeSlack) }

// maxPooled is the largest buffer a pool keeps.
const maxPooled = 64 << 20

// Put gives b back; nothing may use it afterwards. A nil pool keeps
// nothing.
func (p *BufferPool) Put(b []byte) {
	if p == nil || cap(b) == 0 || cap(b) > maxPooled {
		return // a rare giant chunk is not worth keeping
	}
	p.classes[sizeClass(cap(b))].Put(&b)
}

// SharesMemory reports whether two slices share any of their backing
// array: a filter may hand back (part of) its input as its output.
func SharesMemory(a, b []byte) bool {
	if cap(a) == 0 || cap(b) == 0 {
		return false
	}
	pa, pb := uintptr(unsafe.Pointer(unsafe.SliceData(a))), uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return pa < pb+uintptr(cap(b)) && pb < pa+uintptr(cap(a))
}

// between holds the outputs of the filters a pipeline undoes before its
// last, which only the next filter reads.
var between BufferPool

// intoCodec is a codec that can decode into a buffer it is given: dst, of
// any length, used when its capacity suffices (the bytes it holds are
// garbage). Its output then shares dst's memory.
type intoCodec interface {
	decodeInto(f *format.Filter, in []byte, maxOut int, dst []byte) ([]byte, error)
}

// sized returns dst resized to n bytes when it has the room, else new
// memory.
func sized(dst []byte, n int) []byte {
	if cap(dst) >= n {
		return dst[:n]
	}
	return make([]byte, n)
}
