package h5_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/h5mount/h5mount/h5"
	"github.com/h5mount/h5mount/xattr"
)

// These tests write files with h5py into a temporary directory, for what
// the shared corpus shows only in part (external raw data, virtual datasets
// over sources that exist, type conversions, region references), and
// compare the engine with h5py's reading of them (scripts/dump_ref.py).

// generate runs a Python script with h5py in a new temporary directory and
// returns that directory.
func generate(t *testing.T, script string) string {
	t.Helper()
	if _, err := os.Stat(python()); err != nil {
		t.Skipf("no %s: %v", python(), err)
	}
	dir := t.TempDir()
	cmd := exec.Command(python(), "-c", "import h5py, numpy as np\n"+script)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("generating files: %v\n%s", err, out)
	}
	return dir
}

// dumpOf writes h5py's reference dump of file next to it.
func dumpOf(t *testing.T, file string) string {
	t.Helper()
	out, err := exec.Command(python(), "../scripts/dump_ref.py", "--no-h5debug", file).Output()
	if err != nil {
		t.Fatalf("dump_ref.py %s: %v", file, err)
	}
	p := file + ".json"
	if err := os.WriteFile(p, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestExternalStorageMatchesH5py(t *testing.T) {
	dir := generate(t, `
with open("raw0.bin", "wb") as fh:
    fh.write(b"\xff" * 8 + np.arange(6, dtype="<i4").tobytes())
with open("raw1.bin", "wb") as fh:
    fh.write(np.arange(6, 12, dtype="<i4").tobytes()[:20])   # 4 bytes short: zeros
with h5py.File("ext.h5", "w") as f:
    f.create_dataset("x", shape=(3, 4), dtype="<i4", external=[("raw0.bin", 8, 24), ("raw1.bin", 0, 24)])
    f.create_dataset("missing", shape=(2,), dtype="<i4", external=[("nowhere.bin", 0, 8)])
`)
	file := filepath.Join(dir, "ext.h5")
	// h5py resolves external names against its working directory: dump
	// from the files' directory.
	cmd := exec.Command(python(), filepath.Join(mustAbs(t, "../scripts"), "dump_ref.py"), "--no-h5debug", "ext.h5")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	dump := filepath.Join(dir, "ext.h5.json")
	if err := os.WriteFile(dump, out, 0o644); err != nil {
		t.Fatal(err)
	}
	checkAgainstDump(t, file, dump)

	f, err := h5.OpenFile(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d := openDatasetRW(t, f, "/x")
	buf := make([]byte, d.Size())
	if _, err := d.ReadAt(buf, 0); err != nil {
		t.Fatal(err)
	}
	want := []byte{}
	for i := 0; i < 11; i++ {
		want = append(want, byte(i), 0, 0, 0)
	}
	want = append(want, 0, 0, 0, 0)
	if !bytes.Equal(buf, want) {
		t.Errorf("external data %x, want %x", buf, want)
	}
	if got, err := d.AllocatedBytes(); err != nil || got != 48 {
		t.Errorf("allocated %d (%v), want 48", got, err)
	}
	if _, err := openDatasetRW(t, f, "/missing").ReadAt(make([]byte, 8), 0); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("reading a missing external file: %v", err)
	}

	// Without a name there is no directory to resolve the files against.
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	rf, err := h5.Open(bytes.NewReader(raw), int64(len(raw)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := openDatasetRW(t, rf, "/x").ReadAt(buf, 0); !errors.Is(err, h5.ErrUnsupported) {
		t.Errorf("external data through a reader: %v, want ErrUnsupported", err)
	}
}

func mustAbs(t *testing.T, p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestVirtualDatasetsMatchH5py(t *testing.T) {
	dir := generate(t, `
for i in range(3):
    if i == 1:
        continue   # a gap: blocks after it are not read, as libhdf5's printf gap 0
    with h5py.File("src-%d.h5" % i, "w") as f:
        f.create_dataset("data", data=np.arange(12, dtype=">i4").reshape(3, 4) + 100 * i)
with h5py.File("grow.h5", "w") as f:
    d = f.create_dataset("g", shape=(5, 4), maxshape=(None, 4), dtype="<i4", fillvalue=-1)
    d[:3] = np.arange(12).reshape(3, 4)
with h5py.File("vds.h5", "w") as f:
    f.create_dataset("local", data=np.arange(20, dtype="<i4").reshape(4, 5))
    # same-file source, strided into a bigger space, fill elsewhere
    lay = h5py.VirtualLayout(shape=(8, 10), dtype="<i4")
    lay[::2, 0:5] = h5py.VirtualSource(".", "local", shape=(4, 5))
    lay[1:3, 6:9] = h5py.VirtualSource(".", "local", shape=(4, 5))[2:4, 1:4]
    f.create_virtual_dataset("mixed", lay, fillvalue=7)
    # sibling sources, byte-swapped, one missing
    lay = h5py.VirtualLayout(shape=(3, 3, 4), dtype="<i4")
    for i in range(3):
        lay[i] = h5py.VirtualSource("src-%d.h5" % i, "data", shape=(3, 4))
    f.create_virtual_dataset("stack", lay, fillvalue=-5)
    U = h5py.h5s.UNLIMITED
    def virtual(name, vspace, mappings, fill):
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_fill_value(np.array(fill, dtype="<i4"))
        for fname, dname, sspace in mappings:
            dcpl.set_virtual(vspace, fname, dname, sspace)
        h5py.h5d.create(f.id, name, h5py.h5t.STD_I32LE, vspace, dcpl=dcpl).close()
    # an unlimited mapping that follows its source's extent
    vs = h5py.h5s.create_simple((0, 4), (U, 4))
    vs.select_hyperslab((0, 0), (1, 1), block=(U, 4))
    ss = h5py.h5s.create_simple((5, 4), (U, 4))
    ss.select_hyperslab((0, 0), (1, 1), block=(U, 4))
    virtual(b"unlim", vs, [(b"grow.h5", b"g", ss)], -3)
    # printf-named sources, one block each, up to the first missing one
    vs = h5py.h5s.create_simple((0, 3, 4), (U, 3, 4))
    vs.select_hyperslab((0, 0, 0), (U, 1, 1), stride=(1, 1, 1), block=(1, 3, 4))
    ss = h5py.h5s.create_simple((3, 4))
    ss.select_all()
    virtual(b"printf", vs, [(b"src-%b.h5", b"data", ss)], -4)
`)
	file := filepath.Join(dir, "vds.h5")
	checkAgainstDump(t, file, dumpOf(t, file))

	f, err := h5.OpenFile(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d := openDatasetRW(t, f, "/unlim")
	if got := d.Shape(); len(got) != 2 || got[0] != 5 || got[1] != 4 {
		t.Errorf("unlimited mapping: shape %v, want [5 4]", got)
	}
	if got := openDatasetRW(t, f, "/printf").Shape(); len(got) != 3 || got[0] != 1 {
		t.Errorf("printf mapping with sources 0 and 2: shape %v, want [1 3 4]", got)
	}
	if v, _, err := xattr.DatasetProperty(d, "user.h5.layout"); err != nil || v != "virtual" {
		t.Errorf("layout %q (%v)", v, err)
	}
	// Reads at odd offsets and lengths see the same bytes.
	m := openDatasetRW(t, f, "/mixed")
	all := make([]byte, m.Size())
	if _, err := m.ReadAt(all, 0); err != nil {
		t.Fatal(err)
	}
	for _, w := range [][2]int64{{1, 7}, {37, 50}, {m.Size() - 3, 3}} {
		part := make([]byte, w[1])
		if _, err := m.ReadAt(part, w[0]); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(part, all[w[0]:w[0]+w[1]]) {
			t.Errorf("bytes [%d,+%d) differ from a whole read", w[0], w[1])
		}
	}
}

func TestConversionsMatchH5py(t *testing.T) {
	dir := generate(t, `
def strtype(n, pad):
    t = h5py.h5t.C_S1.copy()
    t.set_size(n)
    t.set_strpad(pad)
    return t
def nbit(base, prec, off):
    t = base.copy()
    t.set_precision(prec)
    t.set_offset(off)
    return t
with h5py.File("conv.h5", "w") as f:
    for name, pad in (("spacepad", h5py.h5t.STR_SPACEPAD), ("nullterm", h5py.h5t.STR_NULLTERM)):
        sp = h5py.h5s.create_simple((3,))
        ds = h5py.h5d.create(f.id, name.encode(), strtype(6, pad), sp)
        ds.write(h5py.h5s.ALL, h5py.h5s.ALL, np.array([b"ab    ", b"c\0xyz ", b"defghi"], dtype="S6"), mtype=strtype(6, h5py.h5t.STR_NULLPAD))
    ct = h5py.h5t.create(h5py.h5t.COMPOUND, 16)
    ct.insert(b"s", 0, strtype(5, h5py.h5t.STR_NULLTERM))
    ct.insert(b"i", 8, h5py.h5t.STD_I32LE)
    sp = h5py.h5s.create_simple((2,))
    ds = h5py.h5d.create(f.id, b"compound", ct, sp)
    raw = np.frombuffer(b"ab\0zz\xee\xee\xee\x01\0\0\0\xee\xee\xee\xee" + b"hello\xee\xee\xee\x02\0\0\0\xee\xee\xee\xee", dtype="V16")
    ds.write(h5py.h5s.ALL, h5py.h5s.ALL, raw, mtype=ct)
    for name, base, prec, off in (("u12", h5py.h5t.STD_U16LE, 12, 2), ("i12", h5py.h5t.STD_I16BE, 12, 3)):
        t = nbit(base, prec, off)
        sp = h5py.h5s.create_simple((4,))
        ds = h5py.h5d.create(f.id, name.encode(), t, sp)
        ds.write(h5py.h5s.ALL, h5py.h5s.ALL, np.array([0, 1, -5 if name == "i12" else 4000, 2047], dtype="<i4"))
    ft = h5py.h5t.IEEE_F32LE.copy()   # an N-bit float, as test/nbit.c makes it
    ft.set_fields(26, 20, 6, 7, 13)
    ft.set_offset(7)
    ft.set_precision(20)
    ft.set_size(4)
    ft.set_ebias(31)
    sp = h5py.h5s.create_simple((3,))
    ds = h5py.h5d.create(f.id, b"f20", ft, sp)
    ds.write(h5py.h5s.ALL, h5py.h5s.ALL, np.array([1.5, -2.2, 1000.0], dtype="<f8"))
`)
	file := filepath.Join(dir, "conv.h5")
	checkAgainstDump(t, file, dumpOf(t, file))
}

func TestRegionReferencesReadAsPathsAndSelections(t *testing.T) {
	dir := generate(t, `
with h5py.File("refs.h5", "w") as f:
    d = f.create_dataset("data", data=np.arange(30).reshape(5, 6))
    rt = h5py.special_dtype(ref=h5py.RegionReference)
    f.attrs.create("regions", [d.regionref[1:3, 2:4], d.regionref[4, :]], dtype=rt)
    ot = h5py.special_dtype(ref=h5py.Reference)
    f.attrs.create("objects", [d.ref, f.ref, h5py.Reference()], dtype=ot)
`)
	f, err := h5.OpenFile(filepath.Join(dir, "refs.h5"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	root, err := f.Root()
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"regions": `["/data {(1,2)-(2,3)}", "/data {(4,0)-(4,5)}"]`,
		"objects": `["/data", "/", ""]`,
	} {
		a, err := root.Attribute(name)
		if err != nil {
			t.Fatal(err)
		}
		got, err := xattr.Attribute(a)
		if err != nil || got != want {
			t.Errorf("%s = %s (%v), want %s", name, got, err, want)
		}
	}
}
