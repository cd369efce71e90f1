package h5_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/h5mount/h5mount/h5"
)

func copyFile(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return dst
}

// openDatasetRW opens the dataset at path p of f (read-only or writable).
func openDatasetRW(tb testing.TB, f *h5.File, p string) *h5.Dataset {
	tb.Helper()
	o, err := f.OpenPath(p)
	if err != nil {
		tb.Fatal(err)
	}
	d, err := o.AsDataset()
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

// h5pyCheck runs Python with h5py on the file; the script prints "ok".
func h5pyCheck(t *testing.T, file, script string, args ...string) {
	t.Helper()
	cmd := exec.Command(python(), append([]string{"-c", script, file}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("h5py check failed: %v\n%s", err, out)
	}
	if dump, err := exec.Command("h5dump", "-H", file).CombinedOutput(); err != nil {
		t.Fatalf("h5dump -H: %v\n%s", err, dump)
	}
}

// TestSeedWrite: one element of the 2 TiB sparse dataset, as the seed's dd
// writes it, grows the file by one chunk plus metadata; libhdf5 reads it.
func TestSeedWrite(t *testing.T) {
	for _, name := range []string{"weather.h5"} {
		file := copyFile(t, "../testdata/"+name)
		st, _ := os.Stat(file)
		before := st.Size()
		f, err := h5.OpenFileRW(file, nil)
		if err != nil {
			t.Fatal(err)
		}
		d := openDatasetRW(t, f, "/big")
		var v [4]byte
		binary.LittleEndian.PutUint32(v[:], math.Float32bits(7.5))
		off := int64((((100*1024+200)*1024+300)*512 + 400) * 4)
		if _, err := d.WriteAt(v[:], off); err != nil {
			t.Fatal(err)
		}
		var got [4]byte
		if _, err := d.ReadAt(got[:], off); err != nil || got != v {
			t.Fatalf("read back before flush: %v %v", got, err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		st, _ = os.Stat(file)
		if grown := st.Size() - before; grown > 128<<10+8<<10 {
			t.Errorf("file grew by %d bytes for one element", grown)
		}
		h5pyCheck(t, file, `
import sys, h5py
f = h5py.File(sys.argv[1], "r")
b = f["big"]
assert b[100,200,300,400] == 7.5, b[100,200,300,400]
assert b[344,678,23,36] == 42.0
assert b[100,200,300,401] == 0
assert b.id.get_num_chunks() == 2, b.id.get_num_chunks()
print("ok")`)
	}
}

// TestRandomWritesMatchModel writes random byte ranges into contiguous,
// chunked and compressed datasets and compares with a model in h5py.
func TestRandomWritesMatchModel(t *testing.T) {
	file := copyFile(t, "../testdata/features.h5")
	f, err := h5.OpenFileRW(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	paths := []string{"/data/contig", "/data/chunked", "/filters/shuffle_gzip_fletcher32", "/filters/gzip9", "/edge/unlimited", "/edge/cube_gzip", "/sparse/many_chunks", "/fill/partial", "/data/compact"}
	rng := rand.New(rand.NewSource(7))
	models := map[string][]byte{}
	for _, p := range paths {
		d := openDatasetRW(t, f, p)
		model := make([]byte, d.Size())
		if _, err := d.ReadAt(model, 0); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		for i := 0; i < 60; i++ {
			n := 1 + rng.Intn(int(min(d.Size(), 5000)))
			off := rng.Int63n(d.Size() - int64(n) + 1)
			buf := make([]byte, n)
			rng.Read(buf)
			if _, err := d.WriteAt(buf, off); err != nil {
				t.Fatalf("%s: write %d at %d: %v", p, n, off, err)
			}
			copy(model[off:], buf)
			if i%20 == 0 {
				if err := f.Flush(); err != nil {
					t.Fatal(err)
				}
			}
		}
		got := make([]byte, d.Size())
		if _, err := d.ReadAt(got, 0); err != nil || string(got) != string(model) {
			t.Fatalf("%s: read back differs (%v)", p, err)
		}
		if _, err := d.WriteAt([]byte{1}, d.Size()); !d.Growable() && err == nil {
			t.Errorf("%s: write past the end accepted", p)
		} else if d.Growable() {
			if err != nil {
				t.Errorf("%s: write past the end of a growable dataset: %v", p, err)
			}
			if err := d.Resize(uint64(len(model)) / uint64(d.RowBytes())); err != nil {
				t.Fatal(err)
			}
		}
		models[p] = model
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var names []string
	for i, p := range paths {
		name := filepath.Join(dir, strings.Repeat("m", i+1))
		if err := os.WriteFile(name, models[p], 0o644); err != nil {
			t.Fatal(err)
		}
		names = append(names, p+"="+name)
	}
	h5pyCheck(t, file, `
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
for spec in sys.argv[2:]:
    p, model = spec.split("=", 1)
    got = f[p][()].tobytes()
    want = open(model, "rb").read()
    if got != want:
        bad = [i for i in range(len(got)) if got[i] != want[i]]
        raise AssertionError((p, len(bad), bad[:5], bad[-5:]))
print("ok")`, names...)
}

// TestGrowAlongUnlimited: writes past the end of a dataset whose first
// dimension is unlimited grow it (a partial last row reads as the fill
// value); Resize shrinks and grows it again with fill in the rows that come
// back into view.
func TestGrowAlongUnlimited(t *testing.T) {
	file := copyFile(t, "../testdata/features.h5")
	f, err := h5.OpenFileRW(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := openDatasetRW(t, f, "/edge/unlimited") // (37, 8) int, maxshape (None, 8), chunks (10, 3)
	row := d.RowBytes()
	old := d.Size()
	if !d.Growable() || row != 8*int64(d.Type.Size) {
		t.Fatalf("growable %v, row %d", d.Growable(), row)
	}
	buf := make([]byte, int(d.Type.Size))
	for i := range buf {
		buf[i] = 0x5a
	}
	// One element into row 50, column 3: the dataset grows to 51 rows.
	if _, err := d.WriteAt(buf, 50*row+3*int64(d.Type.Size)); err != nil {
		t.Fatal(err)
	}
	if got := d.Shape()[0]; got != 51 {
		t.Fatalf("rows after the write: %d, want 51", got)
	}
	if err := d.Resize(20); err != nil {
		t.Fatal(err)
	}
	if err := d.Resize(45); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	h5pyCheck(t, file, `
import sys, h5py, numpy as np
orig = h5py.File(sys.argv[2], "r")["/edge/unlimited"][()]
d = h5py.File(sys.argv[1], "r")["/edge/unlimited"]
assert d.shape == (45, 8), d.shape
v = d[()]
fill = d.fillvalue
assert (v[:20] == orig[:20]).all()
assert (v[20:] == fill).all(), v[20:]
print("ok")`, "../testdata/features.h5")
	if old != 37*row {
		t.Errorf("size before the write %d, want %d", old, 37*row)
	}
}

// TestSequentialWritesReserveAhead: a sequential writer of contiguous data
// has the disk blocks ahead of it reserved, a bounded distance, while a
// lone write into a large contiguous dataset takes a block or so; the
// bytes read back are those written, zeros elsewhere, here and in h5py.
func TestSequentialWritesReserveAhead(t *testing.T) {
	name := filepath.Join(t.TempDir(), "reserve.h5")
	f, err := h5.Create(name, nil)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := f.Root()
	const size = 256 << 20
	seq, err := root.CreateDataset("seq", &h5.DatasetSpec{Type: h5.Uint8Type(), Dims: []uint64{size}})
	if err != nil {
		t.Fatal(err)
	}
	lone, err := root.CreateDataset("lone", &h5.DatasetSpec{Type: h5.Uint8Type(), Dims: []uint64{size}})
	if err != nil {
		t.Fatal(err)
	}
	diskBytes := func() int64 {
		t.Helper()
		var st syscall.Stat_t
		if err := syscall.Stat(name, &st); err != nil {
			t.Fatal(err)
		}
		return st.Blocks * 512
	}
	before := diskBytes()
	if _, err := lone.WriteAt([]byte{1, 2, 3}, 100<<20); err != nil {
		t.Fatal(err)
	}
	if _, err := lone.WriteAt([]byte{4}, 100<<20+3); err != nil { // continues the first
		t.Fatal(err)
	}
	if _, err := lone.WriteAt([]byte{5}, 0); err != nil {
		t.Fatal(err)
	}
	if grown := diskBytes() - before; grown > 1<<20 {
		t.Errorf("three small writes took %d bytes of disk", grown)
	}
	const written = 24 << 20
	block := make([]byte, 1<<20)
	for off := 0; off < written; off += len(block) {
		for i := range block {
			block[i] = byte(off>>20 + i)
		}
		if _, err := seq.WriteAt(block, int64(off)); err != nil {
			t.Fatal(err)
		}
	}
	if grown := diskBytes() - before; grown < written || grown > written+12<<20 {
		t.Errorf("%d MiB written in sequence took %d bytes of disk, want at most 12 MiB more", written>>20, grown)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	h5pyCheck(t, name, `
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
s = f["seq"][()]
want = (np.arange(24 << 20) % (1 << 20) + np.repeat(np.arange(24), 1 << 20)) % 256
assert np.array_equal(s[:24 << 20], want)
assert not s[24 << 20:].any()
l = f["lone"][()]
assert l[0] == 5 and list(l[100 << 20:(100 << 20) + 4]) == [1, 2, 3, 4]
assert np.count_nonzero(l) == 5
print("ok")`)
}

// TestSequentialCubeWriteCompressesEachChunkOnce: a writer going through a
// cube in order, whose chunks are narrower than its planes, writes each
// chunk across several planes' writes. With the chunks of one block of
// planes within the dirty limit, and the chunks written in full flushed
// first, each chunk is compressed once (flushing every dirty chunk when
// over the limit compressed chunks still being written again and again:
// 8.8 s for a 256 MiB cube through a mount, h5py 3.3 s).
func TestSequentialCubeWriteCompressesEachChunkOnce(t *testing.T) {
	// Planes of 128 KiB; 4 blocks of 4 planes, each of 32 chunks of 16 KiB.
	// A cache of 1 MiB: dirty chunks may take 768 KiB, a block 512 KiB.
	spec := &h5.DatasetSpec{Type: h5.Uint8Type(), Dims: []uint64{16, 64, 2048}, Chunks: []uint64{4, 16, 256},
		Filters: []h5.Filter{{ID: 1, Params: []uint32{1}}}}
	const step = 48 << 10 // a third of a plane: writes end inside chunks
	got := writeInOrderEncodes(t, spec, step, func(data []byte) {
		rng := rand.New(rand.NewSource(4))
		for i := range data {
			data[i] = byte(i/3) ^ byte(rng.Intn(4))
		}
	})
	if want := uint64(4 * 4 * 8); got != want {
		t.Errorf("a sequential write compressed %d chunks, want each of %d once", got, want)
	}
}

// writeInOrderEncodes makes the dataset /d of spec, reopens its file with a
// 1 MiB cache and writes the bytes gen makes from start to end, step bytes
// at a time; it checks that they read back and returns how many chunks the
// writes compressed.
func writeInOrderEncodes(t *testing.T, spec *h5.DatasetSpec, step int, gen func([]byte)) uint64 {
	t.Helper()
	name := filepath.Join(t.TempDir(), "inorder.h5")
	f, err := h5.Create(name, nil)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := f.Root()
	if _, err := root.CreateDataset("d", spec); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if f, err = h5.OpenFileRW(name, &h5.Options{CacheBytes: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	d := openDatasetRW(t, f, "/d")
	data := make([]byte, d.Size())
	gen(data)
	for off := 0; off < len(data); off += step {
		if _, err := d.WriteAt(data[off:min(off+step, len(data))], int64(off)); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	encodes := h5.ChunkEncodes(f)
	r, err := h5.OpenFile(name, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	back := make([]byte, len(data))
	if _, err := openDatasetRW(t, r, "/d").ReadAt(back, 0); err != nil || !bytes.Equal(back, data) {
		t.Fatalf("read back: %v, or other bytes", err)
	}
	return encodes
}

// TestWritesAcrossWideRowsOfChunksCompressEachChunkOnce: rows of the
// dataset that each cross a row of chunks larger than the pending chunks
// may take (three quarters of the cache) fill all of those chunks a little
// at a time; written in order, in writes of many rows or of part of one,
// each chunk is still compressed once.
func TestWritesAcrossWideRowsOfChunksCompressEachChunkOnce(t *testing.T) {
	// Chunks of 128 KiB, eight to a row: 1 MiB, over the 768 KiB a 1 MiB
	// cache lets wait.
	spec := &h5.DatasetSpec{Type: h5.Uint8Type(), Dims: []uint64{512, 4096}, Chunks: []uint64{256, 512},
		Filters: []h5.Filter{{ID: 1, Params: []uint32{1}}}}
	// Sixteen rows a write, and a quarter of a row.
	for _, step := range []int{64 << 10, 1 << 10} {
		got := writeInOrderEncodes(t, spec, step, func(data []byte) {
			rng := rand.New(rand.NewSource(6))
			for i := range data {
				data[i] = byte(i/7) ^ byte(rng.Intn(2))
			}
		})
		if want := uint64(2 * 8); got != want {
			t.Errorf("writes of %d bytes in order compressed %d chunks, want each of %d once", step, got, want)
		}
	}
}

// TestRebuildKeepsBytesEqualToTheOldFill: a property change that lays a
// stored dataset out anew keeps every byte as it read, including runs equal
// to the old fill value, which a new type or fill value would otherwise
// show as its own fill where the old one was not stored again. A
// reinterpretation to another type (shuffled, so not in place) and a new
// fill value, judged by this engine and by h5py.
func TestRebuildKeepsBytesEqualToTheOldFill(t *testing.T) {
	file := filepath.Join(t.TempDir(), "rebuild.h5")
	f, err := h5.Create(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := f.Root()
	f8 := float64Type()
	minus15 := make([]byte, 8)
	binary.LittleEndian.PutUint64(minus15, math.Float64bits(-1.5))
	const rows, last = 70000, 699990
	want := map[string][]byte{}
	for _, name := range []string{"retyped", "refilled"} {
		// More than the rebuild's 4 MiB steps: the first is all -1.5.
		d, err := root.CreateDataset(name, &h5.DatasetSpec{Type: f8, Dims: []uint64{rows, 10}, MaxDims: []uint64{h5.Unlimited, 10},
			Chunks: []uint64{800, 10}, Fill: minus15, Filters: []h5.Filter{{ID: 2, Flags: 1}, {ID: 1, Flags: 1, Params: []uint32{4}}}})
		if err != nil {
			t.Fatal(err)
		}
		// Every element written, all with the fill value's bytes but one.
		data := bytes.Repeat(minus15, rows*10)
		binary.LittleEndian.PutUint64(data[8*last:], math.Float64bits(42))
		if _, err := d.WriteAt(data, 0); err != nil {
			t.Fatal(err)
		}
		want[name] = data
	}
	d := openDatasetRW(t, f, "/retyped")
	f4 := &h5.Datatype{Class: h5.ClassFloat, Version: 1, Size: 4, Precision: 32, SignLoc: 31, ExpLoc: 23, ExpSize: 8,
		MantSize: 23, MantNorm: 2, ExpBias: 127}
	if err := d.Reinterpret(f4); err != nil {
		t.Fatal(err)
	}
	d = openDatasetRW(t, f, "/refilled")
	if err := d.Rebuild(func(s *h5.DatasetSpec) { s.Fill = make([]byte, 8) }); err != nil {
		t.Fatal(err)
	}
	for name, w := range want {
		got := make([]byte, len(w))
		if _, err := openDatasetRW(t, f, "/"+name).ReadAt(got, 0); err != nil || !bytes.Equal(got, w) {
			t.Errorf("%s: the bytes changed (%v)", name, err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	h5pyCheck(t, file, `
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
want = np.full(700000, -1.5); want[699990] = 42
r = f["retyped"]
assert r.dtype == np.dtype("<f4") and r.shape == (70000, 20), (r.dtype, r.shape)
assert r[()].tobytes() == want.tobytes(), r[()]
g = f["refilled"]
assert g.fillvalue == 0 and (g[()].reshape(-1) == want).all(), g[()]
print("ok")`)
}

// TestWholeChunkWritesGoStraightToTheFile: a write that covers whole
// chunks of an unfiltered dataset stores them at once, holding no pending
// copy, and what it stores replaces every earlier version: one in the
// chunk cache, one pending from a partial write, one committed (rewritten
// in place), and the fill of rows an append exposes. libhdf5 reads the
// result as the model.
func TestWholeChunkWritesGoStraightToTheFile(t *testing.T) {
	const chunk = 4096
	file := filepath.Join(t.TempDir(), "whole.h5")
	f, root := createFile(t, file)
	d, err := root.CreateDataset("d", &h5.DatasetSpec{Type: h5.Uint8Type(), Dims: []uint64{0}, MaxDims: []uint64{h5.Unlimited},
		Chunks: []uint64{chunk}, Fill: []byte{7}})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(3))
	var model []byte
	write := func(off, n int) {
		t.Helper()
		p := make([]byte, n)
		rng.Read(p)
		if _, err := d.WriteAt(p, int64(off)); err != nil {
			t.Fatalf("write %d at %d: %v", n, off, err)
		}
		for len(model) < off+n {
			model = append(model, 7)
		}
		copy(model[off:], p)
	}
	check := func(when string) {
		t.Helper()
		got := make([]byte, d.Size())
		if _, err := d.ReadAt(got, 0); err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		if !bytes.Equal(got, model) {
			t.Fatalf("%s: the dataset differs from the model", when)
		}
	}
	// Appends of whole chunks, one and three at a time.
	for i := 0; i < 8; i++ {
		write(len(model), chunk*(1+2*(i%2)))
	}
	if held := f.CachedBytes(); held != 0 {
		t.Fatalf("whole-chunk writes hold %d bytes in memory; want them stored", held)
	}
	check("after appends")
	if err := f.Flush(); err != nil {
		t.Fatal(err)
	}
	// Chunk 1 cached by the read above, chunk 2 pending from a partial
	// write, chunk 3 committed: each replaced whole.
	write(2*chunk+100, 50)
	write(chunk, 3*chunk)
	check("after overwriting cached, pending and committed chunks")
	// An append that starts mid-chunk: the rest of that chunk is the
	// fill until the write reaches it, then whole chunks follow.
	write(len(model)+chunk/2, 2*chunk+chunk/2)
	check("after an append past a gap")
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(t.TempDir(), "model")
	if err := os.WriteFile(want, model, 0o644); err != nil {
		t.Fatal(err)
	}
	h5pyCheck(t, file, `
import sys, h5py
got = h5py.File(sys.argv[1], "r")["d"][()].tobytes()
assert got == open(sys.argv[2], "rb").read(), "differs"
print("ok")`, want)
}

// TestCommitClearsADeadWritersFlags: a file a libhdf5 writer never closed
// (superblock 3, its write-access flag still set) is refused by libhdf5
// ("already open for write") but read here; a change committed here is a
// writer closing, and clears the flag as libhdf5's close would. A file
// opened and closed without a change keeps its bytes.
func TestCommitClearsADeadWritersFlags(t *testing.T) {
	file := filepath.Join(t.TempDir(), "dead_writer.h5")
	cmd := exec.Command(python(), "-c", `
import os, sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "w", libver="latest")
f["x"] = np.arange(10, dtype="<i4")
f.flush()
os._exit(0)`, file)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	flags := func() byte {
		raw, err := os.ReadFile(file)
		if err != nil || len(raw) < 12 || raw[8] != 3 {
			t.Fatalf("superblock: %v, version %d", err, raw[8])
		}
		return raw[11]
	}
	if flags()&1 == 0 {
		t.Fatalf("h5py left flags %#x, want the write-access bit set", flags())
	}
	if out, err := exec.Command("h5dump", "-H", file).CombinedOutput(); err == nil {
		t.Fatalf("h5dump opened a file left open for write:\n%s", out)
	}
	before, _ := os.ReadFile(file)
	f, err := h5.OpenFileRW(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(file); !bytes.Equal(before, after) {
		t.Fatalf("a writable open without a change changed the file")
	}
	f, err = h5.OpenFileRW(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := openDatasetRW(t, f, "/x").WriteAt([]byte{7, 0, 0, 0}, 4); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if flags() != 0 {
		t.Errorf("flags %#x after a commit, want 0", flags())
	}
	h5pyCheck(t, file, `
import sys, h5py
f = h5py.File(sys.argv[1], "r")
assert list(f["x"][:3]) == [0, 7, 2], f["x"][:3]
print("ok")`)
}

// TestOpenForWritingRefusesASWMRWritersFile: a SWMR writer lets go of the
// file lock, so its mark may mean a live writer: the file opens read-only
// only, as in libhdf5.
func TestOpenForWritingRefusesASWMRWritersFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "swmr.h5")
	cmd := exec.Command(python(), "-c", `
import os, sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "w", libver="latest")
f.create_dataset("x", data=np.arange(10), maxshape=(None,), chunks=(5,))
f.swmr_mode = True
f.flush()
os._exit(0)`, file)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if _, err := h5.OpenFileRW(file, nil); !errors.Is(err, h5.ErrSWMRWriter) {
		t.Fatalf("OpenFileRW: %v, want ErrSWMRWriter", err)
	}
	f, err := h5.OpenFile(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if !f.MarkedBySWMRWriter() {
		t.Errorf("MarkedBySWMRWriter is false")
	}
	if _, err := f.OpenPath("/x"); err != nil {
		t.Error(err)
	}
}

// TestSyncMakesInPlaceWritesDurable: data rewritten in place (contiguous
// storage) changes no metadata, and a Sync after it still syncs the file,
// or an fsync through a mount would return with the data only in the page
// cache; a Sync with nothing written since syncs nothing, and an open that
// changes nothing never syncs.
func TestSyncMakesInPlaceWritesDurable(t *testing.T) {
	name, _ := sliceFixture(t, []uint64{4096}, nil, nil, nil, 4096, nil)
	f, err := h5.OpenFileRW(name, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d := openDatasetRW(t, f, "/d")
	if err := f.Sync(); err != nil || h5.FileSyncs(f) != 0 {
		t.Fatalf("a sync with nothing changed synced the file %d times (%v)", h5.FileSyncs(f), err)
	}
	for round := int64(1); round <= 2; round++ {
		if _, err := d.WriteAt(bytes.Repeat([]byte{byte(round)}, 800), 8*round); err != nil {
			t.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
		if got := h5.FileSyncs(f); got != round {
			t.Fatalf("after %d in-place writes and syncs the file was synced %d times", round, got)
		}
	}
	if err := f.Sync(); err != nil || h5.FileSyncs(f) != 2 {
		t.Errorf("a sync with nothing written since synced the file again (%d, %v)", h5.FileSyncs(f), err)
	}
}
