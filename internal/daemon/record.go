package daemon

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Record describes a running mount, so that `h5mount unmount` can wait for
// the mount process to finish (flush, close the file, remove a mount point
// it created) before it returns.
type Record struct {
	PID        int    `json:"pid"`
	Start      uint64 `json:"start"` // process start time, guards against a reused pid
	Mountpoint string `json:"mountpoint"`
	File       string `json:"file"`
	Created    bool   `json:"created"` // the mount point was made by this mount
}

// recordDir is where records live: one directory per user, in the same
// place whatever the environment.
func recordDir() string {
	uid := os.Geteuid()
	if uid == 0 {
		return "/run/h5mount"
	}
	if st, err := os.Stat(fmt.Sprintf("/run/user/%d", uid)); err == nil && st.IsDir() {
		return fmt.Sprintf("/run/user/%d/h5mount", uid)
	}
	return filepath.Join("/tmp", fmt.Sprintf("h5mount-%d", uid))
}

func recordPath(mountpoint string) string {
	sum := sha256.Sum256([]byte(mountpoint))
	return filepath.Join(recordDir(), hex.EncodeToString(sum[:12])+".json")
}

// ensureRecordDir makes the record directory, refusing one that another
// user owns or others may write.
func ensureRecordDir() (string, error) {
	dir := recordDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	st, err := os.Lstat(dir)
	if err != nil {
		return "", err
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !st.IsDir() || !ok || int(sys.Uid) != os.Geteuid() || st.Mode().Perm()&0o022 != 0 {
		return "", fmt.Errorf("%s: not a private directory of this user", dir)
	}
	return dir, nil
}

// WriteRecord records this process as serving rec.Mountpoint. The returned
// function removes the record again.
func WriteRecord(rec Record) (remove func(), err error) {
	if _, err := ensureRecordDir(); err != nil {
		return func() {}, err
	}
	rec.PID = os.Getpid()
	rec.Start = startTime(rec.PID)
	data, err := json.Marshal(rec)
	if err != nil {
		return func() {}, err
	}
	p := recordPath(rec.Mountpoint)
	tmp := p + ".tmp" + strconv.Itoa(rec.PID)
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return func() {}, err
	}
	if err := os.Rename(tmp, p); err != nil {
		os.Remove(tmp)
		return func() {}, err
	}
	return func() {
		// Remove only our own record: a later mount at the same place may
		// have replaced it.
		if got, ok := ReadRecord(rec.Mountpoint); ok && got.PID == rec.PID {
			os.Remove(p)
		}
	}, nil
}

// ReadRecord finds the record of the mount at mountpoint; ok is false when
// there is none. The process it names may be gone (killed, say): see
// Running.
func ReadRecord(mountpoint string) (rec Record, ok bool) {
	data, err := os.ReadFile(recordPath(mountpoint))
	if err != nil {
		return Record{}, false
	}
	if json.Unmarshal(data, &rec) != nil || rec.Mountpoint != mountpoint || rec.PID <= 0 {
		return Record{}, false
	}
	return rec, true
}

// RemoveRecord removes the record of a mount whose process is gone.
func RemoveRecord(mountpoint string) {
	os.Remove(recordPath(mountpoint))
}

// Running reports whether the recorded process still runs.
func (r Record) Running() bool {
	st := startTime(r.PID)
	return st != 0 && st == r.Start
}

// WaitExit waits up to timeout for the recorded process to end and reports
// whether it did.
func (r Record) WaitExit(timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	if exited, ok := r.waitPidfd(deadline); ok {
		return exited
	}
	for r.Running() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// waitPidfd waits for the process's exit through a pidfd, which wakes the
// waiter the moment it exits (a mount process exits a few milliseconds
// after its unmount, which polling every 10 ms would as often as not
// miss by most of a period). ok is false where pidfds are not to be had.
func (r Record) waitPidfd(deadline time.Time) (exited, ok bool) {
	fd, err := unix.PidfdOpen(r.PID, 0)
	if errors.Is(err, unix.ESRCH) {
		return true, true
	}
	if err != nil {
		return false, false
	}
	defer unix.Close(fd)
	// The pidfd names whatever process has the pid now: only the
	// recorded one is waited for.
	if !r.Running() {
		return true, true
	}
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return false, true
		}
		n, err := unix.Poll(fds, int(min(left, time.Hour).Milliseconds())+1)
		switch {
		case err == unix.EINTR:
		case err != nil:
			return false, false
		case n > 0:
			return true, true
		}
	}
}

// startTime reads a process's start time (field 22 of /proc/PID/stat), or
// 0 when there is no such process (or it is a zombie).
func startTime(pid int) uint64 {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(data)
	// The command name (field 2) is in parentheses and may hold spaces.
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); field 22 is f[19].
	if len(f) < 20 || f[0] == "Z" || f[0] == "X" {
		return 0
	}
	v, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return 0
	}
	return v
}
