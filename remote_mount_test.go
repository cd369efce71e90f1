package main

// Remote mounts (s3:// and http(s)://) against real servers on loopback:
// the conformance corpus reads the same over HTTP and S3 as from the local
// file; the mount is read-only and shows the URL; a stopped, failing or slow
// server costs failed reads at worst, never the mount.

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// serveDir makes the directory both servers share: nginx serves it as its
// root, versitygw has its subdirectory data/ as the bucket "data".
func serveDir(t *testing.T) (root, bucket string) {
	t.Helper()
	root = t.TempDir()
	bucket = filepath.Join(root, s3Bucket)
	if err := os.Mkdir(bucket, 0o755); err != nil {
		t.Fatal(err)
	}
	return root, bucket
}

// copyFile copies like copyTo and keeps the modification time, which a
// remote object's Last-Modified then shows.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	copyTo(t, src, dst)
	st, err := os.Stat(src)
	if err == nil {
		os.Chtimes(dst, st.ModTime(), st.ModTime())
	}
}

// compareTrees lists where the tree under got differs from the one under
// want: names, kinds, sizes, bytes (or the errno of a failed read),
// symlink targets and extended attributes. external lists datasets that
// read through other files: a remote mount answers EOPNOTSUPP there.
func compareTrees(want, got string, unsupportedOK bool) []string {
	var diffs []string
	add := func(format string, a ...any) {
		if len(diffs) < 20 {
			diffs = append(diffs, fmt.Sprintf(format, a...))
		}
	}
	filepath.WalkDir(want, func(p string, d fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(want, p)
		q := filepath.Join(got, rel)
		if err != nil {
			add("%s: walking the local mount: %v", rel, err)
			return nil
		}
		ws, err1 := os.Lstat(p)
		gs, err2 := os.Lstat(q)
		if err1 != nil || err2 != nil {
			add("%s: lstat: %v / %v", rel, err1, err2)
			return nil
		}
		if ws.Mode().Type() != gs.Mode().Type() || ws.Size() != gs.Size() {
			add("%s: %v %d bytes, remote %v %d bytes", rel, ws.Mode(), ws.Size(), gs.Mode(), gs.Size())
			return nil
		}
		switch {
		case ws.Mode()&os.ModeSymlink != 0:
			a, _ := os.Readlink(p)
			b, _ := os.Readlink(q)
			if a != b {
				add("%s: symlink to %q, remote %q", rel, a, b)
			}
			return nil
		case ws.IsDir():
			a, _ := os.ReadDir(p)
			b, _ := os.ReadDir(q)
			if names(a) != names(b) {
				add("%s: lists %s, remote %s", rel, names(a), names(b))
			}
		default:
			a, errA := readSample(p, ws.Size())
			b, errB := readSample(q, ws.Size())
			switch {
			case errA == nil && unsupportedOK && errors.Is(errB, syscall.EOPNOTSUPP):
			case (errA == nil) != (errB == nil):
				add("%s: read: local %v, remote %v", rel, errA, errB)
			case errA != nil && !sameErrno(errA, errB):
				add("%s: read fails: local %v, remote %v", rel, errA, errB)
			case !bytes.Equal(a, b):
				add("%s: remote bytes differ (%d, %d bytes)", rel, len(a), len(b))
			}
		}
		la, errA := listxattr(p)
		lb, errB := listxattr(q)
		if errA != nil || errB != nil || strings.Join(la, ",") != strings.Join(lb, ",") {
			add("%s: xattrs %q (%v), remote %q (%v)", rel, la, errA, lb, errB)
			return nil
		}
		for _, x := range la {
			va, errA := getxattr(p, x)
			vb, errB := getxattr(q, x)
			if !bytes.Equal(va, vb) || !sameErrno(errA, errB) {
				add("%s: %s = %q (%v), remote %q (%v)", rel, x, va, errA, vb, errB)
			}
		}
		return nil
	})
	return diffs
}

// unmountSoon unmounts, giving the kernel a moment when it still counts the
// mount busy just after the last file was closed.
func unmountSoon(t *testing.T, mnt string) {
	for i := 0; i < 20 && mountedAt(t, mnt); i++ {
		if exec.Command(h5mountBin, "unmount", mnt).Run() == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	unmountCleanup(t, mnt)
}

// readSample reads a file whole, or windows of a huge (sparse) one.
func readSample(p string, size int64) ([]byte, error) {
	if size <= 32<<20 {
		return os.ReadFile(p)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []byte
	for _, off := range []int64{0, size / 3, size / 2, size - 1<<20} {
		buf := make([]byte, 1<<20)
		n, err := f.ReadAt(buf, off)
		if err != nil && n != len(buf) {
			return nil, err
		}
		out = append(out, buf...)
	}
	return out, nil
}

func names(ents []os.DirEntry) string {
	var s []string
	for _, e := range ents {
		s = append(s, e.Name())
	}
	return strings.Join(s, "/")
}

func sameErrno(a, b error) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	var ea, eb syscall.Errno
	return errors.As(a, &ea) && errors.As(b, &eb) && ea == eb
}

// TestRemoteConformance mounts every conformance file three ways (the
// local file, over HTTP from nginx, over S3 from versitygw) and compares
// the remote trees with the local one. External raw data and virtual
// datasets (efl*, vds*) read other files, which a remote mount refuses.
func TestRemoteConformance(t *testing.T) {
	requireFUSE(t)
	root, bucket := serveDir(t)
	files := conformanceFiles(t)
	for _, name := range files {
		copyFile(t, fixture(t, conformanceDir+"/"+name), filepath.Join(bucket, name))
	}
	web := startNginx(t, root)
	s3 := startVersity(t, root)
	env := s3Env()
	jobs := make(chan string)
	var wg sync.WaitGroup
	// Mounting is the cost, and it waits mostly on process start-up.
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for name := range jobs {
				local, err := mountRemote(t, fixture(t, conformanceDir+"/"+name), nil, "-o", "ro")
				if err != nil {
					t.Errorf("%s: %v", name, err)
					continue
				}
				external := strings.HasPrefix(name, "efl") || strings.HasPrefix(name, "vds")
				for _, m := range []struct {
					url  string
					env  []string
					opts []string
				}{
					{"http://" + web.addr + "/" + s3Bucket + "/" + name, nil, nil},
					{"s3://" + s3Bucket + "/" + name, env, []string{"--s3-endpoint", "http://" + s3.addr}},
				} {
					mnt, err := mountRemote(t, m.url, m.env, m.opts...)
					if err != nil {
						t.Errorf("%s: %v", name, err)
						continue
					}
					for _, d := range compareTrees(local, mnt, external) {
						t.Errorf("%s: %s", m.url, d)
					}
					unmountSoon(t, mnt)
				}
				unmountSoon(t, local)
			}
		}()
	}
	for _, name := range files {
		jobs <- name
	}
	close(jobs)
	wg.Wait()
}

// makeRemoteTestFile writes an HDF5 file with h5py bigger than what a
// mount fetches at once: contiguous a (16 MiB), chunked b (8 MiB in
// 256 KiB chunks), gzip c (4 MiB).
func makeRemoteTestFile(t *testing.T, path string) {
	t.Helper()
	py := os.Getenv("H5MOUNT_PYTHON")
	if py == "" {
		py = "/usr/bin/python3"
	}
	script := `import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "w") as f:
    f.create_dataset("a", data=np.arange(2 << 20, dtype="<f8"))
    f.create_dataset("b", data=np.arange(2 << 20, dtype="<i4")[::-1].copy(), chunks=(65536,))
    f.create_dataset("g/c", data=np.arange(1 << 20, dtype="<i4") % 1000, chunks=(32768,), compression="gzip")
    f.attrs["title"] = "remote"
`
	if out, err := exec.Command(py, "-c", script, path).CombinedOutput(); err != nil {
		t.Fatalf("making %s with h5py: %v: %s", path, err, out)
	}
}

func TestRemoteMountBasics(t *testing.T) {
	requireFUSE(t)
	root, bucket := serveDir(t)
	copyFile(t, fixture(t, "weather.h5"), filepath.Join(bucket, "weather.h5"))
	web := startNginx(t, root)
	s3 := startVersity(t, root)
	url := "http://" + web.addr + "/data/weather.h5"
	mnt, err := mountRemote(t, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if src := mountSource(t, mnt); src != url {
		t.Errorf("mount source %q, want %q", src, url)
	}
	st, err := os.Stat(mnt)
	if err != nil {
		t.Fatal(err)
	}
	local, _ := os.Stat(fixture(t, "weather.h5"))
	if st.Mode().Perm() != 0o555 || !st.ModTime().Equal(local.ModTime().Truncate(time.Second)) {
		t.Errorf("root: mode %v, mtime %v; want 0555 and %v (Last-Modified)", st.Mode(), st.ModTime(), local.ModTime().Truncate(time.Second))
	}
	p := filepath.Join(mnt, "15", "temperature")
	if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o444 {
		t.Errorf("dataset: %v, %v; want mode 0444", st, err)
	}
	if f, err := os.OpenFile(p, os.O_WRONLY, 0); !errors.Is(err, syscall.EROFS) {
		t.Errorf("open for writing: %v, want EROFS", err)
		if f != nil {
			f.Close()
		}
	}
	if err := os.Mkdir(filepath.Join(mnt, "new"), 0o755); !errors.Is(err, syscall.EROFS) {
		t.Errorf("mkdir: %v, want EROFS", err)
	}
	// Read-write asks fail with one line.
	for _, args := range [][]string{{"--create", url}, {"-o", "rw", url}} {
		r := h5mountT(t, append(args, filepath.Join(t.TempDir(), "m"))...)
		checkFailure(t, r, exitUsage, "remote mounts are read-only")
	}
	r := h5mountT(t, "http://"+web.addr+"/data/missing.h5", filepath.Join(t.TempDir(), "m"))
	checkFailure(t, r, exitFail, "no such object")

	// S3, with the endpoint from AWS_ENDPOINT_URL and the options from -o.
	env := append(s3Env(), "AWS_ENDPOINT_URL=http://"+s3.addr)
	m3, err := mountRemote(t, "s3://data/weather.h5", env, "-o", "s3_region=us-east-1,s3_path_style")
	if err != nil {
		t.Fatal(err)
	}
	if d := compareTrees(mnt, m3, false); len(d) > 0 {
		t.Errorf("S3 and HTTP mounts differ: %q", d)
	}
	r = runCmd(t, exec.Command(h5mountBin, "s3://data/weather.h5", filepath.Join(t.TempDir(), "m")))
	if r.code == 0 {
		t.Errorf("a mount without credentials or endpoint succeeded")
		unmountCleanup(t, filepath.Join(t.TempDir(), "m"))
	}
}

// TestRemoteDiskCache mounts the same object twice with --cache-dir: the
// second mount asks only whether the object changed; a changed object is
// fetched anew.
func TestRemoteDiskCache(t *testing.T) {
	requireFUSE(t)
	root, bucket := serveDir(t)
	obj := filepath.Join(bucket, "big.h5")
	makeRemoteTestFile(t, obj)
	web := startNginx(t, root)
	url := "http://" + web.addr + "/data/big.h5"
	cache := t.TempDir()
	want, _ := os.ReadFile(obj)
	_ = want
	mnt, err := mountRemote(t, url, nil, "--cache-dir", cache)
	if err != nil {
		t.Fatal(err)
	}
	first, _ := os.ReadFile(filepath.Join(mnt, "b"))
	unmountCleanup(t, mnt)
	before := accessCount(t, web)
	mnt, err = mountRemote(t, url, nil, "--cache-dir", cache)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := os.ReadFile(filepath.Join(mnt, "b"))
	if !bytes.Equal(first, again) || len(first) != 8<<20 {
		t.Fatalf("b read %d then %d bytes, or differently", len(first), len(again))
	}
	// The first request asks whether the object changed (304); a
	// read-ahead reaching past what the first mount fetched may add one.
	if n, b := accessStats(t, web, before); n > 2 || b > 1<<20 {
		t.Errorf("second mount with the disk cache made %d requests for %d bytes, want 1 and none", n, b)
	}
	unmountCleanup(t, mnt)
	// A new version of the object: new bytes, whatever the cache holds.
	py := `import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r+") as f:
    f["b"][:] = 7
`
	if out, err := exec.Command("/usr/bin/python3", "-c", py, obj).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	os.Chtimes(obj, time.Now().Add(time.Minute), time.Now().Add(time.Minute))
	mnt, err = mountRemote(t, url, nil, "--cache-dir", cache)
	if err != nil {
		t.Fatal(err)
	}
	changed, _ := os.ReadFile(filepath.Join(mnt, "b"))
	if len(changed) != 8<<20 || changed[0] != 7 || changed[len(changed)-4] != 7 {
		t.Errorf("after the object changed, b still reads the old bytes")
	}
}

// TestRemoteServerStopped kills the server while a read is under way: that
// read fails with EIO, the mount stays, and once the server is back the
// same read succeeds.
func TestRemoteServerStopped(t *testing.T) {
	requireFUSE(t)
	root, bucket := serveDir(t)
	obj := filepath.Join(bucket, "big.h5")
	makeRemoteTestFile(t, obj)
	web := startNginx(t, root)
	proxy := startProxy(t, web.addr)
	proxy.delay.Store(int64(150 * time.Millisecond))
	mnt, err := mountRemote(t, "http://"+proxy.addr+"/data/big.h5", nil)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(200 * time.Millisecond)
		web.stop()
	}()
	_, err = os.ReadFile(filepath.Join(mnt, "a"))
	if !errors.Is(err, syscall.EIO) {
		t.Fatalf("read while the server stopped: %v, want EIO", err)
	}
	if _, err := os.ReadDir(mnt); err != nil {
		t.Fatalf("the mount is gone after a failed read: %v", err)
	}
	web.start(t)
	proxy.delay.Store(0)
	got, err := os.ReadFile(filepath.Join(mnt, "a"))
	if err != nil || len(got) != 16<<20 {
		t.Fatalf("read after the server came back: %d bytes, %v", len(got), err)
	}
	if v := got[8*1000 : 8*1001]; !bytes.Equal(v, f8(1000)) {
		t.Errorf("a[1000] = %x", v)
	}
}

// mountSource is the source the mount table shows for the mount at mnt.
func mountSource(t *testing.T, mnt string) string {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) >= 10 && unoctal(f[4]) == mnt {
			return unoctal(f[len(f)-2])
		}
	}
	return ""
}

func f8(v float64) []byte {
	var b [8]byte
	u := math.Float64bits(v)
	for i := range b {
		b[i] = byte(u >> (8 * i))
	}
	return b[:]
}

// TestRemoteFaults: 500s are retried, a slow server is waited for, and
// responses cut mid-body fail those reads only.
func TestRemoteFaults(t *testing.T) {
	requireFUSE(t)
	root, bucket := serveDir(t)
	obj := filepath.Join(bucket, "big.h5")
	makeRemoteTestFile(t, obj)
	want, err := os.ReadFile(obj)
	if err != nil {
		t.Fatal(err)
	}
	_ = want
	web := startNginx(t, root)
	proxy := startProxy(t, web.addr)
	local := mountT(t, obj, "-o", "ro")
	mnt, err := mountRemote(t, "http://"+proxy.addr+"/data/big.h5", nil, "--cache-size", "4MiB")
	if err != nil {
		t.Fatal(err)
	}
	read := func(name string) ([]byte, error) { return os.ReadFile(filepath.Join(mnt, name)) }
	wantOf := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(local, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	proxy.fail500.Store(3)
	before := proxy.requests.Load()
	if got, err := read("b"); err != nil || !bytes.Equal(got, wantOf("b")) {
		t.Errorf("read through three 500s: %d bytes, %v", len(got), err)
	}
	if n := proxy.requests.Load() - before; n < 4 {
		t.Errorf("%d requests: the 500s were not retried", n)
	}

	proxy.fail500.Store(0)
	proxy.delay.Store(int64(300 * time.Millisecond))
	if got, err := read("g/c"); err != nil || !bytes.Equal(got, wantOf("g/c")) {
		t.Errorf("read from a slow server: %d bytes, %v", len(got), err)
	}
	proxy.delay.Store(0)

	proxy.cut.Store(true)
	if _, err := read("a"); !errors.Is(err, syscall.EIO) {
		t.Errorf("read with every response cut: %v, want EIO", err)
	}
	proxy.cut.Store(false)
	if got, err := read("a"); err != nil || !bytes.Equal(got, wantOf("a")) {
		t.Errorf("read once responses are whole again: %d bytes, %v", len(got), err)
	}
}
