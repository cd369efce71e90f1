package filter

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand"
	"testing"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// Every combination of VBZ's parameters round-trips, on values that take
// each key's width, and the packed stream is as short as the keys allow.
func TestVBZRoundTrips(t *testing.T) {
	r := rand.New(rand.NewSource(32020))
	for _, version := range []uint32{0, 1} {
		for _, size := range []uint32{0, 1, 2, 4} {
			for _, zigzag := range []uint32{0, 1} {
				for _, level := range []uint32{0, 1, 9} {
					f := &format.Filter{ID: VBZ, Params: []uint32{version, size, zigzag, level}}
					for _, n := range []int{0, 1, 3, 4, 5, 1000} {
						in := make([]byte, n*4)
						for i := range in {
							// Runs of small steps and sudden jumps, as a signal has.
							if r.Intn(8) == 0 {
								in[i] = byte(r.Intn(256))
							} else if i > 0 {
								in[i] = in[i-1] + byte(r.Intn(5)) - 2
							}
						}
						z, err := vbzCodec{}.Encode(f, in)
						if err != nil {
							t.Fatalf("%v, %d bytes: %v", f.Params, len(in), err)
						}
						out, err := vbzCodec{}.Decode(f, z, len(in))
						if err != nil || !bytes.Equal(out, in) {
							t.Fatalf("%v, %d bytes: round trip: %v", f.Params, len(in), err)
						}
					}
				}
			}
		}
	}
}

// The widths: version 0 (and 1 beyond a byte) gives a value key+1 bytes;
// version 1's bytes give 0, 1, 2 or 4 nibbles.
func TestVBZPackedWidths(t *testing.T) {
	i2 := func(vs ...int16) []byte {
		var b []byte
		for _, v := range vs {
			b = binary.LittleEndian.AppendUint16(b, uint16(v))
		}
		return b
	}
	cases := []struct {
		p    vbzParams
		in   []byte
		want []byte
	}{
		// 1, 300, -1 (sign-extended: four bytes), 0
		{vbzParams{version: 1, intSize: 2}, i2(1, 300, -1, 0), []byte{0b00_11_01_00, 1, 0x2c, 0x01, 0xff, 0xff, 0xff, 0xff, 0}},
		// zigzagged differences: 1-0 -> 2, 300-1 -> 598, -1-300 -> 601, 0+1 -> 2
		{vbzParams{version: 1, intSize: 2, zigzag: true}, i2(1, 300, -1, 0), []byte{0b00_01_01_00, 2, 0x56, 0x02, 0x59, 0x02, 2}},
		// in 16 bits, as ONT's x86 reader undoes them: 32767-0 -> 65534
		// (two bytes), -32768-32767 = 1 -> 2 (one), 0-(-32768) = -32768 ->
		// 65535 (two)
		{vbzParams{version: 0, intSize: 2, zigzag: true}, i2(32767, -32768, 0), []byte{0b00_01_00_01, 0xfe, 0xff, 2, 0xff, 0xff}},
		// nibbles: 0 (none), 5 (one), 0x21 (two), -1 = 0xffffffff (four,
		// its low 16 bits), low nibble first: 5 1 2 f f f f, then a zero
		{vbzParams{version: 1, intSize: 1}, []byte{0, 5, 0x21, 0xff}, []byte{0b11_10_01_00, 0x15, 0xf2, 0xff, 0x0f}},
	}
	for _, c := range cases {
		got := vbzPack(c.in, c.p)
		if !bytes.Equal(got, c.want) {
			t.Errorf("%+v: packed %x, want %x", c.p, got, c.want)
		}
		out := make([]byte, len(c.in))
		if err := vbzUnpack(c.want, out, c.p); err != nil || !bytes.Equal(out, c.in) {
			t.Errorf("%+v: unpacked %x (%v), want %x", c.p, out, err, c.in)
		}
	}
}

// A stream whose length does not match its keys, a size that is no whole
// number of integers or more than the chunk, and parameters the plugin
// refuses, are errors, never panics.
func TestVBZRefusesDamage(t *testing.T) {
	f := &format.Filter{ID: VBZ, Params: []uint32{1, 2, 1, 0}}
	in := make([]byte, 200)
	for i := range in {
		in[i] = byte(i * 7)
	}
	good, err := vbzCodec{}.Encode(f, in)
	if err != nil {
		t.Fatal(err)
	}
	damaged := map[string][]byte{
		"short":        good[:len(good)-1],
		"long":         append(append([]byte(nil), good...), 0),
		"no header":    good[:3],
		"odd size":     append(binary.LittleEndian.AppendUint32(nil, 199), good[4:]...),
		"beyond chunk": append(binary.LittleEndian.AppendUint32(nil, 1<<20), good[4:]...),
		"keys only":    append(binary.LittleEndian.AppendUint32(nil, 200), good[4:4+25]...),
	}
	for name, z := range damaged {
		if _, err := (vbzCodec{}).Decode(f, z, len(in)); !errors.Is(err, format.ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
	}
	for _, p := range [][]uint32{{1, 2}, {1, 3, 1, 1}, {2, 2, 1, 1}} {
		if _, err := (vbzCodec{}).Decode(&format.Filter{ID: VBZ, Params: p}, good, len(in)); err == nil {
			t.Errorf("%v accepted", p)
		}
	}
	// Random bytes behind a plausible size: an error or the bytes, no panic.
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 2000; i++ {
		z := binary.LittleEndian.AppendUint32(nil, uint32(2*r.Intn(100)))
		z = append(z, make([]byte, r.Intn(300))...)
		r.Read(z[4:])
		for _, p := range [][]uint32{{1, 2, 1, 0}, {1, 1, 1, 0}, {0, 4, 0, 0}} {
			vbzCodec{}.Decode(&format.Filter{ID: VBZ, Params: p}, z, 256)
		}
	}
}
