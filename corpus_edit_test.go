package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// corpusEditDriver appends to each file named with h5py, then reads
// everything back: one forked child per file, so that libhdf5 crashing on
// one (the corpus has hostile files) fails that file only. It prints one
// line per file. A file named as EDITED:ORIGINAL is checked, before and
// after, for the mount's additions and for every dataset reading as it
// read in the original.
const corpusEditDriver = `
import os, sys, signal, h5py, numpy as np
mode, blob = sys.argv[1], bytes(range(256)) * 273 + bytes(112)
def values(f):
    out = {}
    def visit(name, obj):
        # A virtual dataset's sources sit beside the original, not the copy.
        if isinstance(obj, h5py.Dataset) and not obj.is_virtual and not name.startswith(("h5py_added", "h5mount_added")):
            try:
                out[name] = (obj.id.get_type(), obj[()])
            except Exception:
                pass
    f.visititems(visit)
    return out
def same(t, x, y):
    if isinstance(x, np.ndarray) and x.dtype.kind not in "OV":
        return x.shape == y.shape and x.tobytes() == y.tobytes()
    return repr(x) == repr(y)
def marks(f):
    found = [0]
    def visit(name, obj):
        assert not name.endswith((".hardlink", ".moved")), "a link the mount removed: " + name
        if isinstance(obj, (h5py.Group, h5py.Dataset)) and "h5mount_mark" in obj.attrs:
            assert obj.attrs["h5mount_mark"] == 42 and obj.attrs["h5mount_text"] == "hello there", "attributes of " + name
            found[0] += 1
    visit("/", f)
    f.visititems(visit)
    return found[0]
def check(f, original):
    if original is None:
        return
    assert bytes(f["h5mount_added/blob"][()]) == blob, "the mount's dataset"
    assert f["h5mount_added"].attrs["mark"] == 7, "the mount's attribute"
    assert marks(f) > 0, "no object has the mount's attributes"
    with h5py.File(original, "r") as o:
        want, got = values(o), values(f)
        for name, (t, v) in want.items():
            assert name in got and same(t, v, got[name][1]), "dataset %s: not as libhdf5 read it before the edit" % name
for arg in sys.argv[2:]:
    path, _, original = arg.partition(":")
    pid = os.fork()
    if pid == 0:
        signal.alarm(60)
        try:
            with h5py.File(path, "a") as f:
                check(f, original or None)
                f.create_dataset("h5py_added", data=np.arange(5000.0), chunks=(1000,), compression="gzip")
                f.require_group("h5py_group").attrs["a"] = 1
            with h5py.File(path, "r") as f:
                check(f, original or None)
                assert (f["h5py_added"][()] == np.arange(5000.0)).all(), "h5py's dataset"
                assert f["h5py_group"].attrs["a"] == 1, "h5py's attribute"
            os._exit(0)
        except BaseException as e:
            sys.stderr.write("%s: %r\n" % (path, e))
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    print(path, status)
`

// runCorpusEditDriver returns, per file, whether h5py appended to it and
// read it back.
func runCorpusEditDriver(t *testing.T, mode string, files []string) map[string]bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "/usr/bin/python3", append([]string{"-c", corpusEditDriver, mode}, files...)...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("h5py driver (%s): %v\n%s", mode, err, stderr.String())
	}
	ok := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if path, status, found := strings.Cut(line, " "); found {
			ok[path] = status == "0"
		}
	}
	if len(ok) != len(files) {
		t.Fatalf("h5py driver (%s) answered for %d of %d files", mode, len(ok), len(files))
	}
	if mode == "edited" && stderr.Len() > 0 {
		t.Logf("h5py on the edited files:\n%s", stderr.String())
	}
	return ok
}

// h5dumpAll runs a full h5dump (every value), with a deadline: libhdf5
// loops forever on some hostile files. A corpus file dumps in well under a
// second: the files picked are those that dump within a short deadline,
// and their dumps after the edits get a long one.
func h5dumpAll(file string, deadline time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	out, err := exec.CommandContext(ctx, "h5dump", file).CombinedOutput()
	if err != nil {
		if len(out) > 2000 {
			out = out[len(out)-2000:]
		}
		return fmt.Errorf("%v: %s", err, out)
	}
	return nil
}

// rewriteDatasets writes every dataset of up to 1 MiB in the mount with
// its own bytes, in pieces that start and end inside chunks: chunks are
// read, changed and recompressed through each file's filters, contiguous
// and compact data rewritten, in every chunk index the corpus has. Types
// that cannot be written (EPERM) and filters that cannot encode
// (EOPNOTSUPP) are what SPEC says; any other error is the test's.
func rewriteDatasets(mnt string, rewritten *atomic.Int64) error {
	return filepath.WalkDir(mnt, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() || strings.HasPrefix(p, filepath.Join(mnt, "h5mount_added")) {
			return err
		}
		expected := func(err error) bool {
			return errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EOPNOTSUPP)
		}
		data, err := os.ReadFile(p)
		if err != nil || len(data) > 1<<20 {
			if expected(err) {
				err = nil
			}
			return err
		}
		f, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			if expected(err) {
				err = nil
			}
			return err
		}
		defer f.Close()
		const piece = 12345
		for off := 0; off < len(data); off += piece {
			if _, err := f.WriteAt(data[off:min(off+piece, len(data))], int64(off)); err != nil {
				if expected(err) {
					return nil
				}
				return fmt.Errorf("%s: %w", p, err)
			}
		}
		rewritten.Add(1)
		return f.Close()
	})
}

// editStructure gives every group and dataset in the mount two attributes
// (an integer and a string: into compact or dense attribute storage,
// whichever the object has, or moving it to dense), and takes the first
// three datasets of every group through a hard link, two renames and the
// link's removal (links in symbol tables, compact link messages and dense
// groups libhdf5 made).
func editStructure(mnt string) error {
	added := filepath.Join(mnt, "h5mount_added")
	return filepath.WalkDir(mnt, func(p string, d os.DirEntry, err error) error {
		if err != nil || p == added {
			if p == added {
				return filepath.SkipDir
			}
			return err
		}
		if !d.IsDir() && !d.Type().IsRegular() {
			return nil
		}
		for _, a := range [][2]string{{"user.h5mount_mark", "42"}, {"user.h5mount_text", "hello there"}} {
			if err := unix.Setxattr(p, a[0], []byte(a[1]), 0); err != nil {
				return fmt.Errorf("setxattr %s %s: %w", a[0], p, err)
			}
		}
		if !d.IsDir() {
			return nil
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return err
		}
		moved := 0
		for _, e := range entries {
			if !e.Type().IsRegular() || moved == 3 {
				continue
			}
			q := filepath.Join(p, e.Name())
			for _, step := range []func() error{
				func() error { return os.Link(q, q+".hardlink") },
				func() error { return os.Rename(q, q+".moved") },
				func() error { return os.Rename(q+".moved", q) },
				func() error { return os.Remove(q + ".hardlink") },
			} {
				if err := step(); err != nil {
					return err
				}
			}
			moved++
		}
		return nil
	})
}

// growAndShrink writes three copies of its first row past the end of every
// dataset of up to 1 MiB that grows along its first dimension, then
// truncates it back: chunks are added to, and removed from, chunk indexes
// libhdf5 made (extensible arrays, v2 and v1 B-trees), and the dataset
// ends as it began. A shared dataspace cannot change yet, and a filter
// without a decoder cannot be read (EOPNOTSUPP).
func growAndShrink(mnt string, grown *atomic.Int64) error {
	return filepath.WalkDir(mnt, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		maxshape, err1 := getxattr(p, "user.h5.maxshape")
		shape, err2 := getxattr(p, "user.h5.shape")
		if err1 != nil || err2 != nil {
			return errors.Join(err1, err2)
		}
		first, _, _ := strings.Cut(string(shape), ",")
		rows, _ := strconv.ParseInt(first, 10, 64)
		st, err := os.Stat(p)
		if err != nil || !strings.HasPrefix(string(maxshape), "-1") || rows == 0 || st.Size() > 1<<20 {
			return err
		}
		size := st.Size()
		row := make([]byte, size/rows)
		f, err := os.OpenFile(p, os.O_RDWR, 0)
		if err != nil {
			if errors.Is(err, syscall.EPERM) {
				return nil // read as text (variable-length): not writable
			}
			return err
		}
		defer f.Close()
		if _, err := f.ReadAt(row, 0); err != nil {
			if errors.Is(err, syscall.EOPNOTSUPP) {
				return nil // a filter that cannot decode (ZFP, say)
			}
			return fmt.Errorf("%s: %w", p, err)
		}
		if _, err := f.WriteAt(bytes.Repeat(row, 3), size); err != nil {
			if errors.Is(err, syscall.EOPNOTSUPP) {
				return nil
			}
			return fmt.Errorf("%s: writing past the end: %w", p, err)
		}
		if st, err := f.Stat(); err != nil || st.Size() != size+3*int64(len(row)) {
			return fmt.Errorf("%s: %d bytes after writing 3 rows of %d past %d (%v)", p, st.Size(), len(row), size, err)
		}
		if err := f.Truncate(size); err != nil {
			return fmt.Errorf("%s: truncating back: %w", p, err)
		}
		grown.Add(1)
		return f.Close()
	})
}

// TestCorpusEditsStayValidForLibhdf5 edits through a mount every corpus
// file that libhdf5 itself can append to and dump (a group, a dataset, an
// attribute, every dataset rewritten with its own bytes, attributes on
// every object, links made, renamed and removed, growable datasets grown
// and shrunk back), then has
// libhdf5 dump it, append to it and read back its own additions, the
// mount's, and every dataset as it read in the original; libhdf5 2.0 must
// read whatever of the original it read. The files come from libhdf5 1.4 to
// 2.0, netCDF-4, MATLAB, h5py, PyTables and pandas (testdata/producers),
// the feature files of testdata/conformance,
// with user blocks, free-space settings, B-tree K values and structures
// h5mount does not write itself; this found the user block, persisted free
// space and K value bugs, and strings cut when written back unchanged.
func TestCorpusEditsStayValidForLibhdf5(t *testing.T) {
	requireFUSE(t)
	var sources []string
	for _, dir := range []string{sharedCorpus, filepath.Join("testdata", producersDir), filepath.Join("testdata", "conformance")} {
		filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
			if err == nil && info.Mode().IsRegular() && info.Size() < 4<<20 {
				switch strings.ToLower(filepath.Ext(p)) {
				case ".h5", ".hdf5", ".he5", ".nc", ".nc4", ".mat":
					sources = append(sources, p)
				}
			}
			return nil
		})
	}
	sort.Strings(sources)
	dir := t.TempDir()
	copyTo := func(src, dst string) {
		in, err := os.Open(src)
		if err != nil {
			t.Fatal(err)
		}
		defer in.Close()
		out, err := os.Create(dst)
		if err == nil {
			_, err = io.Copy(out, in)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	var bases []string
	for i, src := range sources {
		base := filepath.Join(dir, fmt.Sprintf("base-%03d.h5", i))
		copyTo(src, base)
		bases = append(bases, base)
	}
	// Which files libhdf5 edits cleanly itself: the others (hostile,
	// needing plugins or drivers this machine lacks) say nothing here.
	baseOK := runCorpusEditDriver(t, "base", bases)
	dumped := make([]bool, len(bases))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.NumCPU())
	for i, base := range bases {
		if !baseOK[base] {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			dumped[i] = h5dumpAll(base, 3*time.Second) == nil
		}()
	}
	wg.Wait()
	var picked []int
	for i := range bases {
		if dumped[i] {
			picked = append(picked, i)
		}
	}
	if len(picked) < 100 {
		t.Fatalf("only %d of %d corpus files can be edited by libhdf5 itself", len(picked), len(sources))
	}
	blob := bytes.Repeat(func() []byte {
		b := make([]byte, 256)
		for i := range b {
			b[i] = byte(i)
		}
		return b
	}(), 273)
	blob = append(blob, make([]byte, 112)...)
	var mu sync.Mutex
	var rewritten, grown atomic.Int64
	var edited []string
	names := map[string]string{}
	t.Run("edit", func(t *testing.T) {
		for _, i := range picked {
			name := strings.TrimPrefix(sources[i], sharedCorpus+"/")
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				file := filepath.Join(dir, fmt.Sprintf("edit-%03d.h5", i))
				copyTo(sources[i], file)
				mnt := mountT(t, file)
				err := os.Mkdir(filepath.Join(mnt, "h5mount_added"), 0o755)
				if err == nil {
					err = os.WriteFile(filepath.Join(mnt, "h5mount_added", "blob"), blob, 0o644)
				}
				if err == nil {
					err = unix.Setxattr(filepath.Join(mnt, "h5mount_added"), "user.mark", []byte("7"), 0)
				}
				if err == nil {
					err = rewriteDatasets(mnt, &rewritten)
				}
				if err == nil {
					err = editStructure(mnt)
				}
				if err == nil {
					err = growAndShrink(mnt, &grown)
				}
				if r := unmountParallel(t, mnt); r.code != 0 {
					t.Fatalf("unmount: %v", r)
				}
				if err != nil {
					t.Fatalf("editing through the mount: %v", err)
				}
				if err := h5dumpAll(file, time.Minute); err != nil {
					t.Fatalf("h5dump after the mount's edit: %v", err)
				}
				original, err := filepath.Abs(sources[i])
				if err != nil {
					t.Fatal(err)
				}
				mu.Lock()
				edited = append(edited, file+":"+original)
				names[file] = name
				mu.Unlock()
			})
		}
	})
	// libhdf5 2.0 checks more than 1.10 does: what it read of a file
	// before the mount's edit, it must read after it.
	var pairs [][2]string
	for _, pair := range edited {
		file, original, _ := strings.Cut(pair, ":")
		pairs = append(pairs, [2]string{original, file})
	}
	for file, msgs := range libhdf5v2NewErrors(t, pairs) {
		t.Errorf("%s: libhdf5 2.0 fails on the mount's edit (not on the original): %s", names[file], strings.Join(msgs, "; "))
	}
	// Every dataset keeps its values, read by libhdf5 1.14 with filter
	// plugins for what libhdf5 1.10 here has none (Zstandard).
	for file, objs := range libhdf5ChangedValues(t, pairs) {
		t.Errorf("%s: libhdf5 1.14 reads these datasets otherwise after the mount's edit: %s", names[file], strings.Join(objs, ", "))
	}
	for file, ok := range runCorpusEditDriver(t, "edited", edited) {
		file, _, _ = strings.Cut(file, ":")
		if !ok {
			t.Errorf("%s: libhdf5 could not append to the edited file, or read back the mount's edit", names[file])
		} else if err := h5dumpAll(file, time.Minute); err != nil {
			t.Errorf("%s: h5dump after libhdf5's append to the edited file: %v", names[file], err)
		}
	}
	t.Logf("%d corpus files edited by the mount (%d datasets rewritten, %d grown and shrunk), then by libhdf5", len(edited), rewritten.Load(), grown.Load())
	if grown.Load() < 50 {
		t.Errorf("only %d datasets grown and shrunk through the mounts", grown.Load())
	}
	if rewritten.Load() < 500 {
		t.Errorf("only %d datasets rewritten through the mounts", rewritten.Load())
	}
}

// unmountParallel unmounts a mount that parallel tests may keep busy for
// a moment: a child another test forks holds copies of every descriptor
// this process has open, those of files in the mount too, until it execs.
func unmountParallel(t *testing.T, mnt string) result {
	t.Helper()
	for tries := 0; ; tries++ {
		r := h5mountT(t, "unmount", mnt)
		if r.code == 0 || tries == 20 || !strings.Contains(r.stderr, "busy") {
			return r
		}
		time.Sleep(100 * time.Millisecond)
	}
}
