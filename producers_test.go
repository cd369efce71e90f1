package main

// Files as other libraries write them (testdata/producers, made by
// scripts/gen_producers.py with PyTables, pandas and netCDF4): mounted and
// compared with h5py's reading, then edited through a mount and read again
// by the library that wrote them.

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const producersDir = "producers"

// producerFiles lists testdata/producers' HDF5 files by name.
func producerFiles(t *testing.T) []string {
	return testdataFiles(t, producersDir, "gen_producers.py", 4, "*.h5", "*.nc")
}

// TestProducerFilesMount mounts each producer's file read-only and checks
// it against h5py's dump, as the conformance files are.
func TestProducerFilesMount(t *testing.T) {
	requireFUSE(t)
	for _, name := range producerFiles(t) {
		t.Run(name, func(t *testing.T) {
			rel := producersDir + "/" + name
			mnt := mountT(t, fixture(t, rel), "--read-only")
			checkAgainstDump(t, mnt, loadDump(t, rel))
			checkVlenStrings(t, mnt, rel)
		})
	}
}

// producerReader has the library that wrote a file read all of it, and
// prints one line per object: its path, and a digest of its values and
// attributes as that library gives them. Attributes the mount's edit adds
// (h5mount_*) are left out; everything else must read as before.
const producerReader = `
import sys, hashlib, pickle, warnings
warnings.simplefilter("ignore")
import numpy as np
kind, path = sys.argv[1], sys.argv[2]
def digest(v):
    if isinstance(v, np.ndarray) and v.dtype != object:
        return hashlib.sha256(repr((v.dtype.str, v.shape)).encode() + np.ascontiguousarray(v).tobytes()).hexdigest()[:16]
    return hashlib.sha256(repr(v).encode()).hexdigest()[:16]
def attrs(names, get):
    return {n: digest(get(n)) for n in sorted(names) if not n.startswith("h5mount_")}
out = []
if kind == "tables":
    import tables
    with tables.open_file(path, "r") as f:
        for node in f.walk_nodes("/"):
            a = node._v_attrs
            entry = [node._v_pathname, type(node).__name__, attrs(a._v_attrnamesuser, lambda n: a[n])]
            if isinstance(node, tables.Leaf) and not isinstance(node, tables.UnImplemented):
                entry.append(digest(node.read()))
            out.append(entry)
elif kind == "pandas":
    import pandas as pd
    with pd.HDFStore(path, "r") as s:
        for key in sorted(s.keys()):
            v = s[key]
            out.append([key, type(v).__name__, digest(v.to_dict())])
elif kind == "netcdf":
    import netCDF4
    def walk(g):
        out.append([g.path, "group", attrs(g.ncattrs(), g.getncattr), sorted(g.dimensions), {n: len(d) for n, d in g.dimensions.items()}])
        for name, v in sorted(g.variables.items()):
            v.set_auto_mask(False)
            out.append([g.path + "/" + name, str(v.dtype), v.dimensions, attrs(v.ncattrs(), v.getncattr), digest(v[...])])
        for sub in sorted(g.groups.values(), key=lambda x: x.name):
            walk(sub)
    with netCDF4.Dataset(path, "r") as d:
        walk(d)
for e in out:
    print(repr(e))
`

// producerKind names the library that reads file back.
func producerKind(name string) string {
	switch {
	case strings.HasPrefix(name, "pytables"):
		return "tables"
	case strings.HasPrefix(name, "pandas"):
		return "pandas"
	case strings.HasSuffix(name, ".nc"):
		return "netcdf"
	}
	return ""
}

func readWithProducer(t *testing.T, kind, file string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/usr/bin/python3", "-c", producerReader, kind, file)
	cmd.Env = append(os.Environ(), "HDF5_PLUGIN_PATH=/usr/lib/x86_64-linux-gnu/hdf5/serial/plugins")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s reading %s: %v\n%s", kind, file, err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 3 {
		t.Fatalf("%s reading %s: %d objects:\n%s", kind, file, len(lines), out)
	}
	return lines
}

// TestProducerLibrariesReadEditedFiles edits each producer's file through
// a mount (every dataset rewritten with its own bytes, attributes added to
// every object, links made, renamed and removed, growable datasets grown
// and shrunk back) and has the producing library read it: everything it
// read before must read the same. Then one value of a compressed dataset is
// changed through the mount, and the library must see that value.
// PyTables' tables hold strings that fill their null-terminated fields
// without a terminator: writing one back unchanged must keep it whole.
func TestProducerLibrariesReadEditedFiles(t *testing.T) {
	requireFUSE(t)
	changes := map[string]struct {
		dataset string
		offset  int64
		check   string // Python, with the file open as f
	}{
		"pytables.h5": {"grp/c_blosc_zstd", 8 * 51, `import tables; f = tables.open_file(path); assert f.root.grp.c_blosc_zstd[1, 1] == 42.5, f.root.grp.c_blosc_zstd[1, 1]`},
		"pandas.h5":   {"df_fixed/block1_values", 8 * 7, `import pandas as pd; v = pd.read_hdf(path, "df_fixed")["b"][7]; assert v == 42.5, v`},
		"netcdf4.nc":  {"temp", 4 * (19*36 + 2), `import netCDF4; v = netCDF4.Dataset(path)["temp"][1, 0, 2]; assert v == 42.5, v`},
		"classic.nc":  {"w", 8 * 99, `import netCDF4; v = netCDF4.Dataset(path)["w"][99]; assert v == 42.5, v`},
	}
	for _, name := range producerFiles(t) {
		t.Run(name, func(t *testing.T) {
			kind := producerKind(name)
			change, ok := changes[name]
			if kind == "" || !ok {
				t.Fatalf("no library or change known for %s", name)
			}
			file := copyFixture(t, producersDir+"/"+name, t.TempDir())
			before := readWithProducer(t, kind, file)

			mnt := mountT(t, file)
			var rewritten, grown atomic.Int64
			if err := rewriteDatasets(mnt, &rewritten); err != nil {
				t.Fatal(err)
			}
			if err := editStructure(mnt); err != nil {
				t.Fatal(err)
			}
			if err := growAndShrink(mnt, &grown); err != nil {
				t.Fatal(err)
			}
			if r := unmountParallel(t, mnt); r.code != 0 {
				t.Fatalf("unmount: %v", r)
			}
			if rewritten.Load() < 3 {
				t.Errorf("only %d datasets rewritten", rewritten.Load())
			}
			after := readWithProducer(t, kind, file)
			if strings.Join(before, "\n") != strings.Join(after, "\n") {
				for i := range max(len(before), len(after)) {
					var b, a string
					if i < len(before) {
						b = before[i]
					}
					if i < len(after) {
						a = after[i]
					}
					if a != b {
						t.Errorf("%s reads differently after the edit:\nbefore %s\nafter  %s", kind, b, a)
					}
				}
			}
			if err := h5dumpAll(file, time.Minute); err != nil {
				t.Fatalf("h5dump after the edit: %v", err)
			}

			mnt = mountT(t, file)
			value := make([]byte, 8)
			size := 8
			if dt, _ := getxattr(inMount(mnt, change.dataset), "user.h5.dtype"); strings.HasSuffix(string(dt), "f4") {
				binary.LittleEndian.PutUint32(value, math.Float32bits(42.5))
				size = 4
			} else {
				binary.LittleEndian.PutUint64(value, math.Float64bits(42.5))
			}
			f, err := os.OpenFile(inMount(mnt, change.dataset), os.O_WRONLY, 0)
			if err == nil {
				_, err = f.WriteAt(value[:size], change.offset)
				if cerr := f.Close(); err == nil {
					err = cerr
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			if r := unmountParallel(t, mnt); r.code != 0 {
				t.Fatalf("unmount: %v", r)
			}
			cmd := exec.Command("/usr/bin/python3", "-c", "import sys, warnings; warnings.simplefilter('ignore'); path = sys.argv[1]\n"+change.check, file)
			cmd.Env = append(os.Environ(), "HDF5_PLUGIN_PATH=/usr/lib/x86_64-linux-gnu/hdf5/serial/plugins")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s after writing 42.5 into %s: %v\n%s", kind, change.dataset, err, out)
			}
		})
	}
}

// TestNewAttributesComeLastInCreationOrder: netCDF-4 tracks the creation
// order of attributes and lists them in it. Attributes set through a mount
// take the next index (the object's attribute info holds it), a replaced
// value keeps its attribute's index, and moving past the compact limit
// into dense storage keeps every index: netCDF lists them as written.
func TestNewAttributesComeLastInCreationOrder(t *testing.T) {
	requireFUSE(t)
	file := copyFixture(t, producersDir+"/netcdf4.nc", t.TempDir())
	mnt := mountT(t, file)
	set := func(p, name, value string) {
		t.Helper()
		if err := unix.Setxattr(inMount(mnt, p), "user."+name, []byte(value), 0); err != nil {
			t.Fatalf("setxattr %s %s: %v", p, name, err)
		}
	}
	set("temp", "valid_range", "[1.5, 2.5]") // replaced in the header
	set("temp", "long_name", "air temperature")
	set("temp", "count", "5")
	set("time", "units", "hours since 1900-01-01") // replaced, then moved to dense storage
	for i := 1; i <= 6; i++ {
		set("time", fmt.Sprintf("extra%d", i), strconv.Itoa(i))
	}
	set("time", "extra2", "22") // replaced in dense storage
	set("time", "extra7", "7")
	if r := unmountParallel(t, mnt); r.code != 0 {
		t.Fatalf("unmount: %v", r)
	}
	cmd := exec.Command("/usr/bin/python3", "-c", `
import sys, netCDF4, h5py
d = netCDF4.Dataset(sys.argv[1])
got = [d["temp"].ncattrs(), d["time"].ncattrs(), d["time"].units, int(d["time"].extra2)]
want = [["_FillValue", "units", "valid_range", "long_name", "count"],
        ["units"] + ["extra%d" % i for i in range(1, 8)], "hours since 1900-01-01", 22]
assert got == want, got
d.close()
f = h5py.File(sys.argv[1], "r")
for name in ("temp", "time"):
    o = f[name].id
    orders = [h5py.h5a.get_info(o, index=i, index_type=h5py.h5.INDEX_CRT_ORDER).corder for i in range(len(f[name].attrs))]
    assert orders == sorted(set(orders)), (name, orders)
print("ok")`, file)
	if out, err := cmd.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("netCDF4 after setfattr: %v\n%s", err, out)
	}
	if err := h5dumpAll(file, time.Minute); err != nil {
		t.Fatal(err)
	}
}
