package h5_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/h5mount/h5mount/h5"
	"github.com/h5mount/h5mount/h5/internal/format"
	"github.com/h5mount/h5mount/xattr"
)

// refEntry is one object of a reference dump written by scripts/dump_ref.py
// from what h5py (libhdf5) reads.
type refEntry struct {
	Kind        string              `json:"kind"`
	Error       string              `json:"error"`
	Addr        *uint64             `json:"addr"`
	NLink       *uint32             `json:"nlink"`
	Members     []string            `json:"members"`
	Target      string              `json:"target"`
	File        json.RawMessage     `json:"file"`
	Shape       []int64             `json:"shape"`
	MaxShape    []int64             `json:"maxshape"`
	Chunks      []int64             `json:"chunks"`
	Layout      string              `json:"layout"`
	SizeBytes   *int64              `json:"size_bytes"`
	StorageSize *int64              `json:"storage_size"`
	SHA256      *string             `json:"sha256"`
	Windows     []refWindow         `json:"windows"`
	Props       map[string]*string  `json:"props"`
	Attrs       map[string]*refAttr `json:"attrs"`
	Filters     []refFilter         `json:"filters"`
}

type refFilter struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

type refWindow struct {
	Offset int64  `json:"offset"`
	Length int64  `json:"length"`
	SHA256 string `json:"sha256"`
}

type refAttr struct {
	Text  *string `json:"text"`
	Error string  `json:"error"`
}

func loadDump(t *testing.T, path string) map[string]*refEntry {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var dump map[string]*refEntry
	if err := json.Unmarshal(b, &dump); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return dump
}

func dims(v []uint64) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		if x == h5.Unlimited {
			out[i] = -1
		} else {
			out[i] = int64(x)
		}
	}
	return out
}

// hashRange hashes n bytes of a dataset from off, reading 1 MiB at a time.
func hashRange(d *h5.Dataset, off, n int64) (string, error) {
	h := sha256.New()
	buf := make([]byte, 1<<20)
	for n > 0 {
		m := int64(len(buf))
		if m > n {
			m = n
		}
		got, err := d.ReadAt(buf[:m], off)
		if err != nil && !(err == io.EOF && int64(got) == m) {
			return "", err
		}
		h.Write(buf[:m])
		off += m
		n -= m
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// checkAgainstDump compares everything the engine reads from file with the
// reference dump beside it.
func checkAgainstDump(t *testing.T, file, dumpPath string) {
	dump := loadDump(t, dumpPath)
	f, err := h5.OpenFile(file, nil)
	if root := dump["/"]; root != nil && root.Kind == "" && root.Error != "" {
		checkUnopenable(t, f, err, root.Error)
		return
	}
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer f.Close()
	paths := make([]string, 0, len(dump))
	for p := range dump {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		e := dump[p]
		t.Run(strings.TrimPrefix(p, "/"), func(t *testing.T) {
			checkEntry(t, f, p, e)
		})
	}
}

func checkEntry(t *testing.T, f *h5.File, p string, e *refEntry) {
	switch e.Kind {
	case "group", "dataset":
	case "":
		// h5py could not even open this object: it may read or fail, but
		// cleanly.
		if o, err := f.OpenPath(p); err == nil {
			exercise(o)
		}
		return
	default:
		return // links are checked through their groups' member lists
	}
	o, err := f.OpenPath(p)
	if err != nil {
		t.Fatalf("open %s: %v", p, err)
	}
	if e.Addr != nil && o.Addr != *e.Addr {
		t.Errorf("address 0x%x, h5py says 0x%x", o.Addr, *e.Addr)
	}
	if e.NLink != nil && o.RefCount() != *e.NLink {
		t.Errorf("link count %d, h5py says %d", o.RefCount(), *e.NLink)
	}
	checkAttrs(t, o, e)
	if e.Kind == "group" {
		g, err := o.AsGroup()
		if err != nil {
			t.Fatal(err)
		}
		links, err := g.Links()
		if err != nil {
			t.Fatalf("links: %v", err)
		}
		var names []string
		for _, l := range links {
			names = append(names, l.Name)
		}
		if e.Members != nil && !reflect.DeepEqual(names, e.Members) && !(len(names) == 0 && len(e.Members) == 0) {
			t.Errorf("members %q, h5py says %q", names, e.Members)
		}
		return
	}
	d, err := o.AsDataset()
	if err != nil {
		t.Fatalf("dataset: %v", err)
	}
	if e.Shape != nil && !reflect.DeepEqual(dims(d.Shape()), e.Shape) && len(e.Shape)+len(d.Shape()) > 0 {
		t.Errorf("shape %v, h5py says %v", d.Shape(), e.Shape)
	}
	if e.MaxShape != nil && !reflect.DeepEqual(dims(d.MaxShape()), e.MaxShape) && len(e.MaxShape)+len(d.MaxShape()) > 0 {
		t.Errorf("maxshape %v, h5py says %v", dims(d.MaxShape()), e.MaxShape)
	}
	if e.Layout != "" && d.Layout().String() != e.Layout {
		t.Errorf("layout %s, h5py says %s", d.Layout(), e.Layout)
	}
	if e.SizeBytes != nil && d.Size() != *e.SizeBytes {
		t.Errorf("size %d, h5py says %d", d.Size(), *e.SizeBytes)
	}
	if e.StorageSize != nil {
		alloc, err := d.AllocatedBytes()
		if err != nil || alloc != *e.StorageSize {
			t.Errorf("allocated %d (%v), h5py says %d", alloc, err, *e.StorageSize)
		}
	}
	for name, want := range e.Props {
		if want == nil {
			continue
		}
		got, ok, err := xattr.DatasetProperty(d, name)
		if !ok || err != nil || !(got == *want || name == "user.h5.fillvalue" && equalText(f, d.Type, got, *want)) {
			t.Errorf("%s = %q (%v), want %q", name, got, err, *want)
		}
	}
	unsupported := unsupportedFilter(e.Filters)
	readErr := func(what string, err error) {
		if excusedReadError(err, unsupported) {
			t.Logf("%s: %v (no codec for filter %d, as SPEC §8 allows)", what, err, unsupported.ID)
			return
		}
		t.Errorf("%s: %v", what, err)
	}
	if e.SHA256 != nil {
		got, err := hashRange(d, 0, d.Size())
		if err != nil {
			readErr("read", err)
		} else if got != *e.SHA256 {
			t.Errorf("sha256 of all bytes differs from h5py's")
		}
	} else if d.Size() > 0 {
		// h5py could not read it (no plugin, no conversion path) or the
		// elements have no fixed size: reading must still end cleanly, and
		// a filter without codec must be named in an ErrUnsupported.
		n := min(d.Size(), 1<<20)
		_, err := d.ReadAt(make([]byte, n), 0)
		if err != nil && unsupported != nil && !excusedReadError(err, unsupported) {
			t.Errorf("read with filter %d %q: %v, want an error wrapping h5.ErrUnsupported naming the filter", unsupported.ID, unsupported.Name, err)
		}
	}
	for _, w := range e.Windows {
		got, err := hashRange(d, w.Offset, w.Length)
		if err != nil {
			readErr(fmt.Sprintf("read window at %d", w.Offset), err)
		} else if got != w.SHA256 {
			t.Errorf("sha256 of window [%d,+%d) differs from h5py's", w.Offset, w.Length)
		}
	}
}

// implementedFilters are the filters SPEC §8 asks the engine to decode (and
// szip, LZO, bzip2, Blosc, VBZ, ZFP, Blosc2 and the quantizers, which it
// decodes too).
var implementedFilters = map[int]bool{
	1: true, 2: true, 3: true, 4: true, 5: true, 6: true, // deflate, shuffle, fletcher32, szip, nbit, scaleoffset
	305: true, 307: true, 32000: true, 32001: true, 32004: true, 32008: true, 32013: true, 32015: true, 32020: true, 32026: true, // lzo, bzip2, lzf, blosc, lz4, bitshuffle, zfp, zstd, vbz, blosc2
	32022: true, 32023: true, 32032: true, // the quantizers
}

// unsupportedFilter is the first filter of a pipeline that the engine has
// no codec for (SZ, say: a plugin SPEC §8 does not list).
func unsupportedFilter(filters []refFilter) *refFilter {
	for i := range filters {
		if !implementedFilters[filters[i].ID] {
			return &filters[i]
		}
	}
	return nil
}

// excusedReadError is the one read failure a dataset may give: its pipeline
// holds a filter without codec, and the error wraps ErrUnsupported and names
// that filter (the name the file gives it, or "id N").
func excusedReadError(err error, f *refFilter) bool {
	if f == nil || !errors.Is(err, h5.ErrUnsupported) {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, fmt.Sprintf("id %d", f.ID)) || f.Name != "" && strings.Contains(msg, f.Name)
}

// checkUnopenable checks a file h5py (libhdf5) could not open. A piece of a
// multi-file set must be refused cleanly: no signature is ErrNotHDF5, a
// family member shorter than its superblock's end of file or a multi/split
// superblock is ErrCorrupt. A file libhdf5 refuses only for its status
// flags ("already open for write", a lock, not a format error) must open.
// Any other (malformed on purpose) file may open or not, but every error
// must wrap an h5 sentinel, and whatever opens must read without panicking.
func checkUnopenable(t *testing.T, f *h5.File, err error, h5pyErr string) {
	if f != nil {
		defer f.Close()
	}
	switch {
	case strings.Contains(h5pyErr, "file signature not found"):
		if !errors.Is(err, h5.ErrNotHDF5) {
			t.Errorf("open: %v, want an error wrapping h5.ErrNotHDF5 (h5py: %s)", err, h5pyErr)
		}
		return
	case strings.Contains(h5pyErr, "truncated file"), strings.Contains(h5pyErr, "multi driver should be used"):
		if !errors.Is(err, h5.ErrCorrupt) {
			t.Errorf("open: %v, want an error wrapping h5.ErrCorrupt (h5py: %s)", err, h5pyErr)
		}
		return
	case strings.Contains(h5pyErr, "already open for write"):
		if err != nil {
			t.Errorf("open: %v (h5py refused only the status flags: %s)", err, h5pyErr)
			return
		}
		// h5py reads a copy whose superblock flags are cleared (what
		// h5clear does): that is the reference for the original.
		if dump, ok := clearedFlagsDump(t, f.Path()); ok {
			checkAgainstDump(t, f.Path(), dump)
			return
		}
	case err != nil:
		if !errors.Is(err, h5.ErrCorrupt) && !errors.Is(err, h5.ErrUnsupported) && !errors.Is(err, h5.ErrNotHDF5) {
			t.Errorf("open: %v wraps no h5 sentinel (h5py: %s)", err, h5pyErr)
		}
		return
	}
	root, rerr := f.Root()
	if rerr != nil {
		return
	}
	exerciseTree(root.Object, map[uint64]bool{})
}

// clearedFlagsDump writes a copy of a version 2 or 3 superblock file with
// its status flags cleared (and the superblock checksum updated) and
// returns h5py's dump of that copy.
func clearedFlagsDump(t *testing.T, file string) (string, bool) {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for pos := 0; pos+48 <= len(data); pos = max(512, 2*pos) {
		if string(data[pos:pos+8]) != "\x89HDF\r\n\x1a\n" {
			continue
		}
		v, so := data[pos+8], int(data[pos+9])
		if v < 2 || (so != 4 && so != 8) {
			return "", false
		}
		end := pos + 12 + 4*so // the checksum's offset
		if end+4 > len(data) {
			return "", false
		}
		data[pos+11] = 0
		sum := format.Lookup3(data[pos:end], 0)
		data[end], data[end+1], data[end+2], data[end+3] = byte(sum), byte(sum>>8), byte(sum>>16), byte(sum>>24)
		cp := filepath.Join(t.TempDir(), filepath.Base(file))
		if err := os.WriteFile(cp, data, 0o644); err != nil {
			t.Fatal(err)
		}
		dump, err := referenceDump(cp)
		if err != nil {
			t.Fatal(err)
		}
		return dump, true
	}
	return "", false
}

// exerciseTree reads everything below o, ignoring errors: only a panic or
// a hang fails.
func exerciseTree(o *h5.Object, seen map[uint64]bool) {
	if seen[o.Addr] || len(seen) > 10000 {
		return
	}
	seen[o.Addr] = true
	exercise(o)
	g, err := o.AsGroup()
	if err != nil {
		return
	}
	links, err := g.Links()
	if err != nil {
		return
	}
	for _, l := range links {
		if l.Type != h5.LinkHard {
			continue
		}
		if c, err := o.File().Object(l.Addr); err == nil {
			exerciseTree(c, seen)
		}
	}
}

// exercise reads an object's attributes and, for a dataset, its properties
// and first MiB, ignoring errors.
func exercise(o *h5.Object) {
	if attrs, err := o.Attributes(); err == nil {
		for _, a := range attrs {
			_, _ = xattr.Attribute(a)
		}
	}
	if o.Kind() != h5.KindDataset {
		return
	}
	d, err := o.AsDataset()
	if err != nil {
		return
	}
	for _, name := range xattr.PropertyNames {
		_, _, _ = xattr.DatasetProperty(d, name)
	}
	_, _ = d.AllocatedBytes()
	if n := min(d.Size(), 1<<20); n > 0 {
		buf := make([]byte, n)
		_, _ = d.ReadAt(buf, 0)
		_, _ = d.ReadAt(buf[:1], d.Size()-1)
	}
	if xattr.NeedsText(d.Type) {
		_, _ = xattr.DatasetText(d, 1<<20)
	}
}

func checkAttrs(t *testing.T, o *h5.Object, e *refEntry) {
	attrs, err := o.Attributes()
	if w := e.Attrs[""]; w != nil && w.Error != "" {
		// h5py could not list them: they may list or not, but cleanly.
		if err == nil {
			for _, a := range attrs {
				_, _ = xattr.Attribute(a)
			}
		}
		return
	}
	if err != nil {
		t.Errorf("attributes: %v", err)
		return
	}
	got := map[string]*h5.Attribute{}
	for _, a := range attrs {
		got[a.Name] = a
	}
	matched := map[string]bool{}
	for name, want := range e.Attrs {
		if strings.HasPrefix(name, "#") && want.Error != "" {
			continue // h5py could not name it (libhdf5 crashed reading it)
		}
		a := got[name]
		if a == nil {
			t.Errorf("attribute %q missing", name)
			continue
		}
		matched[name] = true
		if want.Error != "" {
			_, _ = xattr.Attribute(a) // h5py could not read it: no panic is all we ask
			continue
		}
		if want.Text == nil {
			continue
		}
		text, err := xattr.Attribute(a)
		if errors.Is(err, xattr.ErrTooBig) {
			continue
		}
		if err != nil || !equalText(o.File(), a.Type, text, *want.Text) {
			t.Errorf("attribute %q = %s (%v), want %s", name, strconv.Quote(text), err, strconv.Quote(*want.Text))
		}
	}
	// The attributes h5py could not name: they read or fail, cleanly.
	for name, a := range got {
		if !matched[name] {
			_, _ = xattr.Attribute(a)
		}
	}
	if len(got) != len(e.Attrs) {
		t.Errorf("%d attributes, h5py says %d", len(got), len(e.Attrs))
	}
}

// equalText compares an attribute's (or a fill value's) text with h5py's.
// They must be equal, but for two things that SPEC §5 leaves to h5mount and
// that dump_ref.py renders as Python does, in the JSON form of arrays and
// compounds only:
//
//   - a reference reads as the referenced object's path (a region reference
//     adds its selection, a null reference is empty) where h5py writes
//     "<HDF5 object reference>", "<HDF5 region reference>" or their
//     "(null)" forms: a path must then open in the file, a null must be
//     empty;
//   - an enum member of a compound reads by name (SPEC: enums by member
//     name) where dump_ref.py, which looks up enum names only outside
//     compounds, writes the number (or, for h5py's bool, true/false): the
//     name must be that of the member with that value.
//
// Everything else, numbers and strings included, must match token for
// token.
func equalText(f *h5.File, typ *h5.Datatype, got, want string) bool {
	if got == want {
		return true
	}
	if !hasRefOrNestedEnum(typ, false) {
		return false
	}
	gv, gerr := decodeJSON(got)
	wv, werr := decodeJSON(want)
	if gerr != nil || werr != nil {
		return false
	}
	return matchJSON(f, typ, gv, wv, false)
}

func decodeJSON(s string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data")
	}
	return v, nil
}

// hasRefOrNestedEnum reports whether a type holds references, or enums
// inside a compound.
func hasRefOrNestedEnum(t *h5.Datatype, inCompound bool) bool {
	switch t.Class {
	case h5.ClassReference:
		return true
	case h5.ClassEnum:
		return inCompound
	case h5.ClassCompound:
		for _, m := range t.Members {
			if hasRefOrNestedEnum(m.Type, true) {
				return true
			}
		}
	case h5.ClassArray, h5.ClassVLen:
		return t.Base != nil && hasRefOrNestedEnum(t.Base, inCompound)
	}
	return false
}

// matchJSON walks h5mount's and h5py's JSON values of type t side by side.
// Lists (dataspace dimensions, array and sequence elements) are matched
// element by element with the element type.
func matchJSON(f *h5.File, t *h5.Datatype, got, want any, inCompound bool) bool {
	if wl, ok := want.([]any); ok {
		gl, ok := got.([]any)
		if !ok || len(gl) != len(wl) {
			return false
		}
		for (t.Class == h5.ClassArray || t.Class == h5.ClassVLen && !t.VLenStr) && t.Base != nil {
			t = t.Base
		}
		for i := range wl {
			if !matchJSON(f, t, gl[i], wl[i], inCompound) {
				return false
			}
		}
		return true
	}
	for (t.Class == h5.ClassArray || t.Class == h5.ClassVLen && !t.VLenStr) && t.Base != nil {
		t = t.Base
	}
	switch t.Class {
	case h5.ClassCompound:
		wm, ok := want.(map[string]any)
		gm, ok2 := got.(map[string]any)
		if !ok || !ok2 || len(wm) != len(gm) {
			return false
		}
		for _, m := range t.Members {
			gv, ok := gm[m.Name]
			wv, ok2 := wm[m.Name]
			if !ok || !ok2 || !matchJSON(f, m.Type, gv, wv, true) {
				return false
			}
		}
		return true
	case h5.ClassReference:
		ws, _ := want.(string)
		gs, ok := got.(string)
		if !ok {
			return false
		}
		switch ws {
		case "<HDF5 object reference (null)>", "<HDF5 region reference (null)>":
			return gs == ""
		case "<HDF5 object reference>", "<HDF5 region reference>":
			if gs == "" {
				return false
			}
			if !strings.HasPrefix(gs, "/") {
				return true // stored bytes of a reference that leads nowhere
			}
			p, _, _ := strings.Cut(gs, " {")
			_, err := f.OpenPath(p)
			return err == nil
		}
		return gs == ws
	case h5.ClassEnum:
		name, isName := got.(string)
		if !inCompound || !isName {
			break
		}
		var wantVal int64
		switch w := want.(type) {
		case json.Number:
			v, err := w.Int64()
			if err != nil {
				return false
			}
			wantVal = v
		case bool:
			if w {
				wantVal = 1
			}
		default:
			return false
		}
		for i, n := range t.Names {
			if n == name {
				return enumValue(t, i) == wantVal
			}
		}
		return false
	}
	return reflect.DeepEqual(got, want)
}

// enumValue is the integer value of enum member i.
func enumValue(t *h5.Datatype, i int) int64 {
	b := t.Values[i]
	var v uint64
	for k := range b {
		idx := k
		if t.Base.BigEndian {
			idx = len(b) - 1 - k
		}
		v |= uint64(b[idx]) << (8 * uint(k))
	}
	if t.Base.Signed && len(b) < 8 && v&(1<<(8*uint(len(b))-1)) != 0 {
		v |= ^uint64(0) << (8 * uint(len(b)))
	}
	return int64(v)
}

// TestTestdataMatchesH5py reads every committed fixture against its dump.
func TestTestdataMatchesH5py(t *testing.T) {
	dumps, _ := filepath.Glob("../testdata/*.h5.json")
	more, _ := filepath.Glob("../testdata/conformance/*.h5.json")
	dumps = append(dumps, more...)
	if len(dumps) == 0 {
		t.Fatal("no reference dumps in testdata/")
	}
	for _, dump := range dumps {
		file := strings.TrimSuffix(dump, ".json")
		t.Run(filepath.Base(file), func(t *testing.T) { checkAgainstDump(t, file, dump) })
	}
}

func ExampleFile_OpenPath() {
	f, err := h5.OpenFile("../testdata/weather.h5", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	o, _ := f.OpenPath("/15/temperature")
	d, _ := o.AsDataset()
	a, _ := o.Attribute("dt")
	dt, _ := xattr.Attribute(a)
	fmt.Println(d.Shape(), d.Size(), dt)
	// Output: [1024] 8192 10.0
}
