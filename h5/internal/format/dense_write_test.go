package format

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// Round trips through libhdf5: h5py (libhdf5 1.10.8) writes files with
// dense groups and dense attributes, the editors change them through an
// os.File-backed Space, and h5py and h5dump must then see exactly the
// links and attributes expected.

const systemPython = "/usr/bin/python3" // Debian's, with h5py; not the one on PATH

// runPython runs a Python script with h5py and returns its standard output.
func runPython(t *testing.T, script string, args ...string) []byte {
	t.Helper()
	if _, err := os.Stat(systemPython); err != nil {
		t.Fatalf("%s is needed to judge files with libhdf5: %v", systemPython, err)
	}
	cmd := exec.Command(systemPython, append([]string{"-c", script}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, stderr.String())
	}
	return out
}

// runH5dump runs h5dump with args and returns its output; it must succeed.
func runH5dump(t *testing.T, args ...string) string {
	t.Helper()
	path, err := exec.LookPath("h5dump")
	if err != nil {
		t.Fatalf("h5dump is needed to judge files: %v", err)
	}
	out, err := exec.Command(path, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("h5dump %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// fileSpace is a Space over an HDF5 file: it allocates at the end of the
// file and never reuses what is freed.
type fileSpace struct {
	f   *os.File
	r   *Reader
	sb  *Superblock
	eof uint64 // relative
}

func openFileSpace(t *testing.T, path string) *fileSpace {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	sb, err := FindSuperblock(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	s := &fileSpace{f: f, sb: sb, eof: sb.EOFAddr,
		r: &Reader{R: f, Size: st.Size(), Base: sb.BaseAddr, Sizes: sb.Sizes}}
	if end := uint64(st.Size()) - sb.BaseAddr; end > s.eof {
		s.eof = end
	}
	return s
}

func (s *fileSpace) Alloc(n uint64) (uint64, error) {
	a := s.eof
	s.eof += n
	s.r.Grow(int64(s.sb.BaseAddr + s.eof))
	return a, nil
}

func (s *fileSpace) Free(addr, n uint64) {}

func (s *fileSpace) WriteAt(p []byte, addr uint64) error {
	_, err := s.f.WriteAt(p, int64(s.sb.BaseAddr+addr))
	return err
}

// close records the new end of file in the superblock.
func (s *fileSpace) close(t *testing.T) {
	t.Helper()
	if _, err := s.f.WriteAt(s.sb.EncodeWithEOF(s.eof), int64(s.sb.Addr)); err != nil {
		t.Fatal(err)
	}
	if err := s.f.Truncate(int64(s.sb.BaseAddr + s.eof)); err != nil {
		t.Fatal(err)
	}
	if err := s.f.Close(); err != nil {
		t.Fatal(err)
	}
}

// testLinkMsg encodes a hard link message (version 1), with its creation
// order when order >= 0.
func testLinkMsg(name string, addr uint64, order int64, sizes Sizes) []byte {
	e := &Encoder{Sizes: sizes}
	e.U8(1)
	flags := uint8(0)
	if len(name) > 255 {
		flags = 1
	}
	if order >= 0 {
		flags |= 0x04
	}
	e.U8(flags)
	if order >= 0 {
		e.U64(uint64(order))
	}
	e.Uint(uint64(len(name)), 1<<(flags&3))
	e.Bytes([]byte(name))
	e.Offset(addr)
	return e.Buf
}

// attrValues are the int32 values of a test attribute, as the Python
// side computes them too.
func attrValues(n, seed int) []int32 {
	v := make([]int32, n)
	for i := range v {
		v[i] = int32((seed*31 + i*7) % 2147483647)
	}
	return v
}

// testAttrMsg encodes an attribute message (version 3) holding a 1-D
// little-endian int32 array.
func testAttrMsg(name string, vals []int32, sizes Sizes) []byte {
	dt := []byte{0x10, 0x08, 0, 0, 4, 0, 0, 0, 0, 0, 32, 0}
	ds := []byte{2, 1, 0, 1}
	ds = binary.LittleEndian.AppendUint64(ds, uint64(len(vals)))
	e := &Encoder{Sizes: sizes}
	e.U8(3)
	e.U8(0)
	e.U16(uint16(len(name) + 1))
	e.U16(uint16(len(dt)))
	e.U16(uint16(len(ds)))
	e.U8(0)
	e.Bytes(append([]byte(name), 0))
	e.Bytes(dt)
	e.Bytes(ds)
	for _, v := range vals {
		e.U32(uint32(v))
	}
	return e.Buf
}

// replaceInfoMessage rewrites the (only) message of type typ in the object
// header at addr, keeping its flags.
func replaceInfoMessage(t *testing.T, fs *fileSpace, addr uint64, typ uint16, body []byte, drop func(m *Message) bool) {
	t.Helper()
	hdr, err := ReadObjectHeader(fs.r, addr)
	if err != nil {
		t.Fatal(err)
	}
	ed, err := EditObjectHeader(fs.r, hdr)
	if err != nil {
		t.Fatal(err)
	}
	if drop != nil {
		ed.Remove(func(typ uint16, data []byte) bool { return drop(&Message{Type: typ, Data: data}) })
	}
	if m := hdr.Find(typ); m != nil {
		ok, err := ed.Replace(fs, typ, func([]byte) bool { return true }, NewMessage{Type: typ, Flags: m.Flags, Data: body})
		if err != nil || !ok {
			t.Fatalf("replace message %d: %v %v", typ, ok, err)
		}
	} else if err := ed.Add(fs, NewMessage{Type: typ, Data: body}); err != nil {
		t.Fatal(err)
	}
	if err := ed.Commit(fs); err != nil {
		t.Fatal(err)
	}
}

const genDenseLinksPy = `
import h5py, numpy as np, sys, json, random
random.seed(7)
out = {}
with h5py.File(sys.argv[1], 'w', libver='latest') as f:
    d = f.create_dataset('data', data=np.arange(10))
    out['data'] = h5py.h5o.get_info(d.id).addr
    groups = {}
    g = f.create_group('plain')
    names = ['orig%03d_%s' % (i, 'x' * random.randint(0, 40)) for i in range(100)]
    for n in names:
        g[n] = d
    groups['plain'] = names
    g = f.create_group('ordered', track_order=True)
    names = ['ord%03d' % i for i in range(100)]
    random.shuffle(names)
    for n in names:
        g[n] = d
    groups['ordered'] = names
    f.create_group('empty', track_order=True)
    groups['empty'] = []
    out['groups'] = {k: {'addr': h5py.h5o.get_info(f[k].id).addr, 'names': v} for k, v in groups.items()}
print(json.dumps(out))
`

const checkDenseLinksPy = `
import h5py, sys, json
want = json.load(open(sys.argv[2]))
bad = []
with h5py.File(sys.argv[1], 'r') as f:
    data = h5py.h5o.get_info(f['data'].id).addr
    for gname, names in want.items():
        g = f[gname]
        got = list(g.keys())
        if got != names:
            bad.append('%s: %d names listed, want %d; first difference at %s' % (gname, len(got), len(names),
                next((i for i, (a, b) in enumerate(zip(got, names)) if a != b), min(len(got), len(names)))))
        for n in names:
            l = g.get(n, getlink=True)
            if not isinstance(l, h5py.HardLink) or h5py.h5o.get_info(g[n].id).addr != data:
                bad.append('%s/%s: not a hard link to /data' % (gname, n[:40]))
                break
        print(gname, len(got))
for b in bad:
    print('BAD', b)
`

// libhdf5EditsLinksPy has libhdf5 carry on: in each group 40 new links,
// 40 random ones deleted; it prints the names each group then lists.
const libhdf5EditsLinksPy = `
import h5py, sys, json, random
rnd = random.Random(1)
want = json.load(open(sys.argv[2]))
out = {}
with h5py.File(sys.argv[1], 'a') as f:
    d = f['data']
    for gname, names in sorted(want.items()):
        g = f[gname]
        gone = set(rnd.sample(names, 40))
        for n in sorted(gone):
            del g[n]
        added = ['lib%03d_%s' % (i, gname) for i in range(40)]
        for n in added:
            g[n] = d
        names = [n for n in names if n not in gone] + added
        if not g.id.get_create_plist().get_link_creation_order():
            names.sort()
        out[gname] = names
with h5py.File(sys.argv[1], 'r') as f:
    for gname, names in out.items():
        if list(f[gname].keys()) != names:
            print('BAD', gname)
print(json.dumps(out))
`

// linkGroup is a group under test: its live links in creation order.
type linkGroup struct {
	name  string
	addr  uint64
	order []string
}

// editDenseLinks is one session of edits of a group's dense links:
// inserts of n new names (prefix and a random tail; one of them with a
// two-byte name length, two bigger than any managed heap object), random
// removals of a third of all links, a fifth of those put back, then the
// link info message rewritten with the next creation order.
func editDenseLinks(t *testing.T, fs *fileSpace, data uint64, g *linkGroup, rng *rand.Rand, n int, prefix string) {
	t.Helper()
	r := fs.r
	li := linkInfoAt(t, r, g.addr)
	created := false
	if li.HeapAddr == Undefined {
		if err := CreateDenseLinks(r, fs, li); err != nil {
			t.Fatal(err)
		}
		if li.HeapAddr == Undefined || li.NameIndexAddr == Undefined || (li.OrderIndexAddr == Undefined) != (li.Flags&2 == 0) {
			t.Fatalf("%s: dense storage at %+v", g.name, li)
		}
		created = true
	}
	dl, err := OpenDenseLinks(r, li)
	if err != nil {
		t.Fatal(err)
	}
	tracked := li.Flags&1 != 0
	next := int64(li.MaxCreationIndex)
	live := map[string]bool{}
	for _, name := range g.order {
		live[name] = true
	}
	insert := func(name string) {
		t.Helper()
		order := int64(-1)
		if tracked {
			order = next
		}
		if err := dl.Insert(fs, name, testLinkMsg(name, data, order, r.Sizes), order); err != nil {
			t.Fatalf("%s: insert %.30q: %v", g.name, name, err)
		}
		if tracked {
			next++
		}
		g.order = append(g.order, name)
		live[name] = true
	}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("%s%05d_%s", prefix, rng.Intn(100000), strings.Repeat("abcdefghij", rng.Intn(30)))
		switch i {
		case 100:
			name += strings.Repeat("L", 300)
		case 300, 700:
			name += strings.Repeat("H", 5000)
		}
		if !live[name] {
			insert(name)
		}
	}
	if err := dl.Insert(fs, g.order[0], testLinkMsg(g.order[0], data, max(next, 0), r.Sizes), max(next, 0)); !errors.Is(err, ErrExists) {
		t.Fatalf("%s: inserting %.30q again: %v", g.name, g.order[0], err)
	}
	if _, err := dl.Remove(fs, "no such link"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("%s: removing an absent link: %v", g.name, err)
	}
	var removed, kept []string
	for _, name := range g.order {
		if rng.Intn(100) >= 33 {
			kept = append(kept, name)
			continue
		}
		msg, err := dl.Remove(fs, name)
		if err != nil {
			t.Fatalf("%s: remove %.30q: %v", g.name, name, err)
		}
		if l, err := DecodeLink(msg, 0, r.Sizes); err != nil || l.Name != name || l.Addr != data {
			t.Fatalf("%s: removing %.30q gave back %+v %v", g.name, name, l, err)
		}
		delete(live, name)
		removed = append(removed, name)
	}
	g.order = kept
	for _, name := range removed[:len(removed)/5] {
		insert(name)
	}
	if tracked || created {
		li.MaxCreationIndex = uint64(next)
		replaceInfoMessage(t, fs, g.addr, MsgLinkInfo, EncodeLinkInfo(li, r.Sizes), nil)
	}
	// Our reader sees the same.
	var got []string
	if err := WalkDenseLinks(r, linkInfoAt(t, r, g.addr), tracked, func(l *Link) error {
		got = append(got, l.Name)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, "/") != strings.Join(g.listing(tracked), "/") {
		t.Fatalf("%s: reader walks %d links, want %d", g.name, len(got), len(g.order))
	}
	h, err := ReadFractalHeap(r, li.HeapAddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %d links, heap: %d managed and %d huge objects, root %d rows", g.name, len(g.order), h.ManagedObjects, h.HugeObjects, h.RootRows)
}

// listing is the order h5py lists a group's links in.
func (g *linkGroup) listing(tracked bool) []string {
	out := append([]string(nil), g.order...)
	if !tracked {
		sort.Strings(out)
	}
	return out
}

// setRefCount makes the object header's reference count n.
func setRefCount(t *testing.T, fs *fileSpace, addr uint64, n uint32) {
	t.Helper()
	hdr, err := ReadObjectHeader(fs.r, addr)
	if err != nil {
		t.Fatal(err)
	}
	ed, err := EditObjectHeader(fs.r, hdr)
	if err != nil {
		t.Fatal(err)
	}
	if err := ed.SetRefCount(fs, n); err != nil {
		t.Fatal(err)
	}
	if err := ed.Commit(fs); err != nil {
		t.Fatal(err)
	}
}

func writeJSON(t *testing.T, v any) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "want.json")
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestDenseLinksLibhdf5 edits the dense groups of an h5py file, one plain
// and one tracking creation order, and converts an empty compact group to
// dense storage: thousands of hard links inserted (names up to 5000 bytes:
// huge heap objects), random ones removed, some put back. h5py must then
// list exactly the expected names, in creation order where tracked, each a
// hard link to /data. libhdf5 then carries on editing the same groups (its
// own heap free-space manager and blocks after ours), and a second session
// here edits them again; h5py and h5dump -n must agree at every step.
func TestDenseLinksLibhdf5(t *testing.T) {
	path := filepath.Join(t.TempDir(), "links.h5")
	var info struct {
		Data   uint64 `json:"data"`
		Groups map[string]struct {
			Addr  uint64   `json:"addr"`
			Names []string `json:"names"`
		} `json:"groups"`
	}
	if err := json.Unmarshal(runPython(t, genDenseLinksPy, path), &info); err != nil {
		t.Fatal(err)
	}
	var groups []*linkGroup
	for _, name := range []string{"plain", "ordered", "empty"} {
		g := info.Groups[name]
		groups = append(groups, &linkGroup{name: name, addr: g.Addr, order: g.Names})
	}
	rng := rand.New(rand.NewSource(3))
	session := func(n int, prefix string) {
		fs := openFileSpace(t, path)
		links := uint32(1)
		for _, g := range groups {
			editDenseLinks(t, fs, info.Data, g, rng, n, prefix)
			links += uint32(len(g.order))
		}
		setRefCount(t, fs, info.Data, links)
		fs.close(t)
	}
	check := func() {
		want := map[string][]string{}
		for _, g := range groups {
			want[g.name] = g.listing(g.name != "plain")
		}
		out := string(runPython(t, checkDenseLinksPy, path, writeJSON(t, want)))
		if strings.Contains(out, "BAD") {
			t.Fatalf("h5py:\n%s", out)
		}
		for g, names := range want {
			if !strings.Contains(out, fmt.Sprintf("%s %d\n", g, len(names))) {
				t.Errorf("h5py did not list %d links in %s:\n%s", len(names), g, out)
			}
		}
		dump := runH5dump(t, "-n", path)
		for g, names := range want {
			if n := strings.Count(dump, " /"+g+"/"); n != len(names) {
				t.Errorf("h5dump -n lists %d links in /%s, want %d", n, g, len(names))
			}
		}
	}
	session(2000, "new")
	check()

	// libhdf5 edits the groups in its turn.
	want := map[string][]string{}
	for _, g := range groups {
		want[g.name] = g.order
	}
	var after map[string][]string
	out := runPython(t, libhdf5EditsLinksPy, path, writeJSON(t, want))
	if bytes.Contains(out, []byte("BAD")) {
		t.Fatalf("libhdf5 lost track of its own edits:\n%s", out)
	}
	if err := json.Unmarshal(out, &after); err != nil {
		t.Fatal(err)
	}
	managers := 0
	for _, g := range groups {
		g.order = after[g.name]
		if heapOf(t, path, linkInfoAt(t, openBytes(t, readFile(t, path)), g.addr).HeapAddr).FreeSpaceManagerAddr != Undefined {
			managers++
		}
	}
	if managers == 0 {
		t.Error("libhdf5 left no free-space manager to take over")
	}
	session(500, "again")
	check()
	for _, g := range groups {
		if a := heapOf(t, path, linkInfoAt(t, openBytes(t, readFile(t, path)), g.addr).HeapAddr).FreeSpaceManagerAddr; a != Undefined {
			t.Errorf("%s: the heap still has libhdf5's free-space manager at 0x%x", g.name, a)
		}
	}
}

// heapOf reads the fractal heap header at addr of the file at path.
func heapOf(t *testing.T, path string, addr uint64) *FractalHeap {
	t.Helper()
	h, err := ReadFractalHeap(openBytes(t, readFile(t, path)), addr)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

const genDenseRemovePy = `
import h5py, numpy as np, sys, json, random, shutil
random.seed(11)
with h5py.File(sys.argv[1], 'w', libver='latest') as f:
    d = f.create_dataset('data', data=np.arange(10))
    g = f.create_group('big', track_order=True)
    names = ['n%05d_%s' % (i, 'y' * random.randint(0, 60)) for i in range(3000)]
    random.shuffle(names)
    for n in names:
        g[n] = d
    addr = h5py.h5o.get_info(g.id).addr
shutil.copy(sys.argv[1], sys.argv[2])
gone = random.sample(names, 2600)
with h5py.File(sys.argv[2], 'a') as f:
    g = f['big']
    for n in gone:
        del g[n]
print(json.dumps({'addr': addr, 'gone': gone}))
`

// TestDenseRemoveMatchesLibhdf5 removes the same 2600 of 3000 links from
// a dense group (name and creation order indexes of depth 1 or more) in
// libhdf5 and here: both indexes must come out node for node identical
// (records, child pointers and counts), as removal with libhdf5's merges
// and redistributions leaves them.
func TestDenseRemoveMatchesLibhdf5(t *testing.T) {
	dir := t.TempDir()
	ours, theirs := filepath.Join(dir, "ours.h5"), filepath.Join(dir, "theirs.h5")
	var info struct {
		Addr uint64   `json:"addr"`
		Gone []string `json:"gone"`
	}
	if err := json.Unmarshal(runPython(t, genDenseRemovePy, ours, theirs), &info); err != nil {
		t.Fatal(err)
	}
	fs := openFileSpace(t, ours)
	li := linkInfoAt(t, fs.r, info.Addr)
	before, err := ReadBTree2(fs.r, li.NameIndexAddr)
	if err != nil {
		t.Fatal(err)
	}
	if before.Depth < 1 {
		t.Fatalf("name index of depth %d", before.Depth)
	}
	dl, err := OpenDenseLinks(fs.r, li)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range info.Gone {
		if _, err := dl.Remove(fs, n); err != nil {
			t.Fatalf("remove %q: %v", n, err)
		}
	}
	fs.close(t)
	a, b := openBytes(t, readFile(t, ours)), openBytes(t, readFile(t, theirs))
	la, lb := linkInfoAt(t, a, info.Addr), linkInfoAt(t, b, info.Addr)
	for _, idx := range [][2]uint64{{la.NameIndexAddr, lb.NameIndexAddr}, {la.OrderIndexAddr, lb.OrderIndexAddr}} {
		ta, tb := dumpBTree2(t, a, idx[0]), dumpBTree2(t, b, idx[1])
		if ta != tb {
			t.Errorf("index at 0x%x differs from libhdf5's:\nours:\n%.3000s\nlibhdf5:\n%.3000s", idx[0], ta, tb)
		}
	}
	t.Logf("name index depth %d with %d records before, libhdf5 and we agree after removing %d", before.Depth, before.TotalRecords, len(info.Gone))
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// dumpBTree2 describes a v2 B-tree from the file: header, then every node
// in depth-first order with its records and child pointers.
func dumpBTree2(t *testing.T, r *Reader, addr uint64) string {
	t.Helper()
	b, err := ReadBTree2(r, addr)
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "depth %d root 0x%x/%d total %d\n", b.Depth, b.RootAddr, b.RootRecords, b.TotalRecords)
	root, ok, depth, levels := b.root()
	if !ok {
		return sb.String()
	}
	var walk func(p btree2Ptr, d uint16)
	walk = func(p btree2Ptr, d uint16) {
		n, err := b.readNode(p, d, levels)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&sb, "node 0x%x depth %d: %d records %x\n", p.addr, d, len(n.records), n.records)
		for _, c := range n.children {
			fmt.Fprintf(&sb, "  child 0x%x %d/%d\n", c.addr, c.records, c.total)
		}
		for _, c := range n.children {
			walk(c, d-1)
		}
	}
	walk(root, depth)
	return sb.String()
}

const genDenseAttrsPy = `
import h5py, numpy as np, sys, json
out = {}
with h5py.File(sys.argv[1], 'w', libver='latest') as f:
    def vals(n, seed):
        return ((seed * 31 + np.arange(n, dtype=np.int64) * 7) % 2147483647).astype('<i4')
    a = f.create_dataset('plain', data=np.arange(4))
    for i in range(50):
        a.attrs['orig%02d' % i] = vals(i + 1, i)
    o = f.create_dataset('ordered', data=np.arange(4), track_order=True)
    for i in reversed(range(50)):
        o.attrs['orig%02d' % i] = vals(i + 1, i)
    c = f.create_dataset('compact', data=np.arange(4), track_order=True)
    c.attrs['first'] = vals(3, 1000)
    for k in ('plain', 'ordered', 'compact'):
        out[k] = h5py.h5o.get_info(f[k].id).addr
print(json.dumps(out))
`

const checkDenseAttrsPy = `
import h5py, numpy as np, sys, json
want = json.load(open(sys.argv[2]))
def vals(n, seed):
    return ((seed * 31 + np.arange(n, dtype=np.int64) * 7) % 2147483647).astype('<i4')
with h5py.File(sys.argv[1], 'r') as f:
    for dname, attrs in want.items():
        d = f[dname]
        got = list(d.attrs.keys())
        names = [a[0] for a in attrs]
        if got != names:
            print('BAD %s: %d attributes listed, want %d' % (dname, len(got), len(names)))
        for name, n, seed in attrs:
            v = d.attrs[name]
            if v.dtype != np.dtype('<i4') or not np.array_equal(v, vals(n, seed)):
                print('BAD %s/%s: %d values differ' % (dname, name, n))
        print(dname, len(got))
`

// libhdf5EditsAttrsPy has libhdf5 carry on: per dataset 20 attributes
// deleted, 10 rewritten in place (same shape), 20 added (one of 80 KB);
// it prints each dataset's attributes in listing order.
const libhdf5EditsAttrsPy = `
import h5py, numpy as np, sys, json, random
rnd = random.Random(2)
def vals(n, seed):
    return ((seed * 31 + np.arange(n, dtype=np.int64) * 7) % 2147483647).astype('<i4')
want = json.load(open(sys.argv[2]))
out = {}
with h5py.File(sys.argv[1], 'a') as f:
    for dname, attrs in sorted(want.items()):
        d = f[dname]
        gone = set(rnd.sample([a[0] for a in attrs], 20))
        for n in sorted(gone):
            del d.attrs[n]
        attrs = [a for a in attrs if a[0] not in gone]
        for a in rnd.sample(attrs, 10):
            a[2] += 1
            d.attrs.modify(a[0], vals(a[1], a[2]))
        for i in range(20):
            a = ['lib%02d' % i, 20000 if i == 5 else 1 + i * 37, 9000 + i]
            d.attrs[a[0]] = vals(a[1], a[2])
            attrs.append(a)
        if not d.id.get_create_plist().get_attr_creation_order():
            attrs.sort()
        out[dname] = attrs
print(json.dumps(out))
`

// attrObject is a dataset under test: its live attributes in creation
// order (name, values, creation order).
type attrObject struct {
	name  string
	addr  uint64
	attrs []*testAttr
}

type testAttr struct {
	name    string
	n, seed int
	order   int
}

// listing is [name, count, seed] in the order h5py lists them.
func (o *attrObject) listing(tracked bool) [][3]any {
	list := append([]*testAttr(nil), o.attrs...)
	if !tracked {
		sort.Slice(list, func(i, j int) bool { return list[i].name < list[j].name })
	}
	var out [][3]any
	for _, a := range list {
		out = append(out, [3]any{a.name, a.n, a.seed})
	}
	return out
}

// editDenseAttributes is one session of edits of an object's dense
// attributes (moving a compact one in first, when there is no dense
// storage): 300 inserts of values from 4 bytes to 80 KB (managed and huge
// heap objects), random removals, and replacements by values of the same
// size (in place) or another (small to huge and back).
func editDenseAttributes(t *testing.T, fs *fileSpace, o *attrObject, rng *rand.Rand, prefix string) {
	t.Helper()
	r := fs.r
	ai := attrInfoAt(t, r, o.addr)
	if ai.HeapAddr == Undefined {
		hdr, err := ReadObjectHeader(r, o.addr)
		if err != nil {
			t.Fatal(err)
		}
		m := hdr.Find(MsgAttribute)
		if m == nil || len(o.attrs) != 1 {
			t.Fatalf("%s: compact attribute missing", o.name)
		}
		body := append([]byte(nil), m.Data...)
		if err := CreateDenseAttributes(r, fs, ai); err != nil {
			t.Fatal(err)
		}
		if err := InsertDenseAttribute(r, fs, ai, o.attrs[0].name, body, 0); err != nil {
			t.Fatal(err)
		}
		replaceInfoMessage(t, fs, o.addr, MsgAttributeInfo, EncodeAttributeInfo(ai, r.Sizes),
			func(m *Message) bool { return m.Type == MsgAttribute })
	}
	da, err := OpenDenseAttributes(r, ai)
	if err != nil {
		t.Fatal(err)
	}
	tracked := ai.Flags&1 != 0
	next := int(ai.MaxCreationIndex)
	live := map[string]*testAttr{}
	for _, a := range o.attrs {
		live[a.name] = a
	}
	size := func(i int) int {
		switch {
		case i == 7:
			return 20000 // 80 KB: bigger than a direct block
		case i%10 == 3:
			return 300 + rng.Intn(1500) // up to 7 KB: big blocks, or huge
		}
		return 1 + rng.Intn(60)
	}
	for i := 0; i < 300; i++ {
		name := fmt.Sprintf("%s%04d", prefix, i)
		a := &testAttr{name: name, n: size(i), seed: 5000 + i, order: next}
		if err := da.Insert(fs, name, testAttrMsg(name, attrValues(a.n, a.seed), r.Sizes), uint16(a.order)); err != nil {
			t.Fatalf("%s: insert %s (%d values): %v", o.name, name, a.n, err)
		}
		next++
		o.attrs = append(o.attrs, a)
		live[name] = a
	}
	first := o.attrs[0].name
	if err := da.Insert(fs, first, testAttrMsg(first, []int32{1}, r.Sizes), uint16(next)); !errors.Is(err, ErrExists) {
		t.Fatalf("%s: inserting %s again: %v", o.name, first, err)
	}
	if _, err := da.Remove(fs, "absent"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("%s: removing an absent attribute: %v", o.name, err)
	}
	if err := da.Replace(fs, "absent", testAttrMsg("absent", []int32{1}, r.Sizes)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("%s: replacing an absent attribute: %v", o.name, err)
	}
	var kept []*testAttr
	for _, a := range o.attrs {
		switch k := rng.Intn(100); {
		case k < 25:
			msg, err := da.Remove(fs, a.name)
			if err != nil {
				t.Fatalf("%s: remove %s: %v", o.name, a.name, err)
			}
			if am, err := DecodeAttribute(msg, 0, r.Sizes); err != nil || am.Name != a.name {
				t.Fatalf("%s: removing %s gave back %v", o.name, a.name, err)
			}
			continue
		case k < 35:
			a.seed += 77 // same size: rewritten in place
		case k < 45:
			a.n, a.seed = 1+rng.Intn(2000), a.seed+99
		case k < 48:
			a.n, a.seed = 17000+rng.Intn(100), a.seed+13 // huge
		default:
			kept = append(kept, a)
			continue
		}
		if err := da.Replace(fs, a.name, testAttrMsg(a.name, attrValues(a.n, a.seed), r.Sizes)); err != nil {
			t.Fatalf("%s: replace %s with %d values: %v", o.name, a.name, a.n, err)
		}
		kept = append(kept, a)
	}
	o.attrs = kept
	if tracked {
		ai.MaxCreationIndex = uint16(next)
		replaceInfoMessage(t, fs, o.addr, MsgAttributeInfo, EncodeAttributeInfo(ai, r.Sizes), nil)
	}
	// Our reader agrees, values included.
	live = map[string]*testAttr{}
	for _, a := range o.attrs {
		live[a.name] = a
	}
	var got []string
	if err := WalkDenseAttributes(r, attrInfoAt(t, r, o.addr), tracked, func(am *AttributeMessage) error {
		got = append(got, am.Name)
		a := live[am.Name]
		if a == nil {
			return fmt.Errorf("attribute %q not expected", am.Name)
		}
		var v []byte
		for _, x := range attrValues(a.n, a.seed) {
			v = binary.LittleEndian.AppendUint32(v, uint32(x))
		}
		if !bytes.Equal(am.Data, v) {
			return fmt.Errorf("attribute %q differs", am.Name)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, a := range o.listing(tracked) {
		want = append(want, a[0].(string))
	}
	if strings.Join(got, "/") != strings.Join(want, "/") {
		t.Fatalf("%s: reader walks %d attributes, want %d", o.name, len(got), len(want))
	}
	h, err := ReadFractalHeap(r, ai.HeapAddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %d attributes; heap: %d managed, %d huge objects, root %d rows", o.name, len(o.attrs), h.ManagedObjects, h.HugeObjects, h.RootRows)
	if h.HugeObjects == 0 {
		t.Errorf("%s: no huge attribute", o.name)
	}
}

// TestDenseAttributesLibhdf5 edits the dense attributes of two h5py
// datasets (one tracking creation order) and moves a third's compact
// attribute into new dense storage (editDenseAttributes). h5py must list
// exactly the expected attributes, in creation order where tracked, and
// read every value back. libhdf5 then deletes, rewrites in place and adds
// attributes of its own, a second session here edits again, and h5py and
// h5dump -A must agree at every step.
func TestDenseAttributesLibhdf5(t *testing.T) {
	path := filepath.Join(t.TempDir(), "attrs.h5")
	var addrs map[string]uint64
	if err := json.Unmarshal(runPython(t, genDenseAttrsPy, path), &addrs); err != nil {
		t.Fatal(err)
	}
	var objs []*attrObject
	for _, name := range []string{"plain", "ordered", "compact"} {
		o := &attrObject{name: name, addr: addrs[name]}
		switch name {
		case "compact":
			o.attrs = []*testAttr{{name: "first", n: 3, seed: 1000}}
		case "plain":
			for i := 0; i < 50; i++ {
				o.attrs = append(o.attrs, &testAttr{name: fmt.Sprintf("orig%02d", i), n: i + 1, seed: i})
			}
		case "ordered":
			for i := 49; i >= 0; i-- {
				o.attrs = append(o.attrs, &testAttr{name: fmt.Sprintf("orig%02d", i), n: i + 1, seed: i})
			}
		}
		objs = append(objs, o)
	}
	rng := rand.New(rand.NewSource(5))
	session := func(prefix string) {
		fs := openFileSpace(t, path)
		for _, o := range objs {
			editDenseAttributes(t, fs, o, rng, prefix)
		}
		fs.close(t)
	}
	want := func() map[string][][3]any {
		w := map[string][][3]any{}
		for _, o := range objs {
			w[o.name] = o.listing(o.name != "plain")
		}
		return w
	}
	check := func() {
		w := want()
		out := string(runPython(t, checkDenseAttrsPy, path, writeJSON(t, w)))
		if strings.Contains(out, "BAD") {
			t.Fatalf("h5py:\n%.5000s", out)
		}
		for d, attrs := range w {
			if !strings.Contains(out, fmt.Sprintf("%s %d\n", d, len(attrs))) {
				t.Errorf("h5py did not list %d attributes of %s:\n%s", len(attrs), d, out)
			}
		}
		for d, attrs := range w {
			dump := runH5dump(t, "-A", "-d", "/"+d, path)
			for _, a := range attrs {
				if !strings.Contains(dump, fmt.Sprintf("ATTRIBUTE %q", a[0])) {
					t.Errorf("h5dump -A does not show /%s attribute %s", d, a[0])
					break
				}
			}
		}
	}
	session("new")
	check()

	var after map[string][][3]any
	if err := json.Unmarshal(runPython(t, libhdf5EditsAttrsPy, path, writeJSON(t, want())), &after); err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		// libhdf5 lists tracked objects in creation order; for the plain
		// one the order of new attributes does not matter.
		o.attrs = nil
		for _, a := range after[o.name] {
			o.attrs = append(o.attrs, &testAttr{name: a[0].(string), n: int(a[1].(float64)), seed: int(a[2].(float64))})
		}
	}
	session("again")
	check()
}

// growSpace is a memSpace whose Reader learns of every allocation.
type growSpace struct {
	*memSpace
	r *Reader
}

func (g growSpace) Alloc(n uint64) (uint64, error) {
	a, err := g.memSpace.Alloc(n)
	g.r.Grow(int64(a + n))
	return a, err
}

// editDenseFile runs every dense editor over a file and counts the edits
// that succeed; the fuzz test only cares that nothing panics or hangs.
func editDenseFile(s Space, r *Reader, groups, objects []uint64, names []string) (ok int) {
	count := func(err error) {
		if err == nil {
			ok++
		}
	}
	for _, addr := range groups {
		hdr, err := ReadObjectHeader(r, addr)
		if err != nil {
			continue
		}
		m := hdr.Find(MsgLinkInfo)
		if m == nil {
			continue
		}
		li, err := DecodeLinkInfo(m.Data, m.Addr, r.Sizes)
		if err != nil {
			continue
		}
		dl, err := OpenDenseLinks(r, li)
		if err != nil {
			continue
		}
		for i, name := range names {
			_, err := dl.Remove(s, name)
			count(err)
			n := fmt.Sprintf("fuzz%d", i)
			count(dl.Insert(s, n, testLinkMsg(n, 0x30, int64(li.MaxCreationIndex)+int64(i), r.Sizes), int64(li.MaxCreationIndex)+int64(i)))
		}
		big := strings.Repeat("b", 5000)
		count(dl.Insert(s, big, testLinkMsg(big, 0x30, 1<<40, r.Sizes), 1<<40))
		_, err = dl.Remove(s, big)
		count(err)
	}
	for _, addr := range objects {
		hdr, err := ReadObjectHeader(r, addr)
		if err != nil {
			continue
		}
		m := hdr.Find(MsgAttributeInfo)
		if m == nil {
			continue
		}
		ai, err := DecodeAttributeInfo(m.Data, m.Addr, r.Sizes)
		if err != nil {
			continue
		}
		da, err := OpenDenseAttributes(r, ai)
		if err != nil {
			continue
		}
		var first string
		_ = WalkDenseAttributes(r, ai, false, func(am *AttributeMessage) error {
			if first == "" {
				first = am.Name
			}
			return nil
		})
		count(da.Replace(s, first, testAttrMsg(first, attrValues(20000, 1), r.Sizes)))
		count(da.Replace(s, first, testAttrMsg(first, attrValues(3, 1), r.Sizes)))
		_, err = da.Remove(s, first)
		count(err)
		count(da.Insert(s, "fuzz", testAttrMsg("fuzz", attrValues(700, 2), r.Sizes), 60000))
	}
	return ok
}

// FuzzDenseEdit damages the real dense test files as FuzzFractalHeap does
// and then edits every dense group and attribute list in them.
func FuzzDenseEdit(f *testing.F) {
	files := loadDenseFuzzFiles(f)
	for i, df := range files {
		for j, s := range df.spans {
			if j%6 != 0 {
				continue
			}
			for _, off := range []int64{5, 20, (s.end - s.start) / 2} {
				f.Add(uint8(i), uint32(s.start+off), []byte{0xff}, true)
			}
		}
		f.Add(uint8(i), uint32(0), []byte{}, false)
	}
	f.Fuzz(func(t *testing.T, which uint8, pos uint32, patch []byte, fix bool) {
		df := files[int(which)%len(files)]
		if len(patch) > 64 || int64(pos) >= int64(len(df.data)) {
			return
		}
		data := append([]byte(nil), df.data...)
		n := copy(data[pos:], patch)
		if fix {
			fixChecksums(data, df.spans, int64(pos), int64(n))
		}
		sb, err := FindSuperblock(bytes.NewReader(data), int64(len(data)))
		if err != nil || sb.BaseAddr != 0 {
			return
		}
		m := &memSpace{buf: data}
		r := &Reader{R: m, Size: int64(len(data)), Sizes: sb.Sizes}
		var ok int
		runWithDeadline(t, func() { ok = editDenseFile(growSpace{m, r}, r, df.groups, df.objects, df.names) })
		// Undamaged, every edit of the unfiltered groups and objects works
		// (in a group, removing its own two names of the eight tried):
		// the fuzzing reaches the editors.
		if len(patch) == 0 && ok != map[bool]int{true: 3 * 12, false: 3 * 4}[len(df.groups) > 0] {
			t.Errorf("%d edits of the undamaged file worked", ok)
		}
	})
}
