package h5_test

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/h5mount/h5mount/h5"
)

// TestConvertedWritesKeepWhatTheyLeaveAsItRead: PyTables writes byte
// strings that fill their null-terminated fields without a terminator
// (h5py reads "part 001" from an 8-byte field), and a write stores such
// strings whole. Beyond strings, a write converts only the values it
// changes: rewriting an element's own bytes, or one member of it, leaves
// the rest as stored.
func TestConvertedWritesKeepWhatTheyLeaveAsItRead(t *testing.T) {
	file := copyFile(t, "../testdata/producers/pytables.h5")
	f, err := h5.OpenFileRW(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := openDatasetRW(t, f, "/grp/table")
	if !d.ReadsConverted() {
		t.Fatal("/grp/table does not read converted")
	}
	es := int64(d.Type.Size)
	member := func(name string) (off, size int64) {
		for _, m := range d.Type.Members {
			if m.Name == name {
				return int64(m.Offset), int64(m.Type.Size)
			}
		}
		t.Fatalf("no member %q", name)
		return 0, 0
	}
	nameOff, nameSize := member("name")
	idnOff, _ := member("idn")
	element := func(i int64) []byte {
		b := make([]byte, es)
		if _, err := d.ReadAt(b, i*es); err != nil {
			t.Fatal(err)
		}
		return b
	}
	name := func(i int64) string { return string(bytes.TrimRight(element(i)[nameOff:nameOff+nameSize], "\x00")) }
	for _, i := range []int64{1, 3, 5} {
		if got, want := name(i), "part 00"+string(rune('0'+i)); got != want {
			t.Fatalf("element %d reads name %q, want %q (the fixture's full-length string)", i, got, want)
		}
	}

	// The whole element written back as it read, in two writes that
	// split the name.
	el := element(1)
	if _, err := d.WriteAt(el[:nameOff+3], es); err != nil {
		t.Fatal(err)
	}
	if _, err := d.WriteAt(el[nameOff+3:], es+nameOff+3); err != nil {
		t.Fatal(err)
	}
	// Only the integer member of another element.
	idn := make([]byte, 8)
	binary.LittleEndian.PutUint64(idn, 4242)
	if _, err := d.WriteAt(idn, 3*es+idnOff); err != nil {
		t.Fatal(err)
	}
	// A changed name that fills its field: stored whole, as PyTables
	// stores it (libhdf5's conversion would cut it for a terminator).
	if _, err := d.WriteAt([]byte("qart 005"), 5*es+nameOff); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	h5pyCheck(t, file, `
import sys, h5py
t = h5py.File(sys.argv[1], "r")["grp/table"]
assert t[1]["name"] == b"part 001", t[1]
assert t[3]["name"] == b"part 003" and t[3]["idn"] == 4242, t[3]
assert t[5]["name"] == b"qart 005", t[5]
assert t[7]["name"] == b"part 007", t[7]
print("ok")`)
}
