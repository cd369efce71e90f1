package daemon

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// mountinfoPath is the kernel's table of this process's mounts.
const mountinfoPath = "/proc/self/mountinfo"

// MountedAt reports what is mounted exactly at path, which must be absolute
// and clean: its file system type ("fuse.h5mount" for ours), or ok false
// when nothing is. It reads /proc/self/mountinfo, so it does not touch the
// mount point itself (a dead FUSE mount answers every stat with ENOTCONN).
// With several mounts stacked there, the topmost counts.
func MountedAt(path string) (fstype string, ok bool, err error) {
	data, err := os.ReadFile(mountinfoPath)
	if err != nil {
		return "", false, err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - TYPE SOURCE SUPER
		f := strings.Fields(sc.Text())
		if len(f) < 5 || unescapeMountinfo(f[4]) != path {
			continue
		}
		ok = true
		fstype = ""
		for i := 5; i+1 < len(f); i++ {
			if f[i] == "-" {
				fstype = f[i+1]
				break
			}
		}
	}
	return fstype, ok, sc.Err()
}

// unescapeMountinfo undoes the octal escapes (\040 for a space, \011, \012,
// \134) the kernel uses in mountinfo fields.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

// ErrBusy is returned by Unmount when files on the mount are still in use.
var ErrBusy = errors.New("mount is busy (a process is using it)")

// Unmount detaches the mount at mountpoint: with umount(2) as root,
// otherwise with fusermount3 -u (fusermount -u on old systems), and with
// umount(8) when those fail. lazy detaches it even while busy; the mount
// process then ends once the last open file is closed.
func Unmount(mountpoint string, lazy bool) error {
	var first error
	if os.Geteuid() == 0 {
		flags := 0
		if lazy {
			flags = syscall.MNT_DETACH
		}
		err := syscall.Unmount(mountpoint, flags)
		if err == nil {
			return nil
		}
		if errors.Is(err, syscall.EBUSY) {
			return ErrBusy
		}
		first = err
	} else {
		args := []string{"-u"}
		if lazy {
			args = append(args, "-z")
		}
		err := run(fusermount(), append(args, mountpoint)...)
		if err == nil {
			return nil
		}
		first = err
	}
	args := []string{}
	if lazy {
		args = append(args, "-l")
	}
	if err := run("umount", append(args, mountpoint)...); err == nil {
		return nil
	}
	return first
}

// fusermount names the FUSE mount helper found on PATH.
func fusermount() string {
	for _, name := range []string{"fusermount3", "fusermount"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return "fusermount3"
}

// HaveFusermount reports whether the FUSE mount helper is installed, as
// go-fuse looks for it (PATH, then /bin).
func HaveFusermount() bool {
	for _, name := range []string{"fusermount3", "fusermount"} {
		if _, err := exec.LookPath(name); err == nil {
			return true
		}
		if _, err := os.Stat(filepath.Join("/bin", name)); err == nil {
			return true
		}
	}
	return false
}

// run runs a helper; its error carries the helper's last stderr line.
func run(name string, args ...string) error {
	var stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stderr = &stderr
	err := cmd.Run()
	if err == nil {
		return nil
	}
	msg := strings.TrimSpace(stderr.String())
	if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
		msg = msg[i+1:]
	}
	if strings.Contains(msg, "busy") {
		return ErrBusy
	}
	if msg == "" {
		return fmt.Errorf("%s: %w", name, err)
	}
	return errors.New(msg)
}
