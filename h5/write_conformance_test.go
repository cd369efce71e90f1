package h5_test

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/h5mount/h5mount/h5"
)

// copyDir copies the regular files of dir (an HDF5 file may need its
// siblings: external links, EFL and VDS sources).
func copyDir(t *testing.T, dir string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		in, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out, err := os.Create(filepath.Join(dst, e.Name()))
		if err == nil {
			_, err = io.Copy(out, in)
			out.Close()
		}
		in.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// TestRandomWritesConformance: 1000 random writes (random offsets and
// lengths, across chunk boundaries) into every dataset of the conformance
// corpus that h5mount writes, then h5py must read each exactly as a model of
// the same writes says. Datasets h5mount refuses to write must refuse with
// a documented error before changing anything.
func TestRandomWritesConformance(t *testing.T) {
	dir := copyDir(t, "../testdata/conformance")
	// Datasets read in a converted form are judged by libhdf5 applying the
	// same writes to a pristine copy through h5py.
	pristine := copyDir(t, "../testdata/conformance")
	dumps, _ := filepath.Glob(filepath.Join(dir, "*.h5.json"))
	sort.Strings(dumps)
	rng := rand.New(rand.NewSource(42))
	modelDir := t.TempDir()
	var specs []string
	refused := map[string]int{}
	written, converted := 0, 0
	for _, dumpPath := range dumps {
		file := strings.TrimSuffix(dumpPath, ".json")
		raw, err := os.ReadFile(dumpPath)
		if err != nil {
			t.Fatal(err)
		}
		var dump map[string]*refEntry
		if err := json.Unmarshal(raw, &dump); err != nil {
			t.Fatal(err)
		}
		f, err := h5.OpenFileRW(file, nil)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		paths := make([]string, 0, len(dump))
		for p, e := range dump {
			if e.Kind == "dataset" && e.Error == "" && e.SHA256 != nil && e.SizeBytes != nil && *e.SizeBytes > 0 {
				paths = append(paths, p)
			}
		}
		sort.Strings(paths)
		done := map[uint64]bool{} // one object reached by two names is written once
		for _, p := range paths {
			o, err := f.OpenPath(p)
			if err != nil {
				t.Fatalf("%s %s: %v", file, p, err)
			}
			if done[o.Addr] {
				continue
			}
			done[o.Addr] = true
			d, err := o.AsDataset()
			if err != nil {
				t.Fatalf("%s %s: %v", file, p, err)
			}
			model := make([]byte, d.Size())
			if _, err := d.ReadAt(model, 0); err != nil {
				refused["unreadable"]++
				continue
			}
			span := int64(1024)
			if c := d.ChunkDims(); c != nil {
				span = int64(d.Type.Size)
				for _, x := range c {
					span *= int64(x)
				}
				span *= 2
			}
			ok := true
			writes := 1000
			var replay []byte // converted datasets: the writes, for h5py to repeat
			if d.ReadsConverted() {
				writes = 200
			}
			for i := 0; i < writes && ok; i++ {
				n := 1 + rng.Int63n(min(span, d.Size()))
				off := rng.Int63n(d.Size() - n + 1)
				buf := make([]byte, n)
				rng.Read(buf)
				if _, err := d.WriteAt(buf, off); err != nil {
					if i == 0 && (errors.Is(err, h5.ErrUnsupported) || errors.Is(err, h5.ErrNotWritable)) {
						refused[refusal(err)]++
						ok = false
						break
					}
					t.Fatalf("%s %s: write %d at %d: %v", filepath.Base(file), p, n, off, err)
				}
				copy(model[off:], buf)
				if d.ReadsConverted() {
					replay = binary.LittleEndian.AppendUint64(replay, uint64(off))
					replay = binary.LittleEndian.AppendUint32(replay, uint32(n))
					replay = append(replay, buf...)
				}
				if i%250 == 249 {
					if err := f.Flush(); err != nil {
						t.Fatalf("%s: flush: %v", file, err)
					}
				}
			}
			if !ok {
				continue
			}
			name := filepath.Join(modelDir, filepath.Base(file)+strings.ReplaceAll(p, "/", "_"))
			kind := "model"
			if replay != nil {
				kind, model = "replay", replay
				converted++
			}
			if err := os.WriteFile(name, model, 0o644); err != nil {
				t.Fatal(err)
			}
			specs = append(specs, file+"|"+p+"|"+name+"|"+kind+"|"+filepath.Join(pristine, filepath.Base(file)))
			written++
		}
		if err := f.Close(); err != nil {
			t.Fatalf("%s: close: %v", file, err)
		}
	}
	t.Logf("%d datasets written 1000 times each (%d of them in a converted form, 200 times); refused: %v", written, converted, refused)
	if converted < 30 {
		t.Errorf("only %d converted datasets written", converted)
	}
	if written < 150 {
		t.Errorf("only %d datasets written", written)
	}
	list := filepath.Join(modelDir, "specs")
	if err := os.WriteFile(list, []byte(strings.Join(specs, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(python(), "-c", `
import os, sys, h5py, numpy as np, subprocess
os.environ.setdefault("HDF5_PLUGIN_PATH", "/usr/lib/x86_64-linux-gnu/hdf5/serial/plugins")
def same(got, want):
    # padding between compound members is not data: libhdf5 does not copy it
    if got.dtype.names:
        return all(same(got[n], want[n]) for n in got.dtype.names)
    return np.ascontiguousarray(got).tobytes() == np.ascontiguousarray(want).tobytes()
def mem_type(ftype, dt):
    # h5py's memory type for dt, except that null-terminated strings are
    # the file's own type: h5mount stores a string that fills its field
    # whole, where libhdf5 converting from h5py's null-padded strings
    # would cut its last byte.
    h5t = h5py.h5t
    cls = ftype.get_class()
    if cls == h5t.STRING and not ftype.is_variable_str() and ftype.get_strpad() == h5t.STR_NULLTERM:
        return ftype.copy()
    if cls == h5t.COMPOUND:
        ct = h5t.create(h5t.COMPOUND, dt.itemsize)
        for i in range(ftype.get_nmembers()):
            name = ftype.get_member_name(i)
            fdt, off = dt.fields[name.decode()][:2]
            ct.insert(name, off, mem_type(ftype.get_member_type(i), fdt))
        return ct
    if cls == h5t.ARRAY and dt.subdtype is not None:
        return h5t.array_create(mem_type(ftype.get_super(), dt.subdtype[0]), dt.subdtype[1])
    return h5t.py_create(dt)
files = {}
refs = {}
import struct
for line in open(sys.argv[1]).read().split("\n"):
    file, p, model, kind, pristine = line.split("|")
    # libhdf5 1.10 finds external raw data files from the current directory
    os.chdir(os.path.dirname(file))
    f = files.get(file) or files.setdefault(file, h5py.File(file, "r"))
    ds = f[p]
    raw = open(model, "rb").read()
    got = ds[()]
    if kind == "replay":
        # libhdf5 converts h5py's values into the stored type: repeat every
        # write (whole elements in their read form) and compare what reads back.
        r = refs.get(pristine) or refs.setdefault(pristine, h5py.File(pristine, "r+"))
        rd = r[p]
        pos = 0
        while pos < len(raw):
            off, n = struct.unpack_from("<QI", raw, pos); pos += 12
            data = raw[pos:pos+n]; pos += n
            cur = rd[()]
            if rd.shape == ():
                cur = np.asarray(cur, dtype=rd.dtype)
            b = bytearray(np.ascontiguousarray(cur).tobytes())
            b[off:off+n] = data
            new = np.ascontiguousarray(np.frombuffer(bytes(b), dtype=cur.dtype).reshape(rd.shape))
            rd.id.write(h5py.h5s.ALL, h5py.h5s.ALL, new, mtype=mem_type(rd.id.get_type(), cur.dtype))
        want = rd[()]
        if rd.shape == ():
            want = np.asarray(want, dtype=rd.dtype)
            got = np.asarray(got, dtype=ds.dtype)
        if not same(got, want):
            g, w = np.ascontiguousarray(got).reshape(-1), np.ascontiguousarray(want).reshape(-1)
            bad = [i for i in range(len(g)) if g[i:i+1].tobytes() != w[i:i+1].tobytes()]
            raise AssertionError((file, p, len(bad), [(i, g[i], w[i]) for i in bad[:5]]))
        continue
    if ds.shape == ():
        got = np.asarray(got, dtype=ds.dtype)   # h5py hands scalars back in native order
    if got.dtype.names:
        assert same(got, np.frombuffer(raw, dtype=got.dtype).reshape(got.shape)), (file, p)
    else:
        assert np.ascontiguousarray(got).tobytes() == raw, (file, p)
for file in files:
    subprocess.run(["h5dump", "-H", file], check=True, stdout=subprocess.DEVNULL)
print("ok")`, list).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("h5py check: %v\n%s", err, out)
	}
}

// refusal names why a dataset is not writable, for the test log.
func refusal(err error) string {
	s := err.Error()
	for _, k := range []string{"fixed array", "extensible array", "implicit", "version 2 B-tree", "filter", "converted", "no fixed size", "virtual", "external"} {
		if strings.Contains(s, k) {
			return k
		}
	}
	return s
}
