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
		if !ok || err != nil || got != *want {
			t.Errorf("%s = %q (%v), want %q", name, got, err, *want)
		}
	}
	if e.SHA256 != nil {
		got, err := hashRange(d, 0, d.Size())
		if err != nil {
			t.Errorf("read: %v", err)
		} else if got != *e.SHA256 {
			t.Errorf("sha256 of all bytes differs from h5py's")
		}
	}
	for _, w := range e.Windows {
		got, err := hashRange(d, w.Offset, w.Length)
		if err != nil {
			t.Errorf("read window at %d: %v", w.Offset, err)
		} else if got != w.SHA256 {
			t.Errorf("sha256 of window [%d,+%d) differs from h5py's", w.Offset, w.Length)
		}
	}
}

func checkAttrs(t *testing.T, o *h5.Object, e *refEntry) {
	attrs, err := o.Attributes()
	if err != nil {
		t.Errorf("attributes: %v", err)
		return
	}
	got := map[string]*h5.Attribute{}
	for _, a := range attrs {
		got[a.Name] = a
	}
	for name, want := range e.Attrs {
		a := got[name]
		if a == nil {
			t.Errorf("attribute %q missing", name)
			continue
		}
		if want.Text == nil {
			continue
		}
		text, err := xattr.Attribute(a)
		if errors.Is(err, xattr.ErrTooBig) {
			continue
		}
		if err != nil || text != *want.Text {
			t.Errorf("attribute %q = %s (%v), want %s", name, strconv.Quote(text), err, strconv.Quote(*want.Text))
		}
	}
	if len(got) != len(e.Attrs) {
		t.Errorf("%d attributes, h5py says %d", len(got), len(e.Attrs))
	}
}

// TestTestdataMatchesH5py reads every committed fixture against its dump.
func TestTestdataMatchesH5py(t *testing.T) {
	dumps, _ := filepath.Glob("../testdata/*.h5.json")
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
