package main

// Tests of the command line (SPEC §1), driving the built binary as a user
// would. The helpers here (h5mountT, mountT, mountedAt, ...) serve the other
// test files of this package too.
//
// Tests that mount need FUSE. Where /dev/fuse is missing they skip, unless
// H5MOUNT_REQUIRE_FUSE=1 is set; where /dev/fuse exists they must pass.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// h5mountBin is the binary under test, built once by TestMain.
var h5mountBin string

// testRoot holds the binary and is where leftover mounts are searched for.
var testRoot string

// commandTimeout bounds every command a test runs.
const commandTimeout = 60 * time.Second

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

// machineTmp is $TMPDIR as the test run found it, before testMain pointed
// TMPDIR into the run's own directory; caches shared across runs live here.
var machineTmp = os.TempDir()

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "h5mount-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	// Readable by all: one test runs the binary as another user.
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	testRoot = dir
	h5mountBin = filepath.Join(dir, "h5mount")
	args := []string{"build", "-o", h5mountBin}
	if raceEnabled() {
		// The mount process is where concurrency lives: race-check it too.
		args = append(args, "-race")
	}
	cmd := exec.Command(goTool(), append(args, ".")...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "building h5mount: %v\n", err)
		return 1
	}
	// Race reports of the mount processes (whose stderr is /dev/null in the
	// background) land in files here; no second of sleep at every exit.
	raceDir := filepath.Join(dir, "race")
	if err := os.Mkdir(raceDir, 0o777); err != nil || os.Chmod(raceDir, 0o777) != nil {
		fmt.Fprintln(os.Stderr, "race report directory:", err)
		return 1
	}
	os.Setenv("GORACE", "atexit_sleep_ms=0 log_path="+filepath.Join(raceDir, "report"))
	// Every test's temporary directory (and so every mount point) lives
	// under this run's directory: the leftover-mount sweep below then
	// touches only this run's mounts, and two test runs can share a machine.
	machineTmp = os.TempDir()
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	os.Setenv("TMPDIR", tmp)

	code := m.Run()
	if reports, _ := filepath.Glob(filepath.Join(raceDir, "report*")); len(reports) > 0 {
		for _, r := range reports {
			data, _ := os.ReadFile(r)
			fmt.Fprintf(os.Stderr, "data race in the h5mount binary (%s):\n%s\n", r, data)
		}
		if code == 0 {
			code = 1
		}
	}
	if left := mountsUnder(dir); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "tests left mounts behind: %q\n", left)
		for _, p := range left {
			forceUnmount(p)
		}
		if code == 0 {
			code = 1
		}
	}
	return code
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// raceEnabled tells whether this test binary was built with -race.
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" && s.Value == "true" {
			return true
		}
	}
	return false
}

// requireFUSE skips a test that mounts when FUSE is absent, unless
// H5MOUNT_REQUIRE_FUSE is set: then it runs, and fails.
func requireFUSE(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/dev/fuse"); err != nil && os.Getenv("H5MOUNT_REQUIRE_FUSE") == "" {
		t.Skip("no /dev/fuse (set H5MOUNT_REQUIRE_FUSE=1 to fail instead)")
	}
}

// requireTool fails the test when a program it drives is not installed.
// keepFailedFile copies a failed test's HDF5 file into $H5MOUNT_KEEP, when
// set, so that libhdf5's tools can look at it after the test is gone.
func keepFailedFile(t *testing.T, file string) {
	dir := os.Getenv("H5MOUNT_KEEP")
	if dir == "" || !t.Failed() {
		return
	}
	data, err := os.ReadFile(file)
	if err == nil {
		to := filepath.Join(dir, strings.NewReplacer("/", "_").Replace(t.Name())+".h5")
		if err = os.WriteFile(to, data, 0o644); err == nil {
			t.Logf("kept the file as %s", to)
			return
		}
	}
	t.Logf("keeping the file: %v", err)
}

func requireTool(t *testing.T, name, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%s is not installed (Debian package %s)", name, pkg)
	}
}

// result is what a finished command gave.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
}

// runCmd runs a program to its end (or commandTimeout).
func runCmd(t *testing.T, cmd *exec.Cmd) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if cmd.Cancel == nil {
		// A plain Cmd: give it the timeout through a context-less watchdog.
		done := make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-done:
			case <-time.After(commandTimeout):
				if cmd.Process != nil {
					cmd.Process.Kill()
				}
			}
		}()
	}
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		t.Fatalf("%q: %v", cmd.Args, err)
	}
	return r
}

// h5mountT runs the binary under test with args.
func h5mountT(t *testing.T, args ...string) result {
	t.Helper()
	return runCmd(t, exec.Command(h5mountBin, args...))
}

// sh runs a shell command line (pipes allowed) and fails the test unless it
// succeeds. It returns stdout.
func sh(t *testing.T, script string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	r := runCmd(t, exec.CommandContext(ctx, "sh", "-c", script))
	if r.code != 0 || ctx.Err() != nil {
		t.Fatalf("%s: %v (%v)", script, r, ctx.Err())
	}
	return r.stdout
}

// fixture is the path of a committed test file; it fails the test when the
// file is missing.
func fixture(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%v (run /usr/bin/python3 scripts/gen_testdata.py)", err)
	}
	return p
}

// isSharedFixture reports whether file is one of the committed test files.
func isSharedFixture(file string) bool {
	dir, err := filepath.Abs("testdata")
	return err == nil && strings.HasPrefix(file, dir+string(filepath.Separator))
}

// copyFixture copies a test file into dir (a test of locks or modes must
// not touch the shared one).
func copyFixture(t *testing.T, name, dir string) string {
	t.Helper()
	data, err := os.ReadFile(fixture(t, name))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// mountT mounts file (in the background, as a user would) at a fresh mount
// point that h5mount creates, and unmounts it when the test ends. It
// returns the mount point.
func mountT(t *testing.T, file string, opts ...string) string {
	t.Helper()
	requireFUSE(t)
	if isSharedFixture(file) && !slices.Contains(opts, "rw") {
		// The committed fixtures are shared by tests running at once: they
		// are mounted read-only, and never changed.
		opts = append([]string{"-o", "ro"}, opts...)
	}
	mnt := filepath.Join(t.TempDir(), "mnt")
	r := h5mountT(t, append(append([]string{}, opts...), file, mnt)...)
	t.Cleanup(func() { unmountCleanup(t, mnt) })
	if r.code != 0 {
		t.Fatalf("h5mount %s %s %q: %v", file, mnt, opts, r)
	}
	if !mountedAt(t, mnt) {
		t.Fatalf("h5mount exited 0 but %s is not mounted", mnt)
	}
	return mnt
}

// unmountCleanup unmounts what a test left mounted, by force if need be.
func unmountCleanup(t *testing.T, mnt string) {
	t.Helper()
	if !mountedAt(t, mnt) {
		return
	}
	if r := h5mountT(t, "unmount", mnt); r.code != 0 {
		t.Errorf("cleanup: h5mount unmount %s: %v", mnt, r)
		forceUnmount(mnt)
	}
}

func forceUnmount(mnt string) {
	abortFUSE(mnt)
	if exec.Command("fusermount3", "-u", "-z", mnt).Run() != nil {
		syscall.Unmount(mnt, syscall.MNT_DETACH)
	}
}

// abortFUSE aborts the FUSE connection of the mount at mnt (through the
// fusectl file system, mounted if need be): every request waiting on it,
// and every later one, fails at once, so that no process is left blocked
// on a mount whose server is gone. It finds the connection in the mount
// table, never by touching the mount.
func abortFUSE(mnt string) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 || unoctal(f[4]) != mnt {
			continue
		}
		_, minor, ok := strings.Cut(f[2], ":")
		if !ok {
			continue
		}
		ctl := "/sys/fs/fuse/connections"
		if ents, _ := os.ReadDir(ctl); len(ents) == 0 {
			exec.Command("mount", "-t", "fusectl", "none", ctl).Run()
		}
		os.WriteFile(filepath.Join(ctl, minor, "abort"), []byte("1"), 0)
	}
}

// mountTable maps the mount points of /proc/self/mountinfo to their mount
// options, file system type and super options (not the source).
func mountTable(t testing.TB) map[string]string {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 10 {
			continue
		}
		// ... MOUNTPOINT OPTIONS [optional...] - TYPE SOURCE SUPEROPTIONS
		out[unoctal(f[4])] = f[5] + " " + f[len(f)-3] + " " + f[len(f)-1]
	}
	return out
}

func unoctal(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var c byte
			if _, err := fmt.Sscanf(s[i+1:i+4], "%03o", &c); err == nil {
				b.WriteByte(c)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// mountedAt tells whether anything is mounted at path.
func mountedAt(t testing.TB, path string) bool {
	_, ok := mountTable(t)[path]
	return ok
}

// mountsUnder lists the FUSE mounts of h5mount below any of the dirs.
func mountsUnder(dirs ...string) []string {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 10 || !strings.Contains(line, "fuse.h5mount") {
			continue
		}
		p := unoctal(f[4])
		for _, d := range dirs {
			if strings.HasPrefix(p, d+"/") {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

// waitMounted polls until path is mounted (or not), up to ten seconds.
func waitMounted(t *testing.T, path string, want bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for mountedAt(t, path) != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s: mounted = %v after 10 s, want %v", path, !want, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkFailure asserts the SPEC §1 failure contract: the exit status, one
// line on stderr naming the cause, nothing on stdout.
func checkFailure(t *testing.T, r result, code int, cause string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit status %d, want %d (%v)", r.code, code, r)
	}
	lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
	if len(lines) != 1 || !strings.HasSuffix(r.stderr, "\n") {
		t.Errorf("stderr is %d lines, want exactly one: %q", len(lines), r.stderr)
	}
	if !strings.HasPrefix(r.stderr, "h5mount: ") {
		t.Errorf("stderr %q does not start with \"h5mount: \"", r.stderr)
	}
	if !strings.Contains(r.stderr, cause) {
		t.Errorf("stderr %q does not name the cause %q", r.stderr, cause)
	}
	if r.stdout != "" {
		t.Errorf("stdout %q, want nothing", r.stdout)
	}
}

// daemonsOf lists the pids of h5mount processes whose arguments name mnt.
func daemonsOf(mnt string) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		var pid int
		if _, err := fmt.Sscanf(e.Name(), "%d", &pid); err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(data), "\x00")
		if len(args) == 0 || filepath.Base(args[0]) != "h5mount" {
			continue
		}
		for _, a := range args[1:] {
			if a == mnt {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

func TestUsageErrors(t *testing.T) {
	weather := fixture(t, "weather.h5")
	mnt := filepath.Join(t.TempDir(), "mnt")
	for _, tc := range []struct {
		name  string
		args  []string
		cause string
	}{
		{"no arguments", nil, "missing FILE.h5 and MOUNTPOINT"},
		{"no mount point", []string{weather}, "missing MOUNTPOINT"},
		{"too many arguments", []string{weather, mnt, "extra"}, "too many arguments"},
		{"unknown flag", []string{"--no-such-flag", weather, mnt}, "no-such-flag"},
		{"unknown flag after the arguments", []string{weather, mnt, "--no-such-flag"}, "no-such-flag"},
		{"bad cache size", []string{"--cache-size", "lots", weather, mnt}, "--cache-size"},
		{"bad cache size unit", []string{"--cache-size", "12XB", weather, mnt}, "--cache-size"},
		{"bad cache_size option", []string{"-o", "cache_size=x", weather, mnt}, "cache_size"},
		{"bad compression option", []string{"-o", "compression=zip", weather, mnt}, "compression"},
		{"bad libver option", []string{"-o", "libver=1.2", weather, mnt}, "libver"},
		{"unmount without mount point", []string{"unmount"}, "usage: h5mount unmount MOUNTPOINT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h5mountT(t, tc.args...)
			checkFailure(t, r, 2, tc.cause)
			if _, err := os.Stat(mnt); err == nil {
				t.Errorf("%s was created", mnt)
			}
		})
	}
}

func TestHelpMentionsEveryFlag(t *testing.T) {
	r := h5mountT(t, "--help")
	if r.code != 0 {
		t.Fatalf("h5mount --help: %v", r)
	}
	for _, want := range []string{
		"--foreground", "-f", "-o OPTS", "--read-only", "--create", "--debug", "--log-file",
		"--cache-size", "--help", "--version",
		"ro", "rw", "allow_other", "default_permissions", "cache_size=", "fusermount3",
		"unmount", "version", "Examples:", "h5mount unmount /mnt/w", "fstab",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("--help does not mention %q", want)
		}
	}
	if r2 := h5mountT(t, "-h"); r2.stdout != r.stdout {
		t.Errorf("-h and --help differ")
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		r := h5mountT(t, args...)
		if r.code != 0 || !strings.HasPrefix(r.stdout, "h5mount ") || r.stderr != "" {
			t.Errorf("h5mount %s: %v", args[0], r)
		}
	}
}

// TestMountFailures: each failure of SPEC §1 exits non-zero with one line
// naming the cause and leaves nothing mounted and no mount point behind,
// in the background (the default) and in the foreground.
func TestMountFailures(t *testing.T) {
	dir := t.TempDir()
	notHDF5 := filepath.Join(dir, "text.h5")
	if err := os.WriteFile(notHDF5, []byte("this is not HDF5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A superblock whose checksum does not match (superblock version 3).
	latest, err := os.ReadFile(fixture(t, "weather_latest.h5"))
	if err != nil {
		t.Fatal(err)
	}
	badSum := append([]byte(nil), latest...)
	badSum[20] ^= 0xff
	corrupt := filepath.Join(dir, "corrupt.h5")
	if err := os.WriteFile(corrupt, badSum, 0o644); err != nil {
		t.Fatal(err)
	}
	// A signature and then nothing.
	truncated := filepath.Join(dir, "truncated.h5")
	if err := os.WriteFile(truncated, latest[:24], 0o644); err != nil {
		t.Fatal(err)
	}
	regular := filepath.Join(dir, "regular-file")
	if err := os.WriteFile(regular, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	weather := fixture(t, "weather.h5")

	for _, mode := range []string{"background", "foreground"} {
		for _, tc := range []struct {
			name, file, mnt, cause string
		}{
			{"no such file", filepath.Join(dir, "missing.h5"), "", "missing.h5: no such file"},
			{"file is a directory", dir, "", "is a directory"},
			{"not HDF5", notHDF5, "", "text.h5: not an HDF5 file"},
			{"corrupt superblock", corrupt, "", "corrupt.h5: corrupt HDF5 file"},
			{"truncated superblock", truncated, "", "truncated.h5: corrupt HDF5 file"},
			{"mount point not a directory", weather, regular, "regular-file: mount point is not a directory"},
			{"mount point parent missing", weather, filepath.Join(dir, "no", "such", "dir"), "cannot create mount point"},
		} {
			t.Run(mode+"/"+tc.name, func(t *testing.T) {
				mnt := tc.mnt
				if mnt == "" {
					mnt = filepath.Join(t.TempDir(), "mnt")
				}
				args := []string{tc.file, mnt}
				if mode == "foreground" {
					args = append([]string{"-f"}, args...)
				}
				r := h5mountT(t, args...)
				checkFailure(t, r, 1, tc.cause)
				if mountedAt(t, mnt) {
					forceUnmount(mnt)
					t.Fatalf("%s is mounted", mnt)
				}
				if tc.mnt == "" {
					if _, err := os.Lstat(mnt); err == nil {
						t.Errorf("mount point %s was left behind", mnt)
					}
				}
			})
		}
	}
}

func TestMountFailsOnLockedFile(t *testing.T) {
	requireFUSE(t)
	dir := t.TempDir()
	file := copyFixture(t, "weather.h5", dir)
	fh, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	// What a writer (a read-write h5mount, say) holds.
	if err := syscall.Flock(int(fh.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	mnt := filepath.Join(dir, "mnt")
	for _, fg := range []bool{false, true} {
		args := []string{file, mnt}
		if fg {
			args = append([]string{"-f"}, args...)
		}
		r := h5mountT(t, args...)
		checkFailure(t, r, 1, file+" is locked by another h5mount or writer")
		if mountedAt(t, mnt) {
			forceUnmount(mnt)
			t.Fatalf("%s is mounted", mnt)
		}
		if _, err := os.Lstat(mnt); err == nil {
			t.Errorf("mount point %s was left behind", mnt)
		}
	}
	// Once the writer lets go, the mount works.
	syscall.Flock(int(fh.Fd()), syscall.LOCK_UN)
	m := mountT(t, file)
	if _, err := os.Stat(filepath.Join(m, "15", "temperature")); err != nil {
		t.Error(err)
	}
}

// TestMountFailsWithoutDevFuseAccess runs h5mount as a user who may not
// open /dev/fuse.
func TestMountFailsWithoutDevFuseAccess(t *testing.T) {
	requireFUSE(t)
	st, err := os.Stat("/dev/fuse")
	if err != nil {
		t.Fatal(err)
	}
	var cred *syscall.Credential
	if f, err := os.OpenFile("/dev/fuse", os.O_RDWR, 0); err == nil {
		f.Close()
		if os.Geteuid() != 0 || st.Mode().Perm()&0o006 == 0o006 {
			t.Skip("every user here may open /dev/fuse: the failure cannot be produced")
		}
		cred = &syscall.Credential{Uid: 65534, Gid: 65534} // nobody
	}
	dir, err := os.MkdirTemp("", "h5mount-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	file := copyFixture(t, "weather.h5", dir)
	mnt := filepath.Join(dir, "mnt")
	for _, fg := range []bool{false, true} {
		args := []string{file, mnt}
		if fg {
			args = append([]string{"-f"}, args...)
		}
		cmd := exec.Command(h5mountBin, args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		r := runCmd(t, cmd)
		checkFailure(t, r, 1, "no permission on /dev/fuse")
		if mountedAt(t, mnt) {
			forceUnmount(mnt)
			t.Fatalf("%s is mounted", mnt)
		}
		if _, err := os.Lstat(mnt); err == nil {
			t.Errorf("mount point %s was left behind", mnt)
		}
	}
}

// TestMountPointAlreadyMounted: a second mount at the same place fails, a
// second read-only mount of the same file elsewhere works (shared lock).
func TestMountPointAlreadyMounted(t *testing.T) {
	weather := fixture(t, "weather.h5")
	mnt := mountT(t, weather)
	for _, fg := range []bool{false, true} {
		args := []string{"-o", "ro", weather, mnt}
		if fg {
			args = append([]string{"-f"}, args...)
		}
		r := h5mountT(t, args...)
		checkFailure(t, r, 1, "already a mount point")
	}
	// Through a symlink to it, too.
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(mnt, link); err != nil {
		t.Fatal(err)
	}
	checkFailure(t, h5mountT(t, "-o", "ro", weather, link), 1, "already a mount point")
	// The first mount is unharmed.
	if _, err := os.Stat(filepath.Join(mnt, "15", "temperature")); err != nil {
		t.Errorf("first mount: %v", err)
	}

	second := mountT(t, weather)
	for _, m := range []string{mnt, second} {
		st, err := os.Stat(filepath.Join(m, "20", "wind"))
		if err != nil {
			t.Errorf("%v", err)
		} else if st.Size() != 2048*8 {
			t.Errorf("%s/20/wind: size %d, want %d", m, st.Size(), 2048*8)
		}
	}
}

// TestOptionsAfterArguments: mount.fuse3 and /etc/fstab call
// `h5mount FILE MOUNTPOINT -o OPTIONS`.
func TestOptionsAfterArguments(t *testing.T) {
	requireFUSE(t)
	weather := fixture(t, "weather.h5")
	for _, tc := range []struct {
		name  string
		opts  []string
		super string // expected among the super options
	}{
		{"ro", []string{"-o", "ro"}, ""},
		{"attached", []string{"-oro"}, ""},
		{"allow_other", []string{"-o", "ro,allow_other"}, "allow_other"},
		{"fstab options", []string{"-o", "ro,nofail,_netdev,noauto,user,x-systemd.automount,dev,suid,defaults"}, ""},
		{"repeated and long flags", []string{"-o", "ro", "-o", "default_permissions", "--cache-size", "1MiB", "--read-only"}, "default_permissions"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mnt := filepath.Join(t.TempDir(), "mnt")
			args := append([]string{weather, mnt}, tc.opts...)
			r := h5mountT(t, args...)
			t.Cleanup(func() { unmountCleanup(t, mnt) })
			if r.code != 0 || r.stderr != "" || r.stdout != "" {
				t.Fatalf("h5mount %q: %v", args, r)
			}
			entry, ok := mountTable(t)[mnt]
			if !ok {
				t.Fatalf("%s not mounted", mnt)
			}
			f := strings.Fields(entry) // OPTIONS TYPE SUPEROPTIONS
			if !strings.HasPrefix(f[0], "ro") {
				t.Errorf("mount options %q, want ro", f[0])
			}
			if f[1] != "fuse.h5mount" {
				t.Errorf("type %q, want fuse.h5mount", f[1])
			}
			if tc.super != "" && !strings.Contains(f[2], tc.super) {
				t.Errorf("super options %q lack %s", f[2], tc.super)
			}
			if _, err := os.Stat(filepath.Join(mnt, "15", "temperature")); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestUnknownOptionWarns: an unknown -o option is ignored with a warning;
// the mount is made.
func TestUnknownOptionWarns(t *testing.T) {
	requireFUSE(t)
	mnt := filepath.Join(t.TempDir(), "mnt")
	r := h5mountT(t, fixture(t, "weather.h5"), mnt, "-o", "ro,frobnicate=3")
	t.Cleanup(func() { unmountCleanup(t, mnt) })
	if r.code != 0 || !strings.Contains(r.stderr, "warning") || !strings.Contains(r.stderr, "frobnicate") {
		t.Fatalf("%v", r)
	}
	if n := strings.Count(r.stderr, "\n"); n != 1 {
		t.Errorf("%d lines of warning, want 1: %q", n, r.stderr)
	}
	if !mountedAt(t, mnt) {
		t.Errorf("not mounted")
	}
}

// TestMountpointCreatedAndRemoved: a missing mount point is made, and
// removed at unmount; an existing one stays.
func TestMountpointCreatedAndRemoved(t *testing.T) {
	requireFUSE(t)
	weather := fixture(t, "weather.h5")
	dir := t.TempDir()
	mnt := filepath.Join(dir, "new")
	if r := h5mountT(t, weather, mnt); r.code != 0 {
		t.Fatalf("%v", r)
	}
	t.Cleanup(func() { unmountCleanup(t, mnt) })
	if st, err := os.Stat(mnt); err != nil || !st.IsDir() {
		t.Fatalf("mount point: %v", err)
	}
	if r := h5mountT(t, "unmount", mnt); r.code != 0 || r.stderr != "" {
		t.Fatalf("h5mount unmount: %v", r)
	}
	if mountedAt(t, mnt) {
		t.Fatalf("still mounted")
	}
	if _, err := os.Lstat(mnt); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("mount point made by h5mount still there after unmount (%v)", err)
	}

	existing := filepath.Join(dir, "existing")
	if err := os.Mkdir(existing, 0o700); err != nil {
		t.Fatal(err)
	}
	if r := h5mountT(t, weather, existing); r.code != 0 {
		t.Fatalf("%v", r)
	}
	t.Cleanup(func() { unmountCleanup(t, existing) })
	if r := h5mountT(t, "unmount", existing); r.code != 0 {
		t.Fatalf("h5mount unmount: %v", r)
	}
	if st, err := os.Stat(existing); err != nil || !st.IsDir() {
		t.Errorf("existing mount point removed (%v)", err)
	}
}

// TestUnmount: `h5mount unmount` unmounts and returns once the mount
// process has finished; other ways to unmount are cleaned up after too.
func TestUnmount(t *testing.T) {
	weather := fixture(t, "weather.h5")
	mnt := mountT(t, weather)
	if len(daemonsOf(mnt)) != 1 {
		t.Errorf("mount processes for %s: %v, want one", mnt, daemonsOf(mnt))
	}
	r := h5mountT(t, "unmount", mnt)
	if r.code != 0 || r.stdout != "" || r.stderr != "" {
		t.Fatalf("h5mount unmount: %v", r)
	}
	if mountedAt(t, mnt) {
		t.Errorf("still mounted")
	}
	if pids := daemonsOf(mnt); len(pids) != 0 {
		t.Errorf("mount process %v still running after h5mount unmount returned", pids)
	}
	checkFailure(t, h5mountT(t, "unmount", mnt), 1, "not mounted")
	checkFailure(t, h5mountT(t, "umount", t.TempDir()), 1, "not mounted")

	// fusermount3 -u works too; the mount process then ends on its own.
	if os.Geteuid() != 0 {
		requireTool(t, "fusermount3", "fuse3")
	}
	mnt2 := mountT(t, weather)
	if _, err := exec.LookPath("fusermount3"); err == nil {
		sh(t, "fusermount3 -u "+mnt2)
	} else {
		sh(t, "umount "+mnt2)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(daemonsOf(mnt2)) > 0 || fileExists(mnt2) {
		if time.Now().After(deadline) {
			t.Fatalf("after fusermount3 -u: processes %v, mount point exists %v", daemonsOf(mnt2), fileExists(mnt2))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func fileExists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// TestForegroundSignals: with -f, h5mount prints nothing, serves until
// SIGTERM or SIGINT, then unmounts cleanly and exits 0.
func TestForegroundSignals(t *testing.T) {
	requireFUSE(t)
	weather := fixture(t, "weather.h5")
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			mnt := filepath.Join(t.TempDir(), "mnt")
			var stdout, stderr bytes.Buffer
			cmd := exec.Command(h5mountBin, "-f", weather, mnt)
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			t.Cleanup(func() {
				unmountCleanup(t, mnt)
				cmd.Process.Kill()
			})
			waitMounted(t, mnt, true)
			data, err := os.ReadFile(filepath.Join(mnt, "20", "temperature"))
			if err != nil || len(data) != 8192 {
				t.Errorf("read: %d bytes, %v", len(data), err)
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("h5mount -f after %v: %v", sig, err)
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("h5mount -f still running 20 s after %v", sig)
			}
			if mountedAt(t, mnt) {
				t.Errorf("still mounted after %v", sig)
			}
			if fileExists(mnt) {
				t.Errorf("mount point made by h5mount left behind")
			}
			if stdout.Len() != 0 || stderr.Len() != 0 {
				t.Errorf("h5mount -f printed: stdout %q, stderr %q", stdout.String(), stderr.String())
			}
		})
	}
}

// TestBackgroundReturnsWhenMounted: the parent exits only once the mount
// answers.
func TestBackgroundReturnsWhenMounted(t *testing.T) {
	requireFUSE(t)
	weather := fixture(t, "weather.h5")
	for i := 0; i < 5; i++ {
		mnt := filepath.Join(t.TempDir(), "mnt")
		r := h5mountT(t, weather, mnt)
		t.Cleanup(func() { unmountCleanup(t, mnt) })
		if r.code != 0 || r.stdout != "" || r.stderr != "" {
			t.Fatalf("%v", r)
		}
		// No waiting, no retry.
		st, err := os.Stat(filepath.Join(mnt, "15", "temperature"))
		if err != nil {
			t.Fatalf("stat right after h5mount returned: %v", err)
		}
		if st.Size() != 8192 {
			t.Errorf("size %d, want 8192", st.Size())
		}
		if r := h5mountT(t, "unmount", mnt); r.code != 0 {
			t.Fatalf("%v", r)
		}
	}
}

// TestLogFile: a background mount logs to --log-file; --debug logs the
// FUSE requests.
func TestLogFile(t *testing.T) {
	dir := t.TempDir()
	logFile := filepath.Join(dir, "h5mount.log")
	mnt := mountT(t, fixture(t, "weather.h5"), "--debug", "--log-file", logFile)
	if _, err := os.ReadFile(filepath.Join(mnt, "comp")); err != nil {
		t.Fatal(err)
	}
	if r := h5mountT(t, "unmount", mnt); r.code != 0 {
		t.Fatalf("%v", r)
	}
	data, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "mounted read-only at "+mnt) || !strings.Contains(string(data), "LOOKUP") {
		t.Errorf("log file lacks the mount and the FUSE requests:\n%s", data)
	}
}

// TestReadOnly: this version mounts read-only: writes answer EROFS, and
// the modes shown carry no write bits.
func TestReadOnly(t *testing.T) {
	dir := t.TempDir()
	file := copyFixture(t, "weather.h5", dir)
	if err := os.Chmod(file, 0o640); err != nil {
		t.Fatal(err)
	}
	mtime := time.Date(2013, 7, 30, 17, 11, 39, 0, time.UTC)
	if err := os.Chtimes(file, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	mnt := mountT(t, file, "-o", "ro")

	ds := filepath.Join(mnt, "15", "temperature")
	for name, op := range map[string]func() error{
		"open for writing": func() error {
			f, err := os.OpenFile(ds, os.O_WRONLY, 0)
			if err == nil {
				f.Close()
			}
			return err
		},
		"create": func() error {
			f, err := os.Create(filepath.Join(mnt, "new"))
			if err == nil {
				f.Close()
			}
			return err
		},
		"mkdir":    func() error { return os.Mkdir(filepath.Join(mnt, "g"), 0o755) },
		"remove":   func() error { return os.Remove(ds) },
		"truncate": func() error { return os.Truncate(ds, 0) },
		"setxattr": func() error { return syscall.Setxattr(ds, "user.dt", []byte("1.0"), 0) },
	} {
		if err := op(); !errors.Is(err, syscall.EROFS) {
			t.Errorf("%s: %v, want EROFS", name, err)
		}
	}

	st, err := os.Stat(ds)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Mode().Perm(); got != 0o440 {
		t.Errorf("dataset mode %v, want -r--r----- (the file's 0640 without write bits)", st.Mode())
	}
	sys := st.Sys().(*syscall.Stat_t)
	if int(sys.Uid) != os.Getuid() || int(sys.Gid) != os.Getgid() {
		t.Errorf("owner %d:%d, want the file's %d:%d", sys.Uid, sys.Gid, os.Getuid(), os.Getgid())
	}
	if !st.ModTime().Equal(mtime) {
		t.Errorf("dataset mtime %v, want the file's %v (weather.h5 stores no object times)", st.ModTime(), mtime)
	}
	dst, err := os.Stat(filepath.Join(mnt, "15"))
	if err != nil {
		t.Fatal(err)
	}
	if got := dst.Mode().Perm(); got&0o222 != 0 || got&0o500 != 0o500 {
		t.Errorf("group mode %v: want readable, searchable, no write bits", dst.Mode())
	}
	after, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Errorf("the HDF5 file changed under a read-only mount")
	}
}

// TestUnmountBusyAndStale: an unmount while a file is open fails with one
// line and leaves the mount working; a mount whose process was killed is
// refused as a mount point and can still be unmounted, and the mount point
// h5mount made goes with it; mounts of other file systems are not touched.
func TestUnmountBusyAndStale(t *testing.T) {
	weather := fixture(t, "weather.h5")
	mnt := mountT(t, weather)
	f, err := os.Open(filepath.Join(mnt, "15", "wind"))
	if err != nil {
		t.Fatal(err)
	}
	checkFailure(t, h5mountT(t, "unmount", mnt), 1, "busy")
	buf := make([]byte, 16)
	if _, err := f.ReadAt(buf, 0); err != nil {
		t.Errorf("read after refused unmount: %v", err)
	}
	f.Close()
	if r := h5mountT(t, "unmount", mnt); r.code != 0 {
		t.Fatalf("unmount once the file is closed: %v", r)
	}

	mnt = mountT(t, weather)
	pids := daemonsOf(mnt)
	if len(pids) != 1 {
		t.Fatalf("mount processes: %v", pids)
	}
	syscall.Kill(pids[0], syscall.SIGKILL)
	deadline := time.Now().Add(10 * time.Second)
	for len(daemonsOf(mnt)) > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	// The kernel answers ENOTCONN, ECONNABORTED or EIO, depending on timing.
	if _, err := os.Stat(mnt); err == nil {
		t.Errorf("stat of a mount whose process is dead succeeded")
	}
	checkFailure(t, h5mountT(t, weather, mnt), 1, "already a mount point")
	if r := h5mountT(t, "unmount", mnt); r.code != 0 || r.stderr != "" {
		t.Fatalf("unmount of a dead mount: %v", r)
	}
	if mountedAt(t, mnt) || fileExists(mnt) {
		t.Errorf("dead mount: still mounted %v, mount point left %v", mountedAt(t, mnt), fileExists(mnt))
	}

	if os.Geteuid() == 0 {
		other := t.TempDir()
		if err := syscall.Mount("h5mount-test", other, "tmpfs", 0, "size=1m"); err != nil {
			t.Fatalf("mount tmpfs: %v", err)
		}
		defer syscall.Unmount(other, syscall.MNT_DETACH)
		checkFailure(t, h5mountT(t, "unmount", other), 1, "not an h5mount mount")
		if !mountedAt(t, other) {
			t.Errorf("h5mount unmount unmounted a tmpfs")
		}
	}
}

func TestNormalizeArgs(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"h5mount f m", "h5mount f m"},
		{"h5mount f m -o ro,allow_other", "h5mount -o ro,allow_other f m"},
		{"h5mount f -o ro m -f", "h5mount -o ro -f f m"},
		{"h5mount -oro f m", "h5mount -o ro f m"},
		{"h5mount -o=ro f m", "h5mount -o=ro f m"},
		{"h5mount f m --cache-size 1G --log-file l --debug", "h5mount --cache-size 1G --log-file l --debug f m"},
		{"h5mount f m --cache-size=1G", "h5mount --cache-size=1G f m"},
		{"h5mount -f -- -odd.h5 m", "h5mount -f -- -odd.h5 m"},
		{"h5mount unmount m", "h5mount unmount m"},
		{"h5mount --debug unmount m", "h5mount --debug unmount m"},
		{"h5mount version", "h5mount version"},
		{"h5mount f m -o", "h5mount -o f m"},
	} {
		got := strings.Join(normalizeArgs(strings.Fields(tc.in)), " ")
		if got != tc.want {
			t.Errorf("normalizeArgs(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestSplitMountOptions: the value of -o compression= is a comma-separated
// filter list, which the -o list's own commas must not cut
// (compression=shuffle,gzip:4 lost its gzip, with a warning).
func TestSplitMountOptions(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"ro,allow_other", "ro|allow_other"},
		{"compression=gzip:4", "compression=gzip:4"},
		{"compression=shuffle,gzip:4", "compression=shuffle,gzip:4"},
		{"ro,compression=shuffle,fletcher32,zstd:3,allow_other", "ro|compression=shuffle,fletcher32,zstd:3|allow_other"},
		{"compression=bitshuffle:lz4,lz4,ro", "compression=bitshuffle:lz4,lz4|ro"},
		{"compression=lzf,debug", "compression=lzf|debug"},
		{"gzip,ro", "gzip|ro"},
	} {
		if got := strings.Join(splitMountOptions(tc.in), "|"); got != tc.want {
			t.Errorf("splitMountOptions(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "4096": 4096, "10B": 10, "256MiB": 256 << 20, "64M": 64 << 20, "64mb": 64 << 20,
		"1G": 1 << 30, "2GiB": 2 << 30, "512K": 512 << 10, "512KiB": 512 << 10, "1T": 1 << 40,
	} {
		got, err := parseSize(in)
		if err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "lots", "-1", "1.5G", "12XB", "99999999999999999999", "8589934592G"} {
		if got, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", in, got)
		}
	}
}

// TestMountFuse3Helper: /etc/fstab mounts go through mount.fuse3, which
// runs `h5mount FILE MOUNTPOINT -o OPTIONS` from PATH.
func TestMountFuse3Helper(t *testing.T) {
	requireFUSE(t)
	helper := ""
	for _, p := range []string{"mount.fuse3", "/usr/sbin/mount.fuse3", "/sbin/mount.fuse3"} {
		if full, err := exec.LookPath(p); err == nil {
			helper = full
			break
		}
	}
	if helper == "" {
		t.Fatal("mount.fuse3 is not installed (Debian package fuse3)")
	}
	mnt := filepath.Join(t.TempDir(), "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(helper, fixture(t, "weather.h5"), mnt, "-t", "h5mount",
		"-o", "ro,allow_other,nofail,_netdev,dev,suid,x-systemd.device-timeout=10")
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(h5mountBin)+":"+os.Getenv("PATH"))
	r := runCmd(t, cmd)
	t.Cleanup(func() { unmountCleanup(t, mnt) })
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("mount.fuse3: %v", r)
	}
	entry := mountTable(t)[mnt]
	if !strings.Contains(entry, "fuse.h5mount") || !strings.Contains(entry, "allow_other") {
		t.Errorf("mount table entry %q, want fuse.h5mount with allow_other", entry)
	}
	if _, err := os.Stat(filepath.Join(mnt, "big")); err != nil {
		t.Error(err)
	}
}

// TestHeapLimitLeavesRoomAboveTheLiveHeap: the mount's memory limit is its
// plan (cache, slack, the rest of the live heap with the collector's room)
// and never at or below the live heap, even when the cache holds a chunk
// larger than the whole cache: a limit there has the collector run
// without end.
func TestHeapLimitLeavesRoomAboveTheLiveHeap(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct{ planned, cached, live, want int64 }{
		{64 * mib, 0, 10 * mib, 64*mib + memorySlack + 10*mib},
		{64 * mib, 60 * mib, 70 * mib, 64*mib + memorySlack + 10*mib},
		{64 * mib, 60 * mib, 160 * mib, 64*mib + memorySlack + 100*mib + (100*mib - memorySlack)},
		{16 * mib, 128 * mib, 140 * mib, 128*mib + memorySlack + 12*mib},
		{16 * mib, 256 * mib, 250 * mib, 256*mib + memorySlack},
	} {
		got := heapLimit(c.planned, c.cached, c.live)
		if got != c.want {
			t.Errorf("heapLimit(%d, %d, %d) MiB = %d MiB, want %d", c.planned/mib, c.cached/mib, c.live/mib, got/mib, c.want/mib)
		}
		if got < c.live+memorySlack {
			t.Errorf("heapLimit(%d, %d, %d) MiB = %d MiB: no room above the live heap", c.planned/mib, c.cached/mib, c.live/mib, got/mib)
		}
	}
}

// TestSWMRWriterMarkMountsReadOnly: a file whose superblock says a SWMR
// writer has it open (such a writer lets go of the file lock, so a live one
// cannot be told from a dead one) mounts read-only with a warning naming
// h5clear, and `-o rw` is refused with one line. A file a plain writer left
// marked mounts read-write: that writer would still hold the lock.
func TestSWMRWriterMarkMountsReadOnly(t *testing.T) {
	requireFUSE(t)
	dir := t.TempDir()
	swmr, plain := filepath.Join(dir, "swmr.h5"), filepath.Join(dir, "plain.h5")
	h5py(t, `
import os, sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "w", libver="latest")
d = f.create_dataset("x", data=np.arange(10, dtype="<i8"), maxshape=(None,), chunks=(5,))
if sys.argv[2] == "swmr":
    f.swmr_mode = True
    d.resize((12,))
    d[10:] = [10, 11]
f.flush()
print("ok")
sys.stdout.flush()
os._exit(0)`, swmr, "swmr")
	h5py(t, `
import os, sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "w", libver="latest")
f["x"] = np.arange(10, dtype="<i8")
f.flush()
print("ok")
sys.stdout.flush()
os._exit(0)`, plain, "plain")
	before, err := os.ReadFile(swmr)
	if err != nil || len(before) < 12 || before[11]&4 == 0 {
		t.Fatalf("h5py left no SWMR mark (%v)", err)
	}

	mnt := filepath.Join(t.TempDir(), "mnt")
	r := h5mountT(t, swmr, mnt)
	t.Cleanup(func() { unmountCleanup(t, mnt) })
	if r.code != 0 || !strings.Contains(r.stderr, "SWMR writer: mounted read-only") || !strings.Contains(r.stderr, "h5clear -s") {
		t.Fatalf("h5mount: %v, want a mount with a warning naming h5clear", r)
	}
	if err := os.Mkdir(filepath.Join(mnt, "g"), 0o755); !errors.Is(err, syscall.EROFS) {
		t.Errorf("mkdir: %v, want EROFS", err)
	}
	got, err := os.ReadFile(filepath.Join(mnt, "x"))
	if err != nil || len(got) != 12*8 || binary.LittleEndian.Uint64(got[88:]) != 11 {
		t.Errorf("x: %d bytes (%v), want the 12 elements the writer flushed", len(got), err)
	}
	unmountCleanup(t, mnt)

	r = h5mountT(t, "-o", "rw", swmr, mnt)
	checkFailure(t, r, 1, "SWMR writer")
	if mountedAt(t, mnt) {
		forceUnmount(mnt)
		t.Fatalf("%s is mounted", mnt)
	}
	if after, _ := os.ReadFile(swmr); !bytes.Equal(before, after) {
		t.Errorf("the file changed")
	}

	pm := mountT(t, plain)
	if err := os.Mkdir(filepath.Join(pm, "g"), 0o755); err != nil {
		t.Errorf("mkdir in a file a plain writer left marked: %v", err)
	}
}
