package h5

import (
	"os"

	"golang.org/x/sys/unix"
)

// Hints to the file system that make reading and writing faster and never
// change what the file holds: their errors are ignored, as the writes that follow
// report any failure that matters. A file closed meanwhile is left alone:
// Control holds its descriptor open for the call, or refuses.

// startWriteback asks the kernel to start writing the file's dirty pages to
// disk, without waiting for them.
func startWriteback(f *os.File) {
	control(f, func(fd int) { _ = unix.SyncFileRange(fd, 0, 0, unix.SYNC_FILE_RANGE_WRITE) })
}

// reserveBlocks allocates the disk blocks of [off, off+n) of the file.
// Blocks it already has stay as they are; new ones read as zeros, as the
// hole they replace did. The file grows to off+n if it is shorter.
func reserveBlocks(f *os.File, off, n int64) {
	control(f, func(fd int) { _ = unix.Fallocate(fd, 0, off, n) })
}

// hintedFile is a local file that takes read hints: the stored chunks a
// sequential reader will want next are read from the disk into the page
// cache while the ones before them decode.
type hintedFile struct{ *os.File }

func (h hintedFile) WillNeed(off, n int64) {
	control(h.File, func(fd int) { _ = unix.Fadvise(fd, off, n, unix.FADV_WILLNEED) })
}

func control(f *os.File, fn func(fd int)) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) { fn(int(fd)) })
}

// adviseSequential doubles the kernel's read-ahead on a file read mostly
// in long runs. A mount's reads of one run arrive on several threads at
// once, slightly out of order, and the kernel takes many of them for
// random reads, reading exactly what each asks: a cold cat of 256 MiB
// through a mount made 240-360 disk reads (a plain cat of a file, 78);
// with the advice, 180-270. Random reads still read only what they ask.
func adviseSequential(f *os.File) {
	control(f, func(fd int) { _ = unix.Fadvise(fd, 0, 0, unix.FADV_SEQUENTIAL) })
}
