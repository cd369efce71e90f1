package main

// The user's session of the foundation issue, run against real mounts of
// testdata/weather.h5 and weather_latest.h5 with the tools a user types
// (ls, stat, cat, dd | od, du, getfattr, find), and every object of every
// test file compared with its h5py reference dump (testdata/NAME.h5.json,
// schema in scripts/dump_ref.py).

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	mib = 1 << 20

	// /big in weather*.h5: 2 TiB of float32, shape (1024,1024,1024,512),
	// where only element [344,678,23,36] = 42.0 was written.
	bigSize    = int64(1024 * 1024 * 1024 * 512 * 4)
	bigElement = int64(((344*1024+678)*1024+23)*512 + 36)
	bigOffset  = bigElement * 4

	// xattrMax is the largest xattr value Linux passes.
	xattrMax = 64 << 10
)

// dumpEntry is one object of a reference dump (scripts/dump_ref.py).
type dumpEntry struct {
	Kind       string              `json:"kind"` // "" for null
	Error      string              `json:"error"`
	Addr       uint64              `json:"addr"`
	Nlink      int                 `json:"nlink"`
	HardlinkOf string              `json:"hardlink_of"`
	Members    []string            `json:"members"`
	Dtype      string              `json:"dtype"`
	Shape      []int64             `json:"shape"`
	ItemSize   int64               `json:"itemsize"`
	SizeBytes  *int64              `json:"size_bytes"`
	Storage    *int64              `json:"storage_size"`
	SHA256     *string             `json:"sha256"`
	Windows    []dumpWindow        `json:"windows"`
	Probes     []dumpProbe         `json:"probes"`
	Props      map[string]*string  `json:"props"`
	Attrs      map[string]dumpAttr `json:"attrs"`
	Target     string              `json:"target"`
	Symlink    string              `json:"symlink"`
	Dangling   bool                `json:"dangling"`
	Filters    []struct {
		ID    int `json:"id"`
		Flags int `json:"flags"`
	} `json:"filters"`
}

// decodedFilters are the filter ids h5mount decodes (SPEC §8, and szip,
// bzip2, Blosc, VBZ, LZO and ZFP). A dataset behind any other filter (SZ,
// ...) must answer EOPNOTSUPP, unless every chunk skipped it.
var decodedFilters = map[int]bool{1: true, 2: true, 3: true, 4: true, 5: true, 6: true, 305: true, 307: true,
	32000: true, 32001: true, 32004: true, 32008: true, 32013: true, 32015: true, 32020: true}

// undecodable reports whether the dataset's pipeline has a filter h5mount
// does not decode.
func (e *dumpEntry) undecodable() bool {
	for _, f := range e.Filters {
		if !decodedFilters[f.ID] {
			return true
		}
	}
	return false
}

type dumpWindow struct {
	Offset int64  `json:"offset"`
	Length int64  `json:"length"`
	SHA256 string `json:"sha256"`
}

type dumpProbe struct {
	Index      []int64         `json:"index"`
	ByteOffset int64           `json:"byte_offset"`
	Value      json.RawMessage `json:"value"`
}

type dumpAttr struct {
	Dtype      string          `json:"dtype"`
	Text       *string         `json:"text"`
	TextBytes  int             `json:"text_bytes"`
	Truncated  bool            `json:"truncated"`
	TextSHA256 string          `json:"text_sha256"`
	Error      string          `json:"error"`
	Enum       json.RawMessage `json:"enum"` // member names of an enum (h5py bools too)
}

// loadDump reads testdata/NAME.json.
func loadDump(t *testing.T, name string) map[string]*dumpEntry {
	t.Helper()
	data, err := os.ReadFile(fixture(t, name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var d map[string]*dumpEntry
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("%s.json: %v", name, err)
	}
	if d["/"] == nil || d["/"].Kind != "group" {
		t.Fatalf("%s.json: no root group (%+v)", name, d["/"])
	}
	return d
}

// sortedPaths gives a dump's paths in a stable order.
func sortedPaths(d map[string]*dumpEntry) []string {
	ps := make([]string, 0, len(d))
	for p := range d {
		ps = append(ps, p)
	}
	sort.Strings(ps)
	return ps
}

// inMount is where a path of the file appears in the mount.
func inMount(mnt, p string) string {
	return filepath.Join(mnt, filepath.FromSlash(p))
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// getxattr reads an extended attribute without following symlinks' targets
// (the mount's objects are never symlinks where this is used).
func getxattr(p, name string) ([]byte, error) {
	n, err := syscall.Getxattr(p, name, nil)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, n+1)
	n, err = syscall.Getxattr(p, name, buf)
	if err != nil {
		return nil, err
	}
	return buf[:n], nil
}

func listxattr(p string) ([]string, error) {
	n, err := syscall.Listxattr(p, nil)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, n+1)
	n, err = syscall.Listxattr(p, buf)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, s := range strings.Split(string(buf[:n]), "\x00") {
		if s != "" {
			names = append(names, s)
		}
	}
	return names, nil
}

// visible tells whether a dump entry shows in the mount (SPEC §2: named
// datatypes may be left out; user-defined links have no meaning here).
func visible(e *dumpEntry) bool {
	switch e.Kind {
	case "group", "dataset", "softlink", "extlink":
		return true
	}
	return false
}

// checkAgainstDump compares every object of the mount with the reference
// dump: kinds, directory listings, sizes, allocated blocks, data (sha256,
// windows, probes), hard links, symlink targets, attributes and dataset
// properties as extended attributes.
func checkAgainstDump(t *testing.T, mnt string, d map[string]*dumpEntry) {
	t.Helper()
	inodes := map[string]uint64{}
	for _, p := range sortedPaths(d) {
		e := d[p]
		if e.Error != "" || !visible(e) {
			continue
		}
		mp := inMount(mnt, p)
		st, err := os.Lstat(mp)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		sys := st.Sys().(*syscall.Stat_t)
		inodes[p] = sys.Ino
		switch e.Kind {
		case "group":
			if !st.IsDir() {
				// A link back up to an ancestor shows as a symlink.
				if st.Mode()&os.ModeSymlink == 0 || e.HardlinkOf == "" {
					t.Errorf("%s: mode %v, want a directory", p, st.Mode())
				}
				continue
			}
			checkListing(t, mp, p, e, d)
		case "dataset":
			checkDataset(t, mp, p, e, st)
		case "softlink", "extlink":
			checkSymlink(t, mnt, p, e, st)
			continue
		}
		checkAttributes(t, mp, p, e)
	}
	// Two names of one dataset are one inode (groups get one per path).
	for _, p := range sortedPaths(d) {
		e := d[p]
		if e.Kind != "dataset" || e.HardlinkOf == "" {
			continue
		}
		if a, b := inodes[p], inodes[e.HardlinkOf]; a != b {
			t.Errorf("%s is a hard link of %s but its inode is %d, not %d", p, e.HardlinkOf, a, b)
		}
	}
}

func checkListing(t *testing.T, mp, p string, e *dumpEntry, d map[string]*dumpEntry) {
	t.Helper()
	ents, err := os.ReadDir(mp)
	if err != nil {
		t.Errorf("%s: readdir: %v", p, err)
		return
	}
	got := map[string]bool{}
	for _, de := range ents {
		got[de.Name()] = true
	}
	// The dump does not descend into a group's second name: its members
	// are those of the first.
	base := p
	if e.HardlinkOf != "" {
		base = e.HardlinkOf
	}
	for _, name := range e.Members {
		child := d[path.Join(base, name)]
		if child == nil {
			t.Errorf("%s: member %q not in the dump", p, name)
			continue
		}
		switch {
		case visible(child) && !got[name]:
			t.Errorf("%s: %q missing from the listing", p, name)
		case !visible(child) && child.Kind != "datatype" && got[name]:
			t.Errorf("%s: %q (a %q) is listed", p, name, child.Kind)
		}
		delete(got, name)
	}
	for name := range got {
		t.Errorf("%s: listing has %q, which the file does not", p, name)
	}
}

func checkDataset(t *testing.T, mp, p string, e *dumpEntry, st os.FileInfo) {
	t.Helper()
	if !st.Mode().IsRegular() {
		t.Errorf("%s: mode %v, want a regular file", p, st.Mode())
		return
	}
	sys := st.Sys().(*syscall.Stat_t)
	if e.Nlink > 0 && int(sys.Nlink) != e.Nlink {
		t.Errorf("%s: st_nlink %d, want %d", p, sys.Nlink, e.Nlink)
	}
	if e.SizeBytes != nil && st.Size() != *e.SizeBytes {
		t.Errorf("%s: size %d, want %d", p, st.Size(), *e.SizeBytes)
	}
	if e.Storage != nil {
		if want := (*e.Storage + 511) / 512; sys.Blocks != want {
			t.Errorf("%s: st_blocks %d, want %d (%d bytes allocated in the file)", p, sys.Blocks, want, *e.Storage)
		}
	}
	if e.SHA256 != nil {
		data, err := os.ReadFile(mp)
		switch {
		case err != nil && e.undecodable() && errors.Is(err, syscall.EOPNOTSUPP):
			// the documented answer for a filter h5mount cannot decode
		case err != nil:
			t.Errorf("%s: read: %v", p, err)
		case e.undecodable() && sha256Hex(data) != *e.SHA256:
			// (Right bytes are right: every chunk may have skipped the
			// filter, an optional one libhdf5 could not apply.)
			t.Errorf("%s: read through a filter h5mount does not decode", p)
		case sha256Hex(data) != *e.SHA256:
			t.Errorf("%s: data sha256 %s, want %s (%d bytes)", p, sha256Hex(data), *e.SHA256, len(data))
		}
	}
	if len(e.Windows) > 0 || len(e.Probes) > 0 {
		f, err := os.Open(mp)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			return
		}
		defer f.Close()
		for _, w := range e.Windows {
			buf := make([]byte, w.Length)
			n, err := f.ReadAt(buf, w.Offset)
			if err != nil && !(errors.Is(err, io.EOF) && int64(n) == w.Length) {
				t.Errorf("%s: read %d bytes at %d: %d, %v", p, w.Length, w.Offset, n, err)
				continue
			}
			if got := sha256Hex(buf[:n]); got != w.SHA256 {
				t.Errorf("%s: window [%d, +%d) sha256 %s, want %s", p, w.Offset, w.Length, got, w.SHA256)
			}
		}
		for _, pr := range e.Probes {
			checkProbe(t, f, p, e, pr)
		}
	}
}

// checkProbe compares one element, read at its byte offset, with its value.
func checkProbe(t *testing.T, f *os.File, p string, e *dumpEntry, pr dumpProbe) {
	t.Helper()
	var want float64
	if err := json.Unmarshal(pr.Value, &want); err != nil {
		return // a value that is not a plain number
	}
	buf := make([]byte, e.ItemSize)
	if _, err := f.ReadAt(buf, pr.ByteOffset); err != nil {
		t.Errorf("%s%v: read at %d: %v", p, pr.Index, pr.ByteOffset, err)
		return
	}
	got, ok := decodeNumber(e.Dtype, buf)
	if ok && got != want {
		t.Errorf("%s%v at byte %d: %v, want %v", p, pr.Index, pr.ByteOffset, got, want)
	}
}

// decodeNumber decodes one element of a NumPy integer or float dtype.
func decodeNumber(dtype string, b []byte) (float64, bool) {
	if len(dtype) < 3 {
		return 0, false
	}
	var order binary.ByteOrder = binary.LittleEndian
	if dtype[0] == '>' {
		order = binary.BigEndian
	}
	size, err := strconv.Atoi(dtype[2:])
	if err != nil || size != len(b) {
		return 0, false
	}
	switch dtype[1:] {
	case "f4":
		return float64(math.Float32frombits(order.Uint32(b))), true
	case "f8":
		return math.Float64frombits(order.Uint64(b)), true
	case "i1":
		return float64(int8(b[0])), true
	case "u1":
		return float64(b[0]), true
	case "i2":
		return float64(int16(order.Uint16(b))), true
	case "u2":
		return float64(order.Uint16(b)), true
	case "i4":
		return float64(int32(order.Uint32(b))), true
	case "u4":
		return float64(order.Uint32(b)), true
	case "i8":
		return float64(int64(order.Uint64(b))), true
	case "u8":
		return float64(order.Uint64(b)), true
	}
	return 0, false
}

func checkSymlink(t *testing.T, mnt, p string, e *dumpEntry, st os.FileInfo) {
	t.Helper()
	if st.Mode()&os.ModeSymlink == 0 {
		t.Errorf("%s: mode %v, want a symlink", p, st.Mode())
		return
	}
	got, err := os.Readlink(inMount(mnt, p))
	if err != nil {
		t.Errorf("%s: readlink: %v", p, err)
		return
	}
	if e.Kind == "extlink" {
		if got != e.Target {
			t.Errorf("%s: external link reads %q, want %q", p, got, e.Target)
		}
		return
	}
	if strings.HasPrefix(got, "/") {
		t.Errorf("%s: symlink target %q is absolute, want relative (%q)", p, got, e.Symlink)
		return
	}
	dir := path.Dir(p)
	if path.Join(dir, got) != path.Join(dir, e.Symlink) {
		t.Errorf("%s: symlink target %q leads to %s, want %q (%s)", p, got,
			path.Join(dir, got), e.Symlink, path.Join(dir, e.Symlink))
		return
	}
	if !e.Dangling {
		if _, err := os.Stat(inMount(mnt, p)); err != nil {
			t.Errorf("%s: following the symlink: %v", p, err)
		}
	}
}

func checkAttributes(t *testing.T, mp, p string, e *dumpEntry) {
	t.Helper()
	listed, err := listxattr(mp)
	if err != nil {
		t.Errorf("%s: listxattr: %v", p, err)
		return
	}
	has := map[string]bool{}
	for _, n := range listed {
		has[n] = true
	}
	names := make([]string, 0, len(e.Attrs))
	for n := range e.Attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		a := e.Attrs[name]
		if a.Error != "" {
			continue
		}
		x := "user." + name
		if !has[x] && !(e.Kind == "dataset" && strings.HasPrefix(x, "user.h5.")) {
			t.Errorf("%s: %s not listed", p, x)
		}
		if a.Text == nil && a.TextSHA256 == "" {
			continue // SPEC leaves the text open
		}
		got, err := getxattr(mp, x)
		if a.TextBytes > xattrMax {
			if !errors.Is(err, syscall.E2BIG) {
				t.Errorf("%s: %s of %d bytes: %v, want E2BIG", p, x, a.TextBytes, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: getxattr %s: %v", p, x, err)
			continue
		}
		switch {
		case a.Text != nil && string(got) != *a.Text:
			t.Errorf("%s: %s = %q, want %q (%s)", p, x, got, *a.Text, a.Dtype)
		case a.Text == nil && sha256Hex(got) != a.TextSHA256:
			t.Errorf("%s: %s (%d bytes): text sha256 %s, want %s", p, x, len(got), sha256Hex(got), a.TextSHA256)
		}
	}
	if e.Kind != "dataset" {
		return
	}
	props := make([]string, 0, len(e.Props))
	for n := range e.Props {
		props = append(props, n)
	}
	sort.Strings(props)
	for _, x := range props {
		if !has[x] {
			t.Errorf("%s: %s not listed", p, x)
		}
		want := e.Props[x]
		if want == nil {
			continue
		}
		got, err := getxattr(mp, x)
		if err != nil {
			t.Errorf("%s: getxattr %s: %v", p, x, err)
		} else if string(got) != *want {
			t.Errorf("%s: %s = %q, want %q", p, x, got, *want)
		}
	}
}

// findCount runs find on the mount and counts what it lists; it must end.
func findCount(t *testing.T, mnt string) int {
	t.Helper()
	out := sh(t, "find "+shellQuote(mnt))
	return strings.Count(out, "\n")
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// expectedFindCount is the number of paths find lists for a dump without
// groups of several names: visible entries, plus named datatypes if the
// mount lists them.
func expectedFindCount(d map[string]*dumpEntry) (min, max int, ok bool) {
	for _, e := range d {
		if e.Kind == "group" && e.HardlinkOf != "" {
			return 0, 0, false
		}
		if visible(e) && e.Error == "" {
			min++
		}
		if e.Kind == "datatype" {
			max++
		}
	}
	return min, min + max, true
}

// TestWeatherSession is the session, on both format generations of
// weather.h5.
func TestWeatherSession(t *testing.T) {
	requireFUSE(t)
	requireTool(t, "getfattr", "attr")
	for _, name := range []string{"weather.h5", "weather_latest.h5"} {
		t.Run(name, func(t *testing.T) {
			d := loadDump(t, name)
			mnt := mountT(t, fixture(t, name), "-o", "ro")
			q := shellQuote(mnt)

			// ls -la
			ls := sh(t, "ls -la "+q+" "+q+"/15")
			for _, want := range []string{" 15\n", " 20\n", " big\n", " comp\n", " temperature\n", " wind\n", "2199023255552"} {
				if !strings.Contains(ls, want) {
					t.Errorf("ls -la lacks %q:\n%s", want, ls)
				}
			}

			// stat -c '%s %b %B %h %i %F' of every object
			seenIno := map[string]string{}
			for _, p := range sortedPaths(d) {
				e := d[p]
				out := strings.Fields(sh(t, "stat -c '%s %b %B %h %i %F' "+shellQuote(inMount(mnt, p))))
				if len(out) < 6 {
					t.Fatalf("stat %s: %q", p, out)
				}
				size, _ := strconv.ParseInt(out[0], 10, 64)
				blocks, _ := strconv.ParseInt(out[1], 10, 64)
				unit, _ := strconv.ParseInt(out[2], 10, 64)
				kind := strings.Join(out[5:], " ")
				if other, dup := seenIno[out[4]]; dup {
					t.Errorf("%s and %s share inode %s", p, other, out[4])
				}
				seenIno[out[4]] = p
				again := strings.Fields(sh(t, "stat -c '%i' "+shellQuote(inMount(mnt, p))))
				if len(again) != 1 || again[0] != out[4] {
					t.Errorf("%s: inode %s, then %v", p, out[4], again)
				}
				switch e.Kind {
				case "group":
					if kind != "directory" {
						t.Errorf("%s: %q, want directory", p, kind)
					}
				case "dataset":
					if kind != "regular file" && kind != "regular empty file" {
						t.Errorf("%s: %q, want regular file", p, kind)
					}
					if size != *e.SizeBytes {
						t.Errorf("%s: %%s %d, want %d", p, size, *e.SizeBytes)
					}
					if out[3] != strconv.Itoa(e.Nlink) {
						t.Errorf("%s: %%h %s, want %d", p, out[3], e.Nlink)
					}
					if alloc := blocks * unit; alloc < *e.Storage || alloc >= *e.Storage+unit {
						t.Errorf("%s: %d blocks of %d bytes, want the %d bytes allocated in the file", p, blocks, unit, *e.Storage)
					}
				}
			}

			// cat, compared with the dump, for every dataset but /big
			for _, p := range sortedPaths(d) {
				e := d[p]
				if e.Kind != "dataset" || p == "/big" {
					continue
				}
				out := sh(t, "cat "+shellQuote(inMount(mnt, p)))
				if e.SHA256 == nil || sha256Hex([]byte(out)) != *e.SHA256 {
					t.Errorf("cat %s: %d bytes, sha256 %s, want %v", p, len(out), sha256Hex([]byte(out)), e.SHA256)
				}
			}

			// dd bs=8 skip=100 count=10 | od -A d -t f8
			temp := inMount(mnt, "/15/temperature")
			raw, err := os.ReadFile(temp)
			if err != nil {
				t.Fatal(err)
			}
			od := sh(t, "dd if="+shellQuote(temp)+" bs=8 skip=100 count=10 status=none | od -A d -t f8")
			checkOdF8(t, od, raw[800:880])

			// one element of the 2 TiB dataset
			big := inMount(mnt, "/big")
			el := sh(t, fmt.Sprintf("dd if=%s bs=4 skip=%d count=1 status=none | od -A n -t f4", shellQuote(big), bigElement))
			if v, err := strconv.ParseFloat(strings.TrimSpace(el), 32); err != nil || v != 42 {
				t.Errorf("/big element %d: od says %q, want 42", bigElement, el)
			}
			checkBigWindows(t, big)

			// du small, ls -l 2 TiB
			du := strings.Fields(sh(t, "du -k "+shellQuote(big)))
			if kib, err := strconv.Atoi(du[0]); err != nil || kib >= 1024 {
				t.Errorf("du -k /big: %q, want under 1 MiB", du)
			}
			if l := sh(t, "ls -l "+shellQuote(big)); !strings.Contains(l, " 2199023255552 ") {
				t.Errorf("ls -l /big: %q, want size 2199023255552", l)
			}

			// getfattr
			gf := sh(t, "getfattr -d -m - --absolute-names "+shellQuote(temp))
			for _, want := range []string{`user.dt="10.0"`, `user.start_time="1375204299"`,
				`user.h5.dtype="<f8"`, `user.h5.shape="1024"`} {
				if !strings.Contains(gf, want+"\n") {
					t.Errorf("getfattr lacks %s:\n%s", want, gf)
				}
			}

			// every object, attribute and property against the dump
			checkAgainstDump(t, mnt, d)

			// find | wc -l
			if n := findCount(t, mnt); n != len(d) {
				t.Errorf("find lists %d paths, want %d", n, len(d))
			}

			if r := h5mountT(t, "unmount", mnt); r.code != 0 || r.stderr != "" {
				t.Fatalf("h5mount unmount: %v", r)
			}
			if mountedAt(t, mnt) || fileExists(mnt) {
				t.Errorf("after unmount: mounted %v, mount point exists %v", mountedAt(t, mnt), fileExists(mnt))
			}
		})
	}
}

// checkOdF8 compares `od -A d -t f8` output with the float64s of want.
func checkOdF8(t *testing.T, od string, want []byte) {
	t.Helper()
	var got []float64
	var lastOffset string
	for _, line := range strings.Split(strings.TrimSpace(od), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		lastOffset = f[0]
		for _, s := range f[1:] {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatalf("od output %q: %v", od, err)
			}
			got = append(got, v)
		}
	}
	if lastOffset != "0000080" {
		t.Errorf("od ends at offset %q, want 0000080 (80 bytes)", lastOffset)
	}
	if len(got) != len(want)/8 {
		t.Fatalf("od shows %d values, want %d:\n%s", len(got), len(want)/8, od)
	}
	for i := range got {
		w := math.Float64frombits(binary.LittleEndian.Uint64(want[8*i:]))
		if math.Abs(got[i]-w) > 1e-9*math.Max(1, math.Abs(w)) {
			t.Errorf("od value %d: %v, want %v", i, got[i], w)
		}
	}
}

// checkBigWindows reads 1 MiB windows of /big: each is quick and, but for
// the one holding the written element, zeros.
func checkBigWindows(t *testing.T, big string) {
	t.Helper()
	f, err := os.Open(big)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	v := make([]byte, 4)
	if _, err := f.ReadAt(v, bigOffset); err != nil || math.Float32frombits(binary.LittleEndian.Uint32(v)) != 42 {
		t.Errorf("/big at byte %d: % x, %v, want float32 42.0", bigOffset, v, err)
	}
	offsets := []int64{0, bigSize - mib, bigSize / 2, bigOffset / mib * mib, bigOffset - mib/2, 12345}
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 8; i++ {
		offsets = append(offsets, rng.Int63n(bigSize-mib))
	}
	buf := make([]byte, mib)
	for _, off := range offsets {
		start := time.Now()
		n, err := f.ReadAt(buf, off)
		took := time.Since(start)
		if err != nil || n != mib {
			t.Errorf("/big: read 1 MiB at %d: %d bytes, %v", off, n, err)
			continue
		}
		if took > 2*time.Second {
			t.Errorf("/big: reading 1 MiB at %d took %v, want < 2 s", off, took)
		}
		for i, b := range buf {
			if b != 0 && !(off+int64(i) >= bigOffset && off+int64(i) < bigOffset+4) {
				t.Errorf("/big: byte %d is %#x, want 0 (never written)", off+int64(i), b)
				break
			}
		}
		if off <= bigOffset && bigOffset+4 <= off+mib {
			got := math.Float32frombits(binary.LittleEndian.Uint32(buf[bigOffset-off:]))
			if got != 42 {
				t.Errorf("/big: window at %d: element %d is %v, want 42", off, bigElement, got)
			}
		}
	}
}

// TestMountMatchesDump mounts every other test file and compares it,
// object by object, with its h5py dump.
func TestMountMatchesDump(t *testing.T) {
	requireFUSE(t)
	for _, name := range []string{"features.h5", "features_latest.h5", "types.h5", "links.h5", "other.h5"} {
		t.Run(name, func(t *testing.T) {
			d := loadDump(t, name)
			mnt := mountT(t, fixture(t, name))
			checkAgainstDump(t, mnt, d)
			n := findCount(t, mnt)
			if min, max, ok := expectedFindCount(d); ok && (n < min || n > max) {
				t.Errorf("find lists %d paths, want %d (or up to %d with named datatypes)", n, min, max)
			}
			// ls -R and du end too, cycles or not.
			sh(t, "ls -laR "+shellQuote(mnt)+" >/dev/null")
			sh(t, "du -s "+shellQuote(mnt)+" >/dev/null")
		})
	}
}
