package xattr

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/h5mount/h5mount/h5"
)

func TestCompressionNamesFiltersAsH5py(t *testing.T) {
	for _, c := range []struct {
		filters []h5.Filter
		want    string
	}{
		{nil, ""},
		{[]h5.Filter{{ID: 2}, {ID: 1, Params: []uint32{4}}}, "shuffle,gzip:4"},
		{[]h5.Filter{{ID: 1}}, "gzip:6"},
		{[]h5.Filter{{ID: 32015, Params: []uint32{3}}}, "zstd:3"},
		{[]h5.Filter{{ID: 32015}}, "zstd"},
		{[]h5.Filter{{ID: 6, Params: []uint32{0, 3}}}, "scaleoffset"},
		{[]h5.Filter{{ID: 32008, Params: []uint32{0, 3, 4, 0, 2}}}, "bitshuffle"},
		{[]h5.Filter{{ID: 307, Name: "bzip2"}}, "filter307"},
		{[]h5.Filter{{ID: 32022, Name: "BitGroom filter"}, {ID: 3}}, "filter32022,fletcher32"},
		{[]h5.Filter{{ID: 32026, Params: []uint32{1, 0, 8, 8192, 5, 1, 5}}}, "blosc2"},
	} {
		if got := Compression(c.filters); got != c.want {
			t.Errorf("Compression(%v) = %q, want %q", c.filters, got, c.want)
		}
	}
}

func TestDTypeOfNumPyTimeOpaque(t *testing.T) {
	for tag, want := range map[string]string{
		"NUMPY:<M8[s]":  "<M8[s]",
		"NUMPY:>m8[us]": ">m8[us]",
		"NUMPY:<M8":     "<M8",
		"NUMPY:<f8":     "|V8",
		"NUMPY:<M8[s":   "|V8",
		"numpy:<M8[s]":  "|V8",
		"":              "|V8",
	} {
		got, err := DType(&h5.Datatype{Class: h5.ClassOpaque, Size: 8, Tag: tag})
		if err != nil || got != want {
			t.Errorf("opaque tagged %q: %q (%v), want %q", tag, got, err, want)
		}
	}
}

func TestComplexValuesReadAsPairs(t *testing.T) {
	f4 := &h5.Datatype{Class: h5.ClassFloat, Size: 4, Precision: 32, SignLoc: 31, ExpLoc: 23, ExpSize: 8, MantSize: 23, ExpBias: 127, MantNorm: 2}
	data := binary.LittleEndian.AppendUint32(nil, math.Float32bits(1.5))
	data = binary.LittleEndian.AppendUint32(data, math.Float32bits(-0.1))
	// HDF5 2.0's complex class and h5py's compound of "r" and "i".
	complexT := &h5.Datatype{Class: h5.ClassComplex, Size: 8, Base: f4}
	compound := &h5.Datatype{Class: h5.ClassCompound, Size: 8, Members: []h5.Member{{Name: "r", Type: f4}, {Name: "i", Offset: 4, Type: f4}}}
	for _, typ := range []*h5.Datatype{complexT, compound} {
		got, err := Value(typ, h5.Dataspace{Kind: h5.SpaceSimple, Dims: []uint64{1}}, data, nil)
		if err != nil || got != "[[1.5, -0.1]]" {
			t.Errorf("%v: %q (%v)", typ.Class, got, err)
		}
		if dt, err := DType(typ); err != nil || dt != "<c8" {
			t.Errorf("%v dtype %q (%v)", typ.Class, dt, err)
		}
	}
}

func TestLongDoubleAndNBitFloats(t *testing.T) {
	// x87 extended precision in 16 bytes: 3.0 has exponent 16384 and the
	// explicit leading bit set.
	ld := &h5.Datatype{Class: h5.ClassFloat, Size: 16, Precision: 80, SignLoc: 79, ExpLoc: 64, ExpSize: 15, MantSize: 64, ExpBias: 16383}
	b := make([]byte, 16)
	binary.LittleEndian.PutUint64(b, 0xc000000000000000)
	binary.LittleEndian.PutUint16(b[8:], 16384)
	if got, err := formatFloat(ld, b); err != nil || got != "3.0" {
		t.Errorf("long double 3: %q (%v)", got, err)
	}
	// An N-bit float (test/nbit.c): 20 bits from bit 7.
	nb := &h5.Datatype{Class: h5.ClassFloat, Size: 4, BitOffset: 7, Precision: 20, SignLoc: 26, ExpLoc: 20, ExpSize: 6, MantLoc: 7, MantSize: 13, ExpBias: 31, MantNorm: 2}
	if got, err := formatFloat(nb, []byte{0x80, 0x99, 0x01, 0x06}); err != nil || got != "-2.1999512" {
		t.Errorf("N-bit float: %q (%v)", got, err)
	}
}

func TestSpacePaddedStrings(t *testing.T) {
	for in, want := range map[string]string{"ab  ": "ab", "ab\x00\x00": "ab", "a b ": "a b", "    ": ""} {
		if got := trimFixedString([]byte(in), h5.PadSpacePad); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}
