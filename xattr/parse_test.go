package xattr

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/h5mount/h5mount/h5"
)

// TestParseValueRoundTrips parses text into types of every kind and
// renders it back: the canonical text comes out.
func TestParseValueRoundTrips(t *testing.T) {
	i16be := &h5.Datatype{Class: h5.ClassInteger, Version: 1, Size: 2, Signed: true, BigEndian: true, Precision: 16}
	u8 := h5.Uint8Type()
	str := &h5.Datatype{Class: h5.ClassString, Version: 1, Size: 6, StrPad: h5.PadNullPad}
	space := &h5.Datatype{Class: h5.ClassString, Version: 1, Size: 6, StrPad: h5.PadSpacePad}
	color := &h5.Datatype{Class: h5.ClassEnum, Version: 1, Size: 1, Base: u8, Names: []string{"RED", "GREEN"}, Values: [][]byte{{0}, {7}}}
	point := &h5.Datatype{Class: h5.ClassCompound, Version: 1, Size: 12, Members: []h5.Member{
		{Name: "x", Offset: 0, Type: floatType(4, false)}, {Name: "n", Offset: 4, Type: Int64Type()}}}
	arr := &h5.Datatype{Class: h5.ClassArray, Version: 2, Size: 6, Dims: []uint32{3}, Base: i16be}
	c16, _ := ParseDType("<c16")
	for _, c := range []struct {
		t    *h5.Datatype
		dims []uint64
		in   string
		want string
	}{
		{Int64Type(), nil, "1375204299", "1375204299"},
		{Int64Type(), nil, " -5 ", "-5"},
		{i16be, nil, "-32768", "-32768"},
		{u8, []uint64{3}, "[1, 2, 255]", "[1, 2, 255]"},
		{Float64Type(), nil, "10", "10.0"},
		{Float64Type(), nil, "1e-05", "1e-05"},
		{Float64Type(), nil, "nan", "nan"},
		{Float64Type(), nil, "-inf", "-inf"},
		{floatType(4, true), []uint64{2, 2}, "[[1.5, 2], [3, 4.25]]", "[[1.5, 2.0], [3.0, 4.25]]"},
		{floatType(2, false), nil, "0.5", "0.5"},
		{str, nil, "hello", "hello"},
		{str, []uint64{2}, `["ab", "cdef"]`, `["ab", "cdef"]`},
		{space, nil, "ab", "ab"},
		{color, nil, "GREEN", "GREEN"},
		{color, nil, "7", "GREEN"},
		{BoolType(), nil, "TRUE", "TRUE"},
		{point, nil, `{"x": 1.5, "n": 3}`, `{"x": 1.5, "n": 3}`},
		{arr, nil, "[1, -2, 3]", "[1, -2, 3]"},
		{c16, nil, "[1.5, -2]", "[1.5, -2.0]"},
	} {
		p, err := ParseValue(c.t, c.dims, c.in)
		if err != nil {
			t.Errorf("ParseValue(%v, %q): %v", c.t.Class, c.in, err)
			continue
		}
		space := h5.Dataspace{Kind: h5.SpaceScalar}
		if c.dims != nil {
			space = h5.Dataspace{Kind: h5.SpaceSimple, Dims: c.dims}
		}
		got, err := Value(c.t, space, p.Bytes, nil)
		if err != nil || got != c.want {
			t.Errorf("%q parsed into %v renders as %q (%v), want %q", c.in, c.t.Class, got, err, c.want)
		}
	}
}

// TestParseValueRefuses: text that does not fit is ErrInvalid.
func TestParseValueRefuses(t *testing.T) {
	i8 := &h5.Datatype{Class: h5.ClassInteger, Version: 1, Size: 1, Signed: true, Precision: 8}
	term := &h5.Datatype{Class: h5.ClassString, Version: 1, Size: 4, StrPad: h5.PadNullTerm}
	color := &h5.Datatype{Class: h5.ClassEnum, Version: 1, Size: 1, Base: h5.Uint8Type(), Names: []string{"RED"}, Values: [][]byte{{0}}}
	for _, c := range []struct {
		t    *h5.Datatype
		dims []uint64
		in   string
	}{
		{i8, nil, "128"},
		{i8, nil, "-129"},
		{i8, nil, "1.5"},
		{i8, nil, "abc"},
		{Int64Type(), nil, "99999999999999999999"},
		{floatType(4, false), nil, "1e39"},
		{Float64Type(), []uint64{3}, "[1, 2]"},
		{Float64Type(), []uint64{2}, "[1, 2] extra"},
		{term, nil, "abcde"},
		{color, nil, "BLUE"},
		{color, nil, "5"},
	} {
		if _, err := ParseValue(c.t, c.dims, c.in); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseValue(%v, %q): %v, want ErrInvalid", c.t.Class, c.in, err)
		}
	}
}

// TestParseSpecialFloatsAndFullStrings: what reading prints, writing takes
// back: NaN and infinities inside lists, and null-terminated strings that
// fill their size (netCDF and MATLAB store them so).
func TestParseSpecialFloatsAndFullStrings(t *testing.T) {
	f8 := func(vs ...float64) []byte {
		var b []byte
		for _, v := range vs {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		}
		return b
	}
	term := &h5.Datatype{Class: h5.ClassString, Version: 1, Size: 4, StrPad: h5.PadNullTerm}
	for _, c := range []struct {
		t    *h5.Datatype
		dims []uint64
		in   string
		want []byte
	}{
		{Float64Type(), []uint64{4}, "[nan, inf, -inf, 1.5]", f8(math.NaN(), math.Inf(1), math.Inf(-1), 1.5)},
		{Float64Type(), []uint64{2, 2}, "[[NaN, Infinity], [-Infinity, +inf]]", f8(math.NaN(), math.Inf(1), math.Inf(-1), math.Inf(1))},
		{term, nil, "abcd", []byte("abcd")},
		{term, []uint64{2}, `["nan", "inf"]`, []byte("nan\x00inf\x00")},
	} {
		p, err := ParseValue(c.t, c.dims, c.in)
		if err != nil {
			t.Errorf("ParseValue(%q): %v", c.in, err)
			continue
		}
		if !bytes.Equal(p.Bytes, c.want) {
			t.Errorf("ParseValue(%q) = % x, want % x", c.in, p.Bytes, c.want)
		}
	}
	typ, dims, p, err := InferValue("[nan, 1.5, -inf]")
	if err != nil || typ.Class != h5.ClassFloat || len(dims) != 1 || dims[0] != 3 || !bytes.Equal(p.Bytes, f8(math.NaN(), 1.5, math.Inf(-1))) {
		t.Errorf("InferValue([nan, 1.5, -inf]) = %v %v %x %v, want three float64s", typ, dims, p.Bytes, err)
	}
	// Inside JSON strings the words stay words; a word merely starting
	// with one (information, nano) is no number.
	for _, in := range []string{`["nan", "inf"]`, "[information]", "[nano, 1]"} {
		typ, _, _, err := InferValue(in)
		if err == nil && typ.Class == h5.ClassFloat {
			t.Errorf("InferValue(%s) made floats", in)
		}
	}
}

// TestInferValue types new attributes as SPEC §5 says.
func TestInferValue(t *testing.T) {
	for _, c := range []struct {
		in    string
		class h5.Class
		size  uint32
		dims  []uint64
	}{
		{"1375204299", h5.ClassInteger, 8, nil},
		{"-3", h5.ClassInteger, 8, nil},
		{"10.0", h5.ClassFloat, 8, nil},
		{"1e-05", h5.ClassFloat, 8, nil},
		{"[1, 2, 3]", h5.ClassInteger, 8, []uint64{3}},
		{"[1, 2.5]", h5.ClassFloat, 8, []uint64{2}},
		{"[[1, 2], [3, 4], [5, 6]]", h5.ClassInteger, 8, []uint64{3, 2}},
		{"m/s", h5.ClassVLen, 16, nil},
		{"[1, \"a\"]", h5.ClassVLen, 16, nil},
		{"[[1, 2], [3]]", h5.ClassVLen, 16, nil},
		{"", h5.ClassVLen, 16, nil},
		{"0x10", h5.ClassVLen, 16, nil},
	} {
		typ, dims, p, err := InferValue(c.in)
		if err != nil || typ.Class != c.class || typ.Size != c.size || len(dims) != len(c.dims) {
			t.Errorf("InferValue(%q) = %v/%d %v, %v; want %v/%d %v", c.in, typ.Class, typ.Size, dims, err, c.class, c.size, c.dims)
			continue
		}
		for i := range dims {
			if dims[i] != c.dims[i] {
				t.Errorf("InferValue(%q): dims %v, want %v", c.in, dims, c.dims)
			}
		}
		if c.class == h5.ClassVLen && (len(p.Strings) != 1 || p.Strings[0] != c.in) {
			t.Errorf("InferValue(%q): strings %q", c.in, p.Strings)
		}
	}
	typ, _, p, _ := InferValue("10.0")
	if v, err := FloatValue(typ, p.Bytes); err != nil || v != 10 {
		t.Errorf("10.0 stored as %v (%v)", v, err)
	}
	if _, _, p, _ := InferValue("nan"); len(p.Bytes) != 8 || !math.IsNaN(math.Float64frombits(leU64(p.Bytes))) {
		t.Errorf("nan stored as %x", p.Bytes)
	}
}

func leU64(b []byte) uint64 {
	var v uint64
	for i := 7; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

// TestParseDTypeRoundTrips: every type string DType writes parses back to
// a type DType writes the same way, and NumPy names mean their codes.
func TestParseDTypeRoundTrips(t *testing.T) {
	for _, s := range []string{"<f8", ">f4", "<f2", "|u1", "|i1", "<i2", ">u8", "|b1", "|S10", "<c16", ">c8", "|V8", "(3,)<f4", "(2,3)>i2",
		`{"names":["a","b"],"formats":["<i4","<f8"],"offsets":[0,8],"itemsize":16}`} {
		typ, err := ParseDType(s)
		if err != nil {
			t.Errorf("ParseDType(%q): %v", s, err)
			continue
		}
		if got, err := DType(typ); err != nil || got != s {
			t.Errorf("DType(ParseDType(%q)) = %q, %v", s, got, err)
		}
	}
	for name, want := range map[string]string{"float32": "<f4", "float64": "<f8", "uint8": "|u1", "int16": "<i2", "bool": "|b1", "complex64": "<c8", "f4": "<f4", "=i4": "<i4"} {
		typ, err := ParseDType(name)
		if err != nil {
			t.Errorf("ParseDType(%q): %v", name, err)
			continue
		}
		if got, _ := DType(typ); got != want {
			t.Errorf("ParseDType(%q) is %q, want %q", name, got, want)
		}
	}
	for _, bad := range []string{"", "float", "<f3", "<i3", "|S0", "x8", "(0,)<f4", `{"names":["a"]}`, "<f"} {
		if bad == "float" {
			continue // NumPy's name for float64
		}
		if _, err := ParseDType(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseDType(%q): %v, want ErrInvalid", bad, err)
		}
	}
}

// TestParseProperties covers shapes and compression pipelines.
func TestParseProperties(t *testing.T) {
	if d, err := ParseShape("1024,1024,1024,512"); err != nil || len(d) != 4 || d[3] != 512 {
		t.Errorf("ParseShape: %v %v", d, err)
	}
	if d, err := ParseShape(""); err != nil || d != nil {
		t.Errorf("ParseShape(\"\"): %v %v", d, err)
	}
	if _, err := ParseShape("1,-2"); !errors.Is(err, ErrInvalid) {
		t.Errorf("ParseShape(1,-2): %v", err)
	}
	if d, err := ParseMaxShape("-1,5", []uint64{3, 5}); err != nil || d[0] != h5.Unlimited || d[1] != 5 {
		t.Errorf("ParseMaxShape: %v %v", d, err)
	}
	if _, err := ParseMaxShape("2,5", []uint64{3, 5}); !errors.Is(err, ErrInvalid) {
		t.Errorf("ParseMaxShape below the shape: %v", err)
	}
	for _, s := range []string{"gzip:4", "shuffle,gzip:4", "zstd:3", "lzf", "lz4", "fletcher32", "bitshuffle", "shuffle,zstd:-5"} {
		fs, err := ParseCompression(s)
		if err != nil {
			t.Errorf("ParseCompression(%q): %v", s, err)
			continue
		}
		if got := Compression(fs); got != s {
			t.Errorf("Compression(ParseCompression(%q)) = %q", s, got)
		}
	}
	if fs, err := ParseCompression("gzip"); err != nil || Compression(fs) != "gzip:4" {
		t.Errorf("gzip: %v %v", fs, err)
	}
	for text, want := range map[string][]uint32{"bitshuffle:lz4": {0, 3, 0, 0, 2}, "bitshuffle:zstd": {0, 3, 0, 0, 3, 3}, "bitshuffle:zstd:9": {0, 3, 0, 0, 3, 9}} {
		fs, err := ParseCompression(text)
		if err != nil || len(fs) != 1 || !slices.Equal(fs[0].Params, want) {
			t.Errorf("ParseCompression(%q) = %+v, %v; want bitshuffle with %v", text, fs, err, want)
		}
	}
	for text, want := range map[string][]uint32{"blosc": {2, 2, 0, 0, 5, 1, 0}, "blosc:lz4": {2, 2, 0, 0, 5, 1, 1},
		"blosc:zstd:9": {2, 2, 0, 0, 9, 1, 5}, "blosc:LZ4HC:1": {2, 2, 0, 0, 1, 1, 2}, "blosc:snappy": {2, 2, 0, 0, 5, 1, 3}} {
		fs, err := ParseCompression(text)
		if err != nil || len(fs) != 1 || fs[0].ID != 32001 || !slices.Equal(fs[0].Params, want) || Compression(fs) != "blosc" {
			t.Errorf("ParseCompression(%q) = %+v, %v; want blosc with %v", text, fs, err, want)
		}
	}
	for _, bad := range []string{"zip", "gzip:12", "lzf:3", "gzip:x", "bitshuffle:gzip", "bitshuffle:lz4:3", "bitshuffle:zstd:99", "bzip2",
		"blosc:gzip", "blosc:lz4:0", "blosc:zstd:10", "blosc:lz4:x", "szip:xx", "szip:nn:7", "szip:ec:64", "filter4"} {
		if _, err := ParseCompression(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseCompression(%q): %v", bad, err)
		}
	}
}

// FuzzParseValue: no text makes the parsers panic.
func FuzzParseValue(f *testing.F) {
	for _, s := range []string{"1", "[1, 2]", `{"x": 1}`, "nan", "[[1], [2, 3]]", "\"a\"", "1e999"} {
		f.Add(s)
	}
	types := []*h5.Datatype{Int64Type(), Float64Type(), BoolType(), VLenStringType(), floatType(2, true),
		{Class: h5.ClassString, Version: 1, Size: 3}, {Class: h5.ClassArray, Size: 16, Dims: []uint32{2}, Base: Float64Type()}}
	f.Fuzz(func(t *testing.T, s string) {
		for _, typ := range types {
			ParseValue(typ, nil, s)
			ParseValue(typ, []uint64{2}, s)
		}
		InferValue(s)
		ParseDType(s)
		ParseCompression(s)
		ParseShape(s)
	})
}
