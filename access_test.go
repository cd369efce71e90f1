package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
)

// TestErrorsAreLoggedOnce: every error a request meets reaches the user as
// an errno and leaves exactly one log line naming the object and the errno,
// and the refused requests leave the file as it was.
func TestErrorsAreLoggedOnce(t *testing.T) {
	dir := t.TempDir()
	file := copyFixture(t, "weather.h5", dir)
	unsupported := filepath.Join(dir, "unsupported.h5")
	copyTo(t, fixture(t, "filters/unsupported.h5"), unsupported)
	logFile := filepath.Join(dir, "log")
	before, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	mnt := mountT(t, file, "-o", "rw", "--log-file", logFile)
	temp := filepath.Join(mnt, "15", "temperature")
	size := fileSize(t, temp)

	cases := []struct {
		what  string
		path  string // the object path the log line must name
		errno syscall.Errno
		call  func() error
	}{
		{"rmdir of a group with members", "/15", syscall.ENOTEMPTY, func() error { return syscall.Rmdir(filepath.Join(mnt, "15")) }},
		{"write past the end of a fixed-shape dataset", "/15/temperature", syscall.ENOSPC, func() error {
			f, err := os.OpenFile(temp, os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.WriteAt(make([]byte, 8), size)
			return err
		}},
		{"truncate to a size the shape cannot take", "/15/temperature", syscall.EINVAL, func() error { return os.Truncate(temp, size+3) }},
		{"an xattr outside user.*", "/15/wind", syscall.EOPNOTSUPP, func() error {
			return syscall.Setxattr(filepath.Join(mnt, "15", "wind"), "trusted.h5mount-test", []byte("1"), 0)
		}},
		{"a FIFO", "/fifo", syscall.EPERM, func() error { return syscall.Mkfifo(filepath.Join(mnt, "fifo"), 0o644) }},
		{"removing a dataset property", "/comp", syscall.EPERM, func() error { return syscall.Removexattr(filepath.Join(mnt, "comp"), "user.h5.dtype") }},
		{"a datatype that does not parse", "/big", syscall.EINVAL, func() error {
			return syscall.Setxattr(filepath.Join(mnt, "big"), "user.h5.dtype", []byte("no such type"), 0)
		}},
	}
	for _, c := range cases {
		if err := c.call(); !errors.Is(err, c.errno) {
			t.Errorf("%s: got %v, want %v", c.what, err, c.errno)
		}
	}
	unmountCleanup(t, mnt)
	// SPEC §9: a refused request never changes the file.
	if after, err := os.ReadFile(file); err != nil || !bytes.Equal(before, after) {
		t.Errorf("refused requests changed the file (%v)", err)
	}

	// A read the engine cannot serve (a filter h5mount has no decoder for).
	bmnt := mountT(t, unsupported, "-o", "ro", "--log-file", logFile)
	data := filepath.Join(bmnt, "sz_f4")
	f, err := os.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.ReadAt(make([]byte, 8), 0); !errors.Is(err, syscall.EOPNOTSUPP) {
		t.Errorf("read through an unknown filter: got %v, want EOPNOTSUPP", err)
	}
	f.Close()
	unmountCleanup(t, bmnt)

	logText, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(logText), "\n")
	count := func(path string, e syscall.Errno) int {
		n := 0
		for _, l := range lines {
			if strings.Contains(l, " "+path+": ") && strings.HasSuffix(l, "("+errnoText(e)+")") {
				n++
			}
		}
		return n
	}
	for _, c := range cases {
		if n := count(c.path, c.errno); n != 1 {
			t.Errorf("%s: %d log lines name %s and %s, want 1", c.what, n, c.path, errnoText(c.errno))
		}
	}
	// The kernel may read ahead, so one read can be more than one request;
	// each failed request logs its line.
	if n := count("/sz_f4", syscall.EOPNOTSUPP); n < 1 {
		t.Errorf("the failed read left no log line naming /sz_f4 and EOPNOTSUPP")
	}
	if t.Failed() {
		t.Logf("log:\n%s", logText)
	}
}

func errnoText(e syscall.Errno) string {
	for name, v := range map[string]syscall.Errno{
		"ENOTEMPTY": syscall.ENOTEMPTY, "ENOSPC": syscall.ENOSPC, "EINVAL": syscall.EINVAL,
		"EOPNOTSUPP": syscall.EOPNOTSUPP, "EPERM": syscall.EPERM, "EIO": syscall.EIO,
	} {
		if v == e {
			return name
		}
	}
	return e.Error()
}

// TestDebugLogsEveryRequest: --debug logs each FUSE request the session
// makes, by opcode.
func TestDebugLogsEveryRequest(t *testing.T) {
	dir := t.TempDir()
	file := copyFixture(t, "weather.h5", dir)
	logFile := filepath.Join(dir, "log")
	mnt := mountT(t, file, "-o", "rw", "--debug", "--log-file", logFile)
	sh(t, "ls -la "+mnt+"/15 >/dev/null && getfattr -d "+mnt+"/15/temperature >/dev/null && "+
		"dd if="+mnt+"/15/temperature bs=8 count=1 status=none >/dev/null && mkdir "+mnt+"/new && "+
		"printf 'abcd' >"+mnt+"/new/d && setfattr -n user.x -v 1 "+mnt+"/new && rm "+mnt+"/new/d && rmdir "+mnt+"/new")
	unmountCleanup(t, mnt)
	logText, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range []string{"LOOKUP", "GETATTR", "OPENDIR", "READDIR", "LISTXATTR", "GETXATTR", "OPEN", "READ", "MKDIR", "CREATE", "WRITE", "SETXATTR", "UNLINK", "RMDIR", "RELEASE", "FLUSH"} {
		if !strings.Contains(string(logText), op) {
			t.Errorf("--debug log has no %s request", op)
		}
	}
}

// nobodyDir is a fresh directory other users may enter (t.TempDir is
// private to root).
func nobodyDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "h5mount-access-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// asNobody runs a shell command as the user nobody and returns its result.
func asNobody(t *testing.T, script string) result {
	t.Helper()
	cmd := exec.Command("sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	cmd.Dir = "/"
	return runCmd(t, cmd)
}

// TestAccessForOtherUsers: modes come from the HDF5 file; other users see
// nothing without allow_other, and with it the kernel checks the modes
// shown (allow_other implies default_permissions), so nobody reads what the
// file lets others read and writes nothing it does not let them write.
func TestAccessForOtherUsers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run commands as another user")
	}
	dir := nobodyDir(t)
	file := copyFixture(t, "weather.h5", dir)
	if err := os.Chmod(file, 0o640); err != nil {
		t.Fatal(err)
	}
	mount := func(opts ...string) string {
		mnt := filepath.Join(dir, "mnt")
		r := h5mountT(t, append(opts, file, mnt)...)
		if r.code != 0 {
			t.Fatalf("mount %q: %v", opts, r)
		}
		t.Cleanup(func() { unmountCleanup(t, mnt) })
		return mnt
	}

	mnt := mount("-o", "rw")
	for p, want := range map[string]os.FileMode{"15/temperature": 0o640, "15": os.ModeDir | 0o750, "": os.ModeDir | 0o750} {
		st, err := os.Stat(filepath.Join(mnt, p))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode() != want {
			t.Errorf("/%s: mode %v, want %v (from the file's 0640)", p, st.Mode(), want)
		}
	}
	if r := asNobody(t, "ls "+mnt); r.code == 0 || !strings.Contains(r.stderr, "Permission denied") {
		t.Errorf("without allow_other another user listed the mount: %v", r)
	}
	unmountCleanup(t, mnt)

	mnt = mount("-o", "rw,allow_other")
	if r := asNobody(t, "cat "+mnt+"/15/temperature >/dev/null"); r.code == 0 || !strings.Contains(r.stderr, "Permission denied") {
		t.Errorf("allow_other on a 0640 file: another user read it: %v", r)
	}
	unmountCleanup(t, mnt)

	if err := os.Chmod(file, 0o644); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	mnt = mount("-o", "rw,allow_other")
	want, err := os.ReadFile(filepath.Join(mnt, "15", "temperature"))
	if err != nil {
		t.Fatal(err)
	}
	r := asNobody(t, "cat "+mnt+"/15/temperature | od -An -tx1 | tr -d ' \\n'")
	if r.code != 0 || r.stdout != hexOf(want) {
		t.Errorf("allow_other on a 0644 file: another user could not read it: %v", r)
	}
	for _, script := range []string{
		"printf 'xxxxxxxx' | dd of=" + mnt + "/15/temperature conv=notrunc status=none",
		"mkdir " + mnt + "/intruder",
		"setfattr -n user.x -v 1 " + mnt + "/15/temperature",
		"rm " + mnt + "/15/wind",
	} {
		if r := asNobody(t, script); r.code == 0 || !strings.Contains(r.stderr, "Permission denied") {
			t.Errorf("another user: %s: %v, want Permission denied", script, r)
		}
	}
	unmountCleanup(t, mnt)
	after, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("another user's refused writes changed the file")
	}
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

// TestOddNames: names HDF5 allows but a directory cannot hold ("..", over
// the 1024 bytes of a FUSE name) are left out of listings with a log line, every other name
// lists and reads as stored, and no soft link's target leads out of the
// mount, whatever path the file stores.
func TestOddNames(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "odd.h5")
	long := strings.Repeat("x", 1100)
	h5py(t, `
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "w")
names = ["..", "...", ". ", "-rf", "a\nb", "tab\there", "x" * 1100, "\x01ctl", "ünï", " lead", "*", "y" * 300]
for i, n in enumerate(names):
    f.create_dataset(n, data=np.arange(i, i + 3, dtype="<i4"))
f.create_dataset(b"\xff\xfebad", data=np.arange(100, 103, dtype="<i4"))
g = f.create_group("g")
f["up"] = h5py.SoftLink("../../../../etc/passwd")
f["abs_up"] = h5py.SoftLink("/../../../../etc/passwd")
f["dot"] = h5py.SoftLink("./...")
g["back"] = h5py.SoftLink("/g/../../..")
g["deep"] = h5py.SoftLink("/../" * 20 + "etc")
g["fine"] = h5py.SoftLink("/-rf")
f.close()
print("ok")
`, file)
	logFile := filepath.Join(dir, "log")
	mnt := mountT(t, file, "-o", "ro", "--log-file", logFile)

	ents, err := os.ReadDir(mnt)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	want := []string{"...", ". ", "-rf", "a\nb", "tab\there", "\x01ctl", "ünï", " lead", "*", strings.Repeat("y", 300), "\xff\xfebad", "g", "up", "abs_up", "dot"}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("root lists %q, want %q", got, want)
	}
	datasets := map[string]int32{"...": 1, ". ": 2, "-rf": 3, "a\nb": 4, "tab\there": 5, "\x01ctl": 7, "ünï": 8, " lead": 9, "*": 10, strings.Repeat("y", 300): 11, "\xff\xfebad": 100}
	for name, first := range datasets {
		b, err := os.ReadFile(filepath.Join(mnt, name))
		if err != nil {
			t.Errorf("%q: %v", name, err)
			continue
		}
		wantBytes := make([]byte, 12)
		for i := range 3 {
			binary.LittleEndian.PutUint32(wantBytes[4*i:], uint32(first+int32(i)))
		}
		if !bytes.Equal(b, wantBytes) {
			t.Errorf("%q reads % x, want % x", name, b, wantBytes)
		}
	}
	if _, err := os.Lstat(filepath.Join(mnt, long)); err == nil {
		t.Errorf("a 1100-byte name was reachable")
	}
	// Listing tools walk the tree without an error.
	sh(t, "ls -laR "+mnt+" >/dev/null && find "+mnt+" >/dev/null && du -s "+mnt+" >/dev/null")

	for _, link := range []string{"up", "abs_up", "dot", "g/back", "g/deep", "g/fine"} {
		p := filepath.Join(mnt, link)
		target, err := os.Readlink(p)
		if err != nil {
			t.Errorf("readlink %s: %v", link, err)
			continue
		}
		resolved := filepath.Join(filepath.Dir(p), target)
		if resolved != mnt && !strings.HasPrefix(resolved, mnt+"/") {
			t.Errorf("%s -> %q leads out of the mount (%s)", link, target, resolved)
		}
		// Whatever the kernel makes of it stays inside too.
		if real, err := filepath.EvalSymlinks(p); err == nil && real != mnt && !strings.HasPrefix(real, mnt+"/") {
			t.Errorf("%s resolves to %s, outside the mount", link, real)
		}
	}
	if b, err := os.ReadFile(filepath.Join(mnt, "dot")); err != nil || len(b) != 12 || b[0] != 1 {
		t.Errorf("dot -> ./... reads %v, %v; want the dataset \"...\"", b, err)
	}
	if b, err := os.ReadFile(filepath.Join(mnt, "g", "fine")); err != nil || len(b) != 12 || b[0] != 3 {
		t.Errorf("g/fine -> /-rf reads %v, %v; want the dataset \"-rf\"", b, err)
	}
	unmountCleanup(t, mnt)
	logText, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{`".."`, `"` + long + `"`} {
		if !strings.Contains(string(logText), "a link named "+name+" cannot be shown") {
			t.Errorf("the log does not say the link %.20s... was left out", name)
		}
	}
}

// TestSharingWithOtherWriters: a read-write mount holds the file's lock, so
// a second h5mount and libhdf5 (h5py) are refused with a clear error while
// it lasts, and an h5py writer keeps h5mount out the same way.
func TestSharingWithOtherWriters(t *testing.T) {
	dir := t.TempDir()
	file := copyFixture(t, "weather.h5", dir)
	mnt := mountT(t, file, "-o", "rw")
	for _, opts := range [][]string{{"-o", "rw"}, {"-o", "ro"}} {
		other := filepath.Join(dir, "other")
		r := h5mountT(t, append(opts, file, other)...)
		checkFailure(t, r, 1, file+" is locked by another h5mount or writer")
	}
	out, err := exec.Command("/usr/bin/python3", "-c", `
import sys, h5py
try:
    h5py.File(sys.argv[1], "r+")
except OSError as e:
    print("refused:", e)
`, file).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "refused:") || !strings.Contains(string(out), "lock") {
		t.Errorf("h5py opened the mounted file for writing: %v %s", err, out)
	}
	unmountCleanup(t, mnt)

	// An h5py writer holding the file keeps h5mount out.
	py := exec.Command("/usr/bin/python3", "-c", `
import sys, h5py
f = h5py.File(sys.argv[1], "r+")
print("open", flush=True)
sys.stdin.read()
f.close()
`, file)
	stdin, err := py.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := py.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := py.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "open\n" {
		t.Fatalf("h5py writer did not start: %q %v", line, err)
	}
	r := h5mountT(t, file, filepath.Join(dir, "m2"))
	stdin.Close()
	py.Wait()
	checkFailure(t, r, 1, file+" is locked by another h5mount or writer")
}
