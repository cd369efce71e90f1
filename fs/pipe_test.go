package fs

import (
	"testing"

	"github.com/h5mount/h5mount/h5"
)

// TestPipeFits: a 1012 KiB reply from two ranges that start inside pages
// (a read across two LZ4 chunks) fits the pipe it goes through; from three
// such ranges it takes more buffers than the pipe holds and must not be
// spliced.
func TestPipeFits(t *testing.T) {
	if got := roundedPipeSize(replyHeaderBytes + 1012<<10 + 4096); got != 1<<20 {
		t.Fatalf("pipe for a 1012 KiB reply: %d bytes, want 1 MiB", got)
	}
	if _, ok := pipeCapacity(4096); !ok {
		t.Fatal("this kernel rounds pipe sizes otherwise: no reply of several ranges would be spliced")
	}
	const size = 1012 << 10
	two := []h5.FileRange{{Off: 100016, N: 300000}, {Off: 2000032, N: size - 300000}}
	if !pipeFits(two, size) {
		t.Error("two unaligned ranges of a 1012 KiB reply do not fit")
	}
	three := []h5.FileRange{{Off: 100016, N: 300000}, {Off: 2000032, N: 300000}, {Off: 4000048, N: size - 600000}}
	if pipeFits(three, size) {
		t.Error("three unaligned ranges of a 1012 KiB reply fit: 257 buffers in a pipe of 256")
	}
	aligned := []h5.FileRange{{Off: 0, N: 4 << 10}, {Off: 1 << 20, N: size - 4<<10}}
	if !pipeFits(aligned, size) {
		t.Error("page-aligned ranges do not fit")
	}
}
