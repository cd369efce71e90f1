package format

import (
	"os"

	"golang.org/x/sys/unix"
)

// willNeedFile asks the kernel to start reading a range of a local file
// into its page cache, without waiting for it.
func willNeedFile(f *os.File, off, n int64) {
	_ = unix.Fadvise(int(f.Fd()), off, n, unix.FADV_WILLNEED) // only a hint
}
