package main

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestSzipDatasetsMadeThroughTheMount: datasets made through a mount with
// user.h5.compression=szip (and -o compression=szip) get the parameters
// libhdf5's set_local gives the same dataset made by h5py, their chunks are
// szip streams libhdf5 (libaec) reads back byte for byte, and a type or a
// chunk szip cannot take is refused with EINVAL, as libhdf5 refuses it.
func TestSzipDatasetsMadeThroughTheMount(t *testing.T) {
	requireFUSE(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "szip.h5")
	mnt := mountT(t, file, "--create", "-o", "compression=szip")
	cases := []struct {
		name, dtype, shape, chunks, compression string
		coding                                  string // h5py's compression_opts, "" for no szip
		ppb                                     int
		shuffle                                 bool
	}{
		{"f8_nn", "<f8", "3000", "1000", "szip", "nn", 8, false},
		{"i2_be_ec", ">i2", "40,70", "16,64", "szip:ec:16", "ec", 16, false},
		{"u1_long_rows", "|u1", "2,5000", "2,5000", "szip:nn:8", "nn", 8, false},
		{"f4_be_scanline_20", ">f4", "100,20", "30,20", "szip", "nn", 8, false},
		{"i4_rows_shorter_than_a_block", "<i4", "700,5", "300,5", "szip:ec:8", "ec", 8, false},
		{"i8_ec32", "<i8", "300", "300", "szip:ec:32", "ec", 32, false},
		{"u2_shuffle", "<u2", "5000", "1024", "shuffle,szip", "nn", 8, true},
		{"default_u1", "", "", "", "", "nn", 8, false}, // created as bytes, -o compression=szip
	}
	var specs []string
	for _, c := range cases {
		p := filepath.Join(mnt, c.name)
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, a := range [][2]string{{"user.h5.dtype", c.dtype}, {"user.h5.shape", c.shape}, {"user.h5.chunks", c.chunks}, {"user.h5.compression", c.compression}} {
			if a[1] == "" {
				continue
			}
			if err := setxattrString(p, a[0], a[1]); err != nil {
				t.Fatalf("%s: setfattr %s=%s: %v", c.name, a[0], a[1], err)
			}
		}
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		size := int(st.Size())
		if c.dtype == "" {
			size = 300000 // bytes written to a new dataset grow it
		}
		data := szipTestData(c.dtype, size)
		f, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		// Written in two pieces, then the middle again: chunks encoded,
		// decoded, patched and encoded anew.
		half := len(data) / 2
		for _, piece := range [][2]int{{0, half}, {half, len(data)}, {len(data) / 3, len(data) / 2}} {
			if _, err := f.WriteAt(data[piece[0]:piece[1]], int64(piece[0])); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(p)
		if err != nil || string(got) != string(data) {
			t.Fatalf("%s: reads back %d bytes (%v), not the %d written", c.name, len(got), err, len(data))
		}
		model := filepath.Join(dir, c.name+".bin")
		if err := os.WriteFile(model, data, 0o644); err != nil {
			t.Fatal(err)
		}
		specs = append(specs, strings.Join([]string{c.name, model, c.coding, strconv.Itoa(c.ppb), boolWord(c.shuffle)}, ":"))
	}
	// What szip cannot take: strings, chunks of fewer pixels than a block,
	// values wider than 32 bits but not 64.
	refused := []struct{ name, set, value string }{
		{"strings", "user.h5.dtype", "S10"},
		{"tiny_chunks", "user.h5.chunks", "4"},
		{"complex", "user.h5.dtype", "<c8"},
	}
	for _, r := range refused {
		p := filepath.Join(mnt, r.name)
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Setxattr(p, r.set, []byte(r.value), 0); !errors.Is(err, syscall.EINVAL) {
			t.Errorf("%s: setfattr %s=%s under szip: %v, want EINVAL", r.name, r.set, r.value, err)
		}
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	if r := h5mountT(t, "unmount", mnt); r.code != 0 {
		t.Fatalf("unmount: %v", r)
	}
	h5py(t, `
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
scratch = h5py.File(sys.argv[1] + ".ref.h5", "w")
for spec in sys.argv[2:]:
    name, model, coding, ppb, shuffle = spec.split(":")
    ds = f[name]
    want = open(model, "rb").read()
    got = ds[()].tobytes()
    assert got == want, (name, len(got), len(want))
    pl = ds.id.get_create_plist()
    filters = [pl.get_filter(i) for i in range(pl.get_nfilters())]
    # The same dataset made by libhdf5: set_local's parameters.
    ref = scratch.create_dataset(name, shape=ds.shape, dtype=ds.dtype, chunks=ds.chunks, maxshape=ds.maxshape,
                                 compression="szip", compression_opts=(coding, int(ppb)), shuffle=shuffle == "yes")
    rpl = ref.id.get_create_plist()
    rfilters = [rpl.get_filter(i) for i in range(rpl.get_nfilters())]
    assert [(x[0], x[1] & 1, tuple(x[2])) for x in filters] == [(x[0], x[1] & 1, tuple(x[2])) for x in rfilters], (name, filters, rfilters)
    masked = sum(1 for i in range(ds.id.get_num_chunks()) if ds.id.get_chunk_info(i).filter_mask)
    assert masked < ds.id.get_num_chunks(), (name, "no chunk compressed")
print("ok")`, append([]string{file}, specs...)...)
	h5dumpOK(t, file)
}

// szipTestData is size bytes of values of dtype ("" for bytes): a smooth
// signal with a little noise, as szip meets in instruments' data.
func szipTestData(dtype string, size int) []byte {
	width := 1
	if dtype != "" {
		width = int(dtype[2] - '0')
	}
	be := strings.HasPrefix(dtype, ">")
	data := make([]byte, size)
	noise := patternBytes(dtype, size/width+1)
	for k := 0; k*width < size; k++ {
		v := math.Sin(float64(k)/40)*100 + float64(noise[k]%3)
		var bits uint64
		switch {
		case len(dtype) > 1 && dtype[1] == 'f' && width == 8:
			bits = math.Float64bits(v)
		case len(dtype) > 1 && dtype[1] == 'f':
			bits = uint64(math.Float32bits(float32(v)))
		default:
			bits = uint64(int64(v) + 128)
		}
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], bits)
		for i := 0; i < width; i++ {
			if be {
				data[k*width+i] = b[width-1-i]
			} else {
				data[k*width+i] = b[i]
			}
		}
	}
	return data
}

func boolWord(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
