package xattr

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/h5mount/h5mount/h5"
)

func TestFormatFloatMatchesPythonRepr(t *testing.T) {
	cases := []struct {
		v    float64
		bits int
		want string
	}{
		{10.0, 64, "10.0"},
		{1e-05, 64, "1e-05"},
		{0.0001, 64, "0.0001"},
		{1e16, 64, "1e+16"},
		{1e15, 64, "1000000000000000.0"},
		{123456789.5, 64, "123456789.5"},
		{-2.5, 64, "-2.5"},
		{0, 64, "0.0"},
		{math.Copysign(0, -1), 64, "-0.0"},
		{1.5e-7, 64, "1.5e-07"},
		{1.7976931348623157e308, 64, "1.7976931348623157e+308"},
		{5e-324, 64, "5e-324"},
		{0.1, 64, "0.1"},
		{float64(float32(0.1)), 32, "0.1"},
		{float64(float32(3.14159)), 32, "3.14159"},
		{math.Inf(1), 64, "inf"},
		{math.Inf(-1), 64, "-inf"},
		{math.NaN(), 64, "nan"},
		{0.0999755859375, 16, "0.1"},
		{65504, 16, "65500.0"},
	}
	for _, c := range cases {
		if got := FormatFloat(c.v, c.bits); got != c.want {
			t.Errorf("FormatFloat(%v, %d) = %q, want %q", c.v, c.bits, got, c.want)
		}
	}
}

func intType(size uint32, signed, be bool) *h5.Datatype {
	return &h5.Datatype{Class: h5.ClassInteger, Size: size, Signed: signed, BigEndian: be, Precision: uint16(size * 8)}
}

func TestIntegersAllSizesAndOrders(t *testing.T) {
	le := []byte{0xfe, 0xff, 0xff, 0xff}
	be := []byte{0xff, 0xff, 0xff, 0xfe}
	if got := formatInteger(intType(4, true, false), le); got != "-2" {
		t.Errorf("<i4 = %s", got)
	}
	if got := formatInteger(intType(4, true, true), be); got != "-2" {
		t.Errorf(">i4 = %s", got)
	}
	if got := formatInteger(intType(4, false, false), le); got != "4294967294" {
		t.Errorf("<u4 = %s", got)
	}
	b := make([]byte, 8)
	binary.LittleEndian.PutUint64(b, 1<<63)
	if got := formatInteger(intType(8, false, false), b); got != "9223372036854775808" {
		t.Errorf("<u8 = %s", got)
	}
	if got := formatInteger(intType(8, true, false), b); got != "-9223372036854775808" {
		t.Errorf("<i8 = %s", got)
	}
	if got := formatInteger(intType(1, true, false), []byte{0x80}); got != "-128" {
		t.Errorf("|i1 = %s", got)
	}
}

func TestHalfFloatDecoding(t *testing.T) {
	half := &h5.Datatype{Class: h5.ClassFloat, Size: 2, Precision: 16, SignLoc: 15, ExpLoc: 10, ExpSize: 5, MantLoc: 0, MantSize: 10, ExpBias: 15, MantNorm: 2}
	for bits, want := range map[uint16]string{0x3c00: "1.0", 0xc000: "-2.0", 0x7bff: "65500.0", 0x0001: "6e-08", 0x7c00: "inf"} {
		var b [2]byte
		binary.LittleEndian.PutUint16(b[:], bits)
		got, err := formatFloat(half, b[:])
		if err != nil || got != want {
			t.Errorf("half 0x%04x = %q, %v; want %q", bits, got, err, want)
		}
	}
}

func TestValueShapes(t *testing.T) {
	i4 := intType(4, true, false)
	data := make([]byte, 24)
	for i := 0; i < 6; i++ {
		binary.LittleEndian.PutUint32(data[4*i:], uint32(i))
	}
	got, err := Value(i4, h5.Dataspace{Kind: h5.SpaceSimple, Dims: []uint64{2, 3}}, data, nil)
	if err != nil || got != "[[0, 1, 2], [3, 4, 5]]" {
		t.Errorf("2x3 = %q, %v", got, err)
	}
	got, err = Value(i4, h5.Dataspace{Kind: h5.SpaceScalar}, data, nil)
	if err != nil || got != "0" {
		t.Errorf("scalar = %q, %v", got, err)
	}
	str := &h5.Datatype{Class: h5.ClassString, Size: 5, StrPad: h5.PadNullPad}
	got, err = Value(str, h5.Dataspace{Kind: h5.SpaceSimple, Dims: []uint64{2}}, []byte("ab\x00\x00\x00a\"b\x00\x00"), nil)
	if err != nil || got != `["ab", "a\"b"]` {
		t.Errorf("strings = %q, %v", got, err)
	}
	comp := &h5.Datatype{Class: h5.ClassCompound, Size: 8, Members: []h5.Member{{Name: "x", Offset: 0, Type: i4}, {Name: "y", Offset: 4, Type: i4}}}
	got, err = Value(comp, h5.Dataspace{Kind: h5.SpaceScalar}, data[4:12], nil)
	if err != nil || got != `{"x": 1, "y": 2}` {
		t.Errorf("compound = %q, %v", got, err)
	}
	if _, err := Value(i4, h5.Dataspace{Kind: h5.SpaceSimple, Dims: []uint64{100}}, data, nil); err == nil {
		t.Error("short data accepted")
	}
}

func TestDTypeStrings(t *testing.T) {
	cases := map[string]*h5.Datatype{
		"<f8":  {Class: h5.ClassFloat, Size: 8},
		">i4":  intType(4, true, true),
		"|u1":  intType(1, false, false),
		"|S10": {Class: h5.ClassString, Size: 10},
		"|b1":  {Class: h5.ClassEnum, Size: 1, Base: intType(1, true, false), Names: []string{"FALSE", "TRUE"}, Values: [][]byte{{0}, {1}}},
	}
	for want, typ := range cases {
		if got, err := DType(typ); err != nil || got != want {
			t.Errorf("DType = %q, %v; want %q", got, err, want)
		}
	}
}
