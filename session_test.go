package main

// The randomized user-session test: each session makes a new file with
// `h5mount --create` (or mounts a copy of a small h5py file), then types
// what a user would — mkdir, rmdir, rm, mv, ln, ln -s, touch and setfattr
// of user.h5.* to define datasets, pwrite, dd, cp, truncate, setfattr and
// setfattr -x of attributes, reads, fsync, unmount and mount again — while
// a model keeps what the file must hold and which errno each request must
// get (SPEC §4-§7, the README where SPEC is silent). At the end libhdf5
// (scripts/dump_ref.py, h5dump) reads the file against the model, and a new
// read-only mount is compared with the model and with libhdf5's dump.
//
// H5MOUNT_SESSION_SEED sets the seed (default sessionDefaultSeed),
// H5MOUNT_SESSIONS the number of sessions. Every failure names the seed and
// the session; `go test -run 'TestRandomSessions/session07$'` with the same
// seed runs that session alone, as it ran.

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

const (
	sessionDefaultSeed  = 20250601
	sessionDefaultCount = 12
	sessionPage         = 4096 // the model's page of dataset bytes
)

// TestRandomSessions runs random user sessions against a model.
func TestRandomSessions(t *testing.T) {
	requireFUSE(t)
	requireTool(t, "h5dump", "hdf5-tools")
	requireTool(t, "setfattr", "attr")
	seed, count := int64(sessionDefaultSeed), sessionDefaultCount
	if raceEnabled() {
		count = sessionDefaultCount * 2 / 3 // the mount runs 3x slower
	}
	if v, err := strconv.ParseInt(os.Getenv("H5MOUNT_SESSION_SEED"), 10, 64); err == nil {
		seed = v
	}
	if v, err := strconv.Atoi(os.Getenv("H5MOUNT_SESSIONS")); err == nil && v > 0 {
		count = v
	}
	if os.Getenv("HDF5_PLUGIN_PATH") == "" {
		t.Setenv("HDF5_PLUGIN_PATH", pluginDir)
	}
	t.Logf("H5MOUNT_SESSION_SEED=%d H5MOUNT_SESSIONS=%d", seed, count)
	templates := sessionTemplates(t)
	ops, turns, ran := 0, 0, 0
	for i := 0; i < count; i++ {
		t.Run(fmt.Sprintf("session%02d", i), func(t *testing.T) {
			ran++
			s := &session{t: t, seed: seed, num: i, rng: rand.New(rand.NewSource(seed*1000003 + int64(i)))}
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("seed %d session %d: reproduce with H5MOUNT_SESSION_SEED=%d go test -run 'TestRandomSessions/session%02d$' .\nops:\n%s",
						seed, i, seed, i, strings.Join(s.log, "\n"))
				}
			})
			s.run(templates)
			ops += len(s.log)
			turns += s.turns
		})
	}
	t.Logf("seed %d: %d sessions, %d operations, %d turns of h5py editing a session's file", seed, count, ops, turns)
	if ran >= 10 && turns == 0 {
		t.Errorf("no session let h5py take a turn")
	}
}

// sessionTemplates makes the h5py files some sessions start from, in both
// libver styles.
func sessionTemplates(t *testing.T) []string {
	t.Helper()
	dir := t.TempDir()
	var files []string
	for _, style := range []string{"earliest", "latest"} {
		p := filepath.Join(dir, style+".h5")
		h5py(t, `
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "w", libver=sys.argv[2])
f.attrs["title"] = "session template"
f.attrs["version"] = np.int64(3)
g = f.create_group("grp")
g.attrs["count"] = np.int32(7)
g.attrs["scale"] = np.float32(0.5)
g.attrs["fixed"] = np.bytes_(b"abcd")
g.attrs["levels"] = np.arange(3, dtype="<i8")
g.attrs["weights"] = np.array([0.25, 0.5], dtype="<f8")
g.create_dataset("contig", data=np.arange(50, dtype=">i4"))
c = g.create_dataset("chunked", data=np.linspace(0, 1, 300).reshape(30, 10), chunks=(8, 5),
    compression="gzip", shuffle=True, maxshape=(None, 10), fillvalue=-1.5)
c.attrs["units"] = "m/s"
f.create_dataset("lzf", shape=(100,), dtype="<u2", chunks=(16,), maxshape=(None,), compression="lzf")
f.create_dataset("bytes", data=np.frombuffer(bytes(range(256)) * 4, dtype="|u1"))
f.create_group("empty")
f.create_group("a/b/c")
f["soft"] = h5py.SoftLink("/grp/contig")
g["hard"] = f["bytes"]
print("ok")`, p, style)
		files = append(files, p)
	}
	return files
}

// ---------------------------------------------------------------- the model

type mObj struct {
	group bool
	kids  map[string]*mLink // a group's links by name
	attrs map[string]*mAttr
	ds    *mDS
	nlink int
	addr  uint64 // object header address, where known (template files)
}

type mLink struct {
	obj  *mObj
	soft string // a soft link's target: an absolute HDF5 path
}

type mAttr struct {
	dtype string // NumPy type string as h5py reports it; "|O" a variable-length string
	n     int    // elements of a 1-D array; 0 for a scalar
	text  string // what user.NAME reads
}

type mDS struct {
	dtype       string
	item        int64
	shape       []int64
	maxshape    []int64 // -1 unlimited
	chunks      string  // "" where the model does not predict it (guessed chunks)
	compression string
	fill        []byte // one element
	fillText    string
	pages       map[int64][]byte
	zstd        bool // behind Zstandard (bitshuffle:zstd too), which this libhdf5 cannot read
	stored      bool // holds data: the definition can no longer change freely
	// stale: it held data before a shrink to no rows. A shrink removes
	// the chunks past the end, except from an implicit index (early
	// allocation, no filters), whose chunks stay; growing over those later
	// fills them, which stores data again. The model does not know the
	// index kind, so it asks the mount.
	stale       bool
	rebuildable bool // written bytes are all in pages (no bytes from a template outside the model)
}

func (d *mDS) size() int64 {
	n := d.item
	for _, x := range d.shape {
		n *= x
	}
	return n
}

func (d *mDS) rowBytes() int64 {
	n := d.item
	for _, x := range d.shape[1:] {
		n *= x
	}
	return n
}

func (d *mDS) growable() bool { return len(d.maxshape) > 0 && d.maxshape[0] == -1 }

func (d *mDS) fillAt(off int64) byte { return d.fill[off%int64(len(d.fill))] }

func (d *mDS) read(off, n int64) []byte {
	b := make([]byte, n)
	for i := int64(0); i < n; {
		o := off + i
		p, in := o/sessionPage, o%sessionPage
		k := min(sessionPage-in, n-i)
		if pg, ok := d.pages[p]; ok {
			copy(b[i:i+k], pg[in:in+k])
		} else {
			for j := int64(0); j < k; j++ {
				b[i+j] = d.fillAt(o + j)
			}
		}
		i += k
	}
	return b
}

func (d *mDS) page(p int64) []byte {
	pg, ok := d.pages[p]
	if !ok {
		pg = d.read(p*sessionPage, sessionPage)
		d.pages[p] = pg
	}
	return pg
}

func (d *mDS) write(off int64, b []byte) {
	for i := int64(0); i < int64(len(b)); {
		o := off + i
		p, in := o/sessionPage, o%sessionPage
		k := min(sessionPage-in, int64(len(b))-i)
		copy(d.page(p)[in:in+k], b[i:i+k])
		i += k
	}
	if len(b) > 0 {
		d.stored = true
	}
}

// resize sets the first dimension: rows that leave view come back as the
// fill value.
func (d *mDS) resize(rows int64) {
	old := d.size()
	d.shape[0] = rows
	n := d.size()
	if n == 0 {
		d.stale = d.stale || d.stored
		d.stored = false // an empty dataset holds nothing (SPEC §5), however it got there
	}
	if n >= old {
		// What comes into view reads as the fill value now in force:
		// the page holding the old end may keep bytes past it from a
		// fill value of before (a dtype change gives a new one).
		for p, pg := range d.pages {
			start := p * sessionPage
			for o := max(old, start); o < min(n, start+sessionPage); o++ {
				pg[o-start] = d.fillAt(o)
			}
		}
		return
	}
	for p, pg := range d.pages {
		start := p * sessionPage
		switch {
		case start >= n:
			delete(d.pages, p)
		case start+sessionPage > n:
			for o := n; o < start+sessionPage; o++ {
				pg[o-start] = d.fillAt(o)
			}
		}
	}
}

func (d *mDS) materialize() {
	for p := int64(0); p*sessionPage < d.size(); p++ {
		d.page(p)
	}
}

func joinInts(xs []int64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.FormatInt(x, 10)
	}
	return strings.Join(parts, ",")
}

// sessionTypes are the element types sessions define datasets with.
var sessionTypes = []string{"<f8", "<f4", ">f8", ">f4", "<i2", ">i4", "|u1", "|i1", "<u8", "<i8", ">u2", "<u4"}

func itemSize(dtype string) int64 {
	n, _ := strconv.Atoi(dtype[2:])
	return int64(n)
}

// encodeElem is v as one element of dtype (v fits).
func encodeElem(dtype string, v float64) []byte {
	var order binary.ByteOrder = binary.LittleEndian
	if dtype[0] == '>' {
		order = binary.BigEndian
	}
	b := make([]byte, itemSize(dtype))
	switch dtype[1:] {
	case "f4":
		order.PutUint32(b, math.Float32bits(float32(v)))
	case "f8":
		order.PutUint64(b, math.Float64bits(v))
	default:
		u := uint64(int64(v))
		switch len(b) {
		case 1:
			b[0] = byte(u)
		case 2:
			order.PutUint16(b, uint16(u))
		case 4:
			order.PutUint32(b, uint32(u))
		case 8:
			order.PutUint64(b, u)
		}
	}
	return b
}

// intRange is the range of an integer dtype (within int64).
func intRange(dtype string) (lo, hi int64) {
	bits := 8 * itemSize(dtype)
	if dtype[1] == 'u' {
		if bits == 64 {
			return 0, math.MaxInt64
		}
		return 0, 1<<bits - 1
	}
	if bits == 64 {
		return math.MinInt64, math.MaxInt64
	}
	return -1 << (bits - 1), 1<<(bits-1) - 1
}

// ---------------------------------------------------------------- a session

type session struct {
	t         *testing.T
	seed      int64
	num       int
	rng       *rand.Rand
	file, mnt string
	opts      []string // mount options of this session
	defComp   string   // user.h5.compression of datasets made by touch
	defZstd   bool     // and whether that has Zstandard
	root      *mObj
	log       []string
	k         int  // operation number
	looped    bool // a resolve gave up on a cycle of soft links
	turns     int  // turns h5py took at editing the file
}

func (s *session) errorf(format string, args ...any) {
	s.t.Helper()
	s.t.Errorf("seed %d session %d op %d: %s", s.seed, s.num, s.k, fmt.Sprintf(format, args...))
}

func (s *session) fatalf(format string, args ...any) {
	s.t.Helper()
	s.t.Fatalf("seed %d session %d op %d: %s", s.seed, s.num, s.k, fmt.Sprintf(format, args...))
}

func (s *session) logf(format string, args ...any) {
	s.log = append(s.log, fmt.Sprintf("%3d ", s.k)+fmt.Sprintf(format, args...))
}

func (s *session) mp(p string) string { return inMount(s.mnt, p) }

// errnoOf is the errno of a failed call, 0 for success.
func errnoOf(err error) syscall.Errno {
	if err == nil {
		return 0
	}
	var e syscall.Errno
	if errors.As(err, &e) {
		return e
	}
	return syscall.Errno(math.MaxInt32) // not an errno
}

// expect compares a request's errno with the model's.
func (s *session) expect(what string, err error, want syscall.Errno) bool {
	s.t.Helper()
	got := errnoOf(err)
	s.logf("%s: %v", what, err)
	if got != want {
		s.errorf("%s: %v (errno %d), want %v", what, err, int(got), errName(want))
		return false
	}
	return true
}

func errName(e syscall.Errno) string {
	if e == 0 {
		return "success"
	}
	return e.Error()
}

// tool runs a program (no shell: names pass as they are) and gives its exit
// status and output.
func (s *session) tool(name string, args ...string) (int, string) {
	s.t.Helper()
	r := runCmd(s.t, exec.Command(name, args...))
	return r.code, r.stdout + r.stderr
}

// expectTool runs a program that must succeed, or fail, as the model says.
func (s *session) expectTool(ok bool, name string, args ...string) bool {
	s.t.Helper()
	code, out := s.tool(name, args...)
	s.logf("%s %q: exit %d %s", name, args, code, strings.TrimSpace(out))
	if (code == 0) != ok {
		s.errorf("%s %q: exit %d (%s), want success %v", name, args, code, strings.TrimSpace(out), ok)
		return false
	}
	return true
}

func (s *session) run(templates []string) {
	t := s.t
	dir := t.TempDir()
	s.file = filepath.Join(dir, "s.h5")
	t.Cleanup(func() { keepFailedFile(t, s.file) }) // before the directory goes
	if s.rng.Intn(3) == 0 {
		tpl := templates[s.rng.Intn(len(templates))]
		data, err := os.ReadFile(tpl)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(s.file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		s.opts = s.compressionOpt()
		s.logf("cp %s s.h5; h5mount %q", filepath.Base(tpl), s.opts)
		s.mnt = mountT(t, s.file, s.opts...)
		s.loadTemplate(tpl)
	} else {
		s.opts = s.compressionOpt()
		if s.rng.Intn(3) == 0 {
			s.opts = append(s.opts, "-o", "libver=latest")
		}
		s.logf("h5mount --create %q", s.opts)
		s.mnt = mountT(t, s.file, append([]string{"--create"}, s.opts...)...)
		s.root = &mObj{group: true, kids: map[string]*mLink{}, attrs: map[string]*mAttr{}, nlink: 1}
	}
	n := 20 + s.rng.Intn(41)
	for s.k = 0; s.k < n; s.k++ {
		s.step()
		if t.Failed() {
			break // the first failure is the one to reproduce
		}
	}
	s.k = n
	if !s.finish() {
		return
	}
	// Some sessions go on in turns with libhdf5: h5py edits the file the
	// mount left, then a mount edits what h5py left, each taking up the
	// other's structures (B-trees split, heaps grown, space freed and
	// reused). The model starts again from libhdf5's view each turn.
	turns := 0
	if s.rng.Intn(2) == 0 && s.libhdf5Edits() {
		turns = 1 + s.rng.Intn(2)
	}
	for turn := 0; turn < turns && s.libhdf5Edits(); turn++ {
		if r := h5mountT(t, "unmount", s.mnt); r.code != 0 {
			s.fatalf("unmount: %v", r)
		}
		seed := s.seed*7919 + int64(s.num)*131 + int64(turn)
		s.logf("h5py edits the file (seed %d)", seed)
		if out, err := exec.Command("/usr/bin/python3", "-c", libhdf5Turn, s.file, strconv.FormatInt(seed, 10)).CombinedOutput(); err != nil {
			s.fatalf("h5py's turn: %v\n%s", err, out)
		}
		s.turns++
		d, err := corpusDump(s.file) // before the mount locks the file
		if err != nil {
			s.fatalf("dump_ref.py: %v", err)
		}
		s.mnt = mountT(t, s.file, s.opts...)
		s.logf("h5mount %q (after h5py's turn)", s.opts)
		s.loadModel(d)
		s.verifyMount("after h5py's turn")
		n := 10 + s.rng.Intn(21)
		for i := 0; i < n && !t.Failed(); i++ {
			s.step()
			s.k++
		}
		if !s.finish() {
			return
		}
	}
}

// finish checks the mount against the model, unmounts, has libhdf5 read
// and dump the file, and mounts it read-only to compare again; it reports
// whether the session may go on.
func (s *session) finish() bool {
	t := s.t
	if t.Failed() {
		return false
	}
	s.verifyMount("before unmount")
	if r := h5mountT(t, "unmount", s.mnt); r.code != 0 {
		s.fatalf("unmount: %v", r)
	}
	dump := s.checkLibhdf5()
	s.mnt = mountT(t, s.file, "-o", "ro")
	s.verifyMount("read-only mount at the end")
	// libhdf5 here has no Zstandard, and its Bitshuffle plugin (0.3)
	// takes bitshuffle:zstd chunks for uncompressed ones: what it reads
	// of those datasets is no reference (the model checked them above).
	for _, e := range s.walk() {
		if e.link.obj != nil && e.link.obj.ds != nil && e.link.obj.ds.zstd && dump[e.path] != nil {
			dump[e.path].Error = "Zstandard: not readable by this libhdf5"
		}
	}
	checkAgainstDump(t, s.mnt, dump)
	return !t.Failed()
}

// libhdf5Edits reports whether libhdf5 can take a turn at editing the
// file: it reads every dataset (no Zstandard, which it lacks here) and the
// reference dump holds every value (nothing of the sizes dumped in windows).
func (s *session) libhdf5Edits() bool {
	if s.defZstd {
		return false
	}
	for _, e := range s.walk() {
		if d := e.link.obj; d != nil && d.ds != nil && (d.ds.zstd || d.ds.size() > 64<<20) {
			return false
		}
	}
	return true
}

// libhdf5Turn is h5py's turn at a session's file: random groups, datasets
// (contiguous and chunked, filtered, growable), writes, resizes, attributes
// set and deleted, links removed, moved and added, with numpy's generator
// seeded from argv[2]. Any libhdf5 error fails the session.
const libhdf5Turn = `
import sys, h5py, numpy as np
path, seed = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(seed)
DTYPES = ["<f8", "<f4", "<i4", ">i4", "|u1", "<u2", "<i8", "|i1", ">f8"]
def values(dt, shape):
    dt = np.dtype(dt)
    if dt.kind == "f":
        return rng.normal(0, 100, size=shape).astype(dt)
    info = np.iinfo(dt)
    return rng.integers(max(info.min, -2**40), min(info.max, 2**40), size=shape, endpoint=True).astype(dt)
def pick(xs):
    return xs[int(rng.integers(len(xs)))] if xs else None
with h5py.File(path, "r+") as f:
    for step in range(int(rng.integers(5, 16))):
        groups, datasets = [f], []
        def visit(name, obj):
            if isinstance(obj, h5py.Group):
                groups.append(obj)
            elif isinstance(obj, h5py.Dataset) and obj.dtype.kind in "iuf" and obj.dtype.names is None:
                datasets.append(obj)
        f.visititems(visit)
        g, d = pick(groups), pick(datasets)
        name = "py%d_%d" % (seed % 997, step)
        op = int(rng.integers(12))
        order = bool(rng.integers(2))  # creation order tracked and indexed
        if op == 0:
            g.create_group(name, track_order=order)
        elif op == 1:
            dt, n = pick(DTYPES), int(rng.integers(1, 3000))
            kw = {}
            if rng.integers(2):
                kw = dict(chunks=(int(rng.integers(1, 700)),), maxshape=(None,),
                          compression=pick(["gzip", None, "lzf"]), shuffle=bool(rng.integers(2)))
            nd = g.create_dataset(name, shape=(n,), dtype=dt, fillvalue=values(dt, ())[()], track_order=order, **kw)
            k = int(rng.integers(0, n + 1))
            nd[:k] = values(dt, (k,))
        elif op == 2 and d is not None and d.size > 0:
            if d.shape == ():
                d[()] = values(d.dtype, ())
            else:
                a = int(rng.integers(0, d.shape[0]))
                b = int(rng.integers(a + 1, d.shape[0] + 1))
                d[a:b] = values(d.dtype, (b - a,) + d.shape[1:])
        elif op == 3 and d is not None and d.chunks and d.maxshape and d.maxshape[0] is None:
            d.resize(int(rng.integers(0, 2 * d.shape[0] + 5)), axis=0)
        elif op == 4:
            o = pick([g] + datasets)
            o.attrs[pick(["a_int", "a_float", "a_text", "a_list", name])] = pick(
                [np.int64(rng.integers(-1000, 1000)), float(rng.normal()), "text %d" % step, np.arange(int(rng.integers(1, 6)))])
        elif op == 5:
            o = pick([g] + datasets)
            if len(o.attrs):
                del o.attrs[pick(list(o.attrs))]
        elif op == 6 and d is not None:
            del f[d.name]
        elif op == 7 and d is not None:
            f.move(d.name, g.name.rstrip("/") + "/" + name)
        elif op == 8 and d is not None:
            g[name] = d
        elif op == 9:
            # enough attributes to move a new-style header's to dense storage
            o = pick([g] + datasets)
            for i in range(int(rng.integers(5, 14))):
                o.attrs["%s_%d" % (name, i)] = np.int64(i)
        elif op == 10:
            # enough links to make a new-style group dense
            sub = g.create_group(name, track_order=order)
            for i in range(int(rng.integers(5, 20))):
                if d is not None and rng.integers(2):
                    sub["l%d" % i] = d
                else:
                    sub.create_dataset("l%d" % i, data=values(pick(DTYPES), (int(rng.integers(1, 50)),)))
        elif op == 11 and g != f:
            del f[g.name]
print("ok")
`

func (s *session) compressionOpt() []string {
	specs := []struct{ opt, shown string }{
		{"", ""}, {"", ""}, {"gzip", "gzip:4"}, {"shuffle,gzip:1", "shuffle,gzip:1"}, {"lzf", "lzf"},
		{"lz4", "lz4"}, {"zstd:3", "zstd:3"}, {"bitshuffle:lz4", "bitshuffle"}, {"bitshuffle:zstd:3", "bitshuffle"},
		{"shuffle,gzip:1", "shuffle,gzip:1"}, {"blosc:lz4", "blosc"}, {"blosc:zstd:1", "blosc"},
	}
	c := specs[s.rng.Intn(len(specs))]
	s.defComp, s.defZstd = c.shown, zstdOutsideBlosc(c.opt)
	if c.opt == "" {
		return nil
	}
	return []string{"-o", "compression=" + c.opt}
}

// loadTemplate builds the model of a template file from libhdf5's dump and
// the mount's bytes (checked against the dump).
func (s *session) loadTemplate(tpl string) {
	d, err := corpusDump(tpl) // (libhdf5 cannot open a file a read-write mount holds)
	if err != nil {
		s.fatalf("dump_ref.py: %v", err)
	}
	s.loadModel(d)
}

// loadModel builds the model from libhdf5's dump of the mounted file and
// the mount's bytes (checked against the dump).
func (s *session) loadModel(d map[string]*dumpEntry) {
	if root := d["/"]; root == nil || root.Kind != "group" || root.Error != "" {
		s.fatalf("libhdf5 does not open the file: %+v", root)
	}
	objs := map[uint64]*mObj{}
	var build func(p string) *mObj
	build = func(p string) *mObj {
		e := d[p]
		if o := objs[e.Addr]; o != nil {
			return o
		}
		o := &mObj{attrs: map[string]*mAttr{}, addr: e.Addr, nlink: e.Nlink}
		objs[e.Addr] = o
		for name, a := range e.Attrs {
			n := 0
			if a.Text != nil && strings.HasPrefix(*a.Text, "[") {
				var xs []any
				json.Unmarshal([]byte(*a.Text), &xs)
				n = len(xs)
			}
			o.attrs[name] = &mAttr{dtype: a.Dtype, n: n, text: *a.Text}
		}
		switch e.Kind {
		case "group":
			o.group = true
			o.kids = map[string]*mLink{}
			for _, name := range e.Members {
				c := d[path.Join(p, name)]
				if c.Kind == "softlink" {
					o.kids[name] = &mLink{soft: c.Target}
					continue
				}
				o.kids[name] = &mLink{obj: build(path.Join(p, name))}
			}
		case "dataset":
			ds := &mDS{dtype: e.Dtype, item: e.ItemSize, shape: append([]int64(nil), e.Shape...),
				chunks: *e.Props["user.h5.chunks"], compression: *e.Props["user.h5.compression"],
				fillText: *e.Props["user.h5.fillvalue"], pages: map[int64][]byte{}}
			for _, x := range strings.Split(*e.Props["user.h5.maxshape"], ",") {
				v, _ := strconv.ParseInt(x, 10, 64)
				ds.maxshape = append(ds.maxshape, v)
			}
			f, _ := strconv.ParseFloat(ds.fillText, 64)
			ds.fill = encodeElem(ds.dtype, f)
			data, err := os.ReadFile(s.mp(p))
			if err != nil || sha256Hex(data) != *e.SHA256 {
				s.fatalf("%s: the template reads %d bytes (%v), not what libhdf5 reads", p, len(data), err)
			}
			ds.stored = e.Storage != nil && *e.Storage > 0
			if ds.stored {
				// Unstored, its bytes are the fill value's: a new one
				// shows everywhere.
				ds.write(0, data)
			}
			ds.rebuildable = true
			o.ds = ds
		}
		return o
	}
	s.root = build("/")
}

// ---------------------------------------------------------------- paths in the model

// lookup finds the link at p (nil when absent; soft links are not followed
// in the last component, are followed before it).
func (s *session) lookup(p string) *mLink {
	if p == "/" {
		return &mLink{obj: s.root}
	}
	dir := s.resolve(path.Dir(p), 0)
	if dir == nil || !dir.group {
		return nil
	}
	return dir.kids[path.Base(p)]
}

// maxSymlinks is how many soft links the kernel follows in one path.
const maxSymlinks = 40

// resolve follows p to an object, soft links included. Where a chain of
// soft links goes on past maxSymlinks (a cycle) it sets s.looped: the
// kernel answers ELOOP there, where a missing name is ENOENT.
func (s *session) resolve(p string, depth int) *mObj {
	if depth > maxSymlinks {
		s.looped = true
		return nil
	}
	l := s.lookup(p)
	if l == nil {
		return nil
	}
	if l.obj == nil {
		return s.resolve(l.soft, depth+1)
	}
	return l.obj
}

type mEntry struct {
	path string
	link *mLink
}

// walk lists every link below the root, depth first, by sorted name (a
// group is entered through its first name only).
func (s *session) walk() []mEntry {
	var out []mEntry
	seen := map[*mObj]bool{s.root: true}
	var rec func(p string, o *mObj)
	rec = func(p string, o *mObj) {
		names := make([]string, 0, len(o.kids))
		for n := range o.kids {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			l := o.kids[n]
			q := path.Join(p, n)
			out = append(out, mEntry{q, l})
			if l.obj != nil && l.obj.group && !seen[l.obj] {
				seen[l.obj] = true
				rec(q, l.obj)
			}
		}
	}
	rec("/", s.root)
	return out
}

func (s *session) pick(kind string) (string, *mLink) {
	var c []mEntry
	for _, e := range s.walk() {
		switch {
		case kind == "any",
			kind == "group" && e.link.obj != nil && e.link.obj.group,
			kind == "dataset" && e.link.obj != nil && e.link.obj.ds != nil,
			kind == "soft" && e.link.obj == nil:
			c = append(c, e)
		}
	}
	if kind == "group" || kind == "object" {
		c = append(c, mEntry{"/", &mLink{obj: s.root}})
	}
	if kind == "object" {
		for _, e := range s.walk() {
			if e.link.obj != nil {
				c = append(c, e)
			}
		}
	}
	if len(c) == 0 {
		return "", nil
	}
	e := c[s.rng.Intn(len(c))]
	return e.path, e.link
}

var sessionNames = []string{"d", "data", "x y", "ünï", "-dash", "temp", "g", "v2", "日本"}

func (s *session) newName(dir string) string {
	for {
		n := fmt.Sprintf("%s%d", sessionNames[s.rng.Intn(len(sessionNames))], s.rng.Intn(50))
		if s.lookup(path.Join(dir, n)) == nil {
			return n
		}
	}
}

// relTarget is the relative symlink text from the directory of link to
// target (both absolute HDF5 paths).
func relTarget(link, target string) string {
	from := strings.Split(strings.Trim(path.Dir(link), "/"), "/")
	to := strings.Split(strings.Trim(target, "/"), "/")
	if from[0] == "" {
		from = nil
	}
	i := 0
	for i < len(from) && i < len(to)-1 && from[i] == to[i] {
		i++
	}
	var parts []string
	for range from[i:] {
		parts = append(parts, "..")
	}
	return strings.Join(append(parts, to[i:]...), "/")
}

// ---------------------------------------------------------------- operations

func (s *session) step() {
	r := s.rng.Intn(100)
	switch {
	case r < 6:
		s.opMkdir()
	case r < 10:
		s.opRmdir()
	case r < 14:
		s.opRm()
	case r < 20:
		s.opMv()
	case r < 23:
		s.opLink()
	case r < 26:
		s.opSymlink()
	case r < 34:
		s.opCreate()
	case r < 48:
		s.opDefine()
	case r < 62:
		s.opWrite()
	case r < 67:
		s.opTruncate()
	case r < 80:
		s.opAttr()
	case r < 92:
		s.opRead()
	case r < 96:
		s.opFsync()
	default:
		s.opRemount()
	}
}

func (s *session) opMkdir() {
	dir, _ := s.pick("group")
	if dir == "" {
		return
	}
	if s.rng.Intn(5) == 0 { // an existing name
		if p, l := s.pick("any"); l != nil {
			s.expect("mkdir "+p, os.Mkdir(s.mp(p), 0o755), syscall.EEXIST)
			return
		}
	}
	depth := 1 + s.rng.Intn(3)
	p := dir
	for i := 0; i < depth; i++ {
		p = path.Join(p, s.newName(p))
	}
	var err error
	if depth == 1 && s.rng.Intn(2) == 0 {
		err = os.Mkdir(s.mp(p), 0o755)
	} else {
		err = os.MkdirAll(s.mp(p), 0o755)
	}
	if !s.expect("mkdir -p "+p, err, 0) {
		return
	}
	o := s.resolve(dir, 0)
	q := dir
	for _, n := range strings.Split(strings.TrimPrefix(strings.TrimPrefix(p, dir), "/"), "/") {
		g := &mObj{group: true, kids: map[string]*mLink{}, attrs: map[string]*mAttr{}, nlink: 1}
		o.kids[n] = &mLink{obj: g}
		o, q = g, path.Join(q, n)
	}
}

func (s *session) opRmdir() {
	p, l := s.pick("any")
	if l == nil {
		return
	}
	err := syscall.Rmdir(s.mp(p))
	switch {
	case l.obj == nil || l.obj.ds != nil:
		s.expect("rmdir "+p, err, syscall.ENOTDIR)
	case len(l.obj.kids) > 0:
		s.expect("rmdir "+p, err, syscall.ENOTEMPTY)
	default:
		if s.expect("rmdir "+p, err, 0) {
			s.unlinkModel(p)
		}
	}
}

func (s *session) unlinkModel(p string) {
	parent := s.resolve(path.Dir(p), 0)
	l := parent.kids[path.Base(p)]
	delete(parent.kids, path.Base(p))
	if l.obj != nil {
		l.obj.nlink--
	}
}

func (s *session) opRm() {
	p, l := s.pick("any")
	if l == nil {
		return
	}
	var err error
	if s.rng.Intn(2) == 0 {
		err = syscall.Unlink(s.mp(p))
	} else {
		code, out := s.tool("rm", "-f", s.mp(p))
		if code != 0 {
			err = errors.New(strings.TrimSpace(out))
			if l.obj != nil && l.obj.group {
				err = syscall.EISDIR
			}
		}
	}
	if l.obj != nil && l.obj.group {
		s.expect("rm "+p, err, syscall.EISDIR)
		return
	}
	if s.expect("rm "+p, err, 0) {
		s.unlinkModel(p)
	}
}

// opMv renames a link: to a new name, over another link, or into its own
// subtree (EINVAL).
func (s *session) opMv() {
	src, sl := s.pick("any")
	if sl == nil {
		return
	}
	var dst string
	var dl *mLink
	switch r := s.rng.Intn(10); {
	case r < 6:
		dir, _ := s.pick("group")
		dst = path.Join(dir, s.newName(dir))
	default:
		dst, dl = s.pick("any")
	}
	if dst == "" || dst == src {
		return
	}
	err := syscall.Rename(s.mp(src), s.mp(dst)) // (os.Rename refuses an existing directory itself)
	what := fmt.Sprintf("mv %s %s", src, dst)
	srcDir := sl.obj != nil && sl.obj.group
	switch {
	case srcDir && strings.HasPrefix(dst, src+"/"):
		s.expect(what, err, syscall.EINVAL)
		return
	case strings.HasPrefix(src, dst+"/"):
		// onto an ancestor of the source: the kernel answers before
		// the file system is asked (whatever the source is)
		s.expect(what, err, syscall.ENOTEMPTY)
		return
	case dl == nil:
		if s.resolve(path.Dir(dst), 0) == nil {
			s.expect(what, err, syscall.ENOENT)
			return
		}
	case dl.obj != nil && dl.obj == sl.obj && !srcDir:
		s.expect(what, err, 0) // two names of one object: nothing happens
		return
	case dl.obj != nil && dl.obj.group && !srcDir:
		s.expect(what, err, syscall.EISDIR)
		return
	case srcDir && (dl.obj == nil || !dl.obj.group):
		s.expect(what, err, syscall.ENOTDIR)
		return
	case srcDir && len(dl.obj.kids) > 0: // (an ancestor of the source too)
		s.expect(what, err, syscall.ENOTEMPTY)
		return
	}
	if !s.expect(what, err, 0) {
		return
	}
	if dl != nil {
		s.unlinkModel(dst)
	}
	sp := s.resolve(path.Dir(src), 0)
	delete(sp.kids, path.Base(src))
	s.resolve(path.Dir(dst), 0).kids[path.Base(dst)] = sl
}

func (s *session) opLink() {
	src, sl := s.pick("any")
	if sl == nil || sl.obj == nil {
		return // (what a hard link of a soft link makes is left open)
	}
	dir, _ := s.pick("group")
	dst := path.Join(dir, s.newName(dir))
	exists := false
	if s.rng.Intn(6) == 0 {
		if p, l := s.pick("any"); l != nil {
			dst, exists = p, true
		}
	}
	var err error
	if s.rng.Intn(2) == 0 {
		err = os.Link(s.mp(src), s.mp(dst))
	} else {
		ok := !sl.obj.group && !exists
		// -T: an existing directory is the link's name, as for link(2),
		// not a directory to link into.
		if s.expectTool(ok, "ln", "-T", s.mp(src), s.mp(dst)) && ok {
			s.addLink(dst, sl)
		}
		return
	}
	what := fmt.Sprintf("ln %s %s", src, dst)
	switch {
	case exists:
		s.expect(what, err, syscall.EEXIST)
	case sl.obj != nil && sl.obj.group:
		s.expect(what, err, syscall.EPERM)
	default:
		if s.expect(what, err, 0) {
			s.addLink(dst, sl)
		}
	}
}

func (s *session) addLink(dst string, sl *mLink) {
	s.resolve(path.Dir(dst), 0).kids[path.Base(dst)] = &mLink{obj: sl.obj}
	sl.obj.nlink++
}

func (s *session) opSymlink() {
	target, tl := s.pick("any")
	if tl == nil {
		return
	}
	dir, _ := s.pick("group")
	l := path.Join(dir, s.newName(dir))
	rel := relTarget(l, target)
	if s.rng.Intn(2) == 0 {
		if !s.expect(fmt.Sprintf("ln -s %s %s", rel, l), os.Symlink(rel, s.mp(l)), 0) {
			return
		}
	} else if !s.expectTool(true, "ln", "-s", "--", rel, s.mp(l)) {
		return
	}
	s.resolve(dir, 0).kids[path.Base(l)] = &mLink{soft: target}
}

func (s *session) newDataset() *mDS {
	return &mDS{dtype: "|u1", item: 1, shape: []int64{0}, maxshape: []int64{-1}, chunks: "262144",
		compression: s.defComp, zstd: s.defZstd, fill: []byte{0}, fillText: "0", pages: map[int64][]byte{}, rebuildable: true}
}

func (s *session) opCreate() {
	dir, _ := s.pick("group")
	if dir == "" {
		return
	}
	p := path.Join(dir, s.newName(dir))
	switch s.rng.Intn(4) {
	case 0: // touch
		if !s.expectTool(true, "touch", s.mp(p)) {
			return
		}
		s.addDataset(p, s.newDataset())
	case 1: // cp of a file
		data := randomBytes(s.rng, 1+s.rng.Intn(70000))
		src := filepath.Join(s.t.TempDir(), "src")
		os.WriteFile(src, data, 0o644)
		if !s.expectTool(true, "cp", src, s.mp(p)) {
			return
		}
		d := s.newDataset()
		d.shape[0] = int64(len(data))
		d.write(0, data)
		s.addDataset(p, d)
	case 2: // O_CREAT|O_EXCL of an existing name
		if q, l := s.pick("any"); l != nil {
			fh, err := os.OpenFile(s.mp(q), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
			if err == nil {
				fh.Close()
			}
			s.expect("open O_CREAT|O_EXCL "+q, err, syscall.EEXIST)
		}
	default:
		fh, err := os.OpenFile(s.mp(p), os.O_CREATE|os.O_RDWR, 0o644)
		if !s.expect("open O_CREAT "+p, err, 0) {
			return
		}
		d := s.newDataset()
		if s.rng.Intn(2) == 0 {
			data := randomBytes(s.rng, 1+s.rng.Intn(5000))
			_, err = fh.Write(data)
			if s.expect(fmt.Sprintf("write %d bytes into the new %s", len(data), p), err, 0) {
				d.shape[0] = int64(len(data))
				d.write(0, data)
			}
		}
		s.expect("close "+p, fh.Close(), 0)
		s.addDataset(p, d)
	}
}

func (s *session) addDataset(p string, d *mDS) {
	s.resolve(path.Dir(p), 0).kids[path.Base(p)] = &mLink{obj: &mObj{ds: d, attrs: map[string]*mAttr{}, nlink: 1}}
}

// zstdOutsideBlosc reports whether a compression spec compresses with
// Zstandard where this libhdf5 cannot read it: its own filter, or
// bitshuffle's (Debian's c-blosc has Zstandard).
func zstdOutsideBlosc(spec string) bool {
	return strings.Contains(spec, "zstd") && !strings.HasPrefix(spec, "blosc")
}

// compressionSpecs are what user.h5.compression is set to, and how it then
// reads.
var compressionSpecs = []struct{ set, shown string }{
	{"", ""}, {"gzip:1", "gzip:1"}, {"gzip", "gzip:4"}, {"shuffle,gzip:4", "shuffle,gzip:4"}, {"lzf", "lzf"},
	{"lz4", "lz4"}, {"zstd:3", "zstd:3"}, {"fletcher32", "fletcher32"}, {"shuffle,fletcher32,gzip:6", "shuffle,fletcher32,gzip:6"},
	{"bitshuffle:lz4", "bitshuffle"}, {"bitshuffle:zstd:3", "bitshuffle"}, {"shuffle,lz4", "shuffle,lz4"},
	{"blosc", "blosc"}, {"blosc:lz4:9", "blosc"}, {"blosc:zstd:5", "blosc"}, {"blosc:snappy", "blosc"}, {"blosc:zlib:3", "blosc"},
}

// syncStored settles whether a dataset that has been written but whose
// every byte is now the fill value still holds data. The engine counts a
// dataset as holding data while it has storage (SPEC §5's "empty": nothing
// stored, as du shows), and whether such a dataset has any left depends on
// its chunks, which the model does not follow: a shrink keeps a chunk
// straddling the new end, a rebuild (maxshape, chunks, compression) keeps
// no chunk that reads as the fill value. Only in that case is the answer
// taken from the mount, after an fsync has put every cached chunk in the
// file.
func (s *session) syncStored(p string, d *mDS) {
	if !d.stored || !d.rebuildable || d.size() == 0 {
		return
	}
	for off, pg := range d.pages {
		for i, b := range pg {
			if b != d.fillAt(off*sessionPage+int64(i)) {
				return
			}
		}
	}
	s.askStored(p, d)
	if !d.stored {
		// Nothing holds those bytes: they are the fill value's, and a
		// new fill value is theirs too.
		d.pages = map[int64][]byte{}
	}
}

// askStored sets whether the dataset holds data from the mount: after an
// fsync, whether du shows any.
func (s *session) askStored(p string, d *mDS) {
	fh, err := os.Open(s.mp(p))
	if !s.expect("open "+p, err, 0) {
		return
	}
	defer fh.Close()
	var st syscall.Stat_t
	if s.expect("fsync "+p, fh.Sync(), 0) && s.expect("stat "+p, syscall.Fstat(int(fh.Fd()), &st), 0) {
		d.stored = st.Blocks > 0
	}
}

// opDefine sets one of a dataset's user.h5.* properties.
func (s *session) opDefine() {
	p, l := s.pick("dataset")
	if l == nil {
		return
	}
	d := l.obj.ds
	var name, text string
	want := syscall.Errno(0)
	apply := func() {}
	s.syncStored(p, d)
	small := d.size() <= 1<<20 && d.rebuildable
	switch r := s.rng.Intn(12); {
	case r < 3: // dtype
		name = "user.h5.dtype"
		text = sessionTypes[s.rng.Intn(len(sessionTypes))]
		if s.rng.Intn(12) == 0 {
			text, want = "<x3", syscall.EINVAL
			break
		}
		item := itemSize(text)
		if !d.stored {
			apply = func() {
				d.dtype, d.item, d.chunks = text, item, ""
				d.fill, d.fillText = make([]byte, item), zeroText(text)
				d.pages = map[int64][]byte{}
			}
			break
		}
		if !small && text != d.dtype {
			return // a stored dataset the model does not hold whole
		}
		last := len(d.shape) - 1
		if lb := d.shape[last] * d.item; lb%item != 0 {
			want = syscall.EINVAL
			break
		}
		apply = func() {
			if text == d.dtype {
				return
			}
			d.materialize()
			d.shape[last] = d.shape[last] * d.item / item
			if d.maxshape[last] != -1 {
				d.maxshape[last] = d.maxshape[last] * d.item / item
			}
			d.dtype, d.item, d.chunks = text, item, ""
			d.fill, d.fillText = make([]byte, item), zeroText(text)
		}
	case r < 6: // shape
		name = "user.h5.shape"
		dims := s.randomShape(d)
		text = joinInts(dims)
		if s.rng.Intn(12) == 0 {
			text, want = "3,x", syscall.EINVAL
			break
		}
		if !d.stored {
			apply = func() {
				d.shape = dims
				mx := append([]int64(nil), dims...)
				if d.growable() {
					mx[0] = -1
				}
				d.maxshape, d.chunks = mx, ""
				d.pages = map[int64][]byte{}
			}
			break
		}
		n := d.item
		for _, x := range dims {
			n *= x
		}
		sameTail := len(dims) == len(d.shape)
		for i := 1; sameTail && i < len(dims); i++ {
			sameTail = dims[i] == d.shape[i]
		}
		switch {
		case sameTail && d.growable():
			apply = func() { d.resize(dims[0]) }
		case n != d.size():
			want = syscall.EINVAL
		case !small:
			return
		default:
			apply = func() {
				d.materialize()
				grow := d.growable()
				d.shape = dims
				d.maxshape = append([]int64(nil), dims...)
				if grow {
					d.maxshape[0] = -1
				}
				d.chunks = ""
			}
		}
	case r < 7: // maxshape
		name = "user.h5.maxshape"
		mx := make([]int64, len(d.shape))
		for i, x := range d.shape {
			switch s.rng.Intn(3) {
			case 0:
				mx[i] = -1
			case 1:
				mx[i] = x
			default:
				mx[i] = x + int64(s.rng.Intn(5))
			}
			if i == 0 && x == 0 || i == 0 && mx[i] > x {
				mx[i] = -1 // a first dimension grows without limit, or not at all
			}
		}
		text = joinInts(mx)
		if s.rng.Intn(8) == 0 && d.shape[0] > 0 {
			mx[0] = d.shape[0] - 1
			text, want = joinInts(mx), syscall.EINVAL
			break
		}
		if d.stored && !small {
			return
		}
		apply = func() { d.maxshape, d.chunks = mx, "" }
	case r < 9: // chunks
		name = "user.h5.chunks"
		ch := make([]int64, len(d.shape))
		n := d.item
		for i := len(d.shape) - 1; i >= 0; i-- {
			lim := d.shape[i]
			if d.maxshape[i] == -1 || lim == 0 {
				lim = max(lim, 64)
			}
			ch[i] = 1 + s.rng.Int63n(min(lim, max(1, (1<<18)/n)))
			n *= ch[i]
		}
		text = joinInts(ch)
		if s.rng.Intn(10) == 0 {
			text, want = joinInts(append(ch, 1)), syscall.EINVAL
			break
		}
		if d.stored && !small {
			return
		}
		apply = func() { d.chunks = text }
	case r < 11: // compression
		name = "user.h5.compression"
		c := compressionSpecs[s.rng.Intn(len(compressionSpecs))]
		text = c.set
		if s.rng.Intn(10) == 0 {
			text, want = []string{"bzip2", "gzip:12", "lz4:3", "snappy"}[s.rng.Intn(4)], syscall.EINVAL
			break
		}
		if d.stored && !small {
			return
		}
		apply = func() { d.compression, d.zstd = c.shown, zstdOutsideBlosc(c.set) }
	default: // fillvalue
		name = "user.h5.fillvalue"
		if d.stored {
			return // what a new fill value does to the bytes never written is left open
		}
		var v float64
		text, v, want = s.randomValue(d.dtype)
		apply = func() {
			d.fill, d.fillText = encodeElem(d.dtype, v), text
			if d.dtype[1] == 'f' {
				d.fillText = pyFloat(v)
			}
		}
	}
	// Setting a property to the value it has is a no-op.
	cur, err := getxattr(s.mp(p), name)
	if err == nil && string(cur) == text {
		want, apply = 0, func() {}
	}
	err = syscall.Setxattr(s.mp(p), name, []byte(text), 0)
	if s.expect(fmt.Sprintf("setfattr -n %s -v %q %s (%s %s, stored %v)", name, text, p, d.dtype, joinInts(d.shape), d.stored), err, want) && want == 0 {
		if !d.stored && string(cur) != text {
			d.stale = false // a new definition leaves no storage behind
		}
		apply()
		s.checkProps(p, d)
	}
}

func zeroText(dtype string) string {
	if dtype[1] == 'f' {
		return "0.0"
	}
	return "0"
}

// randomValue is the text of a value of dtype, the value, and the errno
// setting it gets (EINVAL out of range).
func (s *session) randomValue(dtype string) (string, float64, syscall.Errno) {
	if dtype[1] == 'f' {
		v := float64(s.rng.Intn(2001)-1000) / 8
		if s.rng.Intn(8) == 0 {
			return "many", 0, syscall.EINVAL
		}
		return pyFloat(v), v, 0
	}
	lo, hi := intRange(dtype)
	if s.rng.Intn(6) == 0 && hi < math.MaxInt64 {
		return strconv.FormatInt(hi+1, 10), 0, syscall.EINVAL
	}
	v := max(lo, min(hi, int64(s.rng.Intn(2001)-1000)))
	return strconv.FormatInt(v, 10), float64(v), 0
}

// randomShape is a shape of 1 to 3 dimensions: small, or now and then huge
// and sparse (2 TiB, as the seed).
func (s *session) randomShape(d *mDS) []int64 {
	if s.rng.Intn(6) == 0 {
		return []int64{1 << 20, 1024, 2048 / d.item} // 2 TiB
	}
	rank := 1 + s.rng.Intn(3)
	dims := make([]int64, rank)
	n := d.item
	for i := range dims {
		dims[i] = 1 + s.rng.Int63n(max(1, min(200, (1<<18)/n)))
		n *= dims[i]
	}
	if s.rng.Intn(5) == 0 && d.growable() {
		dims[0] = 0
	}
	return dims
}

// opWrite writes into a dataset: pwrite inside it, dd conv=notrunc, cp of
// a file of its size, or past its end.
func (s *session) opWrite() {
	p, l := s.pick("dataset")
	if l == nil {
		return
	}
	d := l.obj.ds
	size := d.size()
	switch r := s.rng.Intn(10); {
	case r < 5 && size > 0: // pwrite inside
		length := 1 + s.rng.Int63n(min(size, 1+s.rng.Int63n(20000)))
		off := s.rng.Int63n(size - length + 1)
		if size > 1<<30 && s.rng.Intn(2) == 0 { // near something written, or the end
			off = size - length
		}
		buf := randomBytes(s.rng, int(length))
		flag := []int{os.O_RDWR, os.O_WRONLY}[s.rng.Intn(2)]
		fh, err := os.OpenFile(s.mp(p), flag, 0)
		if !s.expect("open "+p, err, 0) {
			return
		}
		_, err = fh.WriteAt(buf, off)
		cerr := fh.Close()
		if s.expect(fmt.Sprintf("pwrite %s [%d, +%d)", p, off, length), err, 0) && s.expect("close", cerr, 0) {
			d.write(off, buf)
		}
	case r < 7 && size > 0: // dd conv=notrunc
		bs := int64(1 + s.rng.Intn(4096))
		count := 1 + s.rng.Int63n(max(1, min(8, size/bs)))
		if bs*count > size {
			bs, count = 1, min(size, 100)
		}
		seek := s.rng.Int63n(size/bs - count + 1)
		buf := randomBytes(s.rng, int(bs*count))
		src := filepath.Join(s.t.TempDir(), "dd")
		os.WriteFile(src, buf, 0o644)
		if s.expectTool(true, "dd", "if="+src, "of="+s.mp(p), fmt.Sprintf("bs=%d", bs), fmt.Sprintf("seek=%d", seek),
			"conv=notrunc", "status=none") {
			d.write(seek*bs, buf)
		}
	case r < 8 && size > 0 && size < 1<<20: // cp of a file of the same size over it
		buf := randomBytes(s.rng, int(size))
		src := filepath.Join(s.t.TempDir(), "same")
		os.WriteFile(src, buf, 0o644)
		if s.expectTool(true, "cp", src, s.mp(p)) { // O_TRUNC: ignored or a resize to 0, then the bytes
			if d.growable() {
				d.resize(0)
				d.shape[0] = size / d.rowBytes()
			}
			d.write(0, buf)
		}
	default: // past the end
		if size > 1<<40 {
			return
		}
		off := size + int64(s.rng.Intn(3000))
		if s.rng.Intn(3) == 0 {
			off = size
		}
		length := int64(1 + s.rng.Intn(9000))
		buf := randomBytes(s.rng, int(length))
		fh, err := os.OpenFile(s.mp(p), os.O_WRONLY, 0)
		if !s.expect("open "+p, err, 0) {
			return
		}
		_, err = fh.WriteAt(buf, off)
		cerr := fh.Close()
		what := fmt.Sprintf("pwrite %s past the end [%d, +%d) (shape %s, maxshape %s)", p, off, length, joinInts(d.shape), joinInts(d.maxshape))
		if !d.growable() || d.rowBytes() == 0 {
			s.expect(what, err, syscall.ENOSPC)
			return
		}
		if s.expect(what, err, 0) && s.expect("close", cerr, 0) {
			rb := d.rowBytes()
			d.resize((off + length + rb - 1) / rb)
			d.write(off, buf)
		}
	}
	s.checkSize(p, d)
}

func (s *session) opTruncate() {
	p, l := s.pick("dataset")
	if l == nil {
		return
	}
	d := l.obj.ds
	size := d.size()
	var to int64
	switch s.rng.Intn(4) {
	case 0:
		to = 0
	case 1:
		to = size
	case 2:
		to = size + d.rowBytes()*int64(s.rng.Intn(4))
	default:
		to = max(0, size-d.rowBytes()*int64(s.rng.Intn(4)))
		if s.rng.Intn(3) == 0 {
			to = max(0, size+int64(s.rng.Intn(7))-3)
		}
	}
	if size > 1<<40 {
		to = size
	}
	err := os.Truncate(s.mp(p), to)
	what := fmt.Sprintf("truncate -s %d %s (size %d, row %d bytes, maxshape %s)", to, p, size, d.rowBytes(), joinInts(d.maxshape))
	switch {
	case to == size:
		s.expect(what, err, 0)
	case !d.growable():
		if to == 0 {
			s.expect(what, err, 0) // as O_TRUNC: ignored
		} else {
			s.expect(what, err, syscall.EINVAL)
		}
	case d.rowBytes() == 0 || to%d.rowBytes() != 0:
		s.expect(what, err, syscall.EINVAL)
	default:
		if s.expect(what, err, 0) {
			d.resize(to / d.rowBytes())
			if d.stale && !d.stored && to > size {
				s.askStored(p, d)
			}
		}
	}
	s.checkSize(p, d)
}

// opAttr sets, replaces or removes an attribute.
func (s *session) opAttr() {
	p, l := s.pick("object")
	if l == nil {
		return
	}
	o := l.obj
	var names []string
	for n := range o.attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	mp := s.mp(p)
	switch r := s.rng.Intn(10); {
	case r < 4 || len(names) == 0: // a new attribute
		name := fmt.Sprintf("%s%d", []string{"a", "units", "ünï ", "-x", "long name"}[s.rng.Intn(5)], s.rng.Intn(30))
		if strings.HasPrefix(name, "h5.") || o.attrs[name] != nil {
			return
		}
		text, a := s.newAttrValue()
		flags := []int{0, 0, 1, 2}[s.rng.Intn(4)]
		err := syscall.Setxattr(mp, "user."+name, []byte(text), flags)
		what := fmt.Sprintf("setfattr -n user.%s -v %q %s (flags %d)", name, text, p, flags)
		if flags == 2 {
			s.expect(what, err, syscall.ENODATA)
			return
		}
		if s.expect(what, err, 0) {
			o.attrs[name] = a
		}
	case r < 8: // a new value of an existing attribute, in its own type
		name := names[s.rng.Intn(len(names))]
		a := o.attrs[name]
		text, shown, want := s.replaceValue(a)
		flags := []int{0, 0, 1, 2}[s.rng.Intn(4)]
		if want != 0 {
			flags = 0 // (which of EINVAL and EEXIST comes first is left open)
		}
		if flags == 1 {
			want = syscall.EEXIST
		}
		err := syscall.Setxattr(mp, "user."+name, []byte(text), flags)
		if s.expect(fmt.Sprintf("setfattr -n user.%s -v %q %s (%s[%d] %q, flags %d)", name, text, p, a.dtype, a.n, a.text, flags), err, want) && want == 0 {
			a.text = shown
		}
	default:
		name := names[s.rng.Intn(len(names))]
		if s.rng.Intn(4) == 0 {
			name += "-missing"
		}
		var err error
		if s.rng.Intn(2) == 0 {
			err = syscall.Removexattr(mp, "user."+name)
		} else if code, out := s.tool("setfattr", "-x", "user."+name, mp); code != 0 {
			err = errors.New(out)
			if strings.Contains(out, "No such attribute") {
				err = syscall.ENODATA
			}
		}
		if o.attrs[name] == nil {
			s.expect("setfattr -x user."+name+" "+p, err, syscall.ENODATA)
		} else if s.expect("setfattr -x user."+name+" "+p, err, 0) {
			delete(o.attrs, name)
		}
	}
	for _, name := range names {
		if a := o.attrs[name]; a != nil && s.rng.Intn(3) == 0 {
			s.checkAttr(p, name, a)
		}
	}
}

var sessionStrings = []string{"hello", "Grüße aus Köln", "x y", "日本語のテキスト", "a=b; c", "m/s", "[not json", "1.2.3", "-", "{\"x\": 1}"}

// newAttrValue is a new attribute's text and what the model then holds
// (SPEC §5's inference).
func (s *session) newAttrValue() (string, *mAttr) {
	switch s.rng.Intn(5) {
	case 0:
		v := s.rng.Int63() - s.rng.Int63()
		return strconv.FormatInt(v, 10), &mAttr{dtype: "<i8", text: strconv.FormatInt(v, 10)}
	case 1:
		v := float64(s.rng.Intn(2000001)-1000000) / 8
		return pyFloat(v), &mAttr{dtype: "<f8", text: pyFloat(v)}
	case 2:
		n := 1 + s.rng.Intn(5)
		xs, fs := make([]string, n), make([]string, n)
		float := s.rng.Intn(2) == 0
		for i := range xs {
			v := s.rng.Intn(2001) - 1000
			xs[i], fs[i] = strconv.Itoa(v), strconv.Itoa(v)
			if float && i == 0 {
				xs[i] = pyFloat(float64(v) + 0.5)
			}
			if float {
				fs[i] = pyFloat(float64(v))
				if i == 0 {
					fs[i] = pyFloat(float64(v) + 0.5)
				}
			}
		}
		sep := []string{", ", ","}[s.rng.Intn(2)]
		text := "[" + strings.Join(xs, sep) + "]"
		a := &mAttr{dtype: "<i8", n: n, text: "[" + strings.Join(fs, ", ") + "]"}
		if float {
			a.dtype = "<f8"
		}
		return text, a
	}
	str := sessionStrings[s.rng.Intn(len(sessionStrings))]
	return str, &mAttr{dtype: "|O", text: str}
}

// replaceValue is a new text for an existing attribute, what it then reads,
// and the errno (EINVAL when it does not fit the type).
func (s *session) replaceValue(a *mAttr) (text, shown string, want syscall.Errno) {
	kind := a.dtype[1]
	scalar := func() (string, string, syscall.Errno) {
		switch kind {
		case 'f':
			if s.rng.Intn(5) == 0 {
				v := s.rng.Intn(200) - 100
				return strconv.Itoa(v), pyFloat(float64(v)), 0
			}
			v := float64(s.rng.Intn(511)-255) / 4
			return pyFloat(v), pyFloat(v), 0
		case 'i', 'u':
			lo, hi := intRange(a.dtype)
			if s.rng.Intn(6) == 0 {
				if hi < math.MaxInt64 {
					return strconv.FormatInt(hi+1, 10), "", syscall.EINVAL
				}
				return "2.5", "", syscall.EINVAL
			}
			v := s.rng.Int63() - s.rng.Int63() // any int64
			if hi-lo > 0 {                     // (no overflow: a narrower type)
				v = lo + s.rng.Int63n(hi-lo+1)
			}
			return strconv.FormatInt(v, 10), strconv.FormatInt(v, 10), 0
		}
		return "", "", 0
	}
	switch {
	case a.dtype == "|O":
		str := sessionStrings[s.rng.Intn(len(sessionStrings))]
		if s.rng.Intn(3) == 0 {
			str = strconv.Itoa(s.rng.Intn(100)) // stays a string
		}
		return str, str, 0
	case kind == 'S':
		n := int(itemSize(a.dtype))
		str := []string{"ab", "wxyz", "toolongforit", "", "Q"}[s.rng.Intn(5)]
		if len(str) > n {
			return str, "", syscall.EINVAL
		}
		return str, str, 0
	case a.n == 0:
		if s.rng.Intn(8) == 0 {
			return "not a number", "", syscall.EINVAL
		}
		return scalar()
	}
	n := a.n
	if s.rng.Intn(6) == 0 {
		n++ // another shape
		want = syscall.EINVAL
	}
	xs, ys := make([]string, n), make([]string, n)
	for i := range xs {
		x, y, e := scalar()
		xs[i], ys[i] = x, y
		if e != 0 {
			want = e
		}
	}
	return "[" + strings.Join(xs, ", ") + "]", "[" + strings.Join(ys, ", ") + "]", want
}

func (s *session) opRead() {
	switch s.rng.Intn(4) {
	case 0: // ls of a group
		p, _ := s.pick("group")
		s.checkListing(p)
	case 1: // getfattr of everything
		p, l := s.pick("object")
		for name, a := range l.obj.attrs {
			s.checkAttr(p, name, a)
		}
		if l.obj.ds != nil {
			s.checkProps(p, l.obj.ds)
		}
	default: // a range of a dataset, perhaps through a soft link
		p, l := s.pick("any")
		if l == nil {
			return
		}
		s.looped = false
		o := s.resolve(p, 0)
		if o == nil {
			_, err := os.Stat(s.mp(p))
			if s.looped {
				s.expect("stat "+p+" (a cycle of soft links)", err, syscall.ELOOP)
			} else {
				s.expect("stat "+p+" (dangling)", err, syscall.ENOENT)
			}
			return
		}
		if o.ds == nil {
			return
		}
		s.checkRange(p, o.ds)
	}
}

func (s *session) checkRange(p string, d *mDS) {
	s.t.Helper()
	size := d.size()
	fh, err := os.Open(s.mp(p))
	if !s.expect("open "+p, err, 0) {
		return
	}
	defer fh.Close()
	n := min(size, 1+s.rng.Int63n(70000))
	off := int64(0)
	if size > n {
		off = s.rng.Int63n(size - n + 1)
		if len(d.pages) > 0 && s.rng.Intn(2) == 0 { // around something written
			for pg := range d.pages {
				off = max(0, min(size-n, pg*sessionPage-n/2))
				break
			}
		}
	}
	buf := make([]byte, n)
	got, err := fh.ReadAt(buf, off)
	if err != nil && !(errors.Is(err, io.EOF) && int64(got) == n) {
		s.errorf("read %s [%d, +%d): %d, %v", p, off, n, got, err)
		return
	}
	s.logf("read %s [%d, +%d)", p, off, n)
	if want := d.read(off, n); !bytes.Equal(buf, want) {
		at := firstDiff(buf, want)
		s.errorf("read %s [%d, +%d): bytes differ from the model at %d: % x, want % x", p, off, n, off+int64(at),
			buf[at:min(len(buf), at+16)], want[at:min(len(want), at+16)])
	}
	// Nothing past the end.
	if k, err := fh.ReadAt(make([]byte, 16), size); k != 0 || !errors.Is(err, io.EOF) {
		s.errorf("read %s at its end (%d): %d bytes, %v", p, size, k, err)
	}
}

func firstDiff(a, b []byte) int {
	for i := range a {
		if i >= len(b) || a[i] != b[i] {
			return i
		}
	}
	return len(a)
}

func (s *session) opFsync() {
	p, l := s.pick("any")
	if l == nil || (l.obj == nil && s.resolve(p, 0) == nil) {
		p = "/"
	}
	fh, err := os.Open(s.mp(p))
	if !s.expect("open "+p, err, 0) {
		return
	}
	s.expect("fsync "+p, fh.Sync(), 0)
	fh.Close()
}

func (s *session) opRemount() {
	s.verifyMount("before a remount")
	r := h5mountT(s.t, "unmount", s.mnt)
	s.logf("unmount: %v", r)
	if r.code != 0 {
		s.fatalf("unmount: %v", r)
	}
	s.mnt = mountT(s.t, s.file, s.opts...)
	s.logf("mount again at %s", s.mnt)
	s.verifyMount("after a remount")
}

// ---------------------------------------------------------------- checks

func (s *session) checkSize(p string, d *mDS) {
	s.t.Helper()
	st, err := os.Stat(s.mp(p))
	if err != nil {
		s.errorf("stat %s: %v", p, err)
	} else if st.Size() != d.size() {
		s.errorf("%s: size %d, want %d (shape %s of %s)", p, st.Size(), d.size(), joinInts(d.shape), d.dtype)
	}
}

func (s *session) checkProps(p string, d *mDS) {
	s.t.Helper()
	want := map[string]string{"user.h5.dtype": d.dtype, "user.h5.shape": joinInts(d.shape),
		"user.h5.maxshape": joinInts(d.maxshape), "user.h5.compression": d.compression,
		"user.h5.fillvalue": d.fillText, "user.h5.chunks": d.chunks}
	for name, w := range want {
		got, err := getxattr(s.mp(p), name)
		if err != nil {
			s.errorf("getfattr -n %s %s: %v", name, p, err)
		} else if string(got) != w && !(name == "user.h5.chunks" && w == "") {
			s.errorf("%s: %s = %q, want %q", p, name, got, w)
		}
	}
}

func (s *session) checkAttr(p, name string, a *mAttr) {
	s.t.Helper()
	got, err := getxattr(s.mp(p), "user."+name)
	if err != nil {
		s.errorf("getfattr -n user.%s %s: %v", name, p, err)
	} else if string(got) != a.text {
		s.errorf("%s: user.%s = %q, want %q (%s)", p, name, got, a.text, a.dtype)
	}
}

func (s *session) checkListing(p string) {
	s.t.Helper()
	o := s.resolve(p, 0)
	ents, err := os.ReadDir(s.mp(p))
	if err != nil {
		s.errorf("ls %s: %v", p, err)
		return
	}
	var got, want []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	for n := range o.kids {
		want = append(want, n)
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
		s.errorf("ls %s: %q, want %q", p, got, want)
	}
}

// verifyMount compares the whole mount with the model.
func (s *session) verifyMount(when string) {
	s.t.Helper()
	s.logf("verify the mount (%s)", when)
	s.checkListing("/")
	for name, a := range s.root.attrs {
		s.checkAttr("/", name, a)
	}
	inodes := map[*mObj]uint64{}
	for _, e := range s.walk() {
		st, err := os.Lstat(s.mp(e.path))
		if err != nil {
			s.errorf("%s: %s: %v", when, e.path, err)
			continue
		}
		l := e.link
		if l.obj == nil {
			got, err := os.Readlink(s.mp(e.path))
			if err != nil || path.Join(path.Dir(e.path), got) != l.soft {
				s.errorf("%s: readlink %s: %q (%v), want a path to %s", when, e.path, got, err, l.soft)
			}
			continue
		}
		for name, a := range l.obj.attrs {
			s.checkAttr(e.path, name, a)
		}
		if l.obj.group {
			if !st.IsDir() {
				s.errorf("%s: %s: mode %v, want a directory", when, e.path, st.Mode())
			} else {
				s.checkListing(e.path)
			}
			continue
		}
		d := l.obj.ds
		sys := st.Sys().(*syscall.Stat_t)
		if ino, ok := inodes[l.obj]; ok && ino != sys.Ino {
			s.errorf("%s: %s: inode %d, another name of it has %d", when, e.path, sys.Ino, ino)
		}
		inodes[l.obj] = sys.Ino
		if int(sys.Nlink) != l.obj.nlink {
			s.errorf("%s: %s: st_nlink %d, want %d", when, e.path, sys.Nlink, l.obj.nlink)
		}
		if st.Size() != d.size() {
			s.errorf("%s: %s: size %d, want %d", when, e.path, st.Size(), d.size())
			continue
		}
		s.checkProps(e.path, d)
		if d.size() <= 4<<20 {
			data, err := os.ReadFile(s.mp(e.path))
			if err != nil || !bytes.Equal(data, d.read(0, d.size())) {
				s.errorf("%s: %s: bytes differ from the model (%v; %d bytes, first difference at %d: % x, want % x)", when, e.path, err, len(data), firstDiff(data, d.read(0, d.size())), data[:min(8, len(data))], d.read(0, min(8, d.size())))
			}
		} else {
			for _, w := range s.windows(d) {
				s.checkWindow(e.path, d, w[0], w[1])
			}
		}
	}
}

// windows are the byte ranges of a large dataset to compare: every page
// written and its neighbourhood, the start and the end.
func (s *session) windows(d *mDS) [][2]int64 {
	size := d.size()
	ws := [][2]int64{{0, min(size, 1<<16)}, {max(0, size-1<<16), min(size, 1<<16)}}
	var pages []int64
	for p := range d.pages {
		pages = append(pages, p)
	}
	sort.Slice(pages, func(i, j int) bool { return pages[i] < pages[j] })
	for _, p := range pages {
		start := max(0, p*sessionPage-sessionPage)
		end := min(size, p*sessionPage+2*sessionPage)
		if end > start {
			ws = append(ws, [2]int64{start, end - start})
		}
	}
	return ws
}

func (s *session) checkWindow(p string, d *mDS, off, n int64) {
	fh, err := os.Open(s.mp(p))
	if err != nil {
		s.errorf("open %s: %v", p, err)
		return
	}
	defer fh.Close()
	buf := make([]byte, n)
	if _, err := fh.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
		s.errorf("read %s [%d, +%d): %v", p, off, n, err)
	} else if !bytes.Equal(buf, d.read(off, n)) {
		s.errorf("read %s [%d, +%d): differs from the model at %d", p, off, n, off+int64(firstDiff(buf, d.read(off, n))))
	}
}

// checkLibhdf5 has libhdf5 read the unmounted file: scripts/dump_ref.py
// against the model (bytes, attributes, properties, links) and h5dump. It
// returns the dump.
func (s *session) checkLibhdf5() map[string]*dumpEntry {
	args := []string{"scripts/dump_ref.py", "--no-h5debug", s.file}
	zstd, big := false, false
	for _, e := range s.walk() {
		if e.link.obj == nil || e.link.obj.ds == nil {
			continue
		}
		d := e.link.obj.ds
		zstd = zstd || d.zstd
		if d.size() > 64<<20 && !d.zstd { // (no reference for its values, see run)
			big = true
			for _, w := range s.windows(d) {
				args = append(args, "--window", fmt.Sprintf("%s:%d:%d", e.path, w[0], w[1]))
			}
		}
	}
	out, err := exec.Command("/usr/bin/python3", args...).Output()
	if err != nil {
		s.fatalf("dump_ref.py: %v", err)
	}
	var dump map[string]*dumpEntry
	if err := json.Unmarshal(out, &dump); err != nil {
		s.fatalf("dump_ref.py: %v", err)
	}
	if root := dump["/"]; root == nil || root.Kind != "group" || root.Error != "" {
		s.fatalf("libhdf5 does not open the file: %+v", root)
	}
	s.compareDump(dump)
	hargs := []string{s.file}
	if zstd || big {
		hargs = []string{"-H", s.file} // no Zstandard in this libhdf5; 2 TiB is not printed
	}
	if out, err := exec.Command("h5dump", hargs...).CombinedOutput(); err != nil {
		tail := out
		if len(tail) > 2000 {
			tail = tail[len(tail)-2000:]
		}
		s.errorf("h5dump %q: %v\n...%s", hargs, err, tail)
	}
	// libhdf5 2.0 checks more than 1.10 does: it must read the file too.
	for msg, obj := range libhdf5v2ReadErrors(s.t, []string{s.file})[s.file] {
		if !h5wasmLimit(msg) {
			s.errorf("libhdf5 2.0: %s: %s", obj, msg)
		}
	}
	return dump
}

// compareDump compares libhdf5's view of the file with the model.
func (s *session) compareDump(dump map[string]*dumpEntry) {
	s.t.Helper()
	addrs := map[*mObj]uint64{}
	check := func(p string, o *mObj, e *dumpEntry) {
		for name, a := range o.attrs {
			got, ok := e.Attrs[name]
			switch {
			case !ok:
				s.errorf("libhdf5: %s: attribute %q missing (want %q)", p, name, a.text)
			case got.Text == nil || *got.Text != a.text || got.Dtype != a.dtype:
				s.errorf("libhdf5: %s: attribute %q reads %s (%s, %s), want %q (%s)", p, name, strp(got.Text), got.Dtype, got.Error, a.text, a.dtype)
			}
		}
		for name := range e.Attrs {
			if o.attrs[name] == nil {
				s.errorf("libhdf5: %s: attribute %q, which the model does not have", p, name)
			}
		}
	}
	root := dump["/"]
	check("/", s.root, root)
	s.compareMembers("/", s.root, root)
	for _, me := range s.walk() {
		p, l := me.path, me.link
		e := dump[p]
		if e == nil {
			s.errorf("libhdf5: %s missing", p)
			continue
		}
		if l.obj == nil {
			if e.Kind != "softlink" || e.Target != l.soft {
				s.errorf("libhdf5: %s: %s to %q, want a soft link to %q", p, e.Kind, e.Target, l.soft)
			}
			continue
		}
		if a, ok := addrs[l.obj]; ok && a != e.Addr {
			s.errorf("libhdf5: %s: object at %d, another name of it is at %d", p, e.Addr, a)
		}
		addrs[l.obj] = e.Addr
		if e.HardlinkOf != "" {
			continue
		}
		check(p, l.obj, e)
		if l.obj.group {
			if e.Kind != "group" {
				s.errorf("libhdf5: %s: a %s, want a group", p, e.Kind)
			} else {
				s.compareMembers(p, l.obj, e)
			}
			continue
		}
		d := l.obj.ds
		if e.Kind != "dataset" {
			s.errorf("libhdf5: %s: a %s, want a dataset", p, e.Kind)
			continue
		}
		if e.Nlink != l.obj.nlink {
			s.errorf("libhdf5: %s: %d links, want %d", p, e.Nlink, l.obj.nlink)
		}
		want := map[string]string{"user.h5.dtype": d.dtype, "user.h5.shape": joinInts(d.shape),
			"user.h5.maxshape": joinInts(d.maxshape), "user.h5.compression": d.compression,
			"user.h5.fillvalue": d.fillText, "user.h5.chunks": d.chunks}
		for name, w := range want {
			if got := e.Props[name]; got == nil || (*got != w && !(name == "user.h5.chunks" && w == "")) {
				s.errorf("libhdf5: %s: %s = %s, want %q (%s)", p, name, strp(got), w, e.Error)
			}
		}
		if d.zstd {
			continue // this libhdf5 has no Zstandard filter
		}
		if e.Error != "" {
			s.errorf("libhdf5: %s: %s", p, e.Error)
			continue
		}
		if e.SHA256 != nil {
			if w := sha256Hex(d.read(0, d.size())); *e.SHA256 != w {
				s.errorf("libhdf5: %s: sha256 %s, want %s (%d bytes)", p, *e.SHA256, w, d.size())
			}
			continue
		}
		ws := s.windows(d)
		for _, w := range e.Windows {
			if got := sha256Hex(d.read(w.Offset, w.Length)); got != w.SHA256 {
				s.errorf("libhdf5: %s: window [%d, +%d) differs from the model", p, w.Offset, w.Length)
			}
		}
		if len(e.Windows) < len(ws) {
			s.errorf("libhdf5: %s: %d windows read, want at least %d", p, len(e.Windows), len(ws))
		}
	}
}

func (s *session) compareMembers(p string, o *mObj, e *dumpEntry) {
	var want []string
	for n := range o.kids {
		want = append(want, n)
	}
	got := append([]string(nil), e.Members...)
	sort.Strings(want)
	sort.Strings(got)
	if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
		s.errorf("libhdf5: %s: members %q, want %q", p, got, want)
	}
}
