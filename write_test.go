package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// seedOffset is the element [344,678,23,36] of the seed's 2 TiB dataset.
const seedOffset = (((344*1024+678)*1024 + 23) * 512) + 36

// h5py runs a Python script with h5py; it must print "ok".
func h5py(t *testing.T, script string, args ...string) {
	t.Helper()
	out, err := exec.Command("/usr/bin/python3", append([]string{"-c", script}, args...)...).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("h5py: %v\n%s", err, out)
	}
}

func h5dumpOK(t *testing.T, file string) {
	t.Helper()
	if out, err := exec.Command("h5dump", "-H", file).CombinedOutput(); err != nil {
		t.Fatalf("h5dump -H %s: %v\n%s", file, err, out)
	}
}

// TestSeedWriteThroughMount is the seed's write, verbatim: one float32 into
// the 2 TiB sparse dataset with dd conv=notrunc, into a chunk that exists and
// into one that does not. The file grows by at most one chunk plus metadata.
func TestSeedWriteThroughMount(t *testing.T) {
	dir := t.TempDir()
	file := copyFixture(t, "weather.h5", dir)
	before := fileSize(t, file)
	one := filepath.Join(dir, "one.f32")
	if err := os.WriteFile(one, []byte{0, 0, 0xf0, 0x40}, 0o644); err != nil { // 7.5
		t.Fatal(err)
	}
	mnt := mountT(t, file)
	big := filepath.Join(mnt, "big")
	newChunk := (((100*1024+200)*1024 + 300) * 512) + 400
	for _, at := range []int{seedOffset, newChunk} {
		sh(t, "dd if="+one+" of="+big+" bs=4 seek="+strconv.Itoa(at)+" conv=notrunc status=none")
		got := sh(t, "dd if="+big+" bs=4 skip="+strconv.Itoa(at)+" count=1 status=none | od -An -t f4")
		if strings.TrimSpace(got) != "7.5" {
			t.Fatalf("read back at element %d: %q", at, got)
		}
	}
	if r := h5mountT(t, "unmount", mnt); r.code != 0 {
		t.Fatalf("unmount: %v", r)
	}
	if grown := fileSize(t, file) - before; grown > 128<<10+4<<10 {
		t.Errorf("the file grew by %d bytes for two elements (one new 128 KiB chunk)", grown)
	}
	h5py(t, `
import sys, h5py
b = h5py.File(sys.argv[1], "r")["big"]
assert b[344,678,23,36] == 7.5 and b[100,200,300,400] == 7.5
assert b[344,678,23,35] == 0 and b[100,200,300,399] == 0
assert b.id.get_num_chunks() == 2, b.id.get_num_chunks()
print("ok")`, file)
	h5dumpOK(t, file)
}

func fileSize(t *testing.T, p string) int64 {
	t.Helper()
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// TestRandomPwritesThroughMount: random os.pwrite calls from Python into
// every kind of dataset the writer supports, checked after unmount by h5py
// against the same writes applied to NumPy arrays.
func TestRandomPwritesThroughMount(t *testing.T) {
	dir := t.TempDir()
	file := copyFixture(t, "features.h5", dir)
	mnt := mountT(t, file)
	models := filepath.Join(dir, "models")
	paths := "/data/contig,/data/chunked,/data/compact,/filters/shuffle_gzip,/filters/shuffle_gzip_fletcher32,/filters/gzip9,/filters/fletcher32,/edge/unlimited,/edge/cube,/edge/cube_gzip,/sparse/many_chunks,/sparse/few_chunks,/fill/partial,/fill/untouched,/fill/contig_untouched,/types/be_i4"
	h5py(t, `
import os, sys, random, numpy as np
mnt, models, paths = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
os.makedirs(models)
rng = random.Random(11)
for p in paths:
    path = mnt + p
    size = os.path.getsize(path)
    model = bytearray(open(path, "rb").read())
    fd = os.open(path, os.O_WRONLY)
    for i in range(200):
        n = rng.randint(1, min(size, 3000))
        off = rng.randint(0, size - n)
        data = bytes(rng.getrandbits(8) for _ in range(n))
        assert os.pwrite(fd, data, off) == n
        model[off:off+n] = data
    if p == "/edge/unlimited":   # maxshape (None, 8): grows by whole rows
        os.pwrite(fd, b"x", size)
        assert os.fstat(fd).st_size == size + 8 * 8, os.fstat(fd).st_size
        os.ftruncate(fd, size)
        assert os.fstat(fd).st_size == size
        model[size:] = b""
    else:
        try:
            os.pwrite(fd, b"x", size)
            raise SystemExit(p + ": write past the end accepted")
        except OSError as e:
            assert e.errno == 28, e   # ENOSPC
    os.fsync(fd)
    os.close(fd)
    assert open(path, "rb").read() == bytes(model), p + ": read back differs"
    open(os.path.join(models, p.strip("/").replace("/", "_")), "wb").write(model)
print("ok")`, mnt, models, paths)
	if r := h5mountT(t, "unmount", mnt); r.code != 0 {
		t.Fatalf("unmount: %v", r)
	}
	h5py(t, `
import os, sys, h5py
f = h5py.File(sys.argv[1], "r")
for p in sys.argv[3].split(","):
    want = open(os.path.join(sys.argv[2], p.strip("/").replace("/", "_")), "rb").read()
    got = f[p][()].tobytes()
    assert got == want, p
print("ok")`, file, models, paths)
	h5dumpOK(t, file)
}

// TestWriteSemantics: cp of a same-size file overwrites (O_TRUNC is
// ignored), truncate to another size is EINVAL, writes past the end ENOSPC,
// variable-length datasets EPERM, and a second writer is locked out.
func TestWriteSemantics(t *testing.T) {
	dir := t.TempDir()
	file := copyFixture(t, "weather.h5", dir)
	mnt := mountT(t, file)
	temp := filepath.Join(mnt, "15", "temperature")
	src := filepath.Join(dir, "t.f64")
	data := make([]byte, 8192)
	for i := range data {
		data[i] = byte(i * 7)
	}
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	sh(t, "cp "+src+" "+temp)
	got, err := os.ReadFile(temp)
	if err != nil || string(got) != string(data) {
		t.Fatalf("cp over the dataset: %v", err)
	}
	if err := os.Truncate(temp, 100); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("truncate to another size: %v, want EINVAL", err)
	}
	if err := os.Truncate(temp, 8192); err != nil {
		t.Errorf("truncate to its own size: %v", err)
	}
	f, err := os.OpenFile(filepath.Join(mnt, "comp"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(make([]byte, 8), 4092); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("write across the end: %v, want ENOSPC", err)
	}
	f.Close()
	checkFailure(t, h5mountT(t, file, filepath.Join(dir, "second")), 1, "locked")
	if r := h5mountT(t, "unmount", mnt); r.code != 0 {
		t.Fatalf("unmount: %v", r)
	}
	h5py(t, `
import sys, h5py
t = h5py.File(sys.argv[1], "r")["15/temperature"][()].tobytes()
assert t == open(sys.argv[2], "rb").read()
print("ok")`, file, src)

	types := copyFixture(t, "types.h5", dir)
	mnt = mountT(t, types)
	if _, err := os.OpenFile(filepath.Join(mnt, "vlen_str"), os.O_WRONLY, 0); !errors.Is(err, syscall.EPERM) {
		t.Errorf("opening a variable-length dataset for writing: %v, want EPERM", err)
	}
}

// TestConvertedWritesThroughMount: datasets that read converted take
// writes in their read form through the mount — a space-padded string, a
// null-terminated one, an N-bit integer — and libhdf5 reads the values.
func TestConvertedWritesThroughMount(t *testing.T) {
	dir := t.TempDir()
	strs := filepath.Join(dir, "strings_fixed.h5")
	copyTo(t, fixture(t, "conformance/strings_fixed.h5"), strs)
	nbit := filepath.Join(dir, "filter_nbit.h5")
	copyTo(t, fixture(t, "conformance/filter_nbit.h5"), nbit)
	mnt := mountT(t, strs)
	sh(t, "printf 'hi\\0\\0\\0\\0\\0\\0' | dd of="+mnt+"/spacepad_ascii bs=8 seek=1 conv=notrunc status=none")
	sh(t, "printf 'abcdefgh' | dd of="+mnt+"/nullterm_ascii bs=8 seek=2 conv=notrunc status=none")
	if r := h5mountT(t, "unmount", mnt); r.code != 0 {
		t.Fatalf("unmount: %v", r)
	}
	mnt = mountT(t, nbit)
	// nbit_i4_p12: 12-bit signed integers; -5 fits, 5000 clamps to 2047.
	sh(t, "printf '\\373\\377\\377\\377\\210\\023\\000\\000' | dd of="+mnt+"/nbit_i4_p12 bs=4 seek=3 conv=notrunc status=none")
	if r := h5mountT(t, "unmount", mnt); r.code != 0 {
		t.Fatalf("unmount: %v", r)
	}
	h5py(t, `
import sys, h5py
s = h5py.File(sys.argv[1], "r")
assert s["spacepad_ascii"][1] == b"hi", s["spacepad_ascii"][1]
assert s["nullterm_ascii"][2] == b"abcdefgh", s["nullterm_ascii"][2]  # a string that fills its field is stored whole
n = h5py.File(sys.argv[2], "r")["nbit_i4_p12"][()].ravel()
assert n[3] == -5 and n[4] == 2047, n[3:5]
print("ok")`, strs, nbit)
	h5dumpOK(t, strs)
	h5dumpOK(t, nbit)
}

func copyTo(t *testing.T, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestConvertedWriteReadsAsStored: a dataset shown converted (a 5-bit
// integer at bit 2 of each byte) takes writes in its shown form, converted
// as libhdf5 converts h5py's values (100 saturates to 31). After a write
// through a descriptor that also reads, the mount shows what the file
// holds, not the bytes as written, even with the page cached before, and
// h5py reads the same after unmount.
func TestConvertedWriteReadsAsStored(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "nbit.h5")
	h5py(t, `
import sys, h5py
from h5py import h5t, h5s, h5d
with h5py.File(sys.argv[1], "w") as f:
    t = h5t.STD_U8LE.copy(); t.set_precision(5); t.set_offset(2)
    h5d.create(f.id, b"d", t, h5s.create_simple((8,)))
print("ok")
`, file)
	mnt := mountT(t, file)
	p := filepath.Join(mnt, "d")
	if b, err := os.ReadFile(p); err != nil || len(b) != 8 { // the kernel caches the page
		t.Fatalf("read: %d bytes, %v", len(b), err)
	}
	fh, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fh.WriteAt([]byte{100, 7}, 0); err != nil {
		t.Fatal(err)
	}
	back := make([]byte, 2)
	if _, err := fh.ReadAt(back, 0); err != nil || back[0] != 31 || back[1] != 7 {
		t.Errorf("the writing descriptor reads %v (%v), want [31 7]", back, err)
	}
	fh.Close()
	if b, err := os.ReadFile(p); err != nil || b[0] != 31 || b[1] != 7 {
		t.Errorf("the mount shows %v (%v), want [31 7 ...]", b, err)
	}
	unmountCleanup(t, mnt)
	h5py(t, `
import sys, h5py
d = h5py.File(sys.argv[1], "r")["d"][:2].tolist()
assert d == [31, 7], d
print("ok")
`, file)
}

// TestFirstWriteIntoUnallocatedStorage: the first write into a contiguous
// dataset whose storage libhdf5 never allocated (late allocation, zero
// fill) allocates it at the file's end and writes only its own bytes. A
// reader that had read nothing before then saw the dataset cut off where
// the write ended: the mount spliced the storage's range from the file,
// which did not reach its end yet.
func TestFirstWriteIntoUnallocatedStorage(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "late.h5")
	h5py(t, `
import sys, h5py
with h5py.File(sys.argv[1], "w") as f:
    f.create_dataset("d", shape=(10, 5), dtype="u1")
print("ok")`, file)
	mnt := mountT(t, file)
	p := filepath.Join(mnt, "d")
	fh, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fh.WriteAt([]byte("0123456789AB"), 37); err != nil {
		t.Fatal(err)
	}
	fh.Close()
	want := make([]byte, 50)
	copy(want[37:], "0123456789AB")
	if got, err := os.ReadFile(p); err != nil || !bytes.Equal(got, want) {
		t.Errorf("read after the first write: %q (%v), want %q", got, err, want)
	}
	if r := h5mountT(t, "unmount", mnt); r.code != 0 {
		t.Fatalf("unmount: %v", r)
	}
	h5py(t, `
import sys, h5py
assert h5py.File(sys.argv[1], "r")["d"][()].tobytes() == bytes(37) + b"0123456789AB" + bytes(1)
print("ok")`, file)
}

// TestGrowthPastACachedEndReadsTheFill: a read caches the page holding a
// dataset's last bytes, with zeros past them as for an ordinary file. A
// write further on grows the dataset, and the rows it skipped read as the
// fill value (-66 here), not as the zeros the kernel kept: through a
// write-only descriptor (direct I/O) at once, through a read-write one
// (the kernel's cached pages) once the write's reply has gone.
func TestGrowthPastACachedEndReadsTheFill(t *testing.T) {
	file := filepath.Join(t.TempDir(), "grow.h5")
	h5py(t, `
import sys, h5py
with h5py.File(sys.argv[1], "w") as f:
    for name in ("direct", "buffered"):
        f.create_dataset(name, shape=(2789,), dtype="|i1", fillvalue=-66, chunks=(1000,), maxshape=(None,))[:100] = 5
print("ok")`, file)
	mnt := mountT(t, file)
	for _, c := range []struct {
		name  string
		flags int
	}{{"direct", os.O_WRONLY}, {"buffered", os.O_RDWR}} {
		p := filepath.Join(mnt, c.name)
		if b, err := os.ReadFile(p); err != nil || len(b) != 2789 || b[2788] != 0xbe {
			t.Fatalf("%s: %d bytes, last %v (%v)", c.name, len(b), b[len(b)-1:], err)
		}
		f, err := os.OpenFile(p, c.flags, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt(bytes.Repeat([]byte{1}, 171), 5219); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		var b []byte
		for try := 0; try < 50; try++ {
			if b, err = os.ReadFile(p); err != nil {
				t.Fatal(err)
			}
			if len(b) == 5390 && bytes.Equal(b[2789:5219], bytes.Repeat([]byte{0xbe}, 5219-2789)) || c.name == "direct" {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if len(b) != 5390 {
			t.Fatalf("%s: %d bytes after the write, want 5390", c.name, len(b))
		}
		for i := 2789; i < 5219; i++ {
			if b[i] != 0xbe {
				t.Fatalf("%s: byte %d reads %#x after the growth, want the fill 0xbe", c.name, i, b[i])
			}
		}
		if !bytes.Equal(b[5219:], bytes.Repeat([]byte{1}, 171)) {
			t.Fatalf("%s: the written bytes read % x", c.name, b[5219:5230])
		}
	}
}

// TestVirtualDatasetsFollowTheirSources: a virtual dataset's bytes are its
// sources', here in the same file. Each open of it reads what writes
// through the sources' own files left (the kernel keeps no pages of it
// across opens on a writable mount), and a source moved away leaves its
// selection to the fill value, as libhdf5 reads the file then; moved back,
// it is the source again.
func TestVirtualDatasetsFollowTheirSources(t *testing.T) {
	file := filepath.Join(t.TempDir(), "vds.h5")
	h5py(t, `
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "w", libver="latest") as f:
    f["src"] = np.arange(6, dtype="<i4")
    lay = h5py.VirtualLayout(shape=(6,), dtype="<i4")
    lay[:] = h5py.VirtualSource(".", "src", shape=(6,))
    f.create_virtual_dataset("vds", lay, fillvalue=-1)
print("ok")`, file)
	mnt := mountT(t, file)
	vds, src := filepath.Join(mnt, "vds"), filepath.Join(mnt, "src")
	want := func(when string, values ...int32) {
		t.Helper()
		b, err := os.ReadFile(vds)
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		var w []byte
		for _, v := range values {
			w = binary.LittleEndian.AppendUint32(w, uint32(v))
		}
		if !bytes.Equal(b, w) {
			t.Fatalf("%s: vds reads % x, want % x", when, b, w)
		}
	}
	want("at first", 0, 1, 2, 3, 4, 5)
	for i, flags := range []int{os.O_WRONLY, os.O_RDWR} {
		f, err := os.OpenFile(src, flags, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt([]byte{7, 0, 0, 0}, int64(4*(i+1))); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	want("after writes to src", 0, 7, 7, 3, 4, 5)
	if err := os.Rename(src, src+".moved"); err != nil {
		t.Fatal(err)
	}
	want("with src moved away", -1, -1, -1, -1, -1, -1)
	if err := os.Rename(src+".moved", src); err != nil {
		t.Fatal(err)
	}
	want("with src back", 0, 7, 7, 3, 4, 5)
	if r := h5mountT(t, "unmount", mnt); r.code != 0 {
		t.Fatalf("unmount: %v", r)
	}
	h5py(t, `
import sys, h5py
assert list(h5py.File(sys.argv[1], "r")["vds"][()]) == [0, 7, 7, 3, 4, 5]
print("ok")`, file)
}

// TestReferenceTextFollowsRenames: object references read as their
// objects' paths. After renames through a writable mount, a dataset of
// references reads (and its size says) the new paths, as an attribute
// holding one does, the same descriptor or a new one, whatever the kernel
// or the text cache held before.
func TestReferenceTextFollowsRenames(t *testing.T) {
	file := filepath.Join(t.TempDir(), "refs.h5")
	h5py(t, `
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "w") as f:
    f["a"] = np.arange(3)
    f.create_group("g")
    f["g/b"] = 1
    r = f.create_dataset("refs", (2,), dtype=h5py.ref_dtype)
    r[0], r[1] = f["a"].ref, f["g/b"].ref
    f.attrs["r"] = f["a"].ref
print("ok")`, file)
	mnt := mountT(t, file)
	refs := filepath.Join(mnt, "refs")
	held, err := os.Open(refs)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	check := func(want string) {
		t.Helper()
		b, err := os.ReadFile(refs)
		if err != nil || string(b) != want {
			t.Fatalf("refs reads %q (%v), want %q", b, err, want)
		}
		buf := make([]byte, 64)
		n, err := held.ReadAt(buf, 0)
		if string(buf[:n]) != want || (err != nil && err != io.EOF) {
			t.Fatalf("a descriptor opened before reads %q (%v), want %q", buf[:n], err, want)
		}
		if st, err := os.Stat(refs); err != nil || st.Size() != int64(len(want)) {
			t.Fatalf("refs: size %v (%v), want %d", st.Size(), err, len(want))
		}
	}
	check("/a\n/g/b\n")
	for _, mv := range [][2]string{{"a", "a2"}, {"g", "group"}} {
		if err := os.Rename(filepath.Join(mnt, mv[0]), filepath.Join(mnt, mv[1])); err != nil {
			t.Fatal(err)
		}
	}
	check("/a2\n/group/b\n")
	if v, err := getxattr(mnt, "user.r"); err != nil || string(v) != "/a2" {
		t.Fatalf("user.r = %q (%v), want /a2", v, err)
	}
}
