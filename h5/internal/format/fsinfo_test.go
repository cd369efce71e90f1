package format

import (
	"bytes"
	"errors"
	"testing"
)

func TestSettleFileSpaceInfo(t *testing.T) {
	sizes := Sizes{Offset: 8, Length: 8}
	le := func(v uint64, n int) []byte {
		b := make([]byte, n)
		putAddr(b, v, n)
		return b
	}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	managers := func(n int, addr uint64) []byte {
		var b []byte
		for i := 0; i < n; i++ {
			b = append(b, le(addr+uint64(i)*64, 8)...)
		}
		return b
	}
	undefined := func(n int) []byte { return bytes.Repeat([]byte{0xff}, 8*n) }
	const eoa = 0x9000
	v1Head := func(persist byte) []byte {
		return cat([]byte{1, 2, persist}, le(1, 8), le(4096, 8), le(0, 2))
	}
	for _, c := range []struct {
		name    string
		in      []byte
		want    []byte // nil: unchanged
		wantErr error
	}{
		{"v1 page persisting", cat(v1Head(1), le(0x7000, 8), managers(12, 0x7000)), cat(v1Head(1), le(eoa, 8), undefined(12)), nil},
		{"v1 persisting, settled", cat(v1Head(1), le(eoa, 8), undefined(12)), nil, nil},
		{"v1 not persisting", cat(v1Head(0), le(Undefined, 8)), nil, nil},
		{"v0 all persist", cat([]byte{0, 1}, le(1, 8), managers(6, 0x5000)), cat([]byte{0, 1}, le(1, 8), undefined(6)), nil},
		{"v0 aggregation", cat([]byte{0, 3}, le(1, 8)), nil, nil},
		{"v1 cut short", cat(v1Head(1), le(0x7000, 8), managers(11, 0x7000)), nil, ErrCorrupt},
		{"v1 no end of allocation", v1Head(1)[:10], nil, ErrCorrupt},
		{"v0 cut short", cat([]byte{0, 1}, le(1, 8), managers(5, 0x5000)), nil, ErrCorrupt},
		{"empty", nil, nil, ErrCorrupt},
		{"v2", []byte{2, 0, 0}, nil, ErrUnsupported},
	} {
		got, changed, err := SettleFileSpaceInfo(c.in, 0x200, sizes, eoa)
		switch {
		case c.wantErr != nil:
			if !errors.Is(err, c.wantErr) {
				t.Errorf("%s: %v, want %v", c.name, err, c.wantErr)
			}
		case err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want == nil:
			if changed || !bytes.Equal(got, c.in) {
				t.Errorf("%s: changed (%v) to % x", c.name, changed, got)
			}
		case !changed || !bytes.Equal(got, c.want):
			t.Errorf("%s: changed %v\n got % x\nwant % x", c.name, changed, got, c.want)
		}
	}
}
