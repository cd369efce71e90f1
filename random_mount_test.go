package main

// The randomized differential test: scripts/gen_random.py writes HDF5 files
// with h5py, each a random mix of the groups, links, types, layouts, chunk
// indexes, filters, fill values and attributes libhdf5 1.10 writes, and each
// is compared through a mount with what libhdf5 reads (scripts/dump_ref.py,
// checkAgainstDump). Then each is edited through a read-write mount — random
// pwrites, new and replaced attributes, mkdir, rm, mv — and what libhdf5
// reads afterwards is compared with a model of the edits, and the edited file
// with a mount of it once more.
//
// H5MOUNT_RANDOM_FILES sets how many files (default randomDefaultFiles),
// H5MOUNT_RANDOM_SEED the seed (default randomDefaultSeed). Every failure
// names the seed and the file; `/usr/bin/python3 scripts/gen_random.py SEED
// COUNT DIR` makes the same files again.

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

const (
	randomDefaultSeed  = 20240611
	randomDefaultFiles = 40
	pluginDir          = "/usr/lib/x86_64-linux-gnu/hdf5/serial/plugins"
)

// randomFile is one generated file and libhdf5's dump of it.
type randomFile struct {
	name, path string
	dump       map[string]*dumpEntry
}

// randomFiles generates the files of this run and dumps them (in parallel;
// dumps are cached by content, as the corpus test's are).
func randomFiles(t *testing.T) (seed int64, files []randomFile) {
	t.Helper()
	requireFUSE(t)
	seed, count := int64(randomDefaultSeed), randomDefaultFiles
	if raceEnabled() {
		// The mount under test is built with the race detector too, at
		// a third of the speed: fewer files keep the test command's run
		// within minutes (longer runs: H5MOUNT_RANDOM_FILES).
		count = randomDefaultFiles * 3 / 5
	}
	if v, err := strconv.ParseInt(os.Getenv("H5MOUNT_RANDOM_SEED"), 10, 64); err == nil {
		seed = v
	}
	if v, err := strconv.Atoi(os.Getenv("H5MOUNT_RANDOM_FILES")); err == nil && v > 0 {
		count = v
	}
	if os.Getenv("HDF5_PLUGIN_PATH") == "" {
		t.Setenv("HDF5_PLUGIN_PATH", pluginDir) // libhdf5 reads LZF, LZ4, Bitshuffle
	}
	t.Logf("H5MOUNT_RANDOM_SEED=%d H5MOUNT_RANDOM_FILES=%d", seed, count)
	dir := t.TempDir()
	out, err := exec.Command("/usr/bin/python3", "scripts/gen_random.py", strconv.FormatInt(seed, 10),
		strconv.Itoa(count), dir).CombinedOutput()
	if err != nil {
		t.Fatalf("gen_random.py %d %d: %v\n%s", seed, count, err, out)
	}
	paths, _ := filepath.Glob(filepath.Join(dir, "*.h5"))
	sort.Strings(paths)
	if len(paths) != count {
		t.Fatalf("gen_random.py %d %d made %d files", seed, count, len(paths))
	}
	files = make([]randomFile, len(paths))
	errs := make([]error, len(paths))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.NumCPU())
	for i, p := range paths {
		files[i] = randomFile{name: filepath.Base(p), path: p}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			files[i].dump, errs[i] = corpusDump(p)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("seed %d, %s: dump_ref.py: %v", seed, files[i].name, err)
		}
		if root := files[i].dump["/"]; root == nil || root.Kind != "group" || root.Error != "" {
			t.Fatalf("seed %d, %s: libhdf5 does not open the file it wrote: %+v", seed, files[i].name, root)
		}
	}
	return seed, files
}

// reproduce logs, when a subtest failed, how to make its file again.
func reproduce(t *testing.T, seed int64, f randomFile) {
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("reproduce: /usr/bin/python3 scripts/gen_random.py %d COUNT DIR makes %s (seed %d; H5MOUNT_RANDOM_SEED=%d)",
				seed, f.name, seed, seed)
		}
	})
}

// TestRandomFilesMatchLibhdf5 mounts every random file read-only and
// compares it, object by object, with libhdf5's dump.
func TestRandomFilesMatchLibhdf5(t *testing.T) {
	seed, files := randomFiles(t)
	datasets, attrs := 0, 0
	for _, f := range files {
		t.Run(f.name, func(t *testing.T) {
			reproduce(t, seed, f)
			mnt := mountT(t, f.path, "-o", "ro")
			checkAgainstDump(t, mnt, f.dump)
			checkVlenValues(t, mnt, f.path)
			sh(t, "find "+shellQuote(mnt)+" >/dev/null; ls -laR "+shellQuote(mnt)+" >/dev/null; du -s "+shellQuote(mnt)+" >/dev/null")
		})
		for _, e := range f.dump {
			if e.Kind == "dataset" && e.Error == "" && e.HardlinkOf == "" {
				datasets++
			}
			if e.HardlinkOf == "" {
				attrs += len(e.Attrs)
			}
		}
	}
	t.Logf("seed %d: %d files, %d datasets, %d attributes compared", seed, len(files), datasets, attrs)
}

// checkVlenValues compares the variable-length string datasets of a file
// with their text (checkVlenStrings, on a dump outside testdata).
func checkVlenValues(t *testing.T, mnt, file string) {
	t.Helper()
	out, err := exec.Command("/usr/bin/python3", "scripts/dump_ref.py", "--no-h5debug", file).Output()
	if err != nil {
		t.Fatalf("dump_ref.py %s: %v", file, err)
	}
	dir := t.TempDir()
	rel, _ := filepath.Rel(mustAbs(t, "testdata"), filepath.Join(dir, "d.h5"))
	if err := os.WriteFile(filepath.Join(dir, "d.h5.json"), out, 0o644); err != nil {
		t.Fatal(err)
	}
	checkVlenStrings(t, mnt, rel)
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// ---------------------------------------------------------------- the write phase

// editModel is what a file must hold after the edits, by object header
// address (which neither mv nor the edits change) and by path.
type editModel struct {
	bytes   map[uint64][]byte            // dataset contents, written or not
	written map[uint64]string            // datasets written, by one of their paths
	attrs   map[uint64]map[string]string // attribute texts set
	removed map[string]bool              // paths that must be gone
	groups  map[string]bool              // paths that must be groups (mkdir)
	moved   map[string]uint64            // paths that must name these objects (mv)
	edits   []string                     // what was done, for failure messages
}

// liveObject is a path of the mount the edits may touch.
type liveObject struct {
	path string
	kind string
	addr uint64
}

// writable tells whether a dataset's bytes read back exactly as written: a
// fixed-size element stored as shown (integers, floats, opaque), not
// converted on the way (N-bit, strings, compounds and arrays, whose writes
// are converted as libhdf5 converts h5py's values: write_test.go covers
// them against h5py).
func writable(e *dumpEntry) bool {
	if e.Kind != "dataset" || e.Error != "" || e.SHA256 == nil || e.SizeBytes == nil || *e.SizeBytes == 0 {
		return false
	}
	for _, f := range e.Filters {
		if f.ID == 5 { // N-bit: a reduced precision, read widened
			return false
		}
	}
	d := e.Dtype
	if len(d) < 3 {
		return false
	}
	switch d[1] {
	case 'i', 'u', 'f':
		return true
	case 'V':
		return e.Props["user.h5.dtype"] != nil && *e.Props["user.h5.dtype"] == d // opaque, not compound/array
	}
	return false
}

// encodable tells whether h5mount has an encoder for every mandatory filter
// of the dataset; a write through any other answers EOPNOTSUPP (an optional
// one is skipped and masked, as libhdf5 does).
func encodable(e *dumpEntry) bool {
	for _, f := range e.Filters {
		switch {
		case f.Flags&1 != 0: // H5Z_FLAG_OPTIONAL
		case f.ID == 1, f.ID == 2, f.ID == 3, f.ID == 32000, f.ID == 32004, f.ID == 32008, f.ID == 32015:
		default:
			return false
		}
	}
	return true
}

// TestRandomFilesWriteThrough edits each random file through a read-write
// mount and checks the result with libhdf5, then through a new mount.
func TestRandomFilesWriteThrough(t *testing.T) {
	requireTool(t, "h5dump", "hdf5-tools")
	seed, files := randomFiles(t)
	nedits := 0
	for i, f := range files {
		t.Run(f.name, func(t *testing.T) {
			reproduce(t, seed, f)
			rng := rand.New(rand.NewSource(seed*1000003 + int64(i)))
			dir := t.TempDir()
			file := filepath.Join(dir, f.name)
			data, err := os.ReadFile(f.path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(file, data, 0o644); err != nil {
				t.Fatal(err)
			}
			// h5dump must read the edited file as well as the original:
			// all of it, or (where libhdf5 cannot read some data of the
			// original, e.g. a chunk its own filters wrote wrong) the header.
			dumpArgs := []string{file}
			if exec.Command("h5dump", file).Run() != nil {
				dumpArgs = []string{"-H", file}
			}
			mnt := mountT(t, file)
			m := editThroughMount(t, rng, mnt, f.dump)
			nedits += len(m.edits)
			if r := h5mountT(t, "unmount", mnt); r.code != 0 {
				t.Fatalf("unmount: %v", r)
			}
			defer func() {
				if t.Failed() {
					t.Logf("edits:\n%s", strings.Join(m.edits, "\n"))
				}
			}()
			for _, msgs := range libhdf5v2NewErrors(t, [][2]string{{f.path, file}}) {
				t.Errorf("libhdf5 2.0 fails on the edited file (not on the original): %s", strings.Join(msgs, "; "))
			}
			if out, err := exec.Command("h5dump", dumpArgs...).CombinedOutput(); err != nil {
				tail := out
				if len(tail) > 2000 {
					tail = tail[len(tail)-2000:]
				}
				t.Errorf("h5dump %s of the edited file: %v\n...%s", strings.Join(dumpArgs[:len(dumpArgs)-1], " "), err, tail)
			}
			after, err := corpusDump(file)
			if err != nil {
				t.Fatalf("dump_ref.py of the edited file: %v", err)
			}
			if root := after["/"]; root == nil || root.Kind != "group" || root.Error != "" {
				t.Fatalf("libhdf5 does not open the edited file: %+v", root)
			}
			checkModel(t, m, f.dump, after)
			mnt = mountT(t, file, "-o", "ro")
			checkAgainstDump(t, mnt, after)
		})
	}
	t.Logf("seed %d: %d files, %d edits", seed, len(files), nedits)
}

// editThroughMount makes random edits in the mount and returns their model.
func editThroughMount(t *testing.T, rng *rand.Rand, mnt string, d map[string]*dumpEntry) *editModel {
	t.Helper()
	m := &editModel{bytes: map[uint64][]byte{}, written: map[uint64]string{}, attrs: map[uint64]map[string]string{},
		removed: map[string]bool{}, groups: map[string]bool{}, moved: map[string]uint64{}}
	var live []liveObject
	for _, p := range sortedPaths(d) {
		e := d[p]
		if e.Error != "" || p == "/" || (e.Kind == "group" && e.HardlinkOf != "") || strings.Contains(p, "\n") {
			continue
		}
		if under(p, d) {
			continue
		}
		switch e.Kind {
		case "group", "dataset", "softlink":
			live = append(live, liveObject{path: p, kind: e.Kind, addr: e.Addr})
		}
	}
	groups := func() []string {
		gs := []string{"/"}
		for _, o := range live {
			if o.kind == "group" {
				gs = append(gs, o.path)
			}
		}
		return gs
	}
	byAddr := map[uint64]*dumpEntry{}
	for _, e := range d {
		if e.Kind == "dataset" || e.Kind == "group" {
			byAddr[e.Addr] = e
		}
	}
	n := 4 + rng.Intn(12)
	for k := 0; k < n; k++ {
		r := rng.Float64()
		switch {
		case r < 0.4: // pwrite into a dataset
			var cands []liveObject
			for _, o := range live {
				if o.kind == "dataset" && writable(byAddr[o.addr]) {
					cands = append(cands, o)
				}
			}
			if len(cands) == 0 {
				continue
			}
			o := cands[rng.Intn(len(cands))]
			e := byAddr[o.addr]
			mp := inMount(mnt, o.path)
			cur, ok := m.bytes[o.addr]
			if !ok {
				b, err := os.ReadFile(mp)
				if err != nil || sha256Hex(b) != *e.SHA256 {
					continue // the read-only test reports it
				}
				cur = b
				m.bytes[o.addr] = cur
			}
			size := int64(len(cur))
			length := 1 + rng.Int63n(min(size, 1+rng.Int63n(20000)))
			off := rng.Int63n(size - length + 1)
			if rng.Intn(3) == 0 { // whole elements
				off -= off % e.ItemSize
				length = max(e.ItemSize, length-length%e.ItemSize)
				length = min(length, size-off)
			}
			buf := randomBytes(rng, int(length))
			fh, err := os.OpenFile(mp, os.O_RDWR, 0)
			if err != nil {
				t.Fatalf("open %s for writing: %v", o.path, err)
			}
			_, err = fh.WriteAt(buf, off)
			if cerr := fh.Close(); err == nil {
				err = cerr
			}
			m.edits = append(m.edits, fmt.Sprintf("pwrite %s [%d, +%d): %v", o.path, off, length, err))
			switch {
			case err != nil && !encodable(e) && errors.Is(err, syscall.EOPNOTSUPP):
				continue // a filter h5mount does not encode
			case err != nil:
				t.Errorf("pwrite %s (%s, %s) [%d, +%d): %v", o.path, e.Dtype, filterNames(e), off, length, err)
				continue
			case !encodable(e):
				t.Errorf("pwrite %s through %s: accepted", o.path, filterNames(e))
			}
			copy(cur[off:], buf)
			m.written[o.addr] = o.path
			got, err := os.ReadFile(mp)
			if err != nil || !bytes.Equal(got, cur) {
				t.Errorf("%s: read back after pwrite [%d, +%d) differs (%v)", o.path, off, length, err)
			}
		case r < 0.65: // setfattr: a new attribute, or a new value of a numeric one
			var cands []liveObject
			for _, o := range live {
				if o.kind != "softlink" {
					cands = append(cands, o)
				}
			}
			cands = append(cands, liveObject{path: "/", kind: "group", addr: d["/"].Addr})
			o := cands[rng.Intn(len(cands))]
			name, text, want := newAttr(rng, k)
			flags := unix.XATTR_CREATE
			e := byAddr[o.addr]
			for e != nil && hasAttr(e, name) {
				name += "+" // the file's own attribute, of a type of its own
			}
			if e != nil && rng.Intn(2) == 0 {
				if n, tx, w, ok := replaceAttr(rng, e, m.attrs[o.addr]); ok {
					name, text, want, flags = n, tx, w, unix.XATTR_REPLACE
				}
			}
			err := syscall.Setxattr(inMount(mnt, o.path), "user."+name, []byte(text), flags)
			m.edits = append(m.edits, fmt.Sprintf("setfattr -n user.%s -v %q %s: %v", name, text, o.path, err))
			if err != nil {
				t.Errorf("setfattr -n user.%s -v %q %s: %v", name, text, o.path, err)
				continue
			}
			if m.attrs[o.addr] == nil {
				m.attrs[o.addr] = map[string]string{}
			}
			m.attrs[o.addr][name] = want
			if got, err := getxattr(inMount(mnt, o.path), "user."+name); err != nil || string(got) != want {
				t.Errorf("%s: user.%s reads %q (%v) after setting %q, want %q", o.path, name, got, err, text, want)
			}
		case r < 0.75: // mkdir
			gs := groups()
			p := path.Join(gs[rng.Intn(len(gs))], fmt.Sprintf("%s new %d", []string{"ü", "-d", "g"}[rng.Intn(3)], k))
			err := os.Mkdir(inMount(mnt, p), 0o755)
			m.edits = append(m.edits, fmt.Sprintf("mkdir %s: %v", p, err))
			if err != nil {
				t.Errorf("mkdir %s: %v", p, err)
				continue
			}
			m.groups[p] = true
		case r < 0.85: // rm a dataset
			var cands []int
			for j, o := range live {
				if o.kind == "dataset" {
					cands = append(cands, j)
				}
			}
			if len(cands) == 0 {
				continue
			}
			j := cands[rng.Intn(len(cands))]
			o := live[j]
			err := os.Remove(inMount(mnt, o.path))
			m.edits = append(m.edits, fmt.Sprintf("rm %s: %v", o.path, err))
			if err != nil {
				t.Errorf("rm %s: %v", o.path, err)
				continue
			}
			m.removed[o.path] = true
			delete(m.moved, o.path)
			live = append(live[:j], live[j+1:]...)
			if !hasName(live, o.addr) && byAddr[o.addr].Nlink <= 1 {
				delete(m.bytes, o.addr)
				delete(m.written, o.addr)
				delete(m.attrs, o.addr)
			}
		default: // mv a link into another group
			if len(live) == 0 {
				continue
			}
			j := rng.Intn(len(live))
			o := live[j]
			var dests []string
			for _, g := range groups() {
				if g != o.path && !strings.HasPrefix(g, o.path+"/") {
					dests = append(dests, g)
				}
			}
			to := path.Join(dests[rng.Intn(len(dests))], fmt.Sprintf("mv%d %s", k, path.Base(o.path)))
			err := os.Rename(inMount(mnt, o.path), inMount(mnt, to))
			m.edits = append(m.edits, fmt.Sprintf("mv %s %s: %v", o.path, to, err))
			if err != nil {
				t.Errorf("mv %s %s: %v", o.path, to, err)
				continue
			}
			m.removed[o.path] = true
			for q := range m.groups { // (a group made here may move with it)
				if q == o.path || strings.HasPrefix(q, o.path+"/") {
					delete(m.groups, q)
					m.groups[to+strings.TrimPrefix(q, o.path)] = true
				}
			}
			for q, a := range m.moved {
				if q == o.path || strings.HasPrefix(q, o.path+"/") {
					delete(m.moved, q)
					m.moved[to+strings.TrimPrefix(q, o.path)] = a
				}
			}
			delete(m.removed, to)
			for x := range live {
				if q := live[x].path; q == o.path || strings.HasPrefix(q, o.path+"/") {
					live[x].path = to + strings.TrimPrefix(q, o.path)
				}
			}
			if o.kind != "softlink" {
				m.moved[to] = o.addr
			}
		}
	}
	return m
}

// under reports whether p lies below a group that is not among the live
// objects (a group's second name, whose members the dump does not list).
func under(p string, d map[string]*dumpEntry) bool {
	for q := path.Dir(p); q != "/"; q = path.Dir(q) {
		if e := d[q]; e == nil || e.Kind != "group" || e.HardlinkOf != "" || e.Error != "" {
			return true
		}
	}
	return false
}

func hasName(live []liveObject, addr uint64) bool {
	for _, o := range live {
		if o.addr == addr && o.kind != "softlink" {
			return true
		}
	}
	return false
}

func filterNames(e *dumpEntry) string {
	if e.Props["user.h5.compression"] != nil {
		return "filters [" + *e.Props["user.h5.compression"] + "]"
	}
	return "filters ?"
}

func randomBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	switch rng.Intn(3) {
	case 0:
		rng.Read(b)
	case 1: // a constant
		c := byte(rng.Intn(256))
		for i := range b {
			b[i] = c
		}
	default: // a ramp
		for i := range b {
			b[i] = byte(i / 7)
		}
	}
	return b
}

// newAttr is a new attribute of the text's inferred type (SPEC §5): its
// name, the text set, and the text it then reads as.
func newAttr(rng *rand.Rand, k int) (name, text, want string) {
	name = fmt.Sprintf("%s%d", []string{"new", "ünï ", "-x", "units"}[rng.Intn(4)], k)
	switch rng.Intn(3) {
	case 0:
		v := rng.Int63() - rng.Int63()
		return name, strconv.FormatInt(v, 10), strconv.FormatInt(v, 10)
	case 1:
		s := pyFloat(float64(rng.Intn(2000001)-1000000) / 8)
		return name, s, s
	}
	s := []string{"hello", "Grüße aus Köln", "x y", "日本語のテキスト", "a=b; c"}[rng.Intn(5)]
	return name, s, s
}

// pyFloat spells a float64 as Python's repr does, for values without an
// exponent there.
func pyFloat(v float64) string {
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// replaceAttr picks an existing scalar integer or float attribute of e not
// set before, and a new value that its type holds exactly.
func replaceAttr(rng *rand.Rand, e *dumpEntry, set map[string]string) (name, text, want string, ok bool) {
	var names []string
	for n, a := range e.Attrs {
		if a.Error != "" || a.Text == nil || strings.HasPrefix(*a.Text, "[") || len(a.Dtype) < 3 || set[n] != "" || a.Enum != nil {
			continue
		}
		if strings.ContainsAny(a.Dtype[1:2], "iuf") && !strings.HasPrefix(n, "h5.") {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return "", "", "", false
	}
	sort.Strings(names)
	name = names[rng.Intn(len(names))]
	dt := e.Attrs[name].Dtype
	size, _ := strconv.Atoi(dt[2:])
	switch dt[1] {
	case 'i':
		lo, hi := -int64(1)<<(8*size-1), int64(1)<<(8*size-1)-1
		if size == 8 {
			lo, hi = math.MinInt64, math.MaxInt64
		}
		v := lo + int64(rng.Uint64()%uint64(hi-lo)) // (hi itself only for size 8)
		return name, strconv.FormatInt(v, 10), strconv.FormatInt(v, 10), true
	case 'u':
		v := rng.Uint64()
		if size < 8 {
			v %= 1 << (8 * size)
		}
		return name, strconv.FormatUint(v, 10), strconv.FormatUint(v, 10), true
	}
	// k/4 with |k| < 256: exact in float16, float32 and float64, and its
	// shortest text in each is the same
	s := pyFloat(float64(rng.Intn(511)-255) / 4)
	return name, s, s, true
}

// checkModel compares libhdf5's dump of the edited file with the model and
// with the dump before the edits.
func checkModel(t *testing.T, m *editModel, before, after map[string]*dumpEntry) {
	t.Helper()
	byAddr := map[uint64][]string{}
	for _, p := range sortedPaths(after) {
		e := after[p]
		if e.Kind == "dataset" || e.Kind == "group" {
			byAddr[e.Addr] = append(byAddr[e.Addr], p)
		}
	}
	// Every dataset written holds the bytes written; every other one that
	// is still there, what it held.
	for _, p := range sortedPaths(before) {
		e := before[p]
		if e.Kind != "dataset" || e.Error != "" || e.HardlinkOf != "" || e.SHA256 == nil {
			continue
		}
		want := *e.SHA256
		if b, ok := m.written[e.Addr]; ok {
			want = sha256Hex(m.bytes[e.Addr])
			p = b
		}
		for _, q := range byAddr[e.Addr] {
			a := after[q]
			if a.Error != "" || a.SHA256 == nil {
				t.Errorf("%s (was %s): libhdf5 reads %q after the edits", q, p, a.Error)
			} else if *a.SHA256 != want {
				_, w := m.written[e.Addr]
				t.Errorf("%s (was %s, written %v): libhdf5 reads sha256 %s, want %s", q, p, w, *a.SHA256, want)
			}
			break
		}
	}
	// Attributes hold what was set; the others what they held.
	for _, p := range sortedPaths(before) {
		e := before[p]
		if (e.Kind != "dataset" && e.Kind != "group") || e.Error != "" || e.HardlinkOf != "" {
			continue
		}
		qs := byAddr[e.Addr]
		if len(qs) == 0 {
			continue // removed
		}
		a := after[qs[0]]
		for name, want := range m.attrs[e.Addr] {
			got, ok := a.Attrs[name]
			switch {
			case !ok:
				t.Errorf("%s: attribute %q missing after setfattr %q", qs[0], name, want)
			case got.Text == nil || *got.Text != want:
				t.Errorf("%s: attribute %q reads %v (%s, %s) in libhdf5, want %q", qs[0], name, strp(got.Text), got.Dtype, got.Error, want)
			}
		}
		for name, old := range e.Attrs {
			if _, set := m.attrs[e.Addr][name]; set || old.Error != "" {
				continue
			}
			got, ok := a.Attrs[name]
			if !ok {
				t.Errorf("%s: attribute %q lost", qs[0], name)
			} else if strp(got.Text) != strp(old.Text) || got.TextSHA256 != old.TextSHA256 || got.Dtype != old.Dtype {
				t.Errorf("%s: attribute %q changed from %s (%s) to %s (%s)", qs[0], name, strp(old.Text), old.Dtype, strp(got.Text), got.Dtype)
			}
		}
	}
	for p := range m.removed {
		if dumpLookup(after, p) != nil {
			t.Errorf("%s: still in the file after rm/mv (a %s)", p, after[p].Kind)
		}
	}
	for p := range m.groups {
		if e := dumpLookup(after, p); e == nil || e.Kind != "group" {
			t.Errorf("%s: made by mkdir, but libhdf5 finds %+v", p, e)
		}
	}
	for p, addr := range m.moved {
		if e := dumpLookup(after, p); e == nil || e.Addr != addr {
			t.Errorf("%s: moved there, but libhdf5 finds %+v", p, e)
		}
	}
}

// dumpLookup finds the entry of path p in a dump, which lists the members
// of a group reached by two names under the first name only: below the
// other name, p is looked up below the first.
func dumpLookup(d map[string]*dumpEntry, p string) *dumpEntry {
	for range 32 {
		if e := d[p]; e != nil {
			return e
		}
		q, found := p, false
		for !found {
			i := strings.LastIndex(q, "/")
			if i <= 0 {
				return nil
			}
			q = q[:i]
			if e := d[q]; e != nil && e.HardlinkOf != "" {
				p, found = e.HardlinkOf+p[len(q):], true
			}
		}
	}
	return nil
}

func strp(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return strconv.Quote(*s)
}

func hasAttr(e *dumpEntry, name string) bool {
	_, ok := e.Attrs[name]
	return ok
}
