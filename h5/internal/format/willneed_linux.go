package format

import (
	"os"

	"golang.org/x/sys/unix"
)

// willNeedFile asks the kernel to start reading a range of a local file
// into its page cache, without waiting for it. The descriptor is borrowed
// through SyscallConn, so that a file closed meanwhile (a hint still
// running at unmount) is left alone instead of a reused descriptor hinted.
func willNeedFile(f *os.File, off, n int64) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		_ = unix.Fadvise(int(fd), off, n, unix.FADV_WILLNEED) // only a hint
	})
}
