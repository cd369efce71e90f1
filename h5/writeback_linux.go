package h5

import (
	"os"

	"golang.org/x/sys/unix"
)

// startWriteback asks the kernel to start writing the file's dirty pages to
// disk, without waiting for them. A file closed meanwhile is left alone:
// Control holds the descriptor open for the call, or refuses.
func startWriteback(f *os.File) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		// An error only means the kernel starts no writeback early; the
		// commit's fsync still writes everything and reports failures.
		_ = unix.SyncFileRange(int(fd), 0, 0, unix.SYNC_FILE_RANGE_WRITE)
	})
}
